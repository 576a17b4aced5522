"""What a browser tab needs after a refresh: its dataset, settings, rerank requests and grading position.

Each tab has an ID kept in its URL (``?s=<32 hex>``), so a refresh of that tab
finds its own file, ``<data folder>/sessions/<owner>/<tab ID>.json``. Every
save also writes ``<owner>/last.json``: a new tab (no ID in its URL) starts from
the last dataset this analyst used, never from another analyst's. ``owner``
is the signed-in user when there is one (:func:`dashboard.state.owner_name`),
else ``local``. A file from before tabs had IDs (``dashboard_session.json``) is
read once as the fallback.

The data folder is the one of the environment (``SIEVE_DATA_DIR``), not the
Settings page's: the file must be found before any setting is known.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import re
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

import streamlit as st

from core.config import get_settings
from dashboard import state

logger = logging.getLogger(__name__)

#: The file of the single remembered session before tabs had IDs (read as a fallback).
LEGACY_SESSION_FILE = "dashboard_session.json"
#: Folder (in the data folder) of the per-tab session files.
SESSIONS_DIR = "sessions"
#: Query parameter holding the tab ID.
TAB_PARAM = "s"
_TAB_ID = re.compile(r"^[0-9a-f]{32}$")
_VERSION = 2


def tab_id() -> str:
    """This browser tab's ID (32 hex), kept in the URL so a refresh keeps it.

    Read from the URL on the session's first run (a malformed value is
    replaced), then written back to the URL on every run: page switches may
    drop query parameters.
    """
    flags = state.params(state.SessionFlags)
    tid = flags.tab_id
    if tid is None:
        given = st.query_params.get(TAB_PARAM)
        tid = given if isinstance(given, str) and _TAB_ID.match(given) else uuid.uuid4().hex
        flags.tab_id = tid
    if st.query_params.get(TAB_PARAM) != tid:
        st.query_params[TAB_PARAM] = tid
    return tid


def _owner_dir() -> Path:
    user = state.owner_name()
    owner = "local" if not user else "u-" + hashlib.sha256(str(user).encode("utf-8")).hexdigest()[:16]
    return get_settings().data_dir / SESSIONS_DIR / owner


def session_file() -> Path:
    """This tab's session file."""
    return _owner_dir() / f"{tab_id()}.json"


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        logger.warning("ignoring unreadable session file %s: %s", path, exc)
        return None
    return data if isinstance(data, dict) else None


def load_session_file() -> dict[str, Any]:
    """This tab's remembered session; for a new tab the analyst's last one; ``{}`` when none.

    The result's ``"own"`` is True only for this tab's own file (a refresh).
    """
    own = session_file()
    for path in (own, _owner_dir() / "last.json", get_settings().data_dir / LEGACY_SESSION_FILE):
        data = _read(path)
        if data is not None:
            return {**data, "own": path == own}
    return {}


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


#: Datasets whose rerank requests the session file keeps (the newest).
REMEMBERED_DATASETS = 5


def save_session_file() -> None:
    """Remember this tab's dataset source, settings, rerank requests and grading position (atomic writes)."""
    ds = state.dataset()
    g = state.params(state.GradeParams)
    requests = [asdict(r) for r in state.rankings()][-20:]
    before = load_session_file()
    by_dataset = dict(before.get("requests_by_dataset") or {})
    boxes = dict(before.get("boxes") or {}) if before.get("own") else {}  # this tab's own last request
    last = state.last_request()
    if ds is not None and last is not None:  # per dataset, as the requests
        boxes.pop(ds.dataset_hash, None)
        boxes[ds.dataset_hash] = asdict(last)
    if ds is not None and requests:  # a dataset opened again keeps its list until it ranks anew
        by_dataset.pop(ds.dataset_hash, None)
        by_dataset[ds.dataset_hash] = requests
    data = {
        "version": _VERSION,
        "settings": asdict(state.settings()),
        "dataset": ds.descriptor() if ds else None,
        "requests": requests,
        "requests_by_dataset": dict(list(by_dataset.items())[-REMEMBERED_DATASETS:]),
        "boxes": dict(list(boxes.items())[-REMEMBERED_DATASETS:]),
        "grade": {"query": g.query, "position": g.position, "resume": g.resume},
        "notices": [asdict(n) for n in g.notices],
        "drafts": g.drafts,
    }
    text = json.dumps(data, ensure_ascii=False, indent=1)
    try:
        _write(session_file(), text)
        _write(_owner_dir() / "last.json", text)
    except OSError as exc:  # a read-only data folder must not break the app
        logger.warning("could not remember the session in %s: %s", _owner_dir(), exc)


def remembered_requests() -> list[state.RankingRequest]:
    """Rerank requests remembered for the loaded dataset (to recompute after a refresh, or when
    the dataset is opened again after another one), oldest first: its last :data:`REMEMBERED_DATASETS`
    lists are kept per dataset hash; an older session file has only its last dataset's ``requests``."""
    return _requests_in(load_session_file())


