"""One chunk of records to the post table's columns: the per-record part of ``read_posts``.

:func:`core.ingest.read.read_posts` takes an export's records a chunk at a time
(:meth:`core.ingest.formats.RawTable.chunks`; delimited text is parsed only
then), turns each chunk into compact columns here (:meth:`Columns.add_chunk`:
fitted to the header, text cells joined and cleaned, counts parsed, languages
found; text columns as Arrow-backed ``str`` arrays, the tag lists as Arrow
``list<string>``), and drops the chunk's grid of strings before the next one.
What needs every record at once (IDs made unique, times, duplicate groups)
runs afterwards on the collected columns. Each warning keeps the record number
of its first case (``source_row``), whatever chunk it fell in.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa

from core.ingest.clean import clean_text, placeholder_reason
from core.ingest.columns import ColumnMap
from core.ingest.ids import clean_id
from core.ingest.lang import _detect_lang, _norm_lang
from core.ingest.values import parse_counts
from core.text.tokenize import normalise_for_dedupe

#: Records per chunk: about 10 MB of a typical export; a chunk's grid of strings is dropped
#: once its columns are made.
CHUNK_ROWS = 50_000
#: Longest ``text`` (characters) kept for scoring, embedding and display (``core.ingest.MAX_TEXT_CHARS``).
MAX_TEXT_CHARS = 10_000
#: The Arrow type of the ``hashtags``, ``mentions`` and ``urls`` columns (``pd.ArrowDtype``).
TAG_LIST = pa.list_(pa.string())


def text_cells(rows: list[list[str]], idx_join: list[int], idx_fallback: list[int]) -> tuple[list[str], list[str]]:
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


@dataclass
class First:
    """How many records had a problem, and the first one's record number (and value)."""

    count: int = 0
    record: int | None = None
    value: object = None

    def add(self, records: list[int], value: object = None) -> None:
        if records and self.record is None:
            self.record, self.value = records[0], value
        self.count += len(records)


