"""Files named by path on the server may come only from allowed folders.

A dashboard that reads "a file on this machine" would otherwise hand any file the
server can read to whoever reaches it. :func:`resolve_allowed` is the one check:
a path with a ``..`` component, an absolute path outside every root, or a
symbolic link whose target leaves the roots is refused with
:class:`PathNotAllowedError`, whatever the role of the person asking.

The roots (:func:`data_roots`) come from ``SIEVE_DATA_ROOTS`` (folders separated
by ``os.pathsep``, ``:`` on Linux and macOS). When it is unset:

* local mode (one person on their own machine): the data folder, the bundled
  ``sample_data/`` and the user's home folder;
* team mode: the data folder (kept uploads live in ``<data folder>/uploads``) and
  ``sample_data/`` only, until the admin sets ``SIEVE_DATA_ROOTS``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from core.errors import SieveError

#: The bundled samples (always readable: they ship with Sieve).
SAMPLE_DIR = Path(__file__).resolve().parent.parent.parent / "sample_data"


class PathNotAllowedError(SieveError, PermissionError):
    """A path names a file outside the folders the server may read from."""


def data_roots(*, data_dir: str | os.PathLike, team: bool,
               env: Mapping[str, str] | None = None) -> list[Path]:
    """The folders server files may be read from, resolved (symbolic links followed).

    Args:
        data_dir: the data folder set by the environment (``SIEVE_DATA_DIR``), not one
            typed in a session: a session must not widen its own roots.
        team: team mode (see :mod:`core.security.access`); without ``SIEVE_DATA_ROOTS``
            it leaves out the home folder.
        env: the environment to read ``SIEVE_DATA_ROOTS`` from (default ``os.environ``).

    Returns:
        Absolute folders, in the order given, without duplicates. ``SIEVE_DATA_ROOTS``
        replaces the defaults entirely (empty entries are ignored).
    """
    env = os.environ if env is None else env
    raw = [r for r in (env.get("SIEVE_DATA_ROOTS") or "").split(os.pathsep) if r.strip()]
    if raw:
        roots = [Path(r.strip()).expanduser() for r in raw]
    else:
        roots = [Path(data_dir).expanduser(), SAMPLE_DIR]
        if not team:
            roots.append(Path.home())
    out: list[Path] = []
    for r in roots:
        resolved = r.resolve()
        if resolved not in out:
            out.append(resolved)
    return out


def resolve_allowed(path: str | os.PathLike, roots: Sequence[str | os.PathLike]) -> Path:
    """The absolute, link-free form of ``path`` if it lies inside one of ``roots``.

    Args:
        path: what the person typed: absolute, ``~/...``, or relative (taken relative to
            the first root, never to the server's working folder).
        roots: allowed folders (see :func:`data_roots`).

    Returns:
        ``path`` resolved (every symbolic link followed, ``Path.resolve``), inside a root.
        It need not exist: the caller says so when it does not.

    Raises:
        PathNotAllowedError: ``path`` is empty, has a ``..`` component, or resolves
            (after following links) outside every root; or there are no roots. The
            message names the path and the allowed folders and says how to widen them.
    """
    text = str(path).strip().strip('"')
    allowed = [Path(r).resolve() for r in roots]
    where = ", ".join(str(r) for r in allowed) or "none"
    hint = ("Put the file in one of these folders, or ask the person running the server to add its "
            "folder to SIEVE_DATA_ROOTS.")
    if not text:
        raise PathNotAllowedError("No path was given.", hint=hint)
    if not allowed:
        raise PathNotAllowedError(f"Files cannot be read by path here: no folder is allowed (the path "
                                  f"was {text}).", hint=hint)
    given = Path(text).expanduser()
    if ".." in given.parts:
        raise PathNotAllowedError(f"The path {text} contains '..', which is not allowed. Allowed "
                                  f"folders: {where}.", hint=hint)
    full = (given if given.is_absolute() else allowed[0] / given).resolve()
    for root in allowed:
        if full == root or full.is_relative_to(root):
            return full
    link = "" if full == Path(os.path.abspath(given if given.is_absolute() else allowed[0] / given)) else (
        f" (it leads to {full} through a symbolic link)")
    raise PathNotAllowedError(f"The path {text} is outside the folders this server may read files from"
                              f"{link}. Allowed folders: {where}.", hint=hint)
