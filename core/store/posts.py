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

from core.store import holders
from core.store.folder import atomic_dir, clear_stale_temporaries, remove, store_root
from core.store.usage import after_write, mark_used

logger = logging.getLogger(__name__)

POSTS_FILE = "posts.parquet"
REPORT_FILE = "ingest.json"
#: Format of the folder; a folder written with another version is rebuilt.
VERSION = 1
#: Exports smaller than this (bytes) are read again on every open: reading takes well under a second.
STORE_MIN_BYTES = 1_000_000
#: Exports at least this large (bytes) are read by a child process that saves the table; the
#: caller then loads it from Parquet (:func:`read_posts_stored`).
READ_APART_MIN_BYTES = 20_000_000
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
                      min_bytes: int = STORE_MIN_BYTES, apart_min_bytes: int = READ_APART_MIN_BYTES,
                      **options):
    """:func:`core.ingest.read_posts` of an export's bytes, through its stored folder.

    The first call reads the export and saves the post table; a later call for
    the same bytes and options loads it from Parquet without reading the export
    again (the report's ``warnings`` and counts are those of the first read).

    Args:
        data: the export's bytes.
        filename: its file name (picks the reader, names it in messages).
        root: the folder of dataset folders (default :func:`core.store.folder.store_root`).
        min_bytes: smaller exports are read without a folder (default :data:`STORE_MIN_BYTES`).
        apart_min_bytes: an export at least this large, read for the first time, is read
            by a child process (``python -m core.store.posts``) that saves its table; this
            process then loads the table from Parquet, as on reopen (default
            :data:`READ_APART_MIN_BYTES`). Reading a large export leaves this process's
            allocator holding memory it cannot hand back (millions of short-lived strings:
            1.75x idle after closing a first-opened 1 M-post export, 1.48x after a reopened
            one), and the read's own peak stays in the child. If the child cannot run or
            fails for another reason than the file, the export is read here as before.
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
    with holders.hold(folder):  # no process's pruning takes it while it is read (then it is in memory)
        if folder.is_dir():
            try:
                result = load_posts(folder)
                logger.info("post table of %s read from %s", filename, folder)
                mark_used(folder)
                return result
            except (OSError, ValueError, KeyError, TypeError) as exc:
                remove(folder, f"the stored post table cannot be read ({exc})")
    clear_stale_temporaries(root)
    plain = json.loads(json.dumps(options, default=str)) == options  # the child gets them as JSON
    if len(data) >= apart_min_bytes and plain and _read_apart(data, filename, folder, options):
        try:
            result = load_posts(folder)
            after_write(folder)
            return result
        except (OSError, ValueError, KeyError, TypeError) as exc:
            remove(folder, f"the table the child process stored cannot be read ({exc})")
    result = read_posts(data, filename=filename, **options)
    try:
        save_posts(folder, result, {"filename": filename, **options})
    except OSError as exc:  # a full or read-only disk: the read itself succeeded
        logger.warning("could not store the post table of %s in %s: %s", filename, folder, exc)
    else:
        after_write(folder)
    return result


def _read_apart(data: bytes, filename: str, folder: Path, options: dict) -> bool:
    """Read and store the export in a child process; True once ``folder`` holds its table.

    Raises:
        core.errors.SieveError: the file's own error, as the child raised it (same class,
            message and hint).
    """
    from core.store.child import run_module

    head = json.dumps({"filename": filename, "folder": str(folder), "options": options}, default=str)
    # the header line, then the bytes as they are (``header + data`` was a second copy here)
    done = run_module("core.store.posts", stdin=(head.encode() + b"\n", data))
    if done is None:
        logger.warning("could not start a process to read %s; reading it here", filename)
        return False
    if done.returncode == _FILE_ERROR:
        raise _error_from_child(done.stdout)
    if done.returncode != 0 or not (folder / REPORT_FILE).is_file():
        logger.warning("reading %s in a child process failed (exit %s): %s; reading it here", filename,
                       done.returncode, done.stderr_tail)
        return False
    return True


def _error_from_child(payload: bytes):
    """The :class:`core.errors.SieveError` the child raised, rebuilt from its class, arguments and
    attributes (written by this module's own child process, never by a user's file)."""
    import importlib
    import pickle

    from core.errors import InputFileError, SieveError

    module, qualname, args, state = pickle.loads(payload)  # our own child process wrote it
    cls = importlib.import_module(module)
    for part in qualname.split("."):
        cls = getattr(cls, part)
    if not (isinstance(cls, type) and issubclass(cls, SieveError)):
        return InputFileError(str(args[0]) if args else "The file cannot be read.")
    exc = cls.__new__(cls)
    Exception.__init__(exc, *args)
    exc.__dict__.update(state)
    return exc


#: Exit status of ``python -m core.store.posts`` for a file that cannot be read (its error as JSON on stdout).
_FILE_ERROR = 3


def _main() -> int:
    """``python -m core.store.posts``: stdin is one JSON line (``filename``, ``folder``,
    ``options``) then the export's bytes; reads it and saves its table in ``folder``."""
    import sys

    from core.errors import SieveError
    from core.ingest import read_posts

    answer = sys.stdout.buffer
    sys.stdout = sys.stderr  # anything a library prints stays out of the answer
    head = json.loads(sys.stdin.buffer.readline().decode("utf-8"))
    data = sys.stdin.buffer.read()  # no slice of a header-and-data buffer: one copy of the export
    try:
        result = read_posts(data, filename=head["filename"], **head["options"])
    except SieveError as exc:  # its class, arguments and attributes (a column chooser's columns and role)
        import pickle

        answer.write(pickle.dumps((type(exc).__module__, type(exc).__qualname__, exc.args, exc.__dict__)))
        return _FILE_ERROR
    data = None
    save_posts(head["folder"], result, {"filename": head["filename"], **head["options"]})
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
