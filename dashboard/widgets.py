"""Shared widgets and the rules for showing post text.

Post text is data written by strangers: it contains ``<script>``,
``[x](javascript:...)``, ``**``, ``#`` and ``:emoji:`` codes. The dashboard
shows it only through elements that never parse it: ``st.text``,
``st.dataframe`` cells and ``st.code``; in a plotly hover it is HTML-escaped
(:func:`hover_text`). Anything else that reaches a Markdown element (file
names, column names, messages quoting a cell) goes through
:func:`escape_markdown` first.
"""

from __future__ import annotations

import html
import re
import textwrap
from pathlib import Path
from typing import NoReturn

import pandas as pd
import streamlit as st

#: Folder of the page scripts (``pages/`` at the repository root).
PAGES_DIR = Path(__file__).resolve().parent.parent / "pages"

class EndPage(BaseException):  # noqa: N818 - control flow, not an error
    """Raised by :func:`end_page`; caught by ``dashboard/app.py`` after the page."""


def end_page() -> NoReturn:
    """End the current page here (like ``st.stop()``), but let the app frame
    (the sidebar with the dataset and model badge) still render after it."""
    raise EndPage


# Every ASCII punctuation character CommonMark lets a backslash escape.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>:$=\"'&;/])")

#: Columns of a post table shown in previews, in order (those present are kept).
PREVIEW_COLUMNS = ("post_id", "text", "time", "author", "likes", "reposts", "comments", "lang", "dup_count")


def escape_markdown(text: object) -> str:
    """Make ``text`` display literally inside a Streamlit Markdown element.

    Backslash-escapes every Markdown/GFM and Streamlit directive character
    (``*``, ``_``, ``[``, ``]``, ``(``, ``)``, ``#``, ``:``, ``$``, ...), and
    turns ``<`` into ``&lt;`` so no HTML tag is formed. Newlines become
    Markdown hard breaks so line structure is kept.

    Args:
        text: any object; ``None`` gives ``""``.

    Returns:
        A Markdown source string whose rendering is ``str(text)``.

    Example:
        >>> escape_markdown("**hi**") == r"\\*\\*hi\\*\\*"
        True
    """
    if text is None:
        return ""
    out = _MD_SPECIAL.sub(r"\\\1", str(text))
    out = out.replace("<", "&lt;")
    return out.replace("\r\n", "\n").replace("\n", "  \n")


def counted(n: int, word: str, plural: str | None = None) -> str:
    """``n`` and the noun, singular for 1: ``"1 cluster"``, ``"1,204 posts"``, ``"2 queries"``
    (``plural`` defaults to ``word + "s"``)."""
    return f"{n:,} {word if n == 1 else plural or word + 's'}"


def hover_text(text: object, *, width: int = 60, max_chars: int = 400) -> str:
    """Post text for a plotly hover label: HTML-escaped, wrapped with ``<br>``.

    Plotly renders a small HTML subset in hover labels (``<b>``, ``<a href>``,
    ``<br>``); escaping ``&``, ``<`` and ``>`` makes every post show as typed.

    Args:
        text: the post text (``None`` gives ``""``).
        width: characters per line before wrapping.
        max_chars: longer texts are cut and end with ``…``.
    """
    s = "" if text is None or (isinstance(text, float) and pd.isna(text)) else str(text)
    s = " ".join(s.split())
    if len(s) > max_chars:
        s = s[: max_chars - 1] + "…"
    # CJK text has no spaces: wrap by characters so long Weibo posts also break.
    lines = textwrap.wrap(s, width=width, break_long_words=True, break_on_hyphens=False) or [""]
    return "<br>".join(html.escape(line, quote=False) for line in lines)


#: Posts longer than this (characters) scroll inside a box of :data:`LONG_POST_BOX_PX` pixels.
LONG_POST_CHARS = 600
LONG_POST_BOX_PX = 260


def post_text(text: object, *, container=None, max_chars: int | None = None,
              key: str | None = None) -> None:
    """Show one post's text as plain text (never parsed as Markdown or HTML).

    Args:
        text: the post text (``None`` gives ``""``).
        container: where to draw (default: the page).
        max_chars: show at most this many characters, with a note and a
            "Show the whole post" toggle (``key``) for the rest; ``None`` = all.
            With ``max_chars``, a post longer than :data:`LONG_POST_CHARS`
            scrolls inside a box of fixed height.
        key: widget key of that toggle (needed with ``max_chars``).
    """
    target = container or st
    s = "" if text is None or (isinstance(text, float) and pd.isna(text)) else str(text)
    if max_chars is None or len(s) <= LONG_POST_CHARS:
        target.text(s)
        return
    # A long post scrolls inside a box of fixed height, so what follows it stays in view.
    show_all = len(s) > max_chars and target.toggle(f"Show the whole post ({len(s):,} characters)",
                                                     key=key, value=False)
    box = target.container(height=LONG_POST_BOX_PX, border=False)
    if len(s) <= max_chars or show_all:
        box.text(s)
    else:
        box.text(s[:max_chars] + " …")
        target.caption(f"Showing the first {max_chars:,} of {len(s):,} characters.")


