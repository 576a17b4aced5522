"""Rank-quality metrics of each mode's run against the grades, with ranx.

Vocabulary (ranx's): ``qrels = {q_id: {doc_id: gain}}`` (int gains; 0 or
less is not relevant), ``run = {q_id: {doc_id: score}}`` (higher is better),
metric names as ranx writes them (``"ndcg@10"``, ``"precision@5"``, ``"mrr"``).

Gain mapping (:func:`grades_to_qrels`): an analyst's grade 1-5 becomes gain
``grade - 1`` (0-4), so grade 1 ("not relevant") is a judged non-relevant post
and grade 5 has gain 4. A TREC qrels file (``evaluate --qrels``) is used as it
is: its numbers already are gains (e.g. TREC Microblog's 0/1/2).

Metrics (ranx 0.3, Bassani, ECIR 2022):

* ``ndcg@k``: Järvelin & Kekäläinen (ACM TOIS 2002) with linear gains,
  ``DCG@k = sum_{i=1..k} gain_i / log2(i + 1)``, divided by the DCG@k of the
  ideal order of the judged posts; every gain > 0 counts.
* ``precision@k``, ``recall@k``, ``mrr`` (reciprocal rank of the first
  relevant post, 0 when none), ``map@k``, ``hit_rate@k``: binary; a post is
  relevant when its gain >= ``rel_level`` (ranx's ``-l`` suffix). Sieve's
  default for label-store grades is grade >= 4, i.e. ``rel_level = 3``
  (:data:`DEFAULT_REL_LEVEL_GRADES`); for a TREC qrels file it is gain >= 1,
  as in trec_eval.

Which queries count: those with at least one post of gain > 0 in the qrels
(a query with nothing relevant has no defined nDCG); a counted query missing
from a run scores 0 there. Unjudged posts (in a run's top-k but absent from
the qrels) score as not relevant, which makes that run look worse than it may
be; :func:`evaluate_runs` counts them per run and flags them.

Significance (:func:`evaluate_runs`, ``stat_test``): for every pair of runs and
every metric, a paired test over the per-query values with ranx's ``compare``:
``"student"`` = two-sided paired Student's t-test (scipy), ``"fisher"`` =
Fisher's randomisation (permutation) test (Smucker, Allan & Carterette, CIKM
2007) with ``n_permutations`` permutations and a fixed seed. Significant means
``p < max_p``. With fewer than two queries no test is run.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pandas as pd

from core.errors import SieveError
from core.evaluate.trec import (  # noqa: F401  (re-exported: older imports)
    DEFAULT_REL_LEVEL_GRADES,
    DEFAULT_REL_LEVEL_TREC,
    GAIN_MAPPING_GRADES,
    GAIN_MAPPING_TREC,
    grades_to_qrels,
    ranking_to_run,
)

logger = logging.getLogger(__name__)

#: Metrics computed when none are asked for.
DEFAULT_METRICS: tuple[str, ...] = ("ndcg@5", "ndcg@10", "precision@5", "precision@10", "mrr")
#: Metrics whose relevance is binary (they take ranx's ``-l<rel_level>``).
BINARY_METRICS: frozenset[str] = frozenset(
    {"precision", "recall", "f1", "r-precision", "mrr", "map", "hit_rate", "hits", "bpref"}
)
#: Metrics Sieve offers (ranx names, before ``@k``).
SUPPORTED_METRICS: frozenset[str] = BINARY_METRICS | {"ndcg", "ndcg_burges", "dcg", "dcg_burges"}
#: Cutoff at which unjudged posts are counted when no metric has one.
DEFAULT_UNJUDGED_K = 10


def _parse_metric(metric: str) -> tuple[str, int, int | None]:
    """``"precision@5-l3"`` -> ("precision", 5, 3); k 0 means the whole run."""
    name, level = metric, None
    if "-l" in metric:
        name, _, lv = metric.partition("-l")
        if not lv.isdigit():
            raise SieveError(f"The metric {metric!r} has a bad relevance level after '-l'; write e.g. 'precision@5-l3'.")
        level = int(lv)
    base, _, k = name.partition("@")
    if base not in SUPPORTED_METRICS:
        raise SieveError(
            f"The metric {metric!r} is not supported. Use one of {', '.join(sorted(SUPPORTED_METRICS))}, "
            "optionally with @k, e.g. 'ndcg@10'."
        )
    if k and not (k.isdigit() and int(k) >= 1):
        raise SieveError(f"The cutoff of {metric!r} must be an integer >= 1, e.g. 'ndcg@10'.")
    return base, int(k) if k else 0, level


def _ranx_name(metric: str, rel_level: int) -> str:
    """The string given to ranx: binary metrics get ``-l<rel_level>`` unless they have one."""
    base, _, level = _parse_metric(metric)
    if base in BINARY_METRICS and level is None and rel_level != 1:
        return f"{metric}-l{rel_level}"
    return metric


def _top_k(scores: Mapping[str, float], k: int) -> list[str]:
    # ranx orders a run by score, highest first; ties keep the run's order here.
    order = sorted(scores.items(), key=lambda item: -item[1])
    return [doc for doc, _ in (order if k <= 0 else order[:k])]


@dataclass
class EvaluationResult:
    """Metrics of several runs against one set of qrels.

    Attributes:
        metrics: metric names as asked (ranx's spelling, e.g. ``"ndcg@10"``).
        scores: ``{run: {metric: mean over the counted queries}}`` (floats in [0, 1]).
        per_query: ``{run: {metric: {q_id: value}}}``.
        gain_mapping: how gains were obtained (:data:`GAIN_MAPPING_GRADES` or
            :data:`GAIN_MAPPING_TREC`).
        rel_level: binary metrics count a post relevant when gain >= this.
        relevance_threshold: the same in words (e.g. ``"grade >= 4 (gain >= 3)"``).
        queries: the counted query IDs (at least one post with gain > 0).
        queries_without_relevant: query IDs in the qrels left out (no gain > 0).
        queries_not_in_qrels: ``{run: [q_id]}`` run queries nobody graded (ignored).
        unjudged_k: cutoff of the unjudged count.
        unjudged: ``{run: {"k", "n_unjudged", "n_retrieved", "fraction", "per_query": {q_id: n}}}``
            over the counted queries.
        comparisons: one dict per (run_a, run_b, metric): ``run_a, run_b, metric,
            mean_a, mean_b, p_value, significant, test``.
        stat_test: ``"student"`` or ``"fisher"`` (``None`` when not run).
        max_p: significance level.
        flags: warnings for a person (unjudged posts, too few queries).
        created_at: UTC ISO-8601 time of the evaluation.
    """

    metrics: list[str]
    scores: dict[str, dict[str, float]]
    per_query: dict[str, dict[str, dict[str, float]]]
    gain_mapping: str
    rel_level: int
    relevance_threshold: str
    queries: list[str]
    queries_without_relevant: list[str] = field(default_factory=list)
    queries_not_in_qrels: dict[str, list[str]] = field(default_factory=dict)
    unjudged_k: int = DEFAULT_UNJUDGED_K
    unjudged: dict[str, dict] = field(default_factory=dict)
    comparisons: list[dict] = field(default_factory=list)
    stat_test: str | None = None
    max_p: float = 0.05
    flags: list[str] = field(default_factory=list)
    created_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    def to_dict(self) -> dict:
        """Everything as JSON-ready built-in types."""
        return {
            "metrics": list(self.metrics),
            "scores": self.scores,
            "per_query": self.per_query,
            "gain_mapping": self.gain_mapping,
            "rel_level": self.rel_level,
            "relevance_threshold": self.relevance_threshold,
            "queries": list(self.queries),
            "queries_without_relevant": list(self.queries_without_relevant),
            "queries_not_in_qrels": self.queries_not_in_qrels,
            "unjudged_k": self.unjudged_k,
            "unjudged": self.unjudged,
            "comparisons": self.comparisons,
            "stat_test": self.stat_test,
            "max_p": self.max_p,
            "flags": list(self.flags),
            "created_at": self.created_at,
        }

    def table(self) -> pd.DataFrame:
        """One row per run: the metric means and the unjudged fraction in the top-k."""
        rows = []
        for run, values in self.scores.items():
            row = {"run": run, **values}
            row[f"unjudged@{self.unjudged_k}"] = self.unjudged.get(run, {}).get("fraction", float("nan"))
            rows.append(row)
        return pd.DataFrame(rows)


def _threshold_text(rel_level: int, gain_mapping: str) -> str:
    if gain_mapping == GAIN_MAPPING_GRADES:
        return f"grade >= {rel_level + 1} (gain >= {rel_level})"
    return f"gain >= {rel_level}"


def evaluate_runs(
    qrels: Mapping[str, Mapping[str, int]],
    runs: Mapping[str, Mapping[str, Mapping[str, float]]],
    *,
    metrics: Sequence[str] = DEFAULT_METRICS,
    rel_level: int | None = None,
    gain_mapping: str = GAIN_MAPPING_GRADES,
    unjudged_k: int | None = None,
    stat_test: str = "student",
    max_p: float = 0.05,
    n_permutations: int = 1000,
    random_seed: int = 42,
) -> EvaluationResult:
    """Evaluate runs against qrels with ranx, count unjudged posts, and test pairs.

    Args:
        qrels: ``{q_id: {doc_id: gain}}``, int gains (``<= 0`` not relevant),
            from :func:`grades_to_qrels` or :func:`core.evaluate.trec.read_qrels`.
        runs: ``{run_name: {q_id: {doc_id: score}}}`` (scores: higher is better).
        metrics: ranx metric names (see the module docstring). A binary metric
            without ``-l`` uses ``rel_level``.
        rel_level: a post is relevant to binary metrics when gain >= this.
            Default: :data:`DEFAULT_REL_LEVEL_GRADES` (grade >= 4) when
            ``gain_mapping`` is :data:`GAIN_MAPPING_GRADES`, else
            :data:`DEFAULT_REL_LEVEL_TREC` (gain >= 1).
        gain_mapping: how the qrels' gains were made; recorded in the result.
        unjudged_k: cutoff for counting unjudged posts (default: the largest
            cutoff among ``metrics``, or 10).
        stat_test: ``"student"`` (paired t-test) or ``"fisher"`` (randomisation).
        max_p: significance level for the tests (default 0.05).
        n_permutations: permutations of the Fisher test.
        random_seed: seed of the Fisher test.

    Returns:
        An :class:`EvaluationResult`.

    Raises:
        SieveError: no runs, an unknown metric or test, a non-integer gain, or
            no query with a relevant post in the qrels.
    """
    if not runs:
        raise SieveError("There is no run to evaluate. Give at least one run (a TREC run file or a ranking).")
    if stat_test not in ("student", "fisher"):
        raise SieveError(f"The statistical test must be 'student' or 'fisher'. Got {stat_test!r} instead.")
    metrics = list(dict.fromkeys(metrics))
    if not metrics:
        raise SieveError("Give at least one metric, e.g. 'ndcg@10'.")
    parsed = {m: _parse_metric(m) for m in metrics}
    if rel_level is None:
        rel_level = DEFAULT_REL_LEVEL_GRADES if gain_mapping == GAIN_MAPPING_GRADES else DEFAULT_REL_LEVEL_TREC
    if int(rel_level) < 1:
        raise SieveError(f"The relevance level must be an integer >= 1 (a gain). Got {rel_level!r} instead.")
    rel_level = int(rel_level)
    if unjudged_k is None:
        unjudged_k = max([k for _, k, _ in parsed.values()] + [0]) or DEFAULT_UNJUDGED_K

    clean_qrels: dict[str, dict[str, int]] = {}
    for qid, docs in qrels.items():
        judged = {}
        for doc, gain in docs.items():
            if isinstance(gain, float) and not float(gain).is_integer() or isinstance(gain, bool):
                raise SieveError(f"The gain of post {doc!r} for query {qid!r} must be an integer. Got {gain!r}.")
            judged[str(doc)] = int(gain)
        clean_qrels[str(qid)] = judged
    queries = sorted(q for q, docs in clean_qrels.items() if any(g > 0 for g in docs.values()))
    without = sorted(set(clean_qrels) - set(queries))
    if not queries:
        raise SieveError(
            "No query in the qrels has a relevant post (gain > 0), so nothing can be measured. "
            "Grade some posts 2 or higher, or check the qrels file."
        )

    from ranx import Qrels, Run, compare

    ranx_qrels = Qrels({q: clean_qrels[q] for q in queries}, name="qrels")
    ranx_runs, not_in_qrels, unjudged = [], {}, {}
    for name, run in runs.items():
        run = {str(q): {str(d): float(s) for d, s in docs.items() if not math.isnan(float(s))}
               for q, docs in run.items()}
        not_in_qrels[name] = sorted(set(run) - set(clean_qrels))
        # Every counted query gets an entry; one the run lacks scores 0 (ranx needs a doc: an unjudged one).
        full = {q: (run.get(q) or {"\x00none": 0.0}) for q in queries}
        ranx_runs.append(Run(full, name=name))
        per_q, n_un, n_ret = {}, 0, 0
        for q in queries:
            top = _top_k(run.get(q, {}), unjudged_k)
            count = sum(doc not in clean_qrels[q] for doc in top)
            per_q[q] = count
            n_un += count
            n_ret += len(top)
        unjudged[name] = {
            "k": unjudged_k,
            "n_unjudged": n_un,
            "n_retrieved": n_ret,
            "fraction": (n_un / n_ret) if n_ret else 0.0,
            "per_query": per_q,
        }

    ranx_metrics = [_ranx_name(m, rel_level) for m in metrics]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba's uint64 cast notices
        report = compare(
            ranx_qrels,
            ranx_runs,
            ranx_metrics,
            stat_test=stat_test,
            n_permutations=n_permutations,
            max_p=max_p,
            random_seed=random_seed,
            threads=1,
            rounding_digits=6,
        )
    names = list(runs)
    scores = {n: {m: float(report.results[n][rm]) for m, rm in zip(metrics, ranx_metrics)} for n in names}
    per_query = {
        run.name: {m: {q: float(v) for q, v in run.scores[rm].items()} for m, rm in zip(metrics, ranx_metrics)}
        for run in ranx_runs
    }
    flags, comparisons = [], []
    for name in names:
        u = unjudged[name]
        if u["n_unjudged"]:
            flags.append(
                f"run {name}: {u['n_unjudged']} of {u['n_retrieved']} posts in the top {unjudged_k} "
                f"({u['fraction']:.0%}) are unjudged and count as not relevant, so its metrics may be too low; "
                "grade them for a fair comparison."
            )
        if not_in_qrels[name]:
            flags.append(f"run {name}: {len(not_in_qrels[name])} query(ies) have no grades and were ignored.")
    if without:
        flags.append(f"{len(without)} query(ies) have no relevant post (gain > 0) and were left out.")
    if len(queries) < 2 and len(names) > 1:
        flags.append("Only one query is graded: no significance test is possible. Grade more queries.")
        stat = None
    else:
        stat = stat_test if len(names) > 1 else None
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                pair = report.comparisons[a, b]
                for m, rm in zip(metrics, ranx_metrics):
                    p = float(pair[rm]["p_value"])
                    comparisons.append({
                        "run_a": a, "run_b": b, "metric": m,
                        "mean_a": scores[a][m], "mean_b": scores[b][m],
                        "p_value": p, "significant": bool(p < max_p), "test": stat_test,
                    })
        if stat and len(queries) < 10:
            flags.append(f"Only {len(queries)} graded queries: significance tests have little power.")
    return EvaluationResult(
        metrics=metrics,
        scores=scores,
        per_query=per_query,
        gain_mapping=gain_mapping,
        rel_level=rel_level,
        relevance_threshold=_threshold_text(rel_level, gain_mapping),
        queries=queries,
        queries_without_relevant=without,
        queries_not_in_qrels={k: v for k, v in not_in_qrels.items() if v},
        unjudged_k=unjudged_k,
        unjudged=unjudged,
        comparisons=comparisons,
        stat_test=stat,
        max_p=max_p,
        flags=flags,
    )


def evaluate_store(
    store,
    dataset: str,
    runs: Mapping[str, object],
    *,
    query: str | None = None,
    **kwargs,
) -> EvaluationResult:
    """Evaluate runs (dicts or Rankings) against the aggregate grades of a label store.

    Args:
        store: a :class:`core.labels.store.LabelStore`.
        dataset: dataset hash.
        runs: ``{mode_name: run}`` where a run is ``{q_id: {post_id: score}}``,
            a ``Ranking`` or a list of Rankings (see :func:`ranking_to_run`).
        query: only this query's grades (optional).
        **kwargs: passed to :func:`evaluate_runs` (``gain_mapping`` is grades').

    Returns:
        An :class:`EvaluationResult` with the grade -> gain mapping recorded.
    """
    qrels = grades_to_qrels(store.grades(dataset, query))
    plain = {}
    for name, run in runs.items():
        if isinstance(run, Mapping):
            plain[name] = run
        else:
            plain[name] = ranking_to_run(run if hasattr(run, "to_run") else list(run))
    return evaluate_runs(qrels, plain, gain_mapping=GAIN_MAPPING_GRADES, **kwargs)


def iter_metric_names(metrics: Iterable[str]) -> list[str]:
    """Validate metric names (raises :class:`SieveError` for an unknown one) and return them."""
    out = list(metrics)
    for m in out:
        _parse_metric(m)
    return out
