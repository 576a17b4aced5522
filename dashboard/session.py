"""What pages do with the session: load a dataset, rerank, compare, evaluate.

Grading lives in :mod:`dashboard.grading`; TREC pooling in :mod:`core.labels.pool`.

Each function takes plain parameters (the page's dataclass), makes the one
core call it stands for through the cached loaders in
:mod:`dashboard.resources`, and stores the result in session state. No
ranking, metric or file-format logic lives here; that is ``core``'s.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core.errors import InputFileError
from core.labels.pool import GRADE_SCALE, evaluation_depth, grading_queue  # noqa: F401 (pages use them)
from dashboard import auth, remember, resources, state
from dashboard.state import DataParams, LoadedDataset, RankingRequest

logger = logging.getLogger(__name__)

#: Largest file read by path (MB): no browser upload is involved, so the upload limit does not apply.
PATH_MAX_MB = 4096



# --------------------------------------------------------------------------- data


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
    posts = result.posts
    ds_hash = report.get("dataset_hash") or dataset_hash(posts)
    if collapse_duplicates:
        posts = collapse(posts).reset_index(drop=True)
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
        data = upload.getvalue()
        path = keep_upload(data, upload.name)
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
            return read_columns(upload.getvalue(), filename=upload.name, max_mb=PATH_MAX_MB)
        path = auth.allowed_path(p.path) if p.source == "path" else sample_path(p.sample)
        return read_columns(path.read_bytes(), filename=path.name, max_mb=PATH_MAX_MB)
    except Exception:  # noqa: BLE001 - not a table at all: the load error says why
        logger.info("no columns to offer for the failed load", exc_info=True)
        return []


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
    """Make ``ds`` the session's dataset and remember it for a browser refresh."""
    state.set_dataset(ds)
    remember.save_session_file()


