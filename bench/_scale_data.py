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
