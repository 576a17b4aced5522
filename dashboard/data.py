"""The Data job: uploads, bundled samples, loading a dataset, reopening it after a refresh.

Each function takes plain parameters (the Data page's :class:`dashboard.state.DataParams`),
makes the core call it stands for (``core.ingest``) through the cached loaders in
:mod:`dashboard.resources`, and keeps the result in :mod:`dashboard.state`.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import streamlit as st

from core.errors import InputFileError
from core.schema import ROLES  # noqa: F401 (the Data page's column roles)
from dashboard import auth, remember, resources, state
from dashboard.state import DataParams, LoadedDataset, SessionFlags

logger = logging.getLogger(__name__)

#: Largest file read by path (MB): no browser upload is involved, so the upload limit does not apply.
PATH_MAX_MB = 4096


def _safe_name(filename: str) -> str:
    stem = re.sub(r"[^\w.\-]+", "_", Path(filename).name, flags=re.UNICODE).strip("._")
    return stem[:80] or "upload"


def keep_upload(data: bytes, filename: str) -> Path:
    """Save an uploaded file in the data folder (``uploads/<sha16>-<name>``) so a
    browser refresh can reopen it; returns the path. Identical bytes are saved once."""
    folder = Path(state.settings().data_dir) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{resources.sha256_bytes(data)[:16]}-{_safe_name(filename)}"
    if not path.is_file():
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)
    return path


def upload_bytes(upload, p: DataParams) -> tuple[bytes, Path]:
    """The bytes of the uploaded file ``upload`` (an ``st.file_uploader`` value) and the path
    where it is kept in the data folder (:func:`keep_upload`).

    The first call keeps the file and then drops the bytes Streamlit holds for it
    (:func:`drop_upload_bytes`); later calls (another column mapping, Reload, a failed
    load's columns) read the kept file. ``p.kept_upload`` remembers which file that is.

    Raises:
        core.errors.InputFileError: the kept file is gone from the data folder.
    """
    kept = p.kept_upload
    if kept is not None and kept[0] == upload.file_id:
        path = Path(kept[1])
        if not path.is_file():
            raise InputFileError(f"The uploaded file {upload.name} is no longer in the data folder ({path}). "
                                 "Upload it again.")
        return path.read_bytes(), path
    data = upload.getvalue()
    path = keep_upload(data, upload.name)
    p.kept_upload = (upload.file_id, str(path))
    drop_upload_bytes(upload.file_id)
    return data, path


def drop_upload_bytes(file_id: str) -> None:
    """Replace Streamlit's record of an uploaded file by one without its bytes (same id, name, type).

    Streamlit 1.67 keeps every uploaded file's bytes in memory for the whole browser session
    (until the analyst clicks the file's x), also after another upload replaced it in the
    uploader: found by tracing a server after a 164 MB export was replaced by a small file
    (``bench/dashboard_memory.py``, 2026-12-03), and with each further upload it would be
    one more export. The uploader still shows the file; :func:`upload_bytes` reads the
    copy kept in the data folder. A no-op outside a Streamlit script run."""
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        ctx = get_script_run_ctx()
        manager = getattr(ctx, "uploaded_file_mgr", None)
        if manager is None:
            return
        for rec in manager.get_files(ctx.session_id, [file_id]):
            manager.add_file(ctx.session_id, rec._replace(data=b""))
    except Exception:  # Streamlit's internals moved: the bytes stay until the session ends, as before
        logger.warning("could not drop the bytes Streamlit holds for an upload", exc_info=True)


def load_dataset(*, name: str, source: str, path: str, data: bytes, filename: str,
                 columns: dict[str, str] | None = None, collapse_duplicates: bool = False,
                 time_reference: str = "") -> LoadedDataset:
    """Read ``data`` into a post table (cached by content hash) and describe it.

    Args:
        name: what the UI calls the dataset.
        source: ``"sample"``, ``"upload"`` or ``"path"``.
        path: the file the bytes came from.
        data: the file's bytes.
        filename: the original file name (its extension picks the reader).
        columns: analyst column mapping ``{role: source column}``.
        collapse_duplicates: keep one representative per duplicate group.
        time_reference: the analyst's reference time for relative times (ISO 8601; "" = the
            export's crawl time, else the file's modification time: for an upload, when it was kept).

    Returns:
        A :class:`dashboard.state.LoadedDataset`.

    Raises:
        core.errors.InputFileError, core.errors.ColumnError: unreadable file or bad mapping.
    """
    from core.ingest import collapse_duplicates as collapse
    from core.ingest import dataset_hash

    cols = {k: v for k, v in (columns or {}).items() if v is None or str(v).strip()}
    sha = resources.sha256_bytes(data)
    max_mb = int(st.get_option("server.maxUploadSize") or 200) if source == "upload" else PATH_MAX_MB
    from core.ingest.times import file_time_of

    mtime = file_time_of(Path(path)) if path else None
    result = resources.ingest(sha, data, filename, json.dumps(cols, sort_keys=True), max_mb,
                              time_reference or "", mtime.isoformat() if mtime else "")
    report = result.report.to_dict() if hasattr(result.report, "to_dict") else dict(result.report)
    posts = result.posts  # shared by every session that loads this file (resources.ingest): never changed here
    ds_hash = report.get("dataset_hash") or dataset_hash(posts)
    posts = collapse(posts).reset_index(drop=True) if collapse_duplicates else posts.copy(deep=False)
    return LoadedDataset(name=name, source=source, path=str(path), content_sha256=sha, columns=cols,
                         collapse_duplicates=collapse_duplicates, posts=posts, report=report,
                         dataset_hash=str(ds_hash), time_reference=time_reference or "")


def sample_path(sample: str) -> Path:
    """Path of a bundled sample file."""
    return state.SAMPLE_DIR / sample


def available_samples() -> dict[str, str]:
    """Bundled samples present on disk: file name -> label."""
    return {f: label for f, label in state.SAMPLES.items() if sample_path(f).is_file()}


def load_from_params(p: DataParams, upload=None) -> LoadedDataset | None:
    """Load the dataset the Data page's parameters point at.

    Args:
        p: the Data page parameters.
        upload: the ``st.file_uploader`` value (source ``"upload"``).

    Returns:
        The dataset, or ``None`` when the source is an upload and no file is chosen yet.

    Raises:
        core.errors.InputFileError: for a missing sample or path.
    """
    if p.source == "upload":
        if upload is None:
            return None
        data, path = upload_bytes(upload, p)
        return load_dataset(name=upload.name, source="upload", path=str(path), data=data,
                            filename=upload.name, columns=p.columns,
                            collapse_duplicates=p.collapse_duplicates, time_reference=p.time_reference)
    if p.source == "path":
        if not p.path.strip():
            return None
        auth.check("server_files", "read files by their path on the server")
        path = auth.allowed_path(p.path)  # inside SIEVE_DATA_ROOTS, for every role
        if not path.is_file():
            raise InputFileError(f"The file {path} does not exist or is not a file. Check the path "
                                 "(it is read on the machine running Sieve).")
        name = path.name
    else:
        path = sample_path(p.sample)
        if not path.is_file():
            raise InputFileError(f"The bundled sample {p.sample} is missing from {state.SAMPLE_DIR}. "
                                 "Upload a file instead.")
        name = state.SAMPLES.get(p.sample, p.sample)
    return load_dataset(name=name, source=p.source, path=str(path), data=path.read_bytes(),
                        filename=path.name, columns=p.columns, collapse_duplicates=p.collapse_duplicates,
                        time_reference=p.time_reference)


def columns_of_failed_load(exc: BaseException, p: DataParams, upload=None) -> list[str]:
    """The source columns of the file whose load raised ``exc``, to offer in the column mapping.

    Uses the columns the error carries (``core.ingest.columns.ColumnChoiceError.columns``),
    else reads the file's header again (``core.ingest.read_columns``).

    Returns:
        The header's names in file order; ``[]`` when the file cannot be read as a table.
    """
    found = list(getattr(exc, "columns", None) or [])
    if found:
        return [str(c) for c in found]
    try:
        from core.ingest import read_columns

        if p.source == "upload":
            if upload is None:
                return []
            return read_columns(upload_bytes(upload, p)[0], filename=upload.name, max_mb=PATH_MAX_MB)
        path = auth.allowed_path(p.path) if p.source == "path" else sample_path(p.sample)
        return read_columns(path.read_bytes(), filename=path.name, max_mb=PATH_MAX_MB)
    except Exception:  # not a table at all: the load error says why
        logger.info("no columns to offer for the failed load", exc_info=True)
        return []


def collapse_switched() -> None:
    """Callback of the Data page's "Collapse duplicates" switch: the stored parameter follows it (the
    next run loads the dataset again, collapsed or not). Here, not in the page: a function defined in a
    page script keeps that page's namespace (the loaded dataset) alive while Streamlit keeps the widget."""
    state.params(DataParams).collapse_duplicates = bool(state.widget("data.collapse"))