def posts_table(df: pd.DataFrame, *, columns: tuple[str, ...] | list[str] | None = None,
                height: int | str = "auto", key: str | None = None, on_select=None,
                selection_mode: str = "single-row", column_config: dict | None = None):
    """Show posts in ``st.dataframe`` (cells are plain text).

    Args:
        df: a post table or ranking table.
        columns: which columns to show, in order (missing ones are skipped);
            default :data:`PREVIEW_COLUMNS`.
        height: table height in pixels or ``"auto"``.
        key: widget key (needed with ``on_select``).
        on_select: ``"rerun"`` to make rows selectable (returns the selection).
        selection_mode: ``"single-row"`` or ``"multi-row"`` (with ``on_select``).
        column_config: extra ``st.column_config`` entries.

    Returns:
        What ``st.dataframe`` returns (the selection state with ``on_select``).
    """
    wanted = [c for c in (columns or PREVIEW_COLUMNS) if c in df.columns]
    # A column with no value at all (log-odds of the embedded scorer, an export without
    # authors) says nothing but "None" on every row: leave it out.
    wanted = [c for c in wanted if c in ("post_id", "text") or len(df) == 0 or df[c].notna().any()]
    view = df[wanted] if wanted else df
    config = {
        "text": st.column_config.TextColumn("text", width="large"),
        "post_id": st.column_config.TextColumn("post_id"),
        "dup_count": st.column_config.NumberColumn(
            "copies", format="%d", help="Posts in the file with this text (retweet copies included); 1 = unique."),
    }
    config.update(column_config or {})
    kwargs = {"hide_index": True, "column_config": config, "height": height}
    if on_select is not None:
        kwargs.update(key=key, on_select=on_select, selection_mode=selection_mode)
    elif key is not None:
        kwargs["key"] = key
    return st.dataframe(view, **kwargs)


def require_dataset():
    """The loaded dataset (:class:`dashboard.state.LoadedDataset`); when none is
    loaded, tell the analyst to load one (with a link to the Data page) and end
    the page here."""
    from dashboard import state

    ds = state.dataset()
    if ds is None:
        st.info("No posts loaded yet. Open the Data page and pick a sample or upload an export.",
                icon=":material/info:")
        page_link("data.py", "Go to the Data page", icon=":material/table:")
        end_page()
    return ds


def page_link(page_file: str, label: str, *, icon: str | None = None) -> None:
    """A link to another page of the app (``page_file`` is a file name in ``pages/``)."""
    try:
        st.page_link(PAGES_DIR / page_file, label=label, icon=icon)
    except Exception:  # noqa: BLE001 - outside st.navigation (a page run on its own): no link
        pass


def score_meaning(info) -> str:
    """What a relevance score of the scorer ``info`` is, in one phrase for help texts.

    Qwen3-Reranker (``kind`` ``"qwen3"`` or ``"vllm"``) gives P(yes), the softmax of the
    "yes"/"no" logits; the embedded fallback gives a fused similarity, which is not a
    probability and is not comparable across queries.

    Args:
        info: a :class:`core.rerank.base.ScorerInfo` (``None``: unknown scorer).
    """
    kind = getattr(info, "kind", None)
    if kind in ("qwen3", "vllm"):
        return "Qwen3-Reranker's P(yes) in [0, 1]: its probability that the post answers the query"
    if kind == "embedded":
        return ("fused similarity in [0, 1] (embedding cosine + BM25; under a mode, fused with the "
                "mode part: see relevance_score and mode_score), not a probability: compare scores "
                "within one query only")
    return "relevance score in [0, 1] (higher = more relevant)"


def scorer_caption(info) -> None:
    """One caption naming the scorer that produced the scores shown below it.

    Args:
        info: a :class:`core.rerank.base.ScorerInfo`.
    """
    st.caption(f"Scored by {escape_markdown(info.label)} · score: {escape_markdown(score_meaning(info))}")
    if not info.follows_instructions:
        st.warning(
            "The embedded fallback scorer is in use, not Qwen3-Reranker: it cannot read the "
            "instruction, so each mode applies its model-agnostic part instead (emotion: feeling "
            "lexicons; accuracy: a small informativeness classifier; custom and your own modes: the "
            "instruction's words as a second query; novelty: MMR), shown as mode_score beside "
            "relevance_score. Choose a Qwen3 model on the Settings page to use the instructions themselves.",
            icon=":material/warning:",
        )


