"""Identifiers shared by every stage: the query ID of qrels, runs and the label store."""

from __future__ import annotations

import hashlib


def query_id_for(text: str) -> str:
    """Stable query ID of a query text: ``"q"`` + the first 12 hex digits of the
    SHA-256 of the UTF-8 text with surrounding whitespace stripped.

    The same query typed in two sessions, two stores, or a run file gets the
    same ID, which is what TREC qrels and runs are keyed by.

    >>> query_id_for("台风 山竹")
    'q39a4a3ca1af4'
    """
    return "q" + hashlib.sha256(str(text).strip().encode("utf-8")).hexdigest()[:12]
