"""Metrics against hand-computed values, gain mapping, unjudged counts, tests, and the CLI."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from core.cli import main
from core.errors import SieveError
from core.evaluate import (
    GAIN_MAPPING_GRADES,
    GAIN_MAPPING_TREC,
    evaluate_runs,
    evaluate_store,
    grades_to_qrels,
    ranking_to_run,
)
from core.export.trec import write_qrels, write_run
from core.labels import LabelStore, query_id_for

REPO_ROOT = Path(__file__).resolve().parent.parent
LOG2_3 = math.log2(3)

# q1: run order a, b, c with gains 3, 0, 2; q2: run order b (unjudged), a (gain 1); z (gain 4) not retrieved.
QRELS = {"q1": {"a": 3, "b": 0, "c": 2}, "q2": {"a": 1, "z": 4}, "q3": {"x": 0}}
RUN_X = {"q1": {"a": 0.9, "b": 0.8, "c": 0.7}, "q2": {"b": 1.0, "a": 0.5}}
RUN_Y = {"q1": {"c": 0.9, "b": 0.8, "a": 0.7}, "q9": {"a": 1.0}}


def test_ndcg_precision_mrr_by_hand():
    res = evaluate_runs(QRELS, {"x": RUN_X}, metrics=["ndcg@3", "precision@3", "mrr"],
                        gain_mapping=GAIN_MAPPING_TREC)
    # q1: DCG@3 = 3/log2(2) + 0/log2(3) + 2/log2(4) = 3 + 0 + 1 = 4
    #     ideal order 3, 2, 0: IDCG@3 = 3/1 + 2/log2(3) + 0 = 4.26186
    ndcg_q1 = 4 / (3 + 2 / LOG2_3)
    # q2: DCG@3 = 0 (b unjudged) + 1/log2(3); ideal 4, 1: IDCG = 4 + 1/log2(3)
    ndcg_q2 = (1 / LOG2_3) / (4 + 1 / LOG2_3)
    assert res.per_query["x"]["ndcg@3"]["q1"] == pytest.approx(ndcg_q1, abs=1e-12)
    assert res.per_query["x"]["ndcg@3"]["q2"] == pytest.approx(ndcg_q2, abs=1e-12)
    assert res.scores["x"]["ndcg@3"] == pytest.approx((ndcg_q1 + ndcg_q2) / 2, abs=1e-12)
    # TREC qrels: relevant = gain >= 1. q1: a, c relevant in top 3 -> 2/3; q2: a -> 1/3.
    assert res.scores["x"]["precision@3"] == pytest.approx((2 / 3 + 1 / 3) / 2)
    # MRR: q1 first relevant at rank 1 -> 1; q2 at rank 2 -> 1/2.
    assert res.scores["x"]["mrr"] == pytest.approx(0.75)
    # q3 has no relevant post: left out, and said so.
    assert res.queries == ["q1", "q2"] and res.queries_without_relevant == ["q3"]
    assert res.rel_level == 1 and res.gain_mapping == GAIN_MAPPING_TREC


def test_rel_level_for_binary_metrics_only():
    res = evaluate_runs(QRELS, {"x": RUN_X}, metrics=["ndcg@3", "precision@3", "mrr"], rel_level=3,
                        gain_mapping=GAIN_MAPPING_TREC)
    # gain >= 3: q1 only a (rank 1) -> P@3 = 1/3, RR = 1; q2 only z (not retrieved) -> 0, 0.
    assert res.scores["x"]["precision@3"] == pytest.approx((1 / 3 + 0) / 2)
    assert res.scores["x"]["mrr"] == pytest.approx(0.5)
    # nDCG keeps every gain > 0, whatever the threshold.
    assert res.per_query["x"]["ndcg@3"]["q1"] == pytest.approx(4 / (3 + 2 / LOG2_3))
    assert res.relevance_threshold == "gain >= 3"


def test_grades_mapping_default_threshold_is_grade_4():
    grades = pd.DataFrame({
        "query_id": ["q", "q", "q", "q"], "post_id": ["a", "b", "c", "d"],
        "annotator": ["ana"] * 4, "grade": pd.array([5, 4, 3, None], dtype="Int64"),
    })
    qrels = grades_to_qrels(grades)
    assert qrels == {"q": {"a": 4, "b": 3, "c": 2}}  # gain = grade - 1; the skip stays unjudged
    run = {"q": {"c": 3.0, "b": 2.0, "a": 1.0, "d": 0.5}}
    res = evaluate_runs(qrels, {"r": run}, metrics=["precision@2", "mrr", "ndcg@4"])
    assert res.gain_mapping == GAIN_MAPPING_GRADES and res.rel_level == 3
    assert res.relevance_threshold == "grade >= 4 (gain >= 3)"
    # Top 2 = c (grade 3, not relevant), b (grade 4, relevant): P@2 = 1/2, first relevant at rank 2.
    assert res.scores["r"]["precision@2"] == pytest.approx(0.5)
    assert res.scores["r"]["mrr"] == pytest.approx(0.5)
    # DCG@4 = 2/1 + 3/log2(3) + 4/2 + 0 (d unjudged); IDCG = 4/1 + 3/log2(3) + 2/2
    assert res.scores["r"]["ndcg@4"] == pytest.approx((2 + 3 / LOG2_3 + 2) / (4 + 3 / LOG2_3 + 1))
    assert res.unjudged["r"]["n_unjudged"] == 1 and res.unjudged["r"]["k"] == 4
    assert any("unjudged" in f for f in res.flags)


def test_unjudged_counts_missing_queries_and_comparisons():
    res = evaluate_runs(QRELS, {"x": RUN_X, "y": RUN_Y}, metrics=["ndcg@3", "mrr"],
                        gain_mapping=GAIN_MAPPING_TREC, stat_test="student")
    assert res.unjudged["x"]["per_query"] == {"q1": 0, "q2": 1}
    assert res.unjudged["x"]["n_unjudged"] == 1 and res.unjudged["x"]["n_retrieved"] == 5
    assert res.unjudged["y"]["n_unjudged"] == 0
    # y has no q2: it scores 0 there; its q9 is not graded and is reported.
    assert res.per_query["y"]["mrr"]["q2"] == 0.0
    assert res.queries_not_in_qrels == {"y": ["q9"]}
    pairs = {(c["run_a"], c["run_b"], c["metric"]) for c in res.comparisons}
    assert pairs == {("x", "y", "ndcg@3"), ("x", "y", "mrr")}
    mrr = next(c for c in res.comparisons if c["metric"] == "mrr")
    # Per-query MRR differences x - y: q1 1 - 1 = 0, q2 0.5 - 0 = 0.5 -> paired t = 1 with 1 df, p = 0.5.
    assert mrr["p_value"] == pytest.approx(0.5) and not mrr["significant"]
    d = res.to_dict()
    json.dumps(d)
    assert d["scores"]["x"]["mrr"] == pytest.approx(0.75) and d["rel_level"] == 1


def test_fisher_test_and_single_query():
    runs = {"good": {f"q{i}": {"r": 2.0, "n": 1.0} for i in range(12)},
            "bad": {f"q{i}": {"n": 2.0, "r": 1.0} for i in range(12)}}
    qrels = {f"q{i}": {"r": 1, "n": 0} for i in range(12)}
    res = evaluate_runs(qrels, runs, metrics=["mrr"], stat_test="fisher", gain_mapping=GAIN_MAPPING_TREC,
                        n_permutations=200)
    (cmp,) = res.comparisons
    assert res.scores["good"]["mrr"] == 1.0 and res.scores["bad"]["mrr"] == 0.5
    assert cmp["significant"] and cmp["p_value"] < 0.05 and res.stat_test == "fisher"
    one = evaluate_runs({"q": {"a": 1}}, {"r1": {"q": {"a": 1.0}}, "r2": {"q": {"a": 1.0}}},
                        metrics=["mrr"], gain_mapping=GAIN_MAPPING_TREC)
    assert one.comparisons == [] and one.stat_test is None
    assert any("one query" in f for f in one.flags)


def test_errors_name_the_problem():
    with pytest.raises(SieveError, match="not supported"):
        evaluate_runs(QRELS, {"x": RUN_X}, metrics=["ndgc@10"])
    with pytest.raises(SieveError, match="no run"):
        evaluate_runs(QRELS, {})
    with pytest.raises(SieveError, match="relevant post"):
        evaluate_runs({"q": {"a": 0}}, {"x": {"q": {"a": 1.0}}})
    with pytest.raises(SieveError, match="'student' or 'fisher'"):
        evaluate_runs(QRELS, {"x": RUN_X}, stat_test="wilcoxon")


class _FakeRanking:
    """Duck-typed stand-in for core.rerank.pipeline.Ranking."""

    def __init__(self, query, scores, mode="relevance"):
        self.query, self.mode, self.instruction, self._scores = query, mode, "Judge relevance", scores

    def to_run(self):
        return dict(self._scores)


def test_store_evaluation_with_rankings(tmp_path):
    store = LabelStore(tmp_path / "labels.sqlite")
    for post, grade in {"p1": 5, "p2": 1, "p3": 4}.items():
        store.set_grade("ds", "台风", post, grade, annotator="ana")
    good = _FakeRanking("台风", {"p1": 0.9, "p3": 0.8, "p2": 0.1})
    bad = _FakeRanking("台风", {"p2": 0.9, "p3": 0.8, "p1": 0.1, "p4": float("nan")})
    assert ranking_to_run(bad) == {query_id_for("台风"): {"p2": 0.9, "p3": 0.8, "p1": 0.1}}
    res = evaluate_store(store, "ds", {"good": good, "bad": [bad]}, metrics=["mrr", "ndcg@3"])
    assert res.scores["good"]["mrr"] == 1.0 and res.scores["bad"]["mrr"] == 0.5
    assert res.scores["good"]["ndcg@3"] == pytest.approx(1.0)


def test_cli_json_and_text(tmp_path, capsys):
    qrels = write_qrels(QRELS, tmp_path / "qrels.txt")
    run_x = write_run(RUN_X, tmp_path / "x.txt", name="precise")
    run_y = write_run(RUN_Y, tmp_path / "y.txt", name="emotion")
    code = main(["evaluate", "--qrels", str(qrels), "--run", str(run_x), "--run", str(run_y), "--json",
                 "--metrics", "ndcg@3", "mrr"])
    out = capsys.readouterr()
    assert code == 0
    data = json.loads(out.out)
    assert set(data) == {"precise", "emotion"} and set(data["precise"]) == {"ndcg@3", "mrr"}
    assert data["precise"]["mrr"] == pytest.approx(0.75)
    assert "unjudged" in out.err
    code = main(["evaluate", "--qrels", str(qrels), "--run", str(run_x), "--metrics", "mrr"])
    text = capsys.readouterr().out
    assert code == 0 and "precise" in text and "0.7500" in text and "gain >= 1" in text
    # A run file given as qrels is a person's mistake: one line on stderr, exit 2.
    assert main(["evaluate", "--qrels", str(run_x), "--run", str(run_x)]) == 2
    assert "line 1" in capsys.readouterr().err


def test_cli_against_store(tmp_path, capsys):
    store = LabelStore(tmp_path / "labels.sqlite")
    for post, grade in {"p1": 5, "p2": 1, "p3": 4}.items():
        store.set_grade("ds", "typhoon", post, grade, annotator="ana")
    run = write_run({query_id_for("typhoon"): {"p2": 0.9, "p1": 0.5}}, tmp_path / "r.txt", name="r")
    assert main(["evaluate", "--store", str(store.path), "--run", str(run), "--json", "--metrics", "mrr"]) == 0
    assert json.loads(capsys.readouterr().out) == {"r": {"mrr": 0.5}}


def test_python_m_core_evaluate_subprocess(tmp_path):
    qrels = write_qrels({"q": {"a": 1, "b": 0}}, tmp_path / "qrels.txt")
    run = write_run({"q": {"b": 2.0, "a": 1.0}}, tmp_path / "r.txt", name="r")
    out = subprocess.run([sys.executable, "-m", "core", "evaluate", "--qrels", str(qrels), "--run", str(run),
                          "--json", "--metrics", "ndcg@10"],
                         capture_output=True, text=True, cwd=REPO_ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    # b (gain 0) at rank 1, a (gain 1) at rank 2: nDCG = (1/log2(3)) / 1
    assert json.loads(out.stdout) == {"r": {"ndcg@10": pytest.approx(1 / LOG2_3)}}


def test_cli_refuses_runs_with_no_judged_query(tmp_path, capsys):
    qrels = write_qrels({"typhoon": {"a": 2, "b": 0}, "fireworks": {"c": 1}}, tmp_path / "qrels.txt")
    other = write_run({"q1a2b3c4d5e6f": {"x": 0.9, "y": 0.1}}, tmp_path / "boston.txt", name="novelty")
    assert main(["evaluate", "--qrels", str(qrels), "--run", str(other), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # no all-zero metrics
    err = captured.err
    assert "'novelty'" in err and "boston.txt" in err and "q1a2b3c4d5e6f" in err
    assert "fireworks, typhoon" in err
    # one judged query in common is enough
    some = write_run({"typhoon": {"a": 0.9}, "elsewhere": {"x": 1.0}}, tmp_path / "some.txt", name="r")
    assert main(["evaluate", "--qrels", str(qrels), "--run", str(some), "--json", "--metrics", "mrr"]) == 0
    assert json.loads(capsys.readouterr().out) == {"r": {"mrr": 0.5}}  # fireworks is missing: 0
    # with a label store: its query IDs are named
    store = LabelStore(tmp_path / "labels.sqlite")
    store.set_grade("ds", "typhoon", "a", 5, annotator="ana")
    assert main(["evaluate", "--store", str(store.path), "--run", str(other)]) == 2
    assert query_id_for("typhoon") in capsys.readouterr().err
