"""The post table: the one shape every stage after ingest reads.

A post table is a ``pandas.DataFrame`` with one row per post, indexed by a
plain ``RangeIndex``, with these columns (ingest always writes all of them;
optional ones hold missing values when the export has no such column):

=================== ============ ============================================
column              dtype        meaning
=================== ============ ============================================
``post_id``         str          unique ID (never a number; a content hash
                                 ``h:<16 hex>`` when the export has none or
                                 its IDs are corrupted)
``text``            str          the cleaned own text that is embedded, scored
                                 and shown (Weibo: before the first ``//@``)
``text_raw``        str          the text cell exactly as read
``time``            datetime64   publication time, ``datetime64[ns, UTC]`` (NaT
                    [ns, UTC]    when unknown); from the time column, relative
                                 times against the crawl time, or X/Twitter
                                 snowflake IDs (``core/ingest/times.py``)
``author``          str|None     author name or handle
``likes``           Int64        engagement counts (<NA> when unknown)
``reposts``         Int64
``comments``        Int64
``lang``            str|None     language code from the export, or detected
                                 (``zh``, ``en``, ``mixed``)
``url``             str|None     link to the post
``hashtags``        list[str]    ``#tag`` / ``#话题#`` found in the text
``mentions``        list[str]    ``@user`` found in the text
``urls``            list[str]    URLs found in the text (these three columns are
                                 ``pd.ArrowDtype(list<string>)``: a row reads as
                                 a ``list[str]``, no Python list is kept per row)
``scorable``        bool         False for placeholders and empty text
``unscorable_reason`` str|None   why a post is not scored (e.g. ``"placeholder: [deleted]"``)
``dup_of``          str|None     ``post_id`` of the representative this post
                                 duplicates, None for representatives
``dup_count``       int          posts (itself included) that share its
                                 normalised own text; 1 for unique posts
``source_row``      int          1-based record number in the export (header
                                 excluded), for messages that name a row
=================== ============ ============================================
"""

from __future__ import annotations

import numpy as np

POST_COLUMNS: tuple[str, ...] = (
    "post_id",
    "text",
    "text_raw",
    "time",
    "author",
    "likes",
    "reposts",
    "comments",
    "lang",
    "url",
    "hashtags",
    "mentions",
    "urls",
    "scorable",
    "unscorable_reason",
    "dup_of",
    "dup_count",
    "source_row",
)

#: Column roles an analyst can map (role -> meaning), in the order the UI shows them.
ROLES: dict[str, str] = {
    "text": "post text (required)",
    "id": "post ID",
    "time": "publication time",
    "author": "author",
    "likes": "likes / 点赞数",
    "reposts": "reposts, retweets / 转发数",
    "comments": "comments, replies / 评论数",
    "lang": "language",
    "url": "link to the post",
}


def scorable_mask(posts) -> np.ndarray | None:
    """Which posts of a post table can be scored: bool array of shape (n,) from its
    ``scorable`` column (a missing value counts as False), or None when the table has no
    such column (a table not made by ingest: the caller decides, e.g. by non-empty text)."""
    if "scorable" not in posts.columns:
        return None
    return posts["scorable"].fillna(False).astype(bool).to_numpy()
