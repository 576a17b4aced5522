"""Every export of a dataset as separate files in memory (the dashboard's download buttons).

The bundle (:func:`core.export.bundle.write_bundle`) already holds every other format,
so it is written once and its members are handed out as files of their own.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd

from core.export.bundle import write_bundle

#: Name of the bundle among the files.
BUNDLE_NAME = "sieve-bundle.zip"


def export_files(store: Any, dataset: str, *, runs: dict[str, Any], posts: pd.DataFrame | None = None,
                 extra: dict[str, Any] | None = None) -> dict[str, bytes]:
    """Every export of ``dataset``'s grades and ``runs``, as file bytes.

    Args:
        store: the label store (:class:`core.labels.store.LabelStore`).
        dataset: the dataset hash (the store's key).
        runs: ``{run name: [Ranking, one per query]}`` (or what ``write_bundle`` takes);
            run names are mode names, already file-safe.
        posts: the post table (texts in the judgements), or ``None``.
        extra: more provenance; values that are not JSON-serialisable are written as strings.

    Returns:
        ``{file name: bytes}``: ``qrels.txt`` (TREC), ``run-<name>.txt`` per run (TREC),
        ``judgements.csv`` (UTF-8 with BOM, formula-safe), ``judgements.jsonl`` and
        ``sieve-bundle.zip`` (all of them with provenance), in that order.

    Raises:
        core.errors.InputFileError, OSError: the bundle could not be written (temporary folder).
    """
    extra = json.loads(json.dumps(extra or {}, default=str))
    with tempfile.TemporaryDirectory(prefix="sieve-export-") as tmp:
        bundle = write_bundle(Path(tmp) / BUNDLE_NAME, store, dataset, runs=runs, posts=posts, extra=extra)
        with zipfile.ZipFile(bundle) as zf:
            out = {"qrels.txt": zf.read("qrels.txt")}
            out.update({f"run-{m[len('runs/'):]}": zf.read(m) for m in sorted(zf.namelist())
                        if m.startswith("runs/")})
            out["judgements.csv"] = zf.read("judgements.csv")
            out["judgements.jsonl"] = zf.read("judgements.jsonl")
        out[BUNDLE_NAME] = bundle.read_bytes()
    return out
