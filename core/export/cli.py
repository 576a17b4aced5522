"""``python -m core export`` and ``python -m core import``: grades out of and into a label store.

Examples::

    python -m core export --list
    python -m core export --dataset 3fa2 --format csv --out judgements.csv
    python -m core export --dataset 3fa2 --format bundle --out grades.zip --run precise.txt
    python -m core import judgements.csv
    python -m core import qrels.txt --format qrels --dataset 3fa2 --annotator trec

The store defaults to ``core.config.get_settings().label_store_path`` (env
``SIEVE_LABEL_STORE``, else ``labels.sqlite`` in the user data folder).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import datetime, timezone
from pathlib import Path

from core.cli_common import add_command, add_store_argument, existing_file, open_store
from core.errors import SieveError

FORMATS = ("csv", "jsonl", "qrels", "bundle")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``export`` and ``import`` sub-commands."""
    p = add_command(
        sub, "export", run_export,
        help="write grades from a label store as CSV, JSONL, TREC qrels or a zip bundle",
        description=__doc__,
    )
    add_store_argument(p)
    p.add_argument("--dataset", help="dataset hash, hash prefix or name (default: the only one)")
    p.add_argument("--query", help="only this query text")
    p.add_argument("--format", choices=FORMATS, default="csv",
                   help="csv (UTF-8 BOM, formula-safe), jsonl, qrels (aggregate, gain = grade - 1) or bundle (zip)")
    p.add_argument("--out", type=Path, help="output file")
    p.add_argument("--run", type=existing_file, action="append", default=[], metavar="FILE",
                   help="with --format bundle: TREC run files to include (repeatable)")
    p.add_argument("--list", action="store_true", help="list the datasets in the store and exit")

    q = add_command(
        sub, "import", run_import,
        help="read TREC qrels or judgements CSV/JSONL (or a bundle) into a label store",
        description=__doc__,
    )
    q.add_argument("file", type=existing_file, help="the file to import")
    add_store_argument(q)
    q.add_argument("--format", choices=("auto",) + FORMATS, default="auto",
                   help="default: from the extension (.csv, .jsonl, .zip; anything else is qrels)")
    q.add_argument("--dataset", help="dataset hash to import into (required for qrels; overrides the file's)")
    q.add_argument("--annotator", help="annotator name for rows without one (qrels: required name, default 'qrels')")
    q.add_argument("--json", action="store_true", help="print the import report as JSON")


def run_export(args: argparse.Namespace) -> int:
    """Export; returns the exit code."""
    store = open_store(args.store, must_exist=True)
    if args.list:
        table = store.datasets()
        if table.empty:
            print(f"{store.path}: no datasets")
        else:
            print(table.to_string(index=False))
        return 0
    if args.out is None:
        raise SieveError("Name the output file with --out.")
    wanted = {"csv": (".csv",), "jsonl": (".jsonl",), "bundle": (".zip",),
              "qrels": (".txt", ".qrels", "")}[args.format]
    suffix = Path(args.out).suffix.lower()
    if suffix not in wanted:
        raise SieveError(f"--out {args.out} ends in {suffix or 'no suffix'!r}, but --format {args.format} writes "
                         f"{' or '.join(repr(w) if w else 'no suffix' for w in wanted)}: name the file to match, so "
                         "the file opens as what it is (and `python -m core import` reads it back).")
    dataset = store.resolve_dataset(args.dataset)
    if args.run and args.format != "bundle":
        raise SieveError("--run files go only into --format bundle.")
    if args.format in ("csv", "jsonl"):
        from core.export.judgements import judgements_frame, write_judgements_csv, write_judgements_jsonl

        frame = judgements_frame(store, dataset, query=args.query)
        writer = write_judgements_csv if args.format == "csv" else write_judgements_jsonl
        writer(frame, args.out)
        n = len(frame)
    elif args.format == "qrels":
        from core.evaluate.trec import grades_to_qrels, write_qrels

        qrels = grades_to_qrels(store.grades(dataset, args.query))
        write_qrels(qrels, args.out)
        n = sum(len(d) for d in qrels.values())
    else:
        from core.evaluate.trec import read_runs
        from core.export.bundle import write_bundle

        runs = {}
        for path in args.run:
            runs.update(read_runs(path))
        write_bundle(args.out, store, dataset, runs=runs)
        n = len(store.grades(dataset))
    print(f"wrote {args.out} ({args.format}, {n} rows, dataset {dataset})")
    return 0


