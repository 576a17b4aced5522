"""TREC qrels and run files: kept in :mod:`core.evaluate.trec` beside the qrels/run builders.

This module keeps the old import path (``from core.export.trec import read_runs``) working.
"""

from core.evaluate.trec import read_qrels, read_run, read_runs, write_qrels, write_run

__all__ = ["read_qrels", "read_run", "read_runs", "write_qrels", "write_run"]
