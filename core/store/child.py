"""Heavy one-off work in a child process: ``python -P -m <module>`` of this package.

Reading a large export, building its BM25 index or its ANN graph creates and drops
millions of short-lived objects. In a long-lived process (the dashboard server)
the allocators keep part of that memory after the objects are gone (a million
posts' BM25 build in the server: 0.6 GB more while the dataset stayed open); in a
child it goes back to the system when the child ends, and the server's other
sessions are not kept waiting for the interpreter lock meanwhile. The child writes
its result under the data folder; the caller loads it from there as on reopen
(:mod:`core.store`).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChildResult:
    """How a child process ended: its exit status, its whole stdout, the last 2,000
    characters of its stderr (decoded, for a log message)."""

    returncode: int
    stdout: bytes
    stderr_tail: str


def child_env() -> dict[str, str]:
    """This process's environment with this package's folder first on ``PYTHONPATH``, so the
    child imports the same ``core`` as the caller whatever its working directory."""
    import core

    here = str(Path(core.__file__).resolve().parent.parent)
    return {**os.environ,
            "PYTHONPATH": os.pathsep.join([here, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}


def run_module(module: str, args: Sequence[str] = (), *, stdin: Iterable[bytes] = ()) -> ChildResult | None:
    """Run ``python -P -m module *args`` and wait for it.

    ``-P``: the working directory is not put on ``sys.path`` (a ``core`` package there is
    not ours). ``stdin`` is written to the child piece by piece (a generator keeps only one
    piece in this process at a time), then closed; the child should read all of it before
    it writes much to stdout. stderr goes to a temporary file, so a chatty child never
    blocks on a full pipe.

    Returns:
        A :class:`ChildResult`, or None when the child could not be started (the caller
        then does the work itself).

    Raises:
        BaseException: whatever interrupts the caller while it feeds or waits (the child is
            killed first).
    """
    with tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen([sys.executable, "-P", "-m", module, *args], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=err, env=child_env())
        except OSError as exc:
            logger.warning("could not start python -m %s: %s", module, exc)
            return None
        with proc:
            try:
                try:
                    for piece in stdin:
                        proc.stdin.write(piece)
                    proc.stdin.close()
                except BrokenPipeError:  # the child ended early: its status and stderr say why
                    pass
                stdout = proc.stdout.read()
                proc.wait()
            except BaseException:
                proc.kill()
                raise
        err.seek(0)
        tail = err.read()[-8_000:].decode("utf-8", "replace")[-2_000:]
    return ChildResult(proc.returncode, stdout, tail)
