"""The Export job: the session's runs, metrics against the grades, every export file.

Each function makes the core call it stands for (``core.evaluate``, ``core.export``)
through the cached loaders in :mod:`dashboard.resources`; the Evaluate page keeps the
results in :mod:`dashboard.state`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from dashboard import resources, state
from dashboard.rerank import run_name


def grades() -> pd.DataFrame:
    """Every grade of the loaded dataset in the label store (``LabelStore.grades``: ``GRADE_COLUMNS``)."""
    return resources.label_store_for(state.settings()).grades(state.dataset().dataset_hash)


def runs_by_name() -> dict[str, list[Any]]:
    """The session's rankings grouped into runs: ``{run name: [Ranking, one per query]}``.

    When a query was reranked more than once under the same run name (other
    top-k or budget), the newest ranking is used.
    """
    newest: dict[tuple[str, str], Any] = {}
    for req, ranking in state.rankings().items():
        newest[(run_name(req), req.query)] = ranking
    out: dict[str, list[Any]] = {}
    for (name, _query), ranking in newest.items():
        out.setdefault(name, []).append(ranking)
    return out


def evaluate(metrics: list[str], *, stat_test: str = "student") -> Any:
    """Evaluate every run of the session against all grades of the loaded dataset.

    Returns:
        A :class:`core.evaluate.metrics.EvaluationResult`, also kept as the Evaluate page's result.

    Raises:
        core.errors.SieveError: no run, no graded query with a relevant post, a bad metric.
    """
    from core.evaluate.metrics import evaluate_store

    ds = state.dataset()
    store = resources.label_store_for(state.settings())
    result = evaluate_store(store, ds.dataset_hash, runs_by_name(), metrics=list(metrics), stat_test=stat_test)
    state.work().evaluation = result
    return result


def export_files(*, evaluation: Any = None) -> dict[str, bytes]:
    """Every export of the loaded dataset's grades and the session's runs, as file bytes.

    Returns:
        ``{file name: bytes}``: ``qrels.txt`` (TREC), ``run-<name>.txt`` per run
        (TREC), ``judgements.csv`` (UTF-8 with BOM, formula-safe),
        ``judgements.jsonl`` and ``sieve-bundle.zip`` (all of them with provenance); also kept
        as the Evaluate page's export files.
    """
    from core.export.downloads import export_files as files_of

    ds = state.dataset()
    s = state.settings()
    store = resources.label_store_for(s)
    from dashboard.timefilter import current_window, display_tz, window_from_key

    windows = {run_name(r): window_from_key(r.window).to_dict() for r in state.rankings()}
    extra = {"dataset_name": ds.name, "ingest_report": ds.report,
             "time_filter": {"window": current_window().to_dict(), "runs": windows, "display_tz": display_tz()},
             "evaluation": evaluation.to_dict() if evaluation is not None else None}
    files = files_of(store, ds.dataset_hash, runs=runs_by_name(), posts=ds.posts, extra=extra)
    state.work().exports = files
    return files


def ranking_csv(table: pd.DataFrame, columns: list[str]) -> bytes:
    """The ranking table as CSV bytes (UTF-8 with BOM) for a download button: ``columns`` that
    exist, in order; text that a spreadsheet would read as a formula is neutralised
    (:func:`core.tables.neutralise`), numbers are written as numbers."""
    import tempfile
    from pathlib import Path

    from core.tables import write_table

    with tempfile.TemporaryDirectory() as tmp:
        path = write_table(table.loc[:, [c for c in columns if c in table.columns]], Path(tmp) / "ranking.csv",
                           float_format="%.6g")
        return path.read_bytes()