def _guess_format(path: Path) -> str:
    """``csv`` / ``jsonl`` judgements by the table suffixes of :data:`core.tables.SUFFIX_FORMATS`,
    ``bundle`` for ``.zip``, else TREC ``qrels``."""
    from core.tables import SUFFIX_FORMATS

    suffix = path.suffix.lower()
    if SUFFIX_FORMATS.get(suffix) in ("csv", "jsonl"):
        return SUFFIX_FORMATS[suffix]
    return "bundle" if suffix == ".zip" else "qrels"


def _import_target(store, name: str | None) -> str | None:
    """The dataset ``--dataset`` names for an import: a dataset the store knows (full hash, unique
    prefix or name, as ``export`` resolves it), or a new one given by its full 20-character hash
    (any name in a store that holds no dataset yet).

    Raises:
        SieveError: for a name matching no known dataset that is not a full hash (a typo or a
            prefix must not file grades under a made-up dataset), or matching several.
    """
    if name is None:
        return None
    try:
        return store.resolve_dataset(name)
    except SieveError as exc:
        if re.fullmatch(r"[0-9a-f]{20}", name) or store.datasets().empty:
            return name  # a new dataset (a full hash, or the first of an empty store), registered with its grades
        raise SieveError(f"{exc} To import into a dataset the store does not know yet, give its full "
                         "20-character hash (the Data page and `python -m core inspect` show it).") from exc


def run_import(args: argparse.Namespace) -> int:
    """Import; returns the exit code."""
    from core.export.judgements import import_judgements, import_qrels, read_judgements

    fmt = _guess_format(args.file) if args.format == "auto" else args.format
    store = open_store(args.store, must_exist=False)
    source = f"import:{args.file.name}"
    if fmt == "qrels":
        from core.evaluate.trec import read_qrels

        if not args.dataset:
            raise SieveError("Importing qrels needs --dataset (the hash of the posts they judge).")
        report = import_qrels(store, read_qrels(args.file), dataset=_import_target(store, args.dataset),
                              annotator=args.annotator or "qrels", source=source)
    elif fmt in ("csv", "jsonl"):
        report = import_judgements(store, read_judgements(args.file, format=fmt),
                                   dataset=_import_target(store, args.dataset),
                                   annotator=args.annotator, source=source)
    else:
        from core.export.bundle import read_bundle

        report = import_judgements(store, read_bundle(args.file).judgements,
                                   dataset=_import_target(store, args.dataset),
                                   annotator=args.annotator, source=source)
    undo = _write_undo_file(report, store.path) if report.replaced else None
    if args.json:
        print(json.dumps({**report.to_dict(), "undo_file": str(undo) if undo else None},
                         ensure_ascii=False, indent=2))
    else:
        print(
            f"imported {args.file} into {store.path}: {report.n_rows} rows, {report.n_written} written, "
            f"{report.n_unchanged} unchanged (datasets: {', '.join(report.datasets)})"
        )
    if undo is not None:
        shown = "; ".join(f"post {r['post_id']} ({r['annotator']}, {r['query_id']}): "
                          f"{'skip' if r['grade'] is None else r['grade']} -> "
                          f"{'skip' if r['new_grade'] is None else r['new_grade']}" for r in report.replaced[:5])
        more = f" and {len(report.replaced) - 5} more" if len(report.replaced) > 5 else ""
        print(f"warning: {len(report.replaced)} imported grade(s) replaced a different grade already in the "
              f"store: {shown}{more}. The replaced grades are saved in {undo}; to put them back run: "
              f"python -m core import {undo} --store {store.path}", file=sys.stderr)
    return 0


def _write_undo_file(report, store_path: Path) -> Path:
    """Write the grades an import replaced as judgements JSONL beside the store; returns its path."""
    import pandas as pd

    from core.export.judgements import write_judgements_jsonl

    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    rows = pd.DataFrame(report.replaced).drop(columns=["new_grade"])
    rows["grade"] = rows["grade"].astype("Int64")
    return write_judgements_jsonl(rows, Path(store_path).parent / "import-undo" / f"replaced-{stamp}.jsonl")
