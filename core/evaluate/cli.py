"""``python -m core evaluate``: metrics of TREC runs against qrels (or a label store).

Examples::

    python -m core evaluate --qrels qrels.txt --run precise.txt --run emotion.txt
    python -m core evaluate --qrels qrels.txt --run a.txt --json --metrics ndcg@10 mrr
    python -m core evaluate --store labels.sqlite --dataset 3fa2 --run a.txt

With ``--json`` stdout holds one JSON object ``{run name: {metric: value}}``
(metric names as ranx writes them, e.g. ``ndcg@10``); flags go to stderr.
A qrels file's numbers are used as gains as they are; grades from a label
store are mapped to gain = grade - 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.cli_common import add_command, add_store_argument, existing_file, open_store
from core.errors import SieveError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``evaluate`` sub-command."""
    from core.evaluate.metrics import DEFAULT_METRICS

    p = add_command(
        sub, "evaluate", run_evaluate,
        help="nDCG@k, P@k, MRR of TREC runs against qrels, with paired significance tests",
        description=__doc__,
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--qrels", type=existing_file, help="TREC qrels file 'q_id 0 doc_id gain' (gains used as written)")
    add_store_argument(src, help="a Sieve label store: evaluate against its aggregate grades")
    p.add_argument("--dataset", help="with --store: dataset hash, hash prefix or name (default: the only one)")
    p.add_argument("--run", type=existing_file, action="append", required=True, metavar="FILE",
                   help="TREC run file 'q_id Q0 doc_id rank score name' (repeat for several runs)")
    p.add_argument("--metrics", nargs="+", default=list(DEFAULT_METRICS), metavar="METRIC",
                   help=f"ranx metric names (default: {' '.join(DEFAULT_METRICS)})")
    p.add_argument("--rel-level", type=int, default=None, metavar="GAIN",
                   help="binary metrics count gain >= GAIN as relevant (default: 1 for --qrels, "
                        "3 = grade >= 4 for --store)")
    p.add_argument("--stat-test", choices=("student", "fisher"), default="student",
                   help="paired test between runs: Student's t-test or Fisher's randomisation (default student)")
    p.add_argument("--max-p", type=float, default=0.05, help="significance level (default 0.05)")
    p.add_argument("--json", action="store_true", help="print {run: {metric: value}} as JSON")


def _load_runs(paths: list[Path], sources: dict[str, Path] | None = None) -> dict[str, dict]:
    from core.evaluate.trec import read_runs

    runs: dict[str, dict] = {}
    for path in paths:
        for tag, run in read_runs(path).items():
            name = tag
            if name in runs:
                name = f"{path.stem}:{tag}"
            if name in runs:
                raise SieveError(f"The run {tag!r} of {path} was given twice. Pass each run file once.")
            runs[name] = run
            if sources is not None:
                sources[name] = path
    return runs


def _some(ids, n: int = 6) -> str:
    ids = sorted(ids)
    return ", ".join(ids[:n]) + (f", ... ({len(ids)} in all)" if len(ids) > n else "")


def check_query_overlap(qrels: dict, runs: dict[str, dict], *, qrels_name: str,
                        sources: dict[str, Path] | None = None) -> None:
    """Refuse runs none of whose queries is judged: their metrics would be 0 by construction.

    Args:
        qrels: ``{q_id: {doc_id: gain}}``.
        runs: ``{run name: {q_id: {doc_id: score}}}``.
        qrels_name: how to name the qrels in the message (a file, a store).
        sources: ``{run name: file}`` for the message.

    Raises:
        SieveError: naming the run, the query IDs it has and those the qrels have.
    """
    judged = set(qrels)
    for name, run in runs.items():
        if judged & set(run):
            continue
        where = f" (from {sources[name]})" if sources and name in sources else ""
        raise SieveError(
            f"None of the queries of run {name!r}{where} is judged in {qrels_name}, so every metric would be 0. "
            f"The run has query IDs {_some(run) or '(none)'}; the qrels have {_some(judged) or '(none)'}.",
            hint="Query IDs must match: 'python -m core rerank --queries FILE' keeps the file's IDs, "
            "'--query' and the dashboard use q + 12 hex digits of the query's SHA-256 (the label store's IDs).",
        )


def run_evaluate(args: argparse.Namespace) -> int:
    """Evaluate and print; returns the exit code."""
    from core.evaluate.metrics import (
        GAIN_MAPPING_GRADES,
        GAIN_MAPPING_TREC,
        evaluate_runs,
        grades_to_qrels,
        iter_metric_names,
    )
    from core.evaluate.trec import read_qrels

    metrics = iter_metric_names(args.metrics)
    sources: dict[str, Path] = {}
    runs = _load_runs(args.run, sources)
    if args.qrels is not None:
        qrels, mapping = read_qrels(args.qrels), GAIN_MAPPING_TREC
        qrels_name = str(args.qrels)
    else:
        store = open_store(args.store, must_exist=True)
        dataset = store.resolve_dataset(args.dataset)
        qrels, mapping = grades_to_qrels(store.grades(dataset)), GAIN_MAPPING_GRADES
        qrels_name = f"the label store {args.store} (dataset {dataset})"
    check_query_overlap(qrels, runs, qrels_name=qrels_name, sources=sources)
    result = evaluate_runs(
        qrels, runs, metrics=metrics, rel_level=args.rel_level, gain_mapping=mapping,
        stat_test=args.stat_test, max_p=args.max_p,
    )
    if args.json:
        print(json.dumps(result.scores, ensure_ascii=False, indent=2))
        for flag in result.flags:
            print(f"warning: {flag}", file=sys.stderr)
        return 0
    print(format_result(result))
    return 0


def format_result(result) -> str:
    """A plain-text report of an :class:`~core.evaluate.metrics.EvaluationResult`."""
    table = result.table()
    lines = [
        f"{len(result.queries)} queries; gains: {result.gain_mapping}; "
        f"binary metrics: relevant = {result.relevance_threshold}",
        "",
    ]
    columns = list(table.columns)
    widths = [max(len(str(c)), *(len(_fmt(v)) for v in table[c])) for c in columns]
    lines.append("  ".join(str(c).ljust(w) for c, w in zip(columns, widths)))
    for row in table.itertuples(index=False):
        lines.append("  ".join(_fmt(v).ljust(w) for v, w in zip(row, widths)))
    if result.comparisons:
        test = {"student": "paired t-test", "fisher": "Fisher randomisation test"}[result.stat_test]
        lines += ["", f"Significance ({test}, p < {result.max_p:g}):"]
        for c in result.comparisons:
            mark = "significant" if c["significant"] else "not significant"
            lines.append(
                f"  {c['metric']}: {c['run_a']} {c['mean_a']:.4f} vs {c['run_b']} {c['mean_b']:.4f}  "
                f"p = {c['p_value']:.4g} ({mark})"
            )
    if result.flags:
        lines += [""] + [f"warning: {flag}" for flag in result.flags]
    return "\n".join(lines)


def _fmt(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)
