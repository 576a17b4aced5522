"""evaluate stage: nDCG@k, P@k, MRR of each mode's run against the grades (ranx).

See :mod:`core.evaluate.metrics` for the gain mapping, the relevance threshold,
which queries count, and the significance tests. ranx is imported only when a
run is evaluated (its numba kernels take seconds to load).
"""

from core.evaluate.metrics import (
    DEFAULT_METRICS,
    DEFAULT_REL_LEVEL_GRADES,
    DEFAULT_REL_LEVEL_TREC,
    GAIN_MAPPING_GRADES,
    GAIN_MAPPING_TREC,
    EvaluationResult,
    evaluate_runs,
    evaluate_store,
    grades_to_qrels,
    ranking_to_run,
)

__all__ = [
    "DEFAULT_METRICS",
    "DEFAULT_REL_LEVEL_GRADES",
    "DEFAULT_REL_LEVEL_TREC",
    "GAIN_MAPPING_GRADES",
    "GAIN_MAPPING_TREC",
    "EvaluationResult",
    "evaluate_runs",
    "evaluate_store",
    "grades_to_qrels",
    "ranking_to_run",
]
