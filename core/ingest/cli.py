"""``python -m core inspect FILE``: read an export and print its ingest report."""

from __future__ import annotations

import argparse
import json
import sys

from core.errors import ColumnError


#: Help text of ``--column`` (shared by ``inspect``, ``rerank`` and ``cluster``).
COLUMN_HELP = ("choose the source column of a role (text, id, time, author, likes, reposts, comments, lang, "
               "url); text=a+b joins columns; ROLE= unmaps. Repeatable.")


def add_column_argument(parser: argparse.ArgumentParser) -> None:
    """Add the repeatable ``--column ROLE=COLUMN`` option; read it back with :func:`parse_columns`."""
    parser.add_argument("--column", action="append", metavar="ROLE=COLUMN", help=COLUMN_HELP)


def parse_columns(pairs: list[str] | None) -> dict[str, str | list[str] | None] | None:
    """The ``--column`` values as ``read_posts(columns=...)`` takes them.

    Args:
        pairs: ``ROLE=COLUMN`` strings as given on the command line, or None.

    Returns:
        ``{role: column}``; ``text=a+b`` gives a list of columns to join and
        ``ROLE=`` gives None (unmap); None when ``pairs`` is empty.

    Raises:
        ColumnError: a value without ``=``.

    Example:
        >>> parse_columns(["text=title+selftext", "id="])
        {'text': ['title', 'selftext'], 'id': None}
    """
    if not pairs:
        return None
    out: dict[str, str | list[str] | None] = {}
    for pair in pairs:
        role, sep, name = pair.partition("=")
        if not sep:
            raise ColumnError(f"--column expects ROLE=COLUMN (e.g. text=微博正文). Got {pair!r} instead.")
        name = name.strip()
        if not name:
            out[role.strip()] = None
        elif role.strip() == "text" and "+" in name:
            out["text"] = [part.strip() for part in name.split("+") if part.strip()]
        else:
            out[role.strip()] = name
    return out


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
    parser = subparsers.add_parser(
        "inspect",
        help="read an export of posts and report what was found",
        description="Read an export (CSV/TSV/TXT, XLSX, JSON/JSONL, X archive tweets.js) and print the "
        "ingest report: encoding, delimiter, header row, column mapping, posts kept, rows dropped, "
        "duplicates and warnings.",
    )
    parser.add_argument("file", help="the export file")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    parser.add_argument("--max-mb", type=float, default=None,
                        help="size limit in MB (default: SIEVE_MAX_UPLOAD_MB, 200)")
    add_column_argument(parser)
    parser.add_argument("--head", type=int, default=5, metavar="N",
                        help="show the first N posts (human output only; default 5)")
    parser.set_defaults(func=_run)
