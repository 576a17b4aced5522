"""Aggregate grade per (query, post) and ordinal Krippendorff's alpha, on hand cases."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from core.errors import SieveError
from core.labels import LabelStore, aggregate_grades, krippendorff_alpha


def _grades(rows):
    return pd.DataFrame(rows, columns=["query_id", "post_id", "annotator", "grade", "unsure"]).astype(
        {"grade": "Int64"}
    )


def test_low_median_rule_and_flags():
    df = _grades([
        ("q", "even", "a", 3, False), ("q", "even", "b", 4, False),          # 3, 4 -> 3 (lower middle)
        ("q", "wide", "a", 2, False), ("q", "wide", "b", 5, False),          # 2, 5 -> 2
        ("q", "odd", "a", 2, False), ("q", "odd", "b", 5, False), ("q", "odd", "c", 4, False),  # -> 4
        ("q", "unsure", "a", 5, True), ("q", "unsure", "b", 2, False),       # unsure 5 left out -> 2
        ("q", "allunsure", "a", 5, True), ("q", "allunsure", "b", 4, True),  # all unsure: use them -> 4
        ("q", "skipped", "a", None, False), ("q", "skipped", "b", None, False),  # nobody graded -> <NA>
        ("q", "skip1", "a", None, False), ("q", "skip1", "b", 3, False),     # a skip is not a grade -> 3
    ])
    agg = aggregate_grades(df).set_index("post_id")
    assert int(agg.loc["even", "grade"]) == 3
    assert int(agg.loc["wide", "grade"]) == 2
    assert int(agg.loc["odd", "grade"]) == 4
    assert int(agg.loc["unsure", "grade"]) == 2 and not agg.loc["unsure", "unsure"]
    assert int(agg.loc["allunsure", "grade"]) == 4 and agg.loc["allunsure", "unsure"]
    assert pd.isna(agg.loc["skipped", "grade"]) and agg.loc["skipped", "n_skips"] == 2
    assert int(agg.loc["skip1", "grade"]) == 3 and agg.loc["skip1", "n_grades"] == 1
    assert (int(agg.loc["wide", "min_grade"]), int(agg.loc["wide", "max_grade"])) == (2, 5)


def test_latest_grade_per_annotator_counts():
    df = pd.DataFrame({
        "query_id": ["q", "q"], "post_id": ["p", "p"], "annotator": ["a", "a"],
        "grade": pd.array([5, 1], dtype="Int64"), "graded_at": ["2025-01-02", "2025-01-01"],
    })
    assert int(aggregate_grades(df)["grade"].iloc[0]) == 5  # the later time wins, not the later row


def test_missing_column_is_reported():
    with pytest.raises(SieveError, match="annotator"):
        aggregate_grades(pd.DataFrame({"query_id": ["q"], "post_id": ["p"], "grade": [3]}))


def test_ordinal_alpha_hand_case():
    # Units (query q): u1 graded (1, 2), u2 (1, 1), u3 (5, 5); u4 graded by a only (unpairable).
    # Pooled pairable values: n_1 = 3, n_2 = 1, n_5 = 2, n = 6.
    # Coincidences: o_12 = o_21 = 1, o_11 = 2, o_55 = 2.
    # Ordinal distance d(c, k) = (sum_{g=c..k} n_g - (n_c + n_k) / 2)^2:
    #   d(1,2) = (4 - 2)^2 = 4;  d(1,5) = (6 - 2.5)^2 = 12.25;  d(2,5) = (3 - 1.5)^2 = 2.25.
    # D_o = (o_12 d12 + o_21 d21) / n = 8 / 6 = 4/3.
    # D_e = 2 (n1 n2 d12 + n1 n5 d15 + n2 n5 d25) / (n (n - 1)) = 2 (12 + 73.5 + 4.5) / 30 = 6.
    # alpha = 1 - D_o / D_e = 1 - (4/3) / 6 = 7/9.
    df = _grades([
        ("q", "u1", "a", 1, False), ("q", "u1", "b", 2, False),
        ("q", "u2", "a", 1, False), ("q", "u2", "b", 1, True),  # unsure grades still count for agreement
        ("q", "u3", "a", 5, False), ("q", "u3", "b", 5, False),
        ("q", "u4", "a", 3, False),
        ("q", "u5", "a", None, False), ("q", "u5", "b", 4, False),  # a skip is missing, not a value
    ])
    result = krippendorff_alpha(df)
    assert result.alpha == pytest.approx(7 / 9, abs=1e-12)
    assert (result.n_annotators, result.n_units, result.level) == (2, 3, "ordinal")
    # The ordinal metric differs from the interval one on the same data.
    assert not math.isclose(krippendorff_alpha(df, level="interval").alpha, 7 / 9, abs_tol=1e-6)


def test_alpha_undefined_cases():
    one = _grades([("q", "p", "a", 3, False), ("q", "p2", "a", 4, False)])
    r = krippendorff_alpha(one)
    assert r.alpha is None and "two or more annotators" in r.reason
    disjoint = _grades([("q", "p", "a", 3, False), ("q", "p2", "b", 4, False)])
    assert krippendorff_alpha(disjoint).alpha is None
    same = _grades([("q", "p", "a", 4, False), ("q", "p", "b", 4, False)])
    r = krippendorff_alpha(same)
    assert r.alpha is None and "same grade" in r.reason


def test_store_aggregate_and_alpha(tmp_path):
    store = LabelStore(tmp_path / "labels.sqlite")
    for post, (a, b) in {"p1": (1, 2), "p2": (1, 1), "p3": (5, 5)}.items():
        store.set_grade("ds", "query", post, a, annotator="a")
        store.set_grade("ds", "query", post, b, annotator="b")
    agg = store.aggregate("ds").set_index("post_id")["grade"].astype(int).to_dict()
    assert agg == {"p1": 1, "p2": 1, "p3": 5}
    assert store.krippendorff_alpha("ds").alpha == pytest.approx(7 / 9)
