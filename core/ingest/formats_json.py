"""JSON, JSONL, the X/Twitter archive (``tweets.js`` and its parts) and zip exports, as a :class:`RawTable`.

Split out of :mod:`core.ingest.formats` (which re-exports every name here);
the delimited-text and XLSX readers and the dispatch stay there.
"""

from __future__ import annotations

import io
import json
import re
import sys
import zipfile
from collections import Counter
from pathlib import Path, PurePosixPath

from core.errors import InputFileError
from core.ingest.decode import decode_bytes
from core.ingest.formats import _PART_RE, _RECORD_KEYS, _YTD_RE, RawTable, read_table
from core.ingest.formats_xlsx import _read_xlsx


def _flatten(obj: dict, prefix: str = "", out: dict | None = None) -> dict:
    out = {} if out is None else out
    for key, value in obj.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            _flatten(value, full + ".", out)
        else:
            out[full] = value
    return out


def _json_str(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _is_container(obj: dict) -> bool:
    return (isinstance(obj.get("data"), list) or obj.get("kind") == "Listing"
            or any(isinstance(obj.get(k), list) for k in _RECORD_KEYS) and "text" not in obj)


def page_users(page: dict) -> dict:
    """``{user id: user}`` of an X API v2 page's ``includes.users`` (``{}`` when it has none)."""
    includes = page.get("includes")
    users = (includes or {}).get("users", []) if isinstance(includes, dict) else []
    return {u.get("id"): u for u in users if isinstance(u, dict)}


def page_record(item, users: dict) -> list[dict]:
    """An element of an X API v2 page's ``data`` as records: ``[item]`` with its author joined
    from ``users`` as ``author``, ``[]`` when it is not an object."""
    if not isinstance(item, dict):
        return []
    if users and "author" not in item and item.get("author_id") in users:
        item = {**item, "author": users[item["author_id"]]}
    return [item]


def _page_records(page: dict) -> list[dict]:
    """Records of an X API v2 page (``data`` + ``includes.users`` joined as ``author``)."""
    users = page_users(page)
    return [r for item in page["data"] for r in page_record(item, users)]


def records_member(obj: dict) -> str | None:
    """The member of a JSON object that holds its list of posts, or None (a single post, a
    Reddit listing): ``"data"`` holding a list (an X API v2 page), else the first of the usual
    keys (``statuses``, ``posts``, ...) holding a list, else the only member that is a list of
    objects. Only the first element of each list is looked at (so the streamed reader can
    decide from an outline: :func:`core.ingest.json_stream.object_outline`)."""
    if obj.get("kind") == "Listing" and isinstance(obj.get("data"), dict):
        return None
    if isinstance(obj.get("data"), list):
        return "data"
    for key in _RECORD_KEYS:
        if isinstance(obj.get(key), list):
            return key
    lists = [k for k, v in obj.items() if isinstance(v, list) and v and isinstance(v[0], dict)]
    return lists[0] if len(lists) == 1 else None


def find_records(obj) -> list[dict]:
    """The list of post records inside parsed JSON (see the module docstring)."""
    if isinstance(obj, list):
        out: list[dict] = []
        for item in obj:
            if not isinstance(item, dict):
                continue
            if _is_container(item):
                out.extend(find_records(item))
            elif set(item) == {"kind", "data"} and isinstance(item["data"], dict):
                out.append(item["data"])  # a Reddit "thing"
            elif len(item) == 1 and isinstance(next(iter(item.values())), dict):
                out.append(next(iter(item.values())))  # X archive {"tweet": {...}}
            else:
                out.append(item)
        return out
    if isinstance(obj, dict):
        if obj.get("kind") == "Listing" and isinstance(obj.get("data"), dict):
            return find_records(obj["data"].get("children", []))
        key = records_member(obj)
        if key == "data":
            return _page_records(obj)
        return [obj] if key is None else find_records(obj[key])
    return []


def _records_table(records: list[dict], numbers: list[int], fmt: str, name: str,
                   rows_read: int, dropped: Counter | None = None) -> RawTable:
    if not records:
        raise InputFileError(f"{name} holds no records (no list of posts was found in it).")
    flat = [_flatten(r) for r in records]
    header: dict[str, None] = {}
    for r in flat:
        for key in r:
            header.setdefault(key, None)
    names = list(header)
    rows = [[_json_str(r.get(k)) for k in names] for r in flat]
    return RawTable(names, rows, numbers, fmt, rows_read=rows_read, dropped=dropped or Counter(), files=[name])


def _too_deep(name: str) -> InputFileError:
    return InputFileError(
        f"{name} nests JSON objects or lists deeper than Python can read (about {sys.getrecursionlimit()} "
        "levels); posts are records a few levels deep at most.",
        hint="Export the posts again as JSON Lines (one post per line) or CSV.",
    )


def _read_json(text: str, name: str, ext: str, *, stream: tuple[bytes, str] | None = None) -> RawTable:
    """``text`` (a JSON document or JSON Lines) as a table of its post records.

    ``stream``: ``(bytes, codec)`` that decode to ``text`` exactly; JSON Lines records are
    then decoded from the bytes line by line when the table is built, and ``text`` is not
    kept (:mod:`core.ingest.json_stream`).

    Raises:
        InputFileError: when it is neither, holds no records, or nests too deep to parse
            (a ``RecursionError`` inside the parser or the record search).
    """
    try:
        return _read_json_records(text, name, stream)
    except RecursionError:
        raise _too_deep(name) from None


_ARRAY_START = re.compile(r"\s*\[")
_OBJECT_START = re.compile(r"\s*\{")


def _read_json_records(text: str, name: str, stream: tuple[bytes, str] | None) -> RawTable:
    """JSON Lines, top-level arrays and objects holding the list of posts (an X API page,
    ``{"statuses": [...]}``) are streamed (:mod:`core.ingest.json_stream`); any other JSON
    document (a single post, a Reddit listing) is parsed whole."""
    from core.ingest.json_stream import (
        array_items,
        byte_lines,
        byte_pieces,
        jsonl_items,
        object_items,
        object_outline,
        streamed_table,
        text_lines,
    )

    pieces = (lambda: byte_pieces(*stream)) if stream is not None else (lambda: [text])
    if _ARRAY_START.match(text):
        try:
            table, _, _ = streamed_table(lambda: array_items(pieces()), "json", name)
        except json.JSONDecodeError:
            pass  # not one array (JSON Lines of arrays, or broken): as before, below
        else:
            if not table.rows_read:
                raise InputFileError(f"{name} holds no records (no list of posts was found in it).")
            return table
    elif _OBJECT_START.match(text):
        try:  # JSON Lines stop here at the end of their first line ("Extra data")
            found = object_outline(pieces())
            table = streamed_table(lambda: object_items(pieces(), *found), "json", name)[0] if found else None
        except json.JSONDecodeError:
            table = None  # JSON Lines, or broken: as before, below
        if table is not None:
            if not table.rows_read:
                raise InputFileError(f"{name} holds no records (no list of posts was found in it).")
            return table
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as whole_error:
        lines = (lambda: byte_lines(*stream)) if stream is not None else (lambda: text_lines(text))
        table, read, bad_line = streamed_table(lambda: jsonl_items(lines()), "jsonl", name)
        invalid = table.dropped["invalid JSON line"]
        if table.rows_read == invalid or invalid > max(3, read // 2):
            raise InputFileError(
                f"{name} is neither JSON nor JSON Lines: line {whole_error.lineno}, column "
                f"{whole_error.colno}: {whole_error.msg}.",
                hint="Check that the export finished writing, or export it again.",
            ) from None
        if bad_line:
            table.warnings.append(f"{invalid} line(s) that are not valid JSON were dropped (first: line {bad_line}).")
        return table
    records = find_records(parsed)
    return _records_table(records, list(range(1, len(records) + 1)), "json", name, rows_read=len(records))


def _read_x_archive(parts: list[tuple[str, str]], name: str) -> RawTable:
    """The ``tweets.js`` parts of an X/Twitter archive as one table.

    Raises:
        InputFileError: when a part is not ``window.YTD...`` JSON or nests too deep to parse.
    """
    try:
        return _read_x_archive_records(parts, name)
    except RecursionError:
        raise _too_deep(name) from None


def _read_x_archive_records(parts: list[tuple[str, str]], name: str) -> RawTable:
    records: list[dict] = []
    for part_name, text in parts:
        body = _YTD_RE.sub("", text, count=1).strip().rstrip(";")
        try:
            parsed = json.loads(body)
        except json.JSONDecodeError as exc:
            raise InputFileError(
                f"{part_name} is not an X/Twitter archive file: after the 'window.YTD...' prefix, line "
                f"{exc.lineno} is not valid JSON ({exc.msg})."
            ) from None
        records.extend(find_records(parsed))
    table = _records_table(records, list(range(1, len(records) + 1)), "x-archive", name, rows_read=len(records))
    table.files = [p for p, _ in parts]
    return table


def _part_key(name: str) -> tuple[str, int] | None:
    m = _PART_RE.match(PurePosixPath(name).name)
    if not m:
        return None
    return m.group("base").lower(), int(m.group("n") or 0)


def _read_archive_parts(path: Path, name: str, first: RawTable, encoding: str) -> RawTable:
    """Read ``tweets.js`` together with its ``tweets-partN.js`` siblings, in part order."""
    key = _part_key(path.name)
    if key is None:
        return first
    siblings = sorted(
        (k[1], p) for p in path.parent.glob("*.js") if (k := _part_key(p.name)) and k[0] == key[0]
    )
    if len(siblings) <= 1:
        return first
    parts = [(p.name, decode_bytes(p.read_bytes(), name=p.name).text) for _, p in siblings]
    table = _read_x_archive(parts, name)
    table.warnings.append(f"Read {len(parts)} archive parts: {', '.join(p for p, _ in parts)}.")
    return table


def _read_zip(data: bytes, name: str) -> RawTable:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise InputFileError(f"{name} looks like a zip file but cannot be opened. Download it again.") from None
    with archive:
        names = [n for n in archive.namelist() if not n.endswith("/")]
        if "xl/workbook.xml" in names:
            return _read_xlsx(data, name)
        js = sorted(
            ((k[1], n) for n in names if (k := _part_key(n)) and k[0] in ("tweets", "tweet")),
        )
        if js:
            parts = [(PurePosixPath(n).name, decode_bytes(archive.read(n), name=n).text) for _, n in js]
            table = _read_x_archive(parts, name)
            table.encoding = "utf-8"
            table.warnings.append(f"Read the X archive's tweets from {', '.join(n for _, n in js)}.")
            return table
        tables = [n for n in names if PurePosixPath(n.lower()).suffix in
                  (".csv", ".tsv", ".txt", ".json", ".jsonl", ".ndjson", ".xlsx")
                  and not PurePosixPath(n).name.startswith(".")]
        if len(tables) == 1:
            inner = tables[0]
            table = read_table(archive.read(inner), f"{name}:{inner}", None)
            table.warnings.append(f"Read {inner} from the zip file.")
            return table
    raise InputFileError(
        f"{name} is a zip file with {len(tables)} table files"
        + (f" ({', '.join(tables[:5])})" if tables else "")
        + ". Unzip it and choose one export file."
    )
