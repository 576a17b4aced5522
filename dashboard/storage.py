"""The dataset store on disk (``<data>/datasets``): what it holds and removing what is not in use
(:mod:`core.store.usage`). The Settings page shows it."""

from __future__ import annotations

import datetime as dt
import time

import pandas as pd

from core.store import usage
from core.store.folder import store_root

size_text = usage.size_text


def where() -> str:
    """The dataset store's folder."""
    return str(store_root())


def cap_bytes() -> int:
    """The store's cap in bytes (``SIEVE_STORE_MAX_GB``)."""
    return usage.max_bytes_setting()


def folders() -> pd.DataFrame:
    """One row per store folder, most recently used first: ``kind`` (str), ``size_mb`` (float,
    disk taken), ``last_used`` (str, local time to the minute), ``in_use`` (bool: open in this
    server or in another process on this machine, or used in the last hour; kept by every
    removal), ``folder`` (str, its name)."""
    here, now = usage.open_here(), time.time()
    rows = [{"kind": f.kind, "size_mb": round(f.bytes / 1e6, 1),
             "last_used": dt.datetime.fromtimestamp(f.last_used).strftime("%Y-%m-%d %H:%M"),
             "in_use": usage.in_use(f, here, now), "folder": f.path.name}
            for f in reversed(usage.stored_folders())]
    return pd.DataFrame(rows, columns=["kind", "size_mb", "last_used", "in_use", "folder"])


def remove_unused() -> tuple[int, int]:
    """Remove every store folder not in use (open in this server or in another process on this
    machine, or used in the last hour); returns ``(folders removed, bytes freed)``.
    A removed folder is rebuilt when its dataset is opened again."""
    removed = usage.prune(max_bytes=0)
    return len(removed), sum(f.bytes for f in removed)
