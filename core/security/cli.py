"""``python -m core users``: manage the accounts of a team server.

    python -m core users add NAME --role admin|analyst|annotator   # password prompted twice
    printf '%s\\n' "$PASSWORD" | python -m core users add NAME --role annotator --password-stdin
    python -m core users list
    python -m core users remove NAME
"""

from __future__ import annotations

import argparse
import getpass
import sys

from core.cli_common import add_command
from core.errors import SieveError
from core.security.access import ROLES
from core.security.users import UserFile, users_path


def register(sub) -> None:
    """Add the ``users`` sub-command to ``python -m core``."""
    p = sub.add_parser("users", help="add, list or remove the accounts of a team server",
                       description="Accounts for `make serve` (sign-in required). The file is "
                                   "SIEVE_USERS_FILE, else <data folder>/users.json.")
    p.add_argument("--file", default=None, help="the user file (default: %(default)s -> "
                                                "SIEVE_USERS_FILE or <data folder>/users.json)")
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    add = add_command(verbs, "add", _add, help="create an account (password prompted, or read from stdin)")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, required=True)
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from the first line of standard input")
    add.add_argument("--replace", action="store_true", help="change an existing account")
    add_command(verbs, "list", _list, help="list the accounts and roles")
    rm = add_command(verbs, "remove", _remove, help="delete an account (its grades are kept)")
    rm.add_argument("name")


def _file(args: argparse.Namespace) -> UserFile:
    return UserFile(args.file or users_path())


def _add(args: argparse.Namespace) -> int:
    if args.password_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"Password for {args.name}: ")
        if getpass.getpass("Again: ") != password:
            raise SieveError("The two passwords differ; nothing was saved.")
    uf = _file(args)
    user = uf.add(args.name, password, role=args.role, replace=args.replace)
    print(f"{user.name} ({user.role}) saved in {uf.path}")
    return 0


def _list(args: argparse.Namespace) -> int:
    uf = _file(args)
    for user in uf.users().values():
        print(f"{user.name}\t{user.role}")
    return 0


def _remove(args: argparse.Namespace) -> int:
    uf = _file(args)
    uf.remove(args.name)
    print(f"{args.name} removed from {uf.path}")
    return 0
