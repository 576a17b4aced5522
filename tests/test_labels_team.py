"""Assignments with overlap, adjudication apart from raw grades, disagreements,
per-annotator agreement and speed, qrels from a chosen consensus."""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pytest

from core.labels.assign import AssignmentError, Assignments, plan_assignments
from core.labels.review import annotator_report, consensus_qrels, disagreements
from core.labels.store import LabelStore, query_id_for

Q = "typhoon donations"


def test_plan_gives_each_post_overlap_distinct_annotators_and_balanced_loads():
    posts = [f"p{i}" for i in range(10)]
    plan = plan_assignments(posts, ["ana", "bo", "cy"], 2)
    by_post = {p: [a for q, a in plan if q == p] for p in posts}
    assert all(len(set(v)) == 2 for v in by_post.values())
    loads = Counter(a for _, a in plan)
    assert sum(loads.values()) == 20 and max(loads.values()) - min(loads.values()) <= 1
    assert plan_assignments(["p1", "p2", "p3"], ["ana", "bo"], 1) == [("p1", "ana"), ("p2", "bo"), ("p3", "ana")]


@pytest.mark.parametrize(("annotators", "overlap", "match"), [
    ([], 1, "at least one"), (["ana"], 2, "between 1 and"), (["ana", "bo"], 0, "between 1 and")])
def test_plan_refuses_impossible_overlaps(annotators, overlap, match):
    with pytest.raises(AssignmentError, match=match):
        plan_assignments(["p1"], annotators, overlap)


@pytest.fixture()
def team(tmp_path):
    store = LabelStore(tmp_path / "labels.sqlite")
    return store, Assignments(store)


def test_assign_stores_text_and_progress_counts_each_persons_grades(team):
    store, asg = team
    posts = pd.DataFrame({"post_id": ["p1", "p2", "p3", "p4"], "text": ["a", "b", "c", "d"]})
    asg.assign("d1", Q, posts, ["ana", "bo"], 2, assigned_by="lead", dataset_name="x.csv")
    mine = asg.assignments("d1", annotator="ana")
    assert mine["post_id"].tolist() == ["p1", "p2", "p3", "p4"] and mine["text"].tolist() == ["a", "b", "c", "d"]
    store.set_grade("d1", Q, "p1", 5, annotator="ana")
    store.set_grade("d1", Q, "p2", None, annotator="ana")
    store.set_grade("d1", Q, "p1", 2, annotator="bo")
    store.set_grade("d1", Q, "p9", 2, annotator="bo")  # not assigned: not counted
    prog = asg.progress("d1").set_index("annotator")
    assert prog.loc["ana", ["assigned", "graded", "skipped", "open"]].tolist() == [4, 1, 1, 2]
    assert prog.loc["bo", ["assigned", "graded", "skipped", "open"]].tolist() == [4, 1, 0, 3]
    # Reassigning replaces the query's assignments; grades stay.
    asg.assign("d1", Q, posts.iloc[:2], ["ana", "bo"], 1, assigned_by="lead")
    assert len(asg.assignments("d1")) == 2 and len(store.grades("d1")) == 4


def test_disagreements_list_spread_two_or_unsure_side_by_side(team):
    store, _ = team
    for pid, a, b in (("p1", 5, 2), ("p2", 4, 3), ("p3", 1, 1)):
        store.set_grade("d1", Q, pid, a, annotator="ana")
        store.set_grade("d1", Q, pid, b, annotator="bo")
    store.set_grade("d1", Q, "p3", 1, annotator="bo", unsure=True)
    d = disagreements(store.grades("d1"))
    assert d["post_id"].tolist() == ["p1", "p3"]
    assert d.loc[0, "grade:ana"] == 5 and d.loc[0, "grade:bo"] == 2 and d.loc[0, "reason"] == "grades differ by 3"
    assert d.loc[1, "reason"] == "flagged unsure" and d.loc[1, "unsure_by"] == "bo"


def test_adjudication_is_kept_apart_and_feeds_the_adjudicated_qrels(team):
    store, asg = team
    for pid, a, b, c in (("p1", 5, 2, 2), ("p2", 4, 4, 3), ("p3", 1, 3, 5)):
        store.set_grade("d1", Q, pid, a, annotator="ana")
        store.set_grade("d1", Q, pid, b, annotator="bo")
        store.set_grade("d1", Q, pid, c, annotator="cy")
    qid = query_id_for(Q)
    asg.adjudicate("d1", qid, "p1", 4, reviewer="lead")
    assert store.grades("d1", query_id=qid, annotator="ana").set_index("post_id").loc["p1", "grade"] == 5
    adj = asg.adjudications("d1")
    qrels, prov = consensus_qrels(store.grades("d1"), adj, rule="adjudicated")
    assert qrels[qid] == {"p1": 3, "p2": 3, "p3": 0}  # p1 adjudicated 4; p2 majority 4; p3 tie -> lowest, 1
    assert prov["qrels_from"] == "adjudicated" and prov["by_source"] == {"majority": 2, "adjudicated": 1}
    assert consensus_qrels(store.grades("d1"), adj, rule="majority")[0][qid]["p1"] == 1
    # mean: p1 (5+2+2)/3 = 3 -> gain 2; p2 11/3 = 3.67 -> 4 -> 3; p3 3 -> 2
    assert consensus_qrels(store.grades("d1"), adj, rule="mean")[0][qid] == {"p1": 2, "p2": 3, "p3": 2}


def test_annotator_report_pairwise_alpha_speed_and_unsure(team):
    store, _ = team
    t0 = pd.Timestamp("2026-01-01T10:00:00Z")
    ana = [1, 2, 3, 4, 5, 1]
    bo = [1, 2, 3, 4, 5, 1]      # agrees with ana exactly
    cy = [5, 4, 3, 2, 1, 5]      # the reverse
    for i, (a, b, c) in enumerate(zip(ana, bo, cy, strict=True)):
        at = t0 + pd.Timedelta(seconds=60 * i)
        store.set_grade("d1", Q, f"p{i}", a, annotator="ana", at=at.isoformat())
        store.set_grade("d1", Q, f"p{i}", b, annotator="bo", at=at.isoformat(), unsure=(i == 0))
        store.set_grade("d1", Q, f"p{i}", c, annotator="cy", at=(at + pd.Timedelta(hours=i)).isoformat())
    rep = annotator_report(store.grades("d1"), store.history("d1")).set_index("annotator")
    assert rep.loc["ana", "alpha_with_others"] > rep.loc["cy", "alpha_with_others"]
    assert rep.loc["cy", "alpha_with_others"] < 0
    assert rep.loc["bo", "share_unsure"] == pytest.approx(1 / 6)
    # ana: 6 grades one minute apart -> 5 grades in 5 minutes = 60 per hour
    assert rep.loc["ana", "grades_per_hour"] == pytest.approx(60.0)
    # cy: gaps of 1 h + 1 min, each counted as the 5-minute cap -> 5 grades in 25 min = 12 per hour
    assert rep.loc["cy", "grades_per_hour"] == pytest.approx(12.0)
    assert rep.loc["ana", "n_shared"] == 6


def test_the_bundle_says_which_grades_it_holds(team):
    from core.export.bundle import provenance

    store, _ = team
    store.set_grade("d1", Q, "p1", 4, annotator="ana")
    held = provenance(store, "d1")["grades_held"]
    assert "raw" in held and "adjudicated grades are not in this bundle" in held
