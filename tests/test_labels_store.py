"""The label store keeps every committed grade: crashes, concurrency, history, schema."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core.errors import SieveError
from core.labels import store as store_module
from core.labels.store import LabelStore, LabelStoreError, query_id_for

REPO_ROOT = Path(__file__).resolve().parent.parent

# A grader that writes grades as fast as it can and prints each post ID after set_grade returned.
WRITER = """
import sys
from core.labels.store import LabelStore
store = LabelStore(sys.argv[1])
annotator, n = sys.argv[2], int(sys.argv[3])
for i in range(n):
    store.set_grade("ds", "台风 damage", f"{annotator}-{i}", 1 + i % 5, annotator=annotator, note=f"n{i}")
    print(f"{annotator}-{i}", flush=True)
"""


def _spawn(path: Path, annotator: str, n: int) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), annotator, str(n)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO_ROOT,
    )


def test_set_grade_round_trips_fields(tmp_path):
    store = LabelStore(tmp_path / "sub" / "labels.sqlite")
    key = store.set_grade("ds", "台风 山竹", "p1", 4, annotator="ana", note="=not a formula", unsure=True)
    assert key.query_id == query_id_for("台风 山竹")
    g = store.grades("ds")
    assert g.shape[0] == 1
    row = g.iloc[0]
    assert (row["query"], row["post_id"], row["annotator"], int(row["grade"])) == ("台风 山竹", "p1", "ana", 4)
    assert bool(row["unsure"]) and row["note"] == "=not a formula" and row["source"] == "ui"
    assert store.schema_version == store_module.SCHEMA_VERSION
    assert store._read("PRAGMA journal_mode")[0][0] == "wal"


def test_grade_set_twice_keeps_latest_and_history(tmp_path):
    store = LabelStore(tmp_path / "labels.sqlite")
    store.set_grade("ds", "q", "p1", 2, annotator="ana", note="first")
    store.set_grade("ds", "q", "p1", 5, annotator="ana", note="second")
    store.set_grade("ds", "q", "p1", 3, annotator="bo")
    current = store.grades("ds").set_index("annotator")
    assert int(current.loc["ana", "grade"]) == 5 and current.loc["ana", "note"] == "second"
    assert int(current.loc["bo", "grade"]) == 3  # another annotator is untouched
    hist = store.history("ds", query_id_for("q"), "p1", annotator="ana")
    assert hist["grade"].tolist() == [2, 5]
    assert hist["note"].tolist() == ["first", "second"]
    assert hist["seq"].is_monotonic_increasing


def test_skip_clear_and_validation(tmp_path):
    store = LabelStore(tmp_path / "labels.sqlite")
    store.set_grade("ds", "q", "p1", None, annotator="ana")
    assert store.grades("ds")["grade"].isna().all()
    assert store.grades("ds", include_skips=False).empty
    assert store.clear_grade("ds", query_id_for("q"), "p1", annotator="ana")
    assert store.grades("ds").empty
    assert store.history("ds")["action"].tolist() == ["set", "clear"]
    assert not store.clear_grade("ds", query_id_for("q"), "p1", annotator="ana")
    for bad in (0, 6, 2.5, "x"):
        with pytest.raises(SieveError, match="1 to 5"):
            store.set_grade("ds", "q", "p1", bad, annotator="ana")
    with pytest.raises(SieveError, match="annotator"):
        store.set_grade("ds", "q", "p1", 3, annotator=" ")
    assert store.grades("ds").empty  # failed writes leave nothing behind


def test_datasets_queries_and_resolution(tmp_path):
    store = LabelStore(tmp_path / "labels.sqlite")
    store.add_dataset("abc123", name="weibo.csv", n_posts=10)
    store.add_dataset("abd999", name="tweets.csv")
    qid = store.add_query("abc123", "typhoon")
    assert qid == query_id_for("typhoon") == store.add_query("abc123", "typhoon")
    store.set_grade("abc123", "typhoon", "p1", 3, annotator="ana")
    ds = store.datasets().set_index("dataset")
    assert ds.loc["abc123", "n_posts"] == 10 and ds.loc["abc123", "n_grades"] == 1
    assert store.resolve_dataset("abc") == "abc123"
    assert store.resolve_dataset("tweets.csv") == "abd999"
    with pytest.raises(SieveError, match="2 datasets"):
        store.resolve_dataset("ab")
    with pytest.raises(SieveError, match="No dataset"):
        store.resolve_dataset("zzz")
    # A query first known by ID (qrels import) learns its text later.
    store.set_grade("abd999", None, "p9", 2, annotator="trec", query_id="301")
    store.set_grade("abd999", "hurricane relief", "p9", 2, annotator="trec", query_id="301")
    assert store.queries("abd999")["query"].tolist() == ["hurricane relief"]


def test_default_path_is_user_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("SIEVE_LABEL_STORE", raising=False)
    monkeypatch.setenv("SIEVE_DATA_DIR", str(tmp_path / "data"))
    store = LabelStore()
    assert store.path == tmp_path / "data" / "labels.sqlite"
    assert store.path.exists()
    assert "site-packages" not in str(store.path) and REPO_ROOT not in store.path.parents


def test_newer_schema_is_refused_and_migrations_run(tmp_path, monkeypatch):
    path = tmp_path / "labels.sqlite"
    LabelStore(path).set_grade("ds", "q", "p1", 3, annotator="ana")
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version = {store_module.SCHEMA_VERSION + 1}")
    con.commit()
    con.close()
    with pytest.raises(LabelStoreError, match="newer"):
        LabelStore(path)
    # A future migration is applied once, in order, to an existing store, keeping its grades.
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version = {store_module.SCHEMA_VERSION}")
    con.commit()
    con.close()
    calls = []

    def migration_2(c):
        calls.append(1)
        c.execute("ALTER TABLE grades ADD COLUMN extra TEXT")

    monkeypatch.setattr(store_module, "MIGRATIONS", [*store_module.MIGRATIONS, migration_2])
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", len(store_module.MIGRATIONS))
    s2 = LabelStore(path)
    assert s2.schema_version == store_module.SCHEMA_VERSION and calls == [1]
    assert int(s2.grades("ds")["grade"].iloc[0]) == 3
    LabelStore(path)
    assert calls == [1]


def test_not_a_database_is_a_clear_error(tmp_path):
    path = tmp_path / "labels.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(LabelStoreError, match="Cannot open the label store"):
        LabelStore(path)


def test_sigkill_mid_stream_keeps_every_committed_grade(tmp_path):
    path = tmp_path / "labels.sqlite"
    LabelStore(path)  # create the schema first so the child only writes grades
    proc = _spawn(path, "ana", 100_000)
    printed = []
    deadline = time.monotonic() + 60
    while len(printed) < 40 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        printed.append(line.strip())
    os.kill(proc.pid, signal.SIGKILL)
    rest, _ = proc.communicate(timeout=30)
    printed += [x for x in rest.split("\n") if x.strip()]
    assert proc.returncode == -signal.SIGKILL  # it was killed mid-stream, not finished
    assert len(printed) >= 40
    stored = set(LabelStore(path).grades("ds")["post_id"])
    missing = [p for p in printed if p not in stored]
    assert not missing, f"{len(missing)} committed grades lost, e.g. {missing[:3]}"
    # History and current table agree after the crash (each write is one transaction).
    assert len(LabelStore(path).history("ds")) == len(stored)


def test_two_processes_grading_at_once_lose_nothing(tmp_path):
    path = tmp_path / "labels.sqlite"
    LabelStore(path)
    n = 150
    procs = [_spawn(path, name, n) for name in ("ana", "bo")]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        assert len(out.split()) == n
    grades = LabelStore(path).grades("ds")
    assert grades.groupby("annotator").size().to_dict() == {"ana": n, "bo": n}
    assert len(LabelStore(path).history("ds")) == 2 * n


def test_threads_sharing_one_store_and_a_second_handle(tmp_path):
    path = tmp_path / "labels.sqlite"
    shared, other = LabelStore(path), LabelStore(path)
    errors = []

    def work(store, name):
        try:
            for i in range(40):
                store.set_grade("ds", "q", f"p{i}", 1 + i % 5, annotator=name)
                store.grades("ds", annotator=name)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(shared if i % 2 else other, f"t{i}")) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(LabelStore(path).grades("ds")) == 4 * 40


def test_set_grades_batch_validates_everything_first(tmp_path):
    store = LabelStore(tmp_path / "labels.sqlite")
    rows = [{"dataset": "ds", "query": "q", "post_id": f"p{i}", "grade": 1 + i % 5, "annotator": "ana"}
            for i in range(25)]
    assert store.set_grades(rows, source="import:x", batch_size=10) == 25
    g = store.grades("ds")
    assert len(g) == 25 and set(g["source"]) == {"import:x"} and len(store.history("ds")) == 25
    bad = rows[:3] + [{"dataset": "ds", "query": "q", "post_id": "p99", "grade": 9, "annotator": "ana"}]
    with pytest.raises(SieveError, match="record 4"):
        store.set_grades(bad)
    assert len(store.history("ds")) == 25  # nothing of the bad batch was written
