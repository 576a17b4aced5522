"""export stage: TREC qrels and runs, judgements CSV/JSONL, zip bundles, and imports.

* TREC files (``write_qrels``, ``read_qrels``, ``write_run``, ``read_run``, ``read_runs``) live in
  :mod:`core.evaluate.trec` beside the qrels/run builders and are re-exported here (and by
  :mod:`core.export.trec`): export builds on evaluate, never the other way.
* :mod:`core.export.judgements`: CSV (UTF-8 BOM, formula-safe through :mod:`core.tables`) and JSONL of
  every annotator's grades; :mod:`core.export.imports`: ``read_judgements``, ``import_judgements`` and
  ``import_qrels`` into a store.
* :mod:`core.export.bundle`: ``write_bundle`` / ``read_bundle`` (zip + ``provenance.json``);
  :mod:`core.export.downloads`: every export as file bytes.
"""

from core.evaluate.trec import read_qrels, read_run, read_runs, write_qrels, write_run
from core.export.bundle import Bundle, bundle_bytes, read_bundle, write_bundle
from core.export.judgements import (
    ImportReport,
    import_judgements,
    import_qrels,
    judgements_frame,
    neutralise,
    read_judgements,
    unneutralise,
    write_judgements_csv,
    write_judgements_jsonl,
)

__all__ = [
    "Bundle",
    "ImportReport",
    "bundle_bytes",
    "import_judgements",
    "import_qrels",
    "judgements_frame",
    "neutralise",
    "read_bundle",
    "read_judgements",
    "read_qrels",
    "read_run",
    "read_runs",
    "unneutralise",
    "write_bundle",
    "write_judgements_csv",
    "write_judgements_jsonl",
    "write_qrels",
    "write_run",
]
