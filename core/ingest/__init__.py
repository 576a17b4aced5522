"""Reading exports of posts into the post table (``core/schema.py``).

``read_posts(source)`` reads CSV/TSV/TXT, XLSX, JSON/JSONL and X archive
``tweets.js`` exports from crawlers, platform archives and social-listening
tools, and returns the post table with an :class:`IngestReport` of what was
done (encoding, delimiter, header row, column mapping, rows dropped, duplicates,
warnings). The command line is ``python -m core inspect FILE [--json]``.
"""

from core.ingest.columns import ColumnChoiceError
from core.ingest.dedupe import collapse_duplicates, dataset_hash
from core.ingest.read import MAX_TEXT_CHARS, IngestReport, IngestResult, read_columns, read_posts

__all__ = ["MAX_TEXT_CHARS", "ColumnChoiceError", "IngestReport", "IngestResult", "collapse_duplicates",
           "dataset_hash", "read_columns", "read_posts"]