# --------------------------------------------------------------------------- grading keys

#: Longest post text shown in full on the Grade page before a "show all" toggle (characters).
POST_PREVIEW_CHARS = 2000

#: Keys the Grade page listens to: key -> grade (``None`` = skip).
GRADE_KEYS = {"1": 1, "2": 2, "3": 3, "4": 4, "5": 5, "s": None}

# The key listener of the Grade page. A keyboard shortcut of an ``st.button`` grades the
# post the *server* shows at the moment the press arrives; with presses a few hundred ms
# apart that is often not the post on screen any more, and presses that arrive while a
# rerun is in flight are merged away. So this listener reads, at the moment of the key
# press, which post is on screen (the class ``st-key-grade-post-<token>`` of the post's
# container) and appends ``{id, token, grade}`` to a log it sends as the component's
# state. The log is cumulative (a press can never be merged away) and every event has a
# unique id (a stale or repeated send is applied once); the page acknowledges applied
# ids through ``data.acked`` and the listener then drops them. Esc in a text field of the
# Grade page leaves it (keys typed in a field are text, not grades).
_GRADE_KEYS_JS = """
export default function(component) {
  const { setStateValue, data } = component;
  const g = window.__sieveGradeKeys || (window.__sieveGradeKeys = {
    log: [], n: 0, nonce: Math.random().toString(36).slice(2, 10), bound: false, send: null });
  const acked = new Set((data && data.acked) || []);
  g.log = g.log.filter((e) => !acked.has(e.id));
  g.send = setStateValue;
  const keys = (data && data.keys) || {};
  g.keys = keys;
  if (!g.bound) {
    g.bound = true;
    document.addEventListener("keydown", (ev) => {
      if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.repeat || !g.send) return;
      const t = ev.target;
      const onGradePage = !!document.querySelector('[class*="st-key-grade-post-"]');
      if (ev.key === "Escape" && onGradePage && t && /^(INPUT|TEXTAREA)$/.test(t.tagName)) {
        t.blur();  // Esc leaves the note field (Streamlit keeps the text on blur); keys grade again
        return;
      }
      if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
      const k = (ev.key || "").toLowerCase();
      if (!Object.prototype.hasOwnProperty.call(g.keys, k)) return;
      const el = document.querySelector('[class*="st-key-grade-post-"]');
      if (!el) return;
      const cls = Array.from(el.classList).find((c) => c.startsWith("st-key-grade-post-"));
      if (!cls) return;
      ev.preventDefault();
      ev.stopPropagation();
      g.n += 1;
      g.log.push({ id: g.nonce + "-" + g.n, token: cls.slice("st-key-grade-post-".length),
                   grade: g.keys[k], t: Date.now() });
      g.send("events", g.log.slice(-200));
    }, true);
  }
}
"""

_grade_keys_component = None


def grade_key_listener(*, acked: list[str]) -> list[dict]:
    """Mount the Grade page's key listener; returns the key events it logged.

    Args:
        acked: ids of events already applied (the listener forgets them).

    Returns:
        The events not yet acknowledged, oldest first: dicts with ``id`` (str,
        unique per press), ``token`` (the :func:`post_token` of the post on
        screen when the key was pressed) and ``grade`` (1-5, or ``None`` = skip).
    """
    global _grade_keys_component
    if _grade_keys_component is None:
        _grade_keys_component = st.components.v2.component("sieve_grade_keys", js=_GRADE_KEYS_JS, html="")
    result = _grade_keys_component(key="grade.keys", data={"acked": list(acked), "keys": GRADE_KEYS},
                                   default={"events": []}, height=0, on_events_change=lambda: None)
    events = getattr(result, "events", None) or []
    return [e for e in events if isinstance(e, dict) and isinstance(e.get("id"), str)]


def post_token(query: str, post_id: str) -> str:
    """A short key-safe token naming (query, post) on the Grade page (hex, 16 chars)."""
    import hashlib

    return hashlib.sha1(f"{query}\x1f{post_id}".encode()).hexdigest()[:16]


def model_badge() -> None:
    """Sidebar: the reranker really in use; a warning badge for the embedded fallback."""
    from dashboard import resources, state

    s = state.settings()
    info = resources.scorer_for(s).info
    if info.kind == "embedded" or not info.follows_instructions:
        st.badge("Embedded fallback, not Qwen3", icon=":material/warning:", color="orange")
        st.caption(
            f"Scores come from {info.model_id}, which cannot read instructions (modes apply their "
            "model-agnostic part). "
            + ("No Qwen3-Reranker weights were found offline. " if s.reranker == "auto" else "")
            + "Choose a Qwen3 model on the Settings page."
        )
    else:
        st.badge(info.model_id, icon=":material/memory:", color="green")
        st.caption(f"Reranker on {info.device}, {info.dtype}")
