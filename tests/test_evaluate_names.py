"""Metric names in ranx notation (core/evaluate/names.py): the cut-off k and the pool depth."""

from __future__ import annotations

import pytest

from core.evaluate.names import cutoff, evaluation_depth


@pytest.mark.parametrize(("metric", "k"), [("ndcg@10", 10), ("precision@5", 5), ("recall@100", 100),
                                           ("mrr", None), ("map", None), ("ndcg@0", None), ("ndcg@x", None),
                                           ("ndcg@", None), ("ndcg@-3", None)])
def test_cutoff_reads_the_positive_k_after_the_at(metric, k):
    assert cutoff(metric) == k


def test_evaluation_depth_is_the_largest_k_else_the_default():
    assert evaluation_depth(["ndcg@5", "mrr", "precision@20", "recall@10"]) == 20
    assert evaluation_depth(("mrr", "map")) == 10
    assert evaluation_depth([], default=7) == 7
    assert evaluation_depth(None) == 10