@dataclass
class Columns:
    """The columns of every record read so far (see the module docstring).

    Args:
        header: the source column names; ``cmap``: their roles; ``delimiter``: of
            delimited text (None otherwise); ``layout``: the export layout;
            ``crawl_column``: the crawl-time column or None.
    """

    header: list[str]
    cmap: ColumnMap
    delimiter: str | None
    layout: str
    crawl_column: str | None
    row_numbers: list[int] = field(default_factory=list)
    text_raw: list = field(default_factory=list)  # Arrow str arrays, one per chunk
    text: list = field(default_factory=list)  # Arrow str arrays, one per chunk
    lang: list = field(default_factory=list)
    tags: dict[str, list] = field(default_factory=lambda: {"hashtags": [], "mentions": [], "urls": []})
    keys: list[str] = field(default_factory=list)  # normalise_for_dedupe of each text
    scorable: list[bool] = field(default_factory=list)
    partial: list[bool] = field(default_factory=list)
    reasons: list[str | None] = field(default_factory=list)
    cells: dict[str, list[str] | None] = field(default_factory=dict)  # author, time, url, crawl: stripped cells
    ids: list[str] | None = None  # cleaned IDs (None without an ID column)
    counts: dict[str, list] = field(default_factory=dict)  # Int64 Series per chunk
    bad_counts: dict[str, First] = field(default_factory=dict)
    merged: First = field(default_factory=First)
    cut: First = field(default_factory=First)
    padded: First = field(default_factory=First)
    long_texts: First = field(default_factory=First)
    longest: int = 0
    truncated: int = 0

    def __post_init__(self) -> None:
        col = {h: j for j, h in enumerate(self.header)}
        self._col = col
        roles = self.cmap.roles
        self._role_idx = {r: (col[roles[r]] if roles.get(r) is not None else None)
                          for r in ("author", "time", "url", "id", "lang", "likes", "reposts", "comments")}
        self._role_idx["crawl"] = col[self.crawl_column] if self.crawl_column else None
        for r in ("author", "time", "url", "crawl"):
            self.cells[r] = [] if self._role_idx[r] is not None else None
        self.ids = [] if self._role_idx["id"] is not None else None
        for r in ("likes", "reposts", "comments"):
            self.counts[r] = []
            self.bad_counts[r] = First()

    @property
    def n(self) -> int:
        return len(self.row_numbers)

    @property
    def irregular(self) -> int:
        """Records that did not have the header's number of fields."""
        return self.merged.count + self.cut.count + self.padded.count

    def _fit(self, rows: list[list[str]], numbers: list[int]) -> None:
        """Make every record as wide as the header (delimited text only): extra fields from an
        unquoted delimiter are joined back into a single text column, missing ones left empty."""
        width = len(self.header)
        text_idx = self.header.index(self.cmap.text.primary)
        single = len(self.cmap.text.join) == 1 and not self.cmap.text.fallback
        delim = self.delimiter or ","
        merged, cut, padded = [], [], []
        for k, row in enumerate(rows):
            n = len(row)
            if n == width:
                continue
            if n < width:
                row.extend([""] * (width - n))
                padded.append(numbers[k])
                continue
            extra = n - width
            if not any(c.strip() for c in row[width:]):
                del row[width:]
                continue
            if single and self.delimiter is not None:
                row[text_idx: text_idx + extra + 1] = [delim.join(row[text_idx: text_idx + extra + 1])]
                merged.append(numbers[k])
            else:
                del row[width:]
                cut.append(numbers[k])
        self.merged.add(merged)
        self.cut.add(cut)
        self.padded.add(padded)

    def add_chunk(self, rows: list[list[str]], numbers: list[int]) -> None:
        """Turn one chunk of records (``rows``, their record ``numbers``) into columns."""
        self._fit(rows, numbers)
        col, cmap = self._col, self.cmap
        text_raw, usable = text_cells(rows, [col[c] for c in cmap.text.join], [col[c] for c in cmap.text.fallback])
        literal_newlines = cmap.layout == "twarc-csv"
        # Clean at most 4x the cap of a cell (links and emoticons removed rarely take more), then cut.
        cleaned = [clean_text(t if len(t) <= 4 * MAX_TEXT_CHARS else t[: 4 * MAX_TEXT_CHARS],
                              literal_newlines=literal_newlines) for t in usable]
        texts = [c.text for c in cleaned]
        long_rows = [k for k, t in enumerate(texts) if len(t) > MAX_TEXT_CHARS or len(usable[k]) > 4 * MAX_TEXT_CHARS]
        for k in long_rows:
            texts[k] = texts[k][:MAX_TEXT_CHARS]
        if long_rows:
            self.long_texts.add([numbers[k] for k in long_rows])
            self.longest = max(self.longest, max(len(usable[k]) for k in long_rows))
        scorable = [c.unscorable_reason is None for c in cleaned]
        self.keys.extend(normalise_for_dedupe(t) for t in texts)
        self.scorable.extend(scorable)
        self.partial.extend(c.truncated or t.endswith(("…", "...")) for c, t in zip(cleaned, texts))
        self.reasons.extend(c.unscorable_reason for c in cleaned)
        self.truncated += sum(1 for c in cleaned if c.truncated)

        def cells(role: str) -> list[str] | None:
            j = self._role_idx[role]
            return None if j is None else [row[j].strip() for row in rows]

        for role in ("author", "time", "url", "crawl"):
            values = cells(role)
            if values is not None:
                if role == "url" and cmap.layout == "reddit":  # permalinks are relative to the site
                    values = ["https://www.reddit.com" + u if u.startswith("/r/") else u for u in values]
                self.cells[role].extend(values)
        if self.ids is not None:
            self.ids.extend(clean_id(v) for v in cells("id"))
        for role in ("likes", "reposts", "comments"):
            raw = cells(role)
            if raw is None:
                continue
            series, bad = parse_counts(raw)
            self.counts[role].append(series)
            if bad:
                self.bad_counts[role].add([numbers[i] for i in bad], raw[bad[0]])
        lang_raw = cells("lang")
        langs = [(_norm_lang(lang_raw[k]) if lang_raw else None) or _detect_lang(texts[k]) for k in range(len(rows))]
        self.row_numbers.extend(numbers)
        self.text_raw.append(pd.array(text_raw, dtype="str"))
        self.text.append(pd.array(texts, dtype="str"))
        self.lang.append(pd.array(langs, dtype="str"))
        for name in ("hashtags", "mentions", "urls"):
            self.tags[name].append(pa.array([getattr(c, name) for c in cleaned], type=TAG_LIST))

    # ------------------------------------------------------------------ whole columns

    def series(self, name: str) -> pd.Series:
        """``text``, ``text_raw`` or ``lang`` of every record: ``str`` dtype (Arrow-backed)."""
        parts = getattr(self, name)
        if not parts:
            return pd.Series(pd.array([], dtype="str"))
        return pd.concat([pd.Series(p) for p in parts], ignore_index=True)

    def tag_series(self, name: str) -> pd.Series:
        """``hashtags``, ``mentions`` or ``urls``: ``pd.ArrowDtype(list<string>)``."""
        chunks = self.tags[name] or [pa.array([], type=TAG_LIST)]
        return pd.Series(pd.arrays.ArrowExtensionArray(pa.chunked_array(chunks, type=TAG_LIST)))

    def count_series(self, role: str) -> pd.Series:
        """``likes``, ``reposts`` or ``comments``: ``Int64`` (``<NA>`` where missing or no column)."""
        if self._role_idx[role] is None or not self.counts[role]:
            return pd.Series(pd.array([pd.NA] * self.n, dtype="Int64"))
        return pd.concat(self.counts[role], ignore_index=True)

    def unscorable(self) -> dict[str, int]:
        """``{reason: count}`` of the posts that cannot be scored."""
        return dict(Counter(r for r in self.reasons if r))


def return_freed_memory() -> None:
    """Hand memory freed by a large read back to the operating system: Arrow's memory pool
    keeps freed blocks (about 70 MB after 200,000 posts) and glibc keeps freed heap (its
    ``malloc_trim``; a no-op where there is no glibc)."""
    import ctypes
    import logging

    pa.default_memory_pool().release_unused()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        logging.getLogger(__name__).debug("malloc_trim is not available here")

