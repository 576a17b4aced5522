"""What reading an export returns: :class:`IngestResult` (the post table) and its :class:`IngestReport`.

Split out of :mod:`core.ingest.read`, which re-exports both.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import pandas as pd


@dataclass
class IngestReport:
    """What reading an export did.

    Attributes:
        source: the file name.
        format: ``"csv"``, ``"tsv"``, ``"xlsx"``, ``"json"``, ``"jsonl"`` or ``"x-archive"``.
        encoding: Python codec name (``"utf-8"``, ``"utf-8-sig"``, ``"gb18030"``,
            ``"utf-16"``, ...); None for XLSX.
        delimiter: the delimiter of delimited text, None for other formats.
        header_row: 0-based line (XLSX: row) of the header; None for JSON.
        columns: ``{role: source column or None}`` for every role of
            ``core.schema.ROLES`` (``text``: its first source column).
        text_source: how the text is built, e.g. ``"title + selftext, else body"``.
        layout: the export layout recognised (``"weibo"``, ``"twint"``, ``"snscrape"``,
            ``"x-archive"``, ``"twarc-csv"``, ``"crowdtangle"``, ``"meltwater"``,
            ``"reddit"``, ``"crisislex"``, ``"nlpcc"``, ``"generic"``).
        n_posts: rows kept (the post table's length).
        rows_read: records read after the header, dropped ones included.
        dropped: ``{reason: count}`` of records not kept.
        duplicates: posts that duplicate an earlier post (``dup_of`` set).
        duplicate_groups: groups of two or more posts sharing a text.
        unscorable: ``{reason: count}`` of kept posts that will not be scored.
        long_texts: posts whose ``text`` was cut to :data:`MAX_TEXT_CHARS`
            characters (``text_raw`` is whole).
        warnings: messages for the analyst, most important first.
        source_columns: the source column names as read.
        dataset_hash: :func:`core.ingest.dataset_hash` of the table.
        files: the files read (several for a split X archive).
        times: how posts were dated (``core.ingest.times.TimeResolution.to_dict()``): counts
            ``absolute``, ``relative``, ``year_less``, ``snowflake``, ``missing``, ``unparsed``;
            ``reference`` (ISO UTC) and ``reference_source``; ``naive_time_zone``; ``snowflake_note``.
    """

    source: str
    format: str
    encoding: str | None
    delimiter: str | None
    header_row: int | None
    columns: dict[str, str | None]
    text_source: str
    layout: str
    n_posts: int
    rows_read: int
    dropped: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    duplicate_groups: int = 0
    unscorable: dict[str, int] = field(default_factory=dict)
    long_texts: int = 0
    warnings: list[str] = field(default_factory=list)
    source_columns: list[str] = field(default_factory=list)
    dataset_hash: str = ""
    files: list[str] = field(default_factory=list)
    times: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The report as plain JSON-serialisable types."""
        return asdict(self)


@dataclass
class IngestResult:
    """The post table and its report.

    Attributes:
        posts: the post table (``core.schema.POST_COLUMNS``, see ``core/schema.py``).
        report: the :class:`IngestReport`.
    """

    posts: pd.DataFrame
    report: IngestReport