def reload_with_reference(ds: LoadedDataset, time_reference: str) -> LoadedDataset:
    """``ds`` read again from its file (uploads are kept on disk) with another reference time for
    relative times (ISO 8601; "" = the file's own); made the session's dataset."""
    path = Path(ds.path)
    new = load_dataset(name=ds.name, source=ds.source, path=str(path), data=path.read_bytes(),
                       filename=_orig_name(path), columns=ds.columns, collapse_duplicates=ds.collapse_duplicates,
                       time_reference=time_reference)
    state.params(DataParams).time_reference = time_reference
    use_dataset(new)
    return new


def use_dataset(ds: LoadedDataset) -> None:
    """Make ``ds`` the session's dataset and remember it for a browser refresh; a replaced
    dataset's memory is released (:func:`dashboard.resources.release_dataset`)."""
    old = state.dataset()
    old_key = new_key = None
    if old is not None and old.posts is not ds.posts:
        old_key = resources.posts_key(old.dataset_hash, old.posts["post_id"].tolist())
        new_key = resources.posts_key(ds.dataset_hash, ds.posts["post_id"].tolist())
    del old  # the replaced table must not outlive the release below
    state.set_dataset(ds)
    state.params(SessionFlags).reopen_missed = ""  # the analyst chose a dataset: the notice has done its job
    remember.save_session_file()
    if old_key is not None and old_key != new_key:
        dropped = resources.release_dataset(old_key)
        logger.info("dataset %s replaced: memory released (%d background builds dropped)", old_key, dropped)


