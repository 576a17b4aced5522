"""Errors meant for a person.

Every error that the dashboard or the command line shows to an analyst is a
:class:`SieveError`: its message names the file, row or column at fault, what
was expected and what to do. Anything else that escapes ``core`` is a bug.
"""

from __future__ import annotations


class SieveError(Exception):
    """Base class of every error whose message is written for the analyst.

    Args:
        message: one or two sentences: what is wrong (naming the file, row or
            column) and what to do about it.
        hint: optional extra advice shown under the message.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} {self.hint}"


class InputFileError(SieveError, ValueError):
    """An uploaded or named file cannot be read as a table of posts."""


class ColumnError(SieveError, ValueError):
    """A column the analyst named, or one Sieve needs, is missing or unusable."""


class ParameterError(SieveError, ValueError):
    """A parameter (a number of clusters, a top-k, a weight) is outside what the step accepts.

    Message form (scikit-learn's): "The 'top_k' parameter of rerank must be an int >= 1. Got 0 instead."
    """


class ModelUnavailableError(SieveError, RuntimeError):
    """Model weights cannot be loaded (no network, wrong folder, missing package)."""


class MissingDependencyError(SieveError, ImportError):
    """An optional package is not installed; the message gives the pip command."""


class Cancelled(SieveError):
    """A long computation was cancelled by the analyst."""
