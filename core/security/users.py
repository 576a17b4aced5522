"""The local user file: accounts with Argon2id password hashes and a role.

One JSON file (``SIEVE_USERS_FILE``, default ``<data folder>/users.json``)::

    {"version": 1, "users": {"ana": {"role": "annotator", "password_hash": "$argon2id$...",
                                      "created_at": "2026-12-02T12:00:00+00:00"}}}

Passwords are hashed with argon2-cffi's :class:`argon2.PasswordHasher` (Argon2id,
RFC 9106 defaults); the file never holds a password, and is written atomically
with mode 0600. The file is read again at each sign-in, so accounts added with
``python -m core users add`` work without restarting the server.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from core.errors import SieveError
from core.security.access import ROLES

logger = logging.getLogger(__name__)

#: Shortest password accepted.
MIN_PASSWORD_LENGTH = 8
#: User names: a letter or digit, then letters, digits, ``.``, ``_`` or ``-`` (at most 64).
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

_HASHER = PasswordHasher()
#: Checked against when the name is unknown, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("sieve-no-such-user")


class UserFileError(SieveError):
    """The user file cannot be read or written, or a user cannot be added as asked."""


class SignInError(SieveError):
    """A name and password do not match an account (the message never says which was wrong)."""


@dataclass(frozen=True)
class User:
    """A signed-in person: ``name`` (also the annotator written with their grades) and ``role``."""

    name: str
    role: str


def users_path(data_dir: str | os.PathLike | None = None) -> Path:
    """The user file: ``SIEVE_USERS_FILE``, else ``<data_dir>/users.json`` (default: the
    ``SIEVE_DATA_DIR`` data folder)."""
    if os.environ.get("SIEVE_USERS_FILE"):
        return Path(os.environ["SIEVE_USERS_FILE"]).expanduser()
    if data_dir is None:
        from core.config import get_settings

        data_dir = get_settings().data_dir
    return Path(data_dir) / "users.json"


class UserFile:
    """Accounts kept in one JSON file (see the module docstring).

    Args:
        path: the file (default :func:`users_path`); it need not exist yet.
    """

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path) if path is not None else users_path()

    def exists(self) -> bool:
        """Whether the file exists (then the dashboard asks every visitor to sign in)."""
        return self.path.is_file()

    def _load(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"version": 1, "users": {}}
        except (OSError, ValueError) as exc:
            raise UserFileError(f"The user file {self.path} cannot be read: {exc}. Fix or remove it "
                                "(then add the users again with `python -m core users add`).") from exc
        if not isinstance(data, dict) or not isinstance(data.get("users"), dict):
            raise UserFileError(f"The user file {self.path} is not a Sieve user file (no \"users\" "
                                "object). Fix or remove it.")
        return data

    def _save(self, data: dict) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.name + ".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, ensure_ascii=False, indent=1)
            os.chmod(tmp, 0o600)
            tmp.replace(self.path)
        except OSError as exc:
            raise UserFileError(f"The user file {self.path} cannot be written: {exc}.") from exc

    def users(self) -> dict[str, User]:
        """Every account: ``{name: User}``, in the file's order."""
        return {name: User(name, str(rec.get("role"))) for name, rec in self._load()["users"].items()
                if isinstance(rec, dict)}

    def add(self, name: str, password: str, *, role: str, replace: bool = False) -> User:
        """Create (or, with ``replace``, update) an account.

        Args:
            name: the user name (:data:`NAME_PATTERN`); it is the annotator of their grades.
            password: at least :data:`MIN_PASSWORD_LENGTH` characters; only its hash is kept.
            role: one of :data:`core.security.access.ROLES`.
            replace: allow changing the password and role of an existing account.

        Raises:
            UserFileError: a bad name, role or password, an existing name without
                ``replace``, or a file that cannot be written.
        """
        if not NAME_PATTERN.match(name or ""):
            raise UserFileError(f"The user name {name!r} is not allowed: use letters, digits, '.', '_' "
                                "or '-' (at most 64, starting with a letter or digit).")
        if role not in ROLES:
            raise UserFileError(f"The role must be one of {', '.join(ROLES)}. Got {role!r} instead.")
        if len(password or "") < MIN_PASSWORD_LENGTH:
            raise UserFileError(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")
        data = self._load()
        if name in data["users"] and not replace:
            raise UserFileError(f"The user {name} exists already in {self.path}; use --replace to change "
                                "their password or role.")
        data["users"][name] = {"role": role, "password_hash": _HASHER.hash(password),
                               "created_at": datetime.now(UTC).isoformat(timespec="seconds")}
        self._save(data)
        logger.info("user %s (%s) saved in %s", name, role, self.path)
        return User(name, role)

    def remove(self, name: str) -> None:
        """Delete an account (its grades stay in the label store).

        Raises:
            UserFileError: no such user.
        """
        data = self._load()
        if name not in data["users"]:
            raise UserFileError(f"There is no user {name!r} in {self.path}.")
        del data["users"][name]
        self._save(data)

    def verify(self, name: str, password: str) -> User:
        """The account of ``name`` if ``password`` is its password.

        Raises:
            SignInError: unknown name or wrong password (one message for both; an unknown
                name costs one hash check too, so timing does not tell which).
            UserFileError: the file cannot be read.
        """
        rec = self._load()["users"].get(name or "")
        stored = rec.get("password_hash") if isinstance(rec, dict) else None
        try:
            _HASHER.verify(stored or _DUMMY_HASH, password or "")
            ok = stored is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
        if not ok or rec.get("role") not in ROLES:
            raise SignInError("The user name or the password is wrong.")
        return User(name, rec["role"])
