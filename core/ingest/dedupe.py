"""Exact and near-exact duplicates, and the identity of a dataset.

Two posts are duplicates when their own texts have the same key under
:func:`core.text.tokenize.normalise_for_dedupe` (NFKC, lower case, no URLs,
mentions, ``RT`` prefix, emoticon codes, punctuation or whitespace): retweet
copies and reposts with the same comment fall together. A copy cut short
(``RT @user: text th…``) joins the complete post whose key it starts. Unscorable
posts and posts with an empty key are never grouped.
"""

from __future__ import annotations

import bisect
import hashlib

import pandas as pd

from core.text.tokenize import normalise_for_dedupe

#: A cut-off copy must keep at least this many key characters to join a longer post.
MIN_PREFIX_KEY = 15


def mark_duplicates(
    post_ids: list[str], texts: list[str] | None, scorable: list[bool], partial: list[bool] | None = None,
    *, keys: list[str] | None = None,
) -> tuple[list[str | None], list[int]]:
    """Group posts by normalised own text.

    Args:
        post_ids: unique post IDs, in table order.
        texts: cleaned own texts (same length).
        scorable: whether each post is scored (unscorable posts stay alone).
        keys: optional :func:`core.text.tokenize.normalise_for_dedupe` of every text, when
            the caller has them (``texts`` may then be None).
        partial: whether each text was cut short (a retweet copy ending in
            ``…``, a Weibo post with a trailing ``全文`` link). A cut-off
            post whose key (at least ``MIN_PREFIX_KEY`` characters) starts a
            longer post's key joins that post's group.

    Returns:
        ``(dup_of, dup_count)``: for each post, the ``post_id`` of its group's
        representative (the first post of the group in table order, or the
        complete post for a cut-off copy; ``None`` for the representative
        itself and for unique posts), and the size of its group (1 for unique
        posts).
    """
    first: dict[str, int] = {}
    if keys is None:
        keys_in = (normalise_for_dedupe(t) if ok else "" for t, ok in zip(texts, scorable))
    else:
        keys_in = (k if ok else "" for k, ok in zip(keys, scorable))
    keys = []
    for i, key in enumerate(keys_in):
        keys.append(key)
        if key:
            first.setdefault(key, i)
    # a cut-off copy joins the group of the first longer key it starts
    redirect: dict[str, str] = {}
    if partial is not None and any(partial):
        ordered = sorted(first)
        for i, key in enumerate(keys):
            if not key or not partial[i] or len(key) < MIN_PREFIX_KEY or key in redirect:
                continue
            pos = bisect.bisect_right(ordered, key)
            if pos < len(ordered) and ordered[pos].startswith(key):
                redirect[key] = ordered[pos]
        for key, target in list(redirect.items()):  # follow chains of cut-off copies
            seen = {key}
            while target in redirect and target not in seen:
                seen.add(target)
                target = redirect[target]
            redirect[key] = target
    group = [redirect.get(k, k) for k in keys]
    size: dict[str, int] = {}
    rep: dict[str, int] = {}
    for i, g in enumerate(group):
        if g:
            size[g] = size.get(g, 0) + 1
            rep.setdefault(g, first[g])
    dup_of: list[str | None] = []
    dup_count: list[int] = []
    for i, g in enumerate(group):
        if not g:
            dup_of.append(None)
            dup_count.append(1)
            continue
        dup_of.append(None if rep[g] == i else post_ids[rep[g]])
        dup_count.append(size[g])
    return dup_of, dup_count


def collapse_duplicates(posts: pd.DataFrame) -> pd.DataFrame:
    """One representative per duplicate group.

    Args:
        posts: a post table (``core.schema.POST_COLUMNS``).

    Returns:
        The rows whose ``dup_of`` is missing (representatives and unique
        posts), in their original order, with a fresh ``RangeIndex``; each
        keeps ``dup_count``, the number of posts its group had.
    """
    keep = posts["dup_of"].isna()
    return posts.loc[keep].reset_index(drop=True)


def dataset_hash(posts: pd.DataFrame) -> str:
    """A content hash that identifies a dataset (used to key stored grades).

    It covers each post's ``post_id`` and ``text_raw``, independent of row
    order, so the same export read twice (or re-sorted) gets the same hash.

    Returns:
        20 hexadecimal characters (the start of a SHA-256).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    digest = hashlib.sha256()
    # sorted by (post_id, text_raw) in Arrow (UTF-8 byte order is code point order, as Python's),
    # then hashed 65,536 pairs at a time: no list of a million Python string pairs
    pairs = pa.table({"id": pa.array(posts["post_id"].astype(str), type=pa.large_string()),
                      "text": pa.array(posts["text_raw"].fillna("").astype(str), type=pa.large_string())})
    order = pc.sort_indices(pairs, sort_keys=[("id", "ascending"), ("text", "ascending")])
    for start in range(0, len(order), 65_536):
        part = pairs.take(order[start : start + 65_536])
        for post_id, text in zip(part.column("id").to_pylist(), part.column("text").to_pylist()):
            digest.update(post_id.encode("utf-8"))
            digest.update(b"\x1f")
            digest.update(text.encode("utf-8"))
            digest.update(b"\x1e")
    return digest.hexdigest()[:20]