def reopen_last_dataset() -> None:
    """Once per session: reopen the remembered dataset, or else the first bundled sample.

    A remembered dataset whose file is gone or whose bytes changed is not
    reopened (its grades stay in the label store under its own hash).
    """
    flags = state.params(SessionFlags)
    if state.dataset() is not None or flags.reopen_tried:
        return
    flags.reopen_tried = True
    desc = remember.load_session_file().get("dataset")
    path = Path(desc["path"]) if isinstance(desc, dict) and desc.get("path") else None
    if path is not None and not path.is_file():
        flags.reopen_missed = (f"The dataset this tab had open, {desc.get('name') or path.name}, could not be "
                               f"reopened: its file {path} is gone. Load it again on the Data page.")
    elif path is not None:
        data = path.read_bytes()
        if resources.sha256_bytes(data) == desc.get("content_sha256"):
            ds = load_dataset(name=desc.get("name") or path.name, source=desc.get("source", "path"),
                              path=str(path), data=data, filename=desc.get("filename") or _orig_name(path),
                              columns=desc.get("columns") or {},
                              collapse_duplicates=bool(desc.get("collapse_duplicates", True)),
                              time_reference=str(desc.get("time_reference") or ""))
            p = state.params(DataParams)
            p.time_reference = ds.time_reference
            p.source = ds.source
            p.columns = dict(ds.columns)
            p.collapse_duplicates = ds.collapse_duplicates
            if ds.source == "sample":
                p.sample = path.name
            elif ds.source == "path":
                p.path = str(path)
            state.set_dataset(ds)
            return
        logger.info("remembered dataset %s changed on disk; not reopened", path)
        flags.reopen_missed = (f"The dataset this tab had open, {desc.get('name') or path.name}, was not reopened: "
                               f"its file {path} changed since. Load it again on the Data page.")
    samples = available_samples()
    if samples:
        p = state.params(DataParams)
        if p.sample not in samples:
            p.sample = next(iter(samples))
        state.set_dataset(load_from_params(p))


def _orig_name(path: Path) -> str:
    # uploads are kept as "<sha16>-<name>"
    m = re.match(r"^[0-9a-f]{16}-(.+)$", path.name)
    return m.group(1) if m else path.name
