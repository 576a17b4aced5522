"""The old import path of the dashboard's jobs, before they were split by job.

Kept so code written against it keeps working; new code (and every page) imports the
job module itself:

* :mod:`dashboard.data`: uploads, samples, loading and reopening a dataset;
* :mod:`dashboard.rerank`: modes, post embeddings, reranking, run names, comparing modes;
* :mod:`dashboard.grading`: the grading queue and every grade written;
* :mod:`dashboard.export`: runs, metrics, export files;
* :func:`dashboard.widgets.model_badge`: the sidebar's model badge.
"""

from __future__ import annotations

from core.evaluate.names import evaluation_depth
from core.labels.pool import GRADE_SCALE, grading_queue
from dashboard.data import (
    PATH_MAX_MB,
    available_samples,
    columns_of_failed_load,
    keep_upload,
    load_dataset,
    load_from_params,
    reload_with_reference,
    reopen_last_dataset,
    sample_path,
    use_dataset,
)
from dashboard.export import evaluate, export_files, runs_by_name
from dashboard.rerank import (
    dense_build,
    ensure_rankings,
    modes,
    overridden_builtin,
    post_embeddings,
    recompute_remembered,
    restore_mode,
    retrieval_embeddings,
    run_name,
    run_rerank,
    save_mode,
)
from dashboard.widgets import model_badge

__all__ = [
    "GRADE_SCALE", "PATH_MAX_MB", "available_samples", "columns_of_failed_load", "dense_build",
    "ensure_rankings", "evaluate", "evaluation_depth", "export_files", "grading_queue", "keep_upload",
    "load_dataset", "load_from_params", "model_badge", "modes", "overridden_builtin", "post_embeddings",
    "recompute_remembered", "reload_with_reference", "reopen_last_dataset", "restore_mode",
    "retrieval_embeddings", "run_name", "run_rerank", "runs_by_name", "sample_path", "save_mode",
    "use_dataset",
]
