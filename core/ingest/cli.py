"""``python -m core inspect FILE``: read an export and print its ingest report."""

from __future__ import annotations

import argparse
import json
import sys

from core.cli_common import (  # noqa: F401  (COLUMN_HELP, add_column_argument: re-exported)
    COLUMN_HELP,
    add_column_argument,
    add_command,
    add_posts_arguments,
    int_at_least,
    parse_columns,
)
from core.config import DEFAULT_MAX_UPLOAD_MB


def _print_human(report: dict, posts, head: int) -> None:
    delim = {"\t": "tab", None: "-"}.get(report["delimiter"], repr(report["delimiter"]))
    print(f"file        {report['source']}")
    print(f"format      {report['format']} ({report['layout']}), encoding {report['encoding']}, delimiter {delim}, "
          f"header row {report['header_row']}")
    print(f"posts       {report['n_posts']} kept of {report['rows_read']} records read")
    if report["dropped"]:
        print("dropped     " + ", ".join(f"{k}: {v}" for k, v in report["dropped"].items()))
    print(f"text        {report['text_source']}")
    for role, column in report["columns"].items():
        if role != "text":
            print(f"  {role:<9} {column if column is not None else '-'}")
    print(f"duplicates  {report['duplicates']} posts in {report['duplicate_groups']} groups")
    if report["unscorable"]:
        print("unscorable  " + ", ".join(f"{k}: {v}" for k, v in report["unscorable"].items()))
    print(f"dataset     {report['dataset_hash']}")
    for warning in report["warnings"]:
        print(f"warning     {warning}")
    if head:
        print()
        for row in posts.head(head).itertuples(index=False):
            text = row.text.replace("\n", " ")
            print(f"{row.post_id:>22}  {text[:100]}")


def _run(args: argparse.Namespace) -> int:
    from core.ingest import read_posts

    result = read_posts(args.file, columns=parse_columns(args.column), max_mb=args.max_mb)
    report = result.report.to_dict()
    if args.json:
        json.dump(report, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        _print_human(report, result.posts, args.head)
    return 0


def register(subparsers) -> None:
    """Add the ``inspect`` sub-command to ``python -m core``."""
    parser = add_command(
        subparsers, "inspect", _run,
        help="read an export of posts and report what was found",
        description="Read an export (CSV/TSV/TXT, XLSX, JSON/JSONL, X archive tweets.js) and print the "
        "ingest report: encoding, delimiter, header row, column mapping, posts kept, rows dropped, "
        "duplicates and warnings.",
    )
    add_posts_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    parser.add_argument("--max-mb", type=float, default=None,
                        help=f"size limit in MB (default: SIEVE_MAX_UPLOAD_MB, {DEFAULT_MAX_UPLOAD_MB})")
    parser.add_argument("--head", type=int_at_least(0), default=5, metavar="N",
                        help="show the first N posts (human output only; default 5)")