def _requests_in(data: dict[str, Any]) -> list[state.RankingRequest]:
    ds = state.dataset()
    by_dataset = data.get("requests_by_dataset")
    if isinstance(by_dataset, dict):
        items = by_dataset.get(ds.dataset_hash) if ds is not None else None
    else:
        items = data.get("requests")
    out = []
    for item in items if isinstance(items, list) else []:
        try:
            out.append(state.RankingRequest(**item))
        except TypeError:
            continue
    return out


def restore_settings() -> None:
    """Once per session: take the settings (and, on a refresh, the grading position) from the
    remembered session."""
    flags = state.params(state.SessionFlags)
    if flags.settings_restored:
        return
    flags.settings_restored = True
    remembered = load_session_file()
    saved = remembered.get("settings")
    if isinstance(saved, dict):
        known = {f.name for f in dataclasses.fields(state.AppSettings)}
        base = asdict(state.AppSettings.from_environment())
        base.update({k: v for k, v in saved.items() if k in known})
        try:
            state.set_params(state.AppSettings(**base))
        except TypeError:
            pass
    grade = remembered.get("grade")  # the position is this tab's own: a new tab starts at the top
    if (remembered.get("own") and isinstance(grade, dict) and isinstance(grade.get("query"), str)
            and isinstance(grade.get("position"), int)):
        g = state.params(state.GradeParams)
        g.query = g.position_for = grade["query"]
        g.position = max(0, grade["position"])
        g.card = ("", "")  # not None: reopen at this position even when its post is graded
        resume = grade.get("resume")
        if isinstance(resume, dict):
            g.resume = {k: v for k, v in resume.items() if isinstance(k, str) and isinstance(v, str)}
        from dashboard.grading import notices_from_json

        g.notices = notices_from_json(remembered.get("notices"))
        drafts = remembered.get("drafts")
        if isinstance(drafts, dict):
            g.drafts = {str(k): [str(v[0]), bool(v[1])] for k, v in drafts.items()
                        if isinstance(v, list) and len(v) == 2}


def fill_rerank_boxes(request: state.RankingRequest | None) -> bool:
    """Give the Rerank page's boxes the values of ``request`` (query, mode, its instruction when
    edited, top-k, budget) and the time filter its time range, while the analyst has changed none of
    the boxes in this session (query, mode, instruction, top-k) and the mode still exists; returns
    whether they were filled. The time range is set only when the time filter is still at all times.

    Only the session's :class:`dashboard.params.RerankParams` change, so this must run before the
    page draws its boxes (:func:`dashboard.state.bind` seeds them from it), or be followed by
    forgetting the drawn ones and a rerun. The Compare page's empty query takes the Rerank
    page's (``pages/compare.py``), so it comes back too, with that page's own modes.
    """
    from dashboard import rerank
    from dashboard.timefilter import TimeParams

    p, blank = state.params(state.RerankParams), state.RerankParams()
    touched = p.query.strip() or p.edits or (p.mode, p.instruction, p.top_k) != (blank.mode, blank.instruction,
                                                                                blank.top_k)
    if request is None or not request.query or touched or request.mode not in rerank.modes():
        return False  # a mode deleted since: its request cannot be made again
    p.query, p.mode, p.top_k, p.budget = request.query, request.mode, request.top_k, request.budget
    p.instruction = request.instruction
    if request.instruction:  # the page's editor of that mode shows it (p.edits)
        p.edits[request.mode] = request.instruction
    t = state.params(TimeParams)
    if request.window and t == TimeParams():  # the request's time range, unless one was chosen here
        t.preset = "Custom range"
        t.start, _, t.end = request.window.partition("/")
    return True


def restore_request() -> None:
    """Once per session, after the dataset is reopened: on a refresh of this tab, the Rerank page's
    boxes show this tab's last rerank request on that dataset (its session file's ``boxes``, one per
    dataset; :func:`fill_rerank_boxes`). Requests other tabs made (copied into every tab's file for
    "Recompute earlier rankings") never fill them.

    Like the grading position, the boxes are the tab's own: a new tab (it read ``last.json``)
    starts with them empty, being opened for other work more often than not. Its "Recompute
    earlier rankings" fills them with the ranking it then shows
    (:func:`dashboard.rerank.recompute_remembered`).
    """
    flags = state.params(state.SessionFlags)
    if flags.request_restored:
        return
    flags.request_restored = True
    data = load_session_file()
    boxes, ds = data.get("boxes") if data.get("own") else None, state.dataset()
    mine = boxes.get(ds.dataset_hash) if isinstance(boxes, dict) and ds is not None else None
    if isinstance(mine, dict):
        try:
            fill_rerank_boxes(state.RankingRequest(**mine))
        except TypeError:  # a file of another version
            pass
