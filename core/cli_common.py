"""What every ``python -m core`` command shares: argument types, options and the label store.

Each stage's ``cli.py`` builds its parser from these pieces so that an option
means, checks and reads the same everywhere:

* :func:`add_command`: a sub-command and the function that runs it;
* argument types (argparse ``type=``; a bad value stops the parse with exit
  code 2 and ``argument --x: ...``): :func:`positive_int`, :func:`int_at_least`,
  :func:`existing_file`;
* ``FILE --column ROLE=COLUMN`` (:func:`add_posts_arguments`, :func:`parse_columns`);
* ``--budget N`` (:func:`add_budget_argument`, :func:`budget_from_args`: the
  default is ``SIEVE_RERANK_BUDGET``, else :data:`core.config.DEFAULT_RERANK_BUDGET`);
* ``--store FILE`` and opening the label store one way (:func:`add_store_argument`,
  :func:`open_store`);
* ``--out FILE`` for tables: :func:`check_out_suffix`, then
  :func:`core.tables.write_table` (format from the suffix).

Errors meant for a person are :class:`core.errors.SieveError`; ``core.cli.main``
prints them as one line on stderr and exits with code 2.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from core.config import DEFAULT_RERANK_BUDGET
from core.errors import ColumnError, SieveError
from core.tables import table_format

#: Help text of ``--column`` (shared by ``inspect``, ``rerank``, ``cluster`` and ``timeline``).
COLUMN_HELP = ("choose the source column of a role (text, id, time, author, likes, reposts, comments, lang, "
               "url); text=a+b joins columns; ROLE= unmaps. Repeatable.")


# -- sub-commands ---------------------------------------------------------------------------------

def add_command(subparsers, name: str, func: Callable[[argparse.Namespace], int], *, help: str,
                description: str | None = None, **kwargs) -> argparse.ArgumentParser:
    """Add the sub-command ``name`` whose ``func(args)`` returns the exit code.

    A multi-line ``description`` (a module docstring with examples) is printed as
    written; a one-line one is wrapped. Other keywords go to ``add_parser``.
    """
    description = description or help
    formatter = argparse.RawDescriptionHelpFormatter if "\n" in description else argparse.HelpFormatter
    parser = subparsers.add_parser(name, help=help, description=description, formatter_class=formatter, **kwargs)
    parser.set_defaults(func=func)
    return parser


# -- argument types -------------------------------------------------------------------------------

def int_at_least(low: int) -> Callable[[str], int]:
    """An argparse ``type=`` that accepts a whole number >= ``low``.

    >>> int_at_least(2)("3")
    3
    """
    def parse(value: str) -> int:
        try:
            n = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {low}, got {value!r}") from None
        if n < low:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {low}, got {n}")
        return n

    parse.__name__ = f"int >= {low}"  # how argparse names the type in its messages
    return parse


#: argparse ``type=`` for counts such as ``--top-k`` and ``--budget``: a whole number >= 1.
positive_int = int_at_least(1)


def existing_file(value: str) -> Path:
    """An argparse ``type=`` for an input file that must exist (a run, qrels, a queries file)."""
    path = Path(value)
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise argparse.ArgumentTypeError(f"the file {value} {what}. Check the path.")
    return path


# -- FILE --column ROLE=COLUMN --------------------------------------------------------------------

def add_posts_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the positional ``FILE`` (an export of posts) and ``--column ROLE=COLUMN``.

    The file is not checked here: ``core.ingest.read_posts`` names what is wrong with it.
    """
    parser.add_argument("file", metavar="FILE",
                        help="export of posts (CSV/TSV/TXT, XLSX, JSON/JSONL, X archive tweets.js)")
    add_column_argument(parser)


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


# -- --model / --embedded --------------------------------------------------------------------------

def add_model_arguments(parser: argparse.ArgumentParser, *, model_help: str, embedded_help: str) -> None:
    """Add ``--model ID_OR_PATH`` and ``--embedded`` (one or the other; ``args.model`` None and
    ``args.embedded`` False when neither is given, i.e. the configured default)."""
    model = parser.add_mutually_exclusive_group()
    model.add_argument("--model", metavar="ID_OR_PATH", help=model_help)
    model.add_argument("--embedded", action="store_true", help=embedded_help)


# -- --budget -------------------------------------------------------------------------------------

def add_budget_argument(parser: argparse.ArgumentParser, *, what: str = "first-stage candidates to score") -> None:
    """Add ``--budget N`` (default: ``SIEVE_RERANK_BUDGET``, else :data:`DEFAULT_RERANK_BUDGET`)."""
    parser.add_argument("--budget", type=positive_int, default=None, metavar="N",
                        help=f"{what} (default: SIEVE_RERANK_BUDGET or {DEFAULT_RERANK_BUDGET})")


def budget_from_args(args: argparse.Namespace) -> int:
    """``--budget`` as given, else the configured rerank budget (``core.config.Settings.rerank_budget``)."""
    if getattr(args, "budget", None) is not None:
        return int(args.budget)
    from core.config import get_settings

    return get_settings().rerank_budget


# -- the label store ------------------------------------------------------------------------------

def add_store_argument(parser, *, help: str | None = None) -> None:
    """Add ``--store FILE`` (default: ``SIEVE_LABEL_STORE``, else ``labels.sqlite`` in the data folder).

    ``parser`` may be a mutually exclusive group.
    """
    parser.add_argument("--store", type=Path, default=None, metavar="FILE",
                        help=help or "label store (default: SIEVE_LABEL_STORE or the user data folder's)")


def store_path(path: str | os.PathLike | None) -> Path:
    """``path``, or the configured label store (``core.config.Settings.label_store_path``)."""
    if path is not None:
        return Path(path)
    from core.config import get_settings

    return get_settings().label_store_path


def open_store(path: str | os.PathLike | None, *, must_exist: bool = True):
    """Open the label store a command names (``--store``), or the configured one.

    Args:
        path: the SQLite file, or None for the default.
        must_exist: refuse a file that is not there (commands that only read);
            an import creates it.

    Returns:
        A :class:`core.labels.store.LabelStore`.

    Raises:
        SieveError: when ``must_exist`` and the file is absent.
    """
    from core.labels.store import LabelStore

    path = store_path(path)
    if must_exist and not path.exists():
        raise SieveError(f"The label store {path} does not exist. Check the path, grade something first, "
                         "or pass --store.")
    return LabelStore(path)


# -- --out ----------------------------------------------------------------------------------------

def check_out_suffix(path: str | os.PathLike | None, allowed: Iterable[str]) -> str | None:
    """The table format of ``--out`` (None without one), checked before any work is done.

    Raises:
        SieveError: naming the file and the suffixes this command writes.
    """
    return None if path is None else table_format(path, allowed=allowed, option="--out")