def reopen_last_dataset() -> None:
    """Once per session: reopen the remembered dataset, or else the first bundled sample.

    A remembered dataset whose file is gone or whose bytes changed is not
    reopened (its grades stay in the label store under its own hash).
    """
    if state.dataset() is not None or st.session_state.get("sieve.reopen_tried"):
        return
    st.session_state["sieve.reopen_tried"] = True
    desc = remember.load_session_file().get("dataset")
    if isinstance(desc, dict) and desc.get("path") and Path(desc["path"]).is_file():
        path = Path(desc["path"])
        data = path.read_bytes()
        if resources.sha256_bytes(data) == desc.get("content_sha256"):
            ds = load_dataset(name=desc.get("name") or path.name, source=desc.get("source", "path"),
                              path=str(path), data=data, filename=desc.get("filename") or _orig_name(path),
                              columns=desc.get("columns") or {},
                              collapse_duplicates=bool(desc.get("collapse_duplicates")),
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


# --------------------------------------------------------------------------- models


def model_badge() -> None:
    """Sidebar: the reranker really in use; a warning badge for the embedded fallback."""
    s = state.settings()
    info = resources.scorer_for(s).info
    if info.kind == "embedded" or not info.follows_instructions:
        st.badge("Embedded fallback, not Qwen3", icon=":material/warning:", color="orange")
        st.caption(
            f"Scores come from {info.model_id}, which cannot read instructions (modes apply their "
            "model-agnostic part). "
            + ("No Qwen3-Reranker weights were found offline. " if s.reranker == "auto" else "")
            + "Choose a Qwen3 model on the Settings page."
        )
    else:
        st.badge(info.model_id, icon=":material/memory:", color="green")
        st.caption(f"Reranker on {info.device}, {info.dtype}")


# --------------------------------------------------------------------------- rerank


def _progress_callback(bar):
    """A ``progress(done, total)`` that moves ``bar`` when called on the script thread."""
    script_thread = threading.current_thread()

    def progress(done: int, total: int) -> None:
        if bar is None or threading.current_thread() is not script_thread or get_script_run_ctx() is None:
            return
        frac = 0.0 if total <= 0 else min(1.0, done / total)
        bar.progress(frac, text=f"Scored {done:,} of {total:,} candidates")

    return progress


def modes() -> dict[str, Any]:
    """The instruction modes (defaults plus the analyst's modes file)."""
    from core.rerank.modes import load_modes

    return load_modes(state.settings().core_settings().modes_path)


def dense_build() -> Any:
    """The background embedding of every post (``resources.dense_index``) when the loaded
    dataset has more scorable posts than ``core.candidates.index.FULL_EMBED_MAX``, else None."""
    from core.candidates.index import FULL_EMBED_MAX

    ds = state.dataset()
    n_ok = int(ds.posts["scorable"].sum()) if "scorable" in ds.posts else len(ds.posts)
    if n_ok <= FULL_EMBED_MAX:
        return None
    s = state.settings()
    key = resources.posts_key(ds.dataset_hash, ds.posts["post_id"].tolist())
    return resources.dense_index(key, s.embedder, s.device, s.dtype, str(s.core_settings().cache_dir),
                                 ds.posts["text"].fillna("").astype(str).tolist())


def retrieval_embeddings() -> np.ndarray | None:
    """The post vectors a rerank uses now: for a large dataset what its background build has
    embedded so far (zero rows elsewhere; the pipeline adds BM25's pool), else :func:`post_embeddings`."""
    build = dense_build()
    return build.vectors() if build is not None else post_embeddings()


def post_embeddings(task: str | None = None, progress_bar=None) -> np.ndarray:
    """Embeddings of every post of the loaded dataset, float32 (n_posts, dim), rows
    L2-normalised (zero rows for empty texts); cached per dataset, embedder and task.
    For a large dataset this waits for its background build (:func:`dense_build`).

    Args:
        task: instruction for instruction-aware embedders: ``None`` for retrieval
            (posts are documents), ``core.embed.CLUSTER_TASK`` for the map.
        progress_bar: an ``st.progress`` element to move while waiting for the build.
    """
    ds = state.dataset()
    s = state.settings()
    build = dense_build()
    if build is not None and (not task or not getattr(resources.embedder_for(s), "uses_task", True)):
        def progress(done: int, total: int) -> None:
            if progress_bar is not None:
                progress_bar.progress(min(1.0, done / max(1, total)),
                                      text=f"Embedding the posts: {done:,} of {total:,} distinct texts")

        build.join(progress=progress)
        if build.error is not None:
            raise build.error
        if build.complete:
            return build.vectors()
        # cancelled (a newer dataset replaced it): embed here through the disk cache instead
    key = resources.posts_key(ds.dataset_hash, ds.posts["post_id"].tolist())
    texts = ds.posts["text"].fillna("").astype(str).tolist()
    return resources.embeddings(key, s.embedder, s.device, s.dtype, str(s.core_settings().cache_dir), texts,
                                task or "")


def save_mode(*, name: str, label: str, instruction: str, based_on: str | None = None,
              replace_builtin: bool = False) -> None:
    """Add (or replace) an analyst mode in the modes file (``Settings.modes_path``).

    Args:
        name: the mode's name; a built-in name (``relevance``, ``accuracy``,
            ``emotion``, ``novelty``, ``custom``) only with ``replace_builtin``.
        label: the title shown in the list.
        instruction: the instruction text.
        based_on: the mode whose other settings (diversify, MMR) are kept.
        replace_builtin: the analyst confirmed replacing a built-in mode
            (:func:`restore_mode` brings it back).

    Raises:
        core.errors.SieveError: for a built-in name without ``replace_builtin``,
            a bad name or an empty instruction (``core.rerank.modes.Mode``).
    """
    from dataclasses import replace

    from core.errors import SieveError
    from core.rerank.modes import Mode, is_builtin, save_modes

    auth.check("modes", "change the instruction modes every user shares")
    if is_builtin(name) and not replace_builtin:
        raise SieveError(
            f"“{name}” is the name of a built-in mode, so saving would replace it (also for the "
            "command line, and runs named after it would change meaning). Choose another name, or "
            "tick “Replace the built-in mode” to replace it on purpose (you can restore it later)."
        )
    current = modes()
    base = current.get(based_on or "")
    description = f"Saved from the Rerank page{f' (based on {base.label})' if base else ''}."
    mode = (replace(base, name=name, label=label, description=description, instruction=instruction)
            if base else Mode(name=name, label=label, description=description, instruction=instruction))
    current[name] = mode
    save_modes(current, state.settings().core_settings().modes_path)


def overridden_builtin(name: str) -> bool:
    """Whether the built-in mode ``name`` is replaced by the analyst's modes file."""
    from core.rerank.modes import DEFAULT_MODES

    default = next((m for m in DEFAULT_MODES if m.name == name), None)
    return default is not None and modes().get(name) != default


def restore_mode(name: str) -> None:
    """Give the built-in mode ``name`` its default instruction again (``core.rerank.modes.reset_mode``)."""
    from core.rerank.modes import reset_mode

    auth.check("modes", "change the instruction modes every user shares")
    reset_mode(name, state.settings().core_settings().modes_path)


def run_rerank(request: RankingRequest, *, progress_bar=None) -> Any:
    """Rerank the loaded posts for ``request`` and store the ranking in the session.

    Args:
        request: query, mode, instruction ("" = the mode's), top-k and budget.
        progress_bar: an ``st.progress`` element to move while scoring.

    Returns:
        The :class:`core.rerank.pipeline.Ranking`.

    Raises:
        core.errors.SieveError: for an empty query, a bad mode, a model that cannot load.
    """
    from core.rerank.pipeline import rerank
    from dashboard.timefilter import narrow, window_from_key

    ds = state.dataset()
    s = state.settings()
    window = window_from_key(request.window)
    posts, emb = narrow(ds.posts, retrieval_embeddings(), window)  # the time filter acts before the first stage
    ranking = rerank(
        posts, request.query, scorer=resources.scorer_for(s), mode=request.mode,
        instruction=request.instruction or None, top_k=request.top_k, budget=request.budget,
        embedder=resources.embedder_for(s), embeddings=emb, modes=modes(),
        progress=_progress_callback(progress_bar),
    )
    if not window.is_open:
        ranking.notes.append(f"Posts narrowed to the time range {window.describe()} before the first stage: "
                             f"{len(posts):,} of {len(ds.posts):,} posts.")
    state.put_ranking(request, ranking)
    remember.save_session_file()
    return ranking


def ensure_rankings(query: str, mode_names: list[str], *, top_k: int, budget: int,
                    progress_bar=None) -> dict[str, Any]:
    """The ranking of ``query`` under each mode (its own instruction), reusing the session's.

    Returns:
        ``{mode: Ranking}`` in the order of ``mode_names``.
    """
    from dashboard.timefilter import window_key

    out = {}
    for i, name in enumerate(mode_names):
        req = RankingRequest(query=query, mode=name, instruction="", top_k=top_k, budget=budget,
                             window=window_key())
        found = state.rankings().get(req)
        if found is None or not getattr(found, "complete", True):  # a cancelled rerank is finished here
            if progress_bar is not None:
                progress_bar.progress(i / max(1, len(mode_names)), text=f"Reranking: mode {name}")
            found = run_rerank(req, progress_bar=progress_bar)
        out[name] = found
    return out


def recompute_remembered(progress_bar=None) -> int:
    """Recompute the rankings remembered from before a browser refresh (scores
    come from the disk cache); returns how many were recomputed."""
    n = 0
    for req in remember.remembered_requests():
        if req not in state.rankings():
            run_rerank(req, progress_bar=progress_bar)
            n += 1
    return n


# --------------------------------------------------------------------------- evaluate and export


def run_name(request: RankingRequest) -> str:
    """Name of the run of a rerank request: the mode, plus a tag when its instruction was edited."""
    if not request.instruction:
        return request.mode
    import hashlib

    return f"{request.mode}-edited-{hashlib.sha1(request.instruction.encode('utf-8')).hexdigest()[:6]}"


def runs_by_name() -> dict[str, list[Any]]:
    """The session's rankings grouped into runs: ``{run name: [Ranking, one per query]}``.

    When a query was reranked more than once under the same run name (other
    top-k or budget), the newest ranking is used.
    """
    newest: dict[tuple[str, str], Any] = {}
    for req, ranking in state.rankings().items():
        newest[(run_name(req), req.query)] = ranking
    out: dict[str, list[Any]] = {}
    for (name, _query), ranking in newest.items():
        out.setdefault(name, []).append(ranking)
    return out


def evaluate(metrics: list[str], *, stat_test: str = "student") -> Any:
    """Evaluate every run of the session against all grades of the loaded dataset.

    Returns:
        A :class:`core.evaluate.metrics.EvaluationResult`.

    Raises:
        core.errors.SieveError: no run, no graded query with a relevant post, a bad metric.
    """
    from core.evaluate.metrics import evaluate_store

    ds = state.dataset()
    store = resources.label_store_for(state.settings())
    return evaluate_store(store, ds.dataset_hash, runs_by_name(), metrics=list(metrics), stat_test=stat_test)


def export_files(*, evaluation: Any = None) -> dict[str, bytes]:
    """Every export of the loaded dataset's grades and the session's runs, as file bytes.

    Returns:
        ``{file name: bytes}``: ``qrels.txt`` (TREC), ``run-<name>.txt`` per run
        (TREC), ``judgements.csv`` (UTF-8 with BOM, formula-safe),
        ``judgements.jsonl`` and ``sieve-bundle.zip`` (all of them with provenance).
    """
    import tempfile
    import zipfile

    from core.export.bundle import write_bundle

    ds = state.dataset()
    s = state.settings()
    store = resources.label_store_for(s)
    from dashboard.timefilter import current_window, display_tz, window_from_key

    windows = {run_name(r): window_from_key(r.window).to_dict() for r in state.rankings()}
    extra = {"dataset_name": ds.name, "ingest_report": ds.report,
             "time_filter": {"window": current_window().to_dict(), "runs": windows, "display_tz": display_tz()},
             "evaluation": evaluation.to_dict() if evaluation is not None else None}
    # The bundle holds every other format (runs under runs/<run name>.txt; run names are
    # mode names, already file-safe): write it once and hand out its members.
    with tempfile.TemporaryDirectory(prefix="sieve-export-") as tmp:
        bundle = write_bundle(Path(tmp) / "sieve-bundle.zip", store, ds.dataset_hash, runs=runs_by_name(),
                              posts=ds.posts, extra=_jsonable(extra))
        with zipfile.ZipFile(bundle) as zf:
            out = {"qrels.txt": zf.read("qrels.txt")}
            out.update({f"run-{m[len('runs/'):]}": zf.read(m) for m in sorted(zf.namelist())
                        if m.startswith("runs/")})
            out["judgements.csv"] = zf.read("judgements.csv")
            out["judgements.jsonl"] = zf.read("judgements.jsonl")
        out["sieve-bundle.zip"] = bundle.read_bytes()
    return out


def _jsonable(obj: Any) -> Any:
    """``obj`` with every value JSON-serialisable (others become strings)."""
    return json.loads(json.dumps(obj, default=str))
