"""The post table of an export, kept as Parquet in the export's folder and read from there on reopen.

Folder ``<data>/datasets/<export key>/`` (:func:`export_key`: SHA-256 of the
export's bytes and the reading options, so a changed export or a changed
column mapping gets a new folder) holds ``posts.parquet`` (the post table,
``core.schema``; zstd-compressed; text columns come back as pandas' Arrow-backed
``str`` dtype) and ``ingest.json`` (the :class:`core.ingest.IngestReport` and
the reading options). Both are written into a temporary folder renamed into
place at once (:mod:`core.store.folder`), so a folder under its final name is
always complete; one that still fails to read is removed and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import pandas as pd

from core.store.folder import atomic_dir, clear_stale_temporaries, remove, store_root

logger = logging.getLogger(__name__)

POSTS_FILE = "posts.parquet"
REPORT_FILE = "ingest.json"
#: Format of the folder; a folder written with another version is rebuilt.
VERSION = 1
#: Exports smaller than this (bytes) are read again on every open: reading takes well under a second.
STORE_MIN_BYTES = 1_000_000
_OBJECT_STR_COLUMNS = ("author", "url", "unscorable_reason", "dup_of")


def export_key(data: bytes, options: dict) -> str:
    """Identity of one reading of an export: SHA-256 (24 hex) of its bytes and the options (JSON)."""
    h = hashlib.sha256(data)
    h.update(json.dumps(options, sort_keys=True, default=str).encode("utf-8"))
    h.update(f"v{VERSION}".encode())
    return h.hexdigest()[:24]


def save_posts(folder: str | Path, result, options: dict | None = None) -> Path:
    """Write ``result`` (a :class:`core.ingest.IngestResult`) to ``folder`` atomically; returns ``folder``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = Path(folder)
    with atomic_dir(folder) as tmp:
        table = pa.Table.from_pandas(result.posts, preserve_index=False)
        pq.write_table(table, tmp / POSTS_FILE, compression="zstd", row_group_size=100_000)
        meta = {"version": VERSION, "report": result.report.to_dict(), "options": options or {},
                "n_posts": len(result.posts)}
        (tmp / REPORT_FILE).write_text(json.dumps(meta, ensure_ascii=False, default=str), encoding="utf-8")
    return folder


def _to_pandas(table) -> pd.DataFrame:
    """The Parquet table as ``core.ingest.read_posts`` returns it: text columns Arrow-backed
    ``str``, the tag lists ``pd.ArrowDtype(list<string>)`` (no Python list per row), the
    optional text columns ``object`` holding ``str`` or ``None`` (converted by Arrow, not row by row)."""
    import pyarrow as pa

    names = list(table.column_names)
    objects = [c for c in _OBJECT_STR_COLUMNS if c in names]
    posts = table.drop_columns(objects).to_pandas(
        types_mapper=lambda t: pd.ArrowDtype(t) if pa.types.is_list(t) or pa.types.is_large_list(t) else None)
    for col in objects:
        posts[col] = pd.Series(table.column(col).to_numpy(zero_copy_only=False), dtype=object, index=posts.index)
    return posts[names]


def load_posts(folder: str | Path):
    """The :class:`core.ingest.IngestResult` stored in ``folder``.

    Raises:
        OSError, ValueError, KeyError: the folder is missing, incomplete or of
            another version (the caller rebuilds it).
    """
    import pyarrow.parquet as pq

    from core.ingest import IngestReport, IngestResult

    folder = Path(folder)
    meta = json.loads((folder / REPORT_FILE).read_text(encoding="utf-8"))
    if meta.get("version") != VERSION:
        raise ValueError(f"stored with version {meta.get('version')}, this is {VERSION}")
    posts = _to_pandas(pq.read_table(folder / POSTS_FILE))
    if len(posts) != meta["n_posts"]:
        raise ValueError(f"{len(posts)} rows stored, {meta['n_posts']} expected")
    return IngestResult(posts=posts, report=IngestReport(**meta["report"]))


def read_posts_stored(data: bytes, *, filename: str, root: str | Path | None = None,
                      min_bytes: int = STORE_MIN_BYTES, **options):
    """:func:`core.ingest.read_posts` of an export's bytes, through its stored folder.

    The first call reads the export and saves the post table; a later call for
    the same bytes and options loads it from Parquet without reading the export
    again (the report's ``warnings`` and counts are those of the first read).

    Args:
        data: the export's bytes.
        filename: its file name (picks the reader, names it in messages).
        root: the folder of dataset folders (default :func:`core.store.folder.store_root`).
        min_bytes: smaller exports are read without a folder (default :data:`STORE_MIN_BYTES`).
        **options: ``columns``, ``max_mb``, ``reference_time``, ``file_time``
            as :func:`core.ingest.read_posts` takes them.

    Returns:
        A :class:`core.ingest.IngestResult` equal to a fresh read's.

    Raises:
        The errors of :func:`core.ingest.read_posts` (a file that cannot be read is never stored).
    """
    from core.ingest import read_posts

    if len(data) < min_bytes:
        return read_posts(data, filename=filename, **options)
    root = store_root(root)
    # file_time only matters for relative times; it is part of the key so "5分钟前" stays right
    key = export_key(data, {"filename": filename, **options})
    folder = root / key
    if folder.is_dir():
        try:
            result = load_posts(folder)
            logger.info("post table of %s read from %s", filename, folder)
            return result
        except (OSError, ValueError, KeyError, TypeError) as exc:
            remove(folder, f"the stored post table cannot be read ({exc})")
    clear_stale_temporaries(root)
    result = read_posts(data, filename=filename, **options)
    try:
        save_posts(folder, result, {"filename": filename, **options})
    except OSError as exc:  # a full or read-only disk: the read itself succeeded
        logger.warning("could not store the post table of %s in %s: %s", filename, folder, exc)
    return result
