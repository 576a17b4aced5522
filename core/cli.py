"""``python -m core``: Sieve's pipeline steps on the command line.

Each stage registers its own sub-command from ``core/<stage>/cli.py`` through a
``register(subparsers)`` function that adds a parser (``core.cli_common.add_command``)
whose ``func`` default takes the parsed arguments and returns an exit code; the
options every command shares come from :mod:`core.cli_common`. A command module
that fails to import stops ``python -m core`` (it is never skipped). Errors meant
for a person (:class:`core.errors.SieveError`) are printed as one line on stderr
with exit code 2, as argparse does for a malformed option; anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from core import __version__
from core.errors import SieveError

#: Modules that contribute sub-commands, in the order ``--help`` lists them.
COMMAND_MODULES = (
    "core.ingest.cli",  # inspect
    "core.rerank.cli",  # rerank
    "core.distributed.cli",  # score
    "core.cluster.cli",  # cluster
    "core.timeline.cli",  # timeline
    "core.evaluate.cli",  # evaluate
    "core.export.cli",  # export, import
    "core.models.cli",  # download
    "core.security.cli",  # users
)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered sub-command."""
    parser = argparse.ArgumentParser(
        prog="python -m core",
        description="Sieve: rerank, cluster, grade and evaluate social-media posts.",
    )
    parser.add_argument("--version", action="version", version=f"sieve {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        return int(args.func(args) or 0)
    except SieveError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `python -m core ... | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
