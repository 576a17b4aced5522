"""The large test export of ``bench/scale.py``, built from ``../shared/real_data``.

CrisisLex T6 (2 events) and T26 (13 events) together hold 33,768 tweets
(30,641 distinct texts after ``core.embed.dedupe_texts``). The issue's file
(60,082 tweets, CrisisLexT6's six events) had many retweets, so the rest up to
``n`` rows are retweet copies of real tweets: ``RT @user_<k>: <text>`` of a
tweet drawn with Zipf-like popularity (a few tweets copied hundreds of times,
most never), each with a fresh ID. Nothing is copied into the repository: the
CSV is written to a temporary folder.
"""

from __future__ import annotations

import csv
import hashlib
import html
import os
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
REAL = Path(os.environ.get("SIEVE_SHARED_DIR") or ROOT.parent / "shared") / "real_data"


def real_tweets() -> list[tuple[str, str, str]]:
    """``(tweet_id, text, source)`` of every CrisisLex T6 and T26 row, file order; [] when absent."""
    rows: list[tuple[str, str, str]] = []
    for f in sorted((REAL / "crisislex_t6").glob("*.csv")):
        with open(f, encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            next(reader)
            rows += [(r[0].strip().strip("'\""), html.unescape(r[1]), f.stem) for r in reader if len(r) >= 2]
    for f in sorted((REAL / "crisislex_t26").glob("*/*-tweets_labeled.csv")):
        with open(f, encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            next(reader)
            rows += [(r[0].strip().strip("'\""), html.unescape(r[1]), f.parent.name) for r in reader if len(r) >= 2]
    return rows


def build_export(path: Path, n: int = 60_082, *, seed: int = 0) -> dict[str, int]:
    """Write a CSV (``tweet_id,text,event``) of ``n`` tweets to ``path``.

    Returns:
        ``{"rows": n, "real": real rows used, "copies": retweet copies added}``.

    Raises:
        FileNotFoundError: when ``../shared/real_data`` is absent.
    """
    real = real_tweets()
    if not real:
        raise FileNotFoundError(f"{REAL} is absent: the scale bench needs the CrisisLex files.")
    rng = np.random.default_rng(seed)
    rows = real[:n]
    n_copies = max(0, n - len(rows))
    if n_copies:
        weights = 1.0 / np.arange(1, len(real) + 1) ** 1.1  # Zipf-like popularity over a shuffled order
        popular = rng.permutation(len(real))
        picks = popular[rng.choice(len(real), size=n_copies, p=weights / weights.sum())]
        base = 9 * 10**17
        for j, i in enumerate(picks):
            _, text, event = real[int(i)]
            rows.append((str(base + j), f"RT @user_{int(rng.integers(1, 5000))}: {text}", event))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["tweet_id", "text", "event"])
        w.writerows(rows)
    return {"rows": len(rows), "real": min(n, len(real)), "copies": n_copies}


def real_posts() -> list[tuple[str, str]]:
    """``(text, source)`` of every real post: the CrisisLex tweets, then the 3,000 NLPCC Weibo posts."""
    rows = [(text, src) for _, text, src in real_tweets()]
    weibo = REAL / "nlpcc2016_weibo_stance" / "evasampledata4-TaskAA.txt"
    if weibo.is_file():
        with open(weibo, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
            next(reader)
            rows += [(r[2], "weibo") for r in reader if len(r) >= 3 and r[2].strip()]
    return rows


def _halves(text: str) -> tuple[str, str]:
    """Split a post near its middle: at a space for space-separated text, else at a character."""
    text = " ".join(text.split())
    words = text.split(" ")
    if len(words) >= 4:
        cut = len(words) // 2
        return " ".join(words[:cut]), " ".join(words[cut:])
    cut = max(1, len(text) // 2)
    return text[:cut], text[cut:]


def spliced_texts(n: int, *, seed: int = 0) -> tuple[list[str], list[str]]:
    """``n`` distinct post texts spliced from real posts, and the source of each.

    Text ``i`` is the first half of real post ``a`` and the second half of a
    real post ``b`` drawn from the same language (Weibo halves with Weibo
    halves, tweets with tweets), where ``a`` cycles over the real posts in a
    seeded shuffled order, so the share of Chinese and English posts is the
    real data's. Halves are split at the middle word (at the middle character
    for Chinese). A splice whose normalised text
    (:func:`core.text.normalise_for_dedupe`) was already produced is drawn
    again, so no two texts are identical even after normalisation.

    Raises:
        FileNotFoundError: when ``../shared/real_data`` is absent.
    """
    from core.text import normalise_for_dedupe

    real = real_posts()
    if not real:
        raise FileNotFoundError(f"{REAL} is absent: the scale bench needs the real data.")
    rng = np.random.default_rng(seed)
    halves = [_halves(t) for t, _ in real]
    groups: dict[bool, np.ndarray] = {}
    is_weibo = np.array([s == "weibo" for _, s in real])
    for flag in (False, True):
        groups[flag] = np.flatnonzero(is_weibo == flag)
    order = rng.permutation(len(real))
    seen: set[bytes] = set()
    texts: list[str] = []
    sources: list[str] = []
    i = 0
    while len(texts) < n:
        a = int(order[i % len(order)])
        i += 1
        pool = groups[bool(is_weibo[a])]
        for _ in range(20):
            b = int(pool[rng.integers(len(pool))])
            text = f"{halves[a][0]} {halves[b][1]}".strip()
            key = hashlib.blake2b(normalise_for_dedupe(text).encode("utf-8"), digest_size=12).digest()
            if key not in seen:
                seen.add(key)
                texts.append(text)
                sources.append(real[a][1])
                break
    return texts, sources


def build_spliced_export(path: Path, n: int, *, seed: int = 0) -> dict[str, int]:
    """Write a CSV (``post_id,text,source``) of ``n`` distinct spliced posts (:func:`spliced_texts`).

    Returns:
        ``{"rows": n, "weibo": Chinese rows, "bytes": file size}``.
    """
    texts, sources = spliced_texts(n, seed=seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["post_id", "text", "source"])
        w.writerows((str(10**17 + j), t, s) for j, (t, s) in enumerate(zip(texts, sources)))
    return {"rows": n, "weibo": sum(s == "weibo" for s in sources), "bytes": path.stat().st_size}
