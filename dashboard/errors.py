"""The dashboard's one error boundary.

Every page runs its core calls inside :func:`error_boundary`. An error meant
for a person (:class:`core.errors.SieveError`) becomes ``st.error`` with its
message and, when it has one, its hint. Any other exception is a bug: the
analyst sees one short sentence saying what failed and that nothing graded is
lost, with the details folded away in an expander for a bug report. Grades are
written to the label store the moment they are given, so an error never loses
them. Streamlit's own control flow (``st.rerun``, ``st.stop``) passes through.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from core.errors import SieveError  # pages raise it for the analyst (dashboard.errors.SieveError)
from dashboard.widgets import escape_markdown

logger = logging.getLogger(__name__)

#: Longest part of an unexpected exception's message shown outside the expander.
MAX_SUMMARY_CHARS = 240


def summarize_exception(exc: BaseException) -> str:
    """One short line naming an unexpected exception: ``TypeError: first line of message``.

    The message is cut at its first line and at :data:`MAX_SUMMARY_CHARS`.
    """
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if len(text) > MAX_SUMMARY_CHARS:
        text = text[: MAX_SUMMARY_CHARS - 1] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


#: Command-line advice in core messages -> where the same choice is made on the dashboard.
_CLI_ADVICE = (
    (re.compile(r"pass that folder with --model FOLDER or SIEVE_RERANKER=FOLDER"),
     "give that folder on the Settings page (Reranker: “Another model id or a local folder…”)"),
    (re.compile(r"given with --model or SIEVE_RERANKER"), "given on the Settings page"),
    (re.compile(r"--model(?: FOLDER)? or SIEVE_RERANKER(?:=FOLDER)?"), "the Reranker on the Settings page"),
    (re.compile(r"--embedder(?: \S+)? or SIEVE_EMBEDDER(?:=\S+)?"), "the Embedder on the Settings page"),
)


def dashboard_wording(text: str | None) -> str | None:
    """``text`` with command-line advice (``--model FOLDER or SIEVE_RERANKER``) replaced by
    where the same choice is made on the dashboard (the Settings page)."""
    if not text:
        return text
    for pattern, repl in _CLI_ADVICE:
        text = pattern.sub(repl, text)
    return text


@contextmanager
def error_boundary(action: str, *, compact: bool = False) -> Iterator[None]:
    """Show errors raised inside the block as readable messages instead of a traceback.

    Args:
        action: what the block does, as a gerund phrase for the message
            (``"reading the file"``, ``"reranking"``).
        compact: one short line for an unexpected error (for the sidebar).

    Yields:
        Nothing. Code after the ``with`` block keeps running after an error, so
        the rest of the page still renders.

    Example:
        >>> with error_boundary("reranking"):  # doctest: +SKIP
        ...     ranking = rerank(posts, query, scorer=scorer)
    """
    try:
        yield
    except SieveError as exc:
        logger.info("error shown to the analyst while %s: %s", action, exc)
        st.error(escape_markdown(dashboard_wording(exc.message)), icon=":material/error:")
        if exc.hint:
            st.info(escape_markdown(dashboard_wording(exc.hint)), icon=":material/lightbulb:")
    except Exception as exc:  # a bug: show it readably, keep the details for a report
        logger.exception("unexpected error while %s", action)
        if compact:
            st.error(f"Failed: {escape_markdown(action)} ({escape_markdown(summarize_exception(exc))})",
                     icon=":material/bug_report:")
            with st.expander("Details"):
                st.code("".join(traceback.format_exception(exc)), language=None)
            return
        st.error(
            f"Sieve could not finish {escape_markdown(action)} "
            f"({escape_markdown(summarize_exception(exc))}). Your grades are saved; you can "
            "change the inputs and try again. If it happens again, please report it with the "
            "details below.",
            icon=":material/bug_report:",
        )
        with st.expander("Details for a bug report"):
            st.code("".join(traceback.format_exception(exc)), language=None)
