"""A zip bundle of every export format plus provenance, for sharing or archiving.

Layout of the zip:

=========================== ===================================================
``judgements.csv``          every annotator's current grade (UTF-8 BOM, formula-safe)
``judgements.jsonl``        the same as JSON Lines
``qrels.txt``               TREC qrels of the aggregate grades, gain = grade - 1
``history.jsonl``           every grade ever written (the store's history)
``runs/<name>.txt``         one TREC run per mode, when runs are given
``provenance.json``         what produced all of it (see :func:`provenance`)
=========================== ===================================================
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from core.errors import InputFileError
from core.tables import write_jsonl

logger = logging.getLogger(__name__)

PROVENANCE = "provenance.json"


def _safe_name(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", str(name), flags=re.UNICODE).strip("_") or "run"


def _run_and_info(name: str, value) -> tuple[dict, dict]:
    """``(run dict, provenance dict)`` from a run dict, a Ranking or a list of Rankings."""
    from core.evaluate.trec import ranking_to_run

    if isinstance(value, Mapping):
        return {str(q): dict(d) for q, d in value.items()}, {}
    rankings = [value] if hasattr(value, "to_run") else list(value)
    info: dict = {}
    if rankings:
        first = rankings[0]
        scorer = getattr(first, "info", None)
        if scorer is not None:
            for attr in ("model_id", "revision", "kind", "device", "dtype", "follows_instructions",
                         "template_sha256"):
                info[attr] = getattr(scorer, attr, None)
        info["mode"] = getattr(first, "mode", name)
        info["instructions"] = sorted({str(r.instruction) for r in rankings
                                       if getattr(r, "instruction", None) is not None})
        info["queries"] = [str(r.query) for r in rankings]
        created = [getattr(r, "created_at", None) for r in rankings]
        info["created_at"] = [str(c) for c in created if c is not None]
        partial = [f"{r.query}: {r.n_scored} of {r.n_candidates} candidates scored (cancelled)"
                   for r in rankings if not getattr(r, "complete", True)]
        if partial:
            info["partial"] = partial
    return ranking_to_run(rankings), info


def provenance(store, dataset: str, *, runs_info: Mapping[str, dict] | None = None, extra: dict | None = None) -> dict:
    """The provenance record of an export.

    Returns:
        A JSON-ready dict: ``app``, ``app_version`` (``core.__version__``),
        ``created_at`` (UTC ISO-8601), ``dataset`` {``hash``, ``name``,
        ``n_posts``}, ``annotators``, ``queries`` [{``query_id``, ``query``}],
        ``n_grades``, ``gain_mapping``, ``aggregation_rule``, ``agreement``
        (Krippendorff's alpha, ordinal), and ``runs`` {name: model id and
        revision, dtype, device, instruction texts, prompt-template SHA-256,
        mode, queries} plus anything in ``extra``.
    """
    from core import __version__
    from core.evaluate.trec import DEFAULT_REL_LEVEL_GRADES, GAIN_MAPPING_GRADES
    from core.labels.aggregate import AGGREGATION_RULE

    ds = store.datasets()
    row = ds[ds["dataset"] == dataset]
    name = row["name"].iloc[0] if len(row) else None
    n_posts = row["n_posts"].iloc[0] if len(row) else None
    queries = store.queries(dataset)
    grades = store.grades(dataset)
    record = {
        "app": "sieve",
        "app_version": __version__,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "dataset": {
            "hash": dataset,
            "name": None if name is None or pd.isna(name) else str(name),
            "n_posts": None if n_posts is None or pd.isna(n_posts) else int(n_posts),
        },
        "annotators": store.annotators(dataset),
        "queries": [{"query_id": q, "query": t} for q, t in zip(queries["query_id"], queries["query"])],
        "n_grades": int(grades["grade"].notna().sum()),
        "n_skips": int(grades["grade"].isna().sum()),
        "gain_mapping": GAIN_MAPPING_GRADES,
        "relevance_threshold": f"grade >= {DEFAULT_REL_LEVEL_GRADES + 1} (gain >= {DEFAULT_REL_LEVEL_GRADES})",
        "aggregation_rule": AGGREGATION_RULE,
        "grades_held": "judgements: every annotator's raw latest grade; qrels: the aggregate of the raw grades "
                       "(aggregation_rule); reviewers' adjudicated grades are not in this bundle (the Review "
                       "page exports qrels from them, with their own provenance)",
        "agreement": store.krippendorff_alpha(dataset).to_dict(),
        "runs": dict(runs_info or {}),
    }
    record.update(extra or {})
    return record


def write_bundle(
    path: str | os.PathLike,
    store,
    dataset: str,
    *,
    runs: Mapping[str, object] | None = None,
    runs_info: Mapping[str, dict] | None = None,
    posts: pd.DataFrame | None = None,
    extra: dict | None = None,
) -> Path:
    """Write a zip with judgements (CSV, JSONL), qrels, history, runs and provenance.

    Args:
        path: the zip to write (its folder is created; replaced atomically).
        store: a :class:`core.labels.store.LabelStore`.
        dataset: dataset hash.
        runs: ``{mode name: run}``, where a run is ``{q_id: {post_id: score}}``,
            a ``core.rerank.pipeline.Ranking``, or a list of Rankings (one per
            query); Rankings also give the model, dtype, instruction and
            template hash for the provenance.
        runs_info: extra provenance per run name (merged over what Rankings give),
            e.g. ``{"precise": {"model_id": ..., "instructions": [...]}}`` for plain dict runs.
        posts: the post table, to add the post text to the judgements.
        extra: more keys for ``provenance.json``.

    Returns:
        The path written.
    """
    from core.evaluate.trec import grades_to_qrels, write_qrels, write_run
    from core.export.judgements import judgements_frame, write_judgements_csv, write_judgements_jsonl

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    infos: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        files: dict[str, Path] = {}
        judgements = judgements_frame(store, dataset, posts=posts)
        files["judgements.csv"] = write_judgements_csv(judgements, tmpdir / "judgements.csv")
        files["judgements.jsonl"] = write_judgements_jsonl(judgements, tmpdir / "judgements.jsonl")
        files["qrels.txt"] = write_qrels(grades_to_qrels(store.grades(dataset)), tmpdir / "qrels.txt")
        history = store.history(dataset)
        files["history.jsonl"] = write_jsonl(history.to_dict(orient="records"), tmpdir / "history.jsonl")
        used: set[str] = set()
        for name, value in (runs or {}).items():
            run, info = _run_and_info(name, value)
            fname = _safe_name(name)
            while fname in used:
                fname += "_"
            used.add(fname)
            member = f"runs/{fname}.txt"
            files[member] = write_run(run, tmpdir / member, name=fname)
            infos[name] = {"file": member, "run_tag": fname, **info, **dict((runs_info or {}).get(name, {}))}
        for name, info in (runs_info or {}).items():
            infos.setdefault(name, dict(info))
        record = provenance(store, dataset, runs_info=infos, extra=extra)
        record["files"] = {
            member: hashlib.sha256(file.read_bytes()).hexdigest() for member, file in sorted(files.items())
        }
        partial = path.with_name(path.name + ".partial")
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for member, file in files.items():
                zf.write(file, member)
            zf.writestr(PROVENANCE, json.dumps(record, ensure_ascii=False, indent=2, default=str))
        os.replace(partial, path)
    return path


@dataclass
class Bundle:
    """What :func:`read_bundle` found in a zip.

    Attributes:
        judgements: the ``judgements.jsonl`` table (as :func:`core.export.judgements.read_judgements`).
        qrels: ``{q_id: {post_id: gain}}`` from ``qrels.txt``.
        runs: ``{run tag: {q_id: {post_id: score}}}`` from ``runs/*.txt``.
        provenance: the ``provenance.json`` dict.
    """

    judgements: pd.DataFrame
    qrels: dict
    runs: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)


def read_bundle(path: str | os.PathLike) -> Bundle:
    """Read a bundle written by :func:`write_bundle`.

    Raises:
        InputFileError: when the file is not a zip or lacks a member.
    """
    from core.evaluate.trec import read_qrels, read_runs
    from core.export.judgements import read_judgements

    path = Path(path)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, FileNotFoundError) as exc:
        raise InputFileError(f"The bundle {path} is not a readable zip file ({exc}).") from None
    with zf, tempfile.TemporaryDirectory() as tmp:
        names = set(zf.namelist())
        for needed in ("judgements.jsonl", "qrels.txt", PROVENANCE):
            if needed not in names:
                raise InputFileError(f"The bundle {path} lacks {needed}; it was not written by Sieve's export.")
        for member in names:
            if member.endswith("/") or ".." in Path(member).parts or Path(member).is_absolute():
                continue
            zf.extract(member, tmp)
        tmpdir = Path(tmp)
        runs = {}
        for file in sorted((tmpdir / "runs").glob("*.txt")) if (tmpdir / "runs").is_dir() else []:
            runs.update(read_runs(file))
        qrels_text = (tmpdir / "qrels.txt").read_text(encoding="utf-8")
        return Bundle(
            judgements=read_judgements(tmpdir / "judgements.jsonl"),
            qrels=read_qrels(tmpdir / "qrels.txt") if qrels_text.strip() else {},
            runs=runs,
            provenance=json.loads(zf.read(PROVENANCE).decode("utf-8")),
        )


def bundle_bytes(store, dataset: str, **kwargs) -> bytes:
    """The bundle as bytes (for a download button); same arguments as :func:`write_bundle`."""
    with tempfile.TemporaryDirectory() as tmp:
        out = write_bundle(Path(tmp) / "bundle.zip", store, dataset, **kwargs)
        return out.read_bytes()


__all__ = ["Bundle", "PROVENANCE", "bundle_bytes", "provenance", "read_bundle", "write_bundle"]
