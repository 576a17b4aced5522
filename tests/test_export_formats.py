"""Every export format round-trips; the CSV is BOM-encoded and formula-free; CLIs."""

from __future__ import annotations

import csv
import json
import zipfile

import pandas as pd
import pytest

from core import __version__
from core.cli import main
from core.errors import InputFileError, SieveError
from core.export import (
    import_judgements,
    import_qrels,
    judgements_frame,
    neutralise,
    read_bundle,
    read_judgements,
    read_qrels,
    read_run,
    read_runs,
    unneutralise,
    write_bundle,
    write_judgements_csv,
    write_judgements_jsonl,
    write_qrels,
    write_run,
)
from core.labels import LabelStore, query_id_for

# Cells a spreadsheet would run as formulas, Chinese text, quotes, commas and newlines.
NASTY_NOTES = [
    "=HYPERLINK(\"http://evil\",\"点我\")",
    "+86 138 0000 0000",
    "-1",
    "@SUM(A1:A2)",
    "\tTAB",
    "\rCR",
    "'already quoted",
    "'=both",
    "台风“山竹”过境，深圳\n多处积水",
    "plain, with comma",
    None,
]
KEY = ["query_id", "post_id", "annotator"]
FIELDS = ["query_id", "query", "post_id", "annotator", "grade", "unsure", "note", "graded_at"]


@pytest.fixture
def store(tmp_path):
    s = LabelStore(tmp_path / "labels.sqlite")
    s.add_dataset("ds1", name="weibo.csv", n_posts=20)
    for i, note in enumerate(NASTY_NOTES):
        s.set_grade("ds1", "深圳 台风 积水", f"p{i}", 1 + i % 5, annotator="张三", note=note, unsure=i % 3 == 0)
    s.set_grade("ds1", "深圳 台风 积水", "p10", 2, annotator="张三", note="changed")  # history
    s.set_grade("ds1", "=cmd|' /C calc'!A0", "-p9", 4, annotator="bo")  # formula query text, post ID
    s.set_grade("ds1", "=cmd|' /C calc'!A0", "p10", None, annotator="bo")  # a skip
    s.set_grade("ds1", "深圳 台风 积水", "p1", 5, annotator="bo")
    return s


def _canon(df: pd.DataFrame) -> pd.DataFrame:
    out = df[FIELDS].copy()
    out["grade"] = out["grade"].astype("Int64")
    out["unsure"] = out["unsure"].astype(bool)
    out["note"] = out["note"].astype(object).where(out["note"].notna(), None)
    return out.sort_values(KEY).reset_index(drop=True)


def test_neutralise_is_reversible_only_where_added():
    for cell in ["=1+1", "+1", "-1", "@x", "\tx", "\rx", "'x", "''x", "'=x", "x", "", "台风"]:
        assert unneutralise(neutralise(cell)) == cell
        assert not neutralise(cell).startswith(("=", "+", "-", "@", "\t", "\r"))
    assert unneutralise("'tis") == "'tis"  # an apostrophe a person typed stays
    assert unneutralise("'") == "'"


def test_csv_has_bom_chinese_and_no_formula(store, tmp_path):
    path = write_judgements_csv(judgements_frame(store, "ds1"), tmp_path / "j.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    # A spreadsheet's default for a BOM file: utf-8-sig.
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    assert header[0] == "dataset"  # no BOM glued to the first header
    cells = [c for row in rows for c in row]
    assert "深圳 台风 积水" in cells and "张三" in cells
    assert any("台风“山竹”过境，深圳\n多处积水" == c for c in cells)
    formulas = [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert formulas == []
    assert "'=HYPERLINK(\"http://evil\",\"点我\")" in cells and "'-p9" in cells
    assert len(body) == len(store.grades("ds1"))


def test_csv_round_trip(store, tmp_path):
    frame = judgements_frame(store, "ds1")
    back = read_judgements(write_judgements_csv(frame, tmp_path / "j.csv"))
    pd.testing.assert_frame_equal(_canon(back), _canon(frame))
    fresh = LabelStore(tmp_path / "fresh.sqlite")
    report = import_judgements(fresh, back, source="import:j.csv")
    assert report.n_written == len(frame) and report.datasets == ["ds1"]
    pd.testing.assert_frame_equal(_canon(fresh.grades("ds1")), _canon(store.grades("ds1")))
    # Importing the same file again changes nothing and adds no history.
    again = import_judgements(fresh, back)
    assert again.n_written == 0 and again.n_unchanged == len(frame)
    assert len(fresh.history("ds1")) == len(frame)


def test_jsonl_round_trip(store, tmp_path):
    frame = judgements_frame(store, "ds1")
    path = write_judgements_jsonl(frame, tmp_path / "j.jsonl")
    first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert isinstance(first["grade"], int) and isinstance(first["unsure"], bool)
    assert "深圳" in path.read_text(encoding="utf-8")  # not \\u-escaped
    back = read_judgements(path)
    pd.testing.assert_frame_equal(_canon(back), _canon(frame))
    fresh = LabelStore(tmp_path / "fresh.sqlite")
    import_judgements(fresh, back)
    pd.testing.assert_frame_equal(_canon(fresh.grades("ds1")), _canon(store.grades("ds1")))


def test_qrels_round_trip_through_store(tmp_path):
    store = LabelStore(tmp_path / "a.sqlite")
    grades = {"p1": 5, "p2": 1, "p3": 3, "-p4": 4}
    for post, grade in grades.items():
        store.set_grade("ds", "typhoon", post, grade, annotator="ana")
    from core.evaluate import grades_to_qrels

    path = write_qrels(grades_to_qrels(store.grades("ds")), tmp_path / "qrels.txt")
    qid = query_id_for("typhoon")
    assert f"{qid} 0 p1 4\n" in path.read_text()  # gain = grade - 1
    qrels = read_qrels(path)
    assert qrels == {qid: {p: g - 1 for p, g in grades.items()}}
    fresh = LabelStore(tmp_path / "b.sqlite")
    fresh.add_query("ds", "typhoon")
    import_qrels(fresh, qrels, dataset="ds", annotator="ana")
    got = fresh.grades("ds")
    assert dict(zip(got["post_id"], got["grade"].astype(int))) == grades
    assert set(got["query"]) == {"typhoon"}  # the known query keeps its text


def test_qrels_with_gains_outside_grades_refused(tmp_path):
    store = LabelStore(tmp_path / "a.sqlite")
    with pytest.raises(SieveError, match="outside 0-4"):
        import_qrels(store, {"301": {"d": 7}}, dataset="ds", annotator="trec")


def test_trec_run_round_trip_and_ranks(tmp_path):
    run = {"q1": {"a": 0.25, "b": 0.9, "c": 1 / 3, "nan": float("nan")}, "q2": {"x": -1.5e-7}}
    path = write_run(run, tmp_path / "r.txt", name="precise")
    lines = path.read_text().splitlines()
    assert lines[0].split() == ["q1", "Q0", "b", "1", "0.9", "precise"]
    assert [ln.split()[3] for ln in lines[:3]] == ["1", "2", "3"]
    back = read_run(path)
    assert back == {"q1": {"a": 0.25, "b": 0.9, "c": 1 / 3}, "q2": {"x": -1.5e-7}}  # exact floats
    assert read_runs(path).keys() == {"precise"}
    with pytest.raises(SieveError, match="whitespace"):
        write_run({"q": {"a b": 1.0}}, tmp_path / "bad.txt")
    spaced = write_run({"q": {"a": 1.0}}, tmp_path / "spaced.txt", name="my mode")
    assert read_runs(spaced).keys() == {"my_mode"}


def test_read_errors_name_file_and_line(tmp_path):
    bad = tmp_path / "q.txt"
    bad.write_text("q1 0 a 1\nq1 0 b high\n")
    with pytest.raises(InputFileError, match=r"q.txt, line 2.*gain"):
        read_qrels(bad)
    csv_bad = tmp_path / "j.csv"
    csv_bad.write_text("query_id,post_id,grade\nq,p,7\n", encoding="utf-8-sig")
    with pytest.raises(InputFileError, match="row 1, column grade"):
        read_judgements(csv_bad)


def test_a_grade_and_a_gain_that_disagree_are_refused_with_the_row(tmp_path):
    """Sieve writes both columns; an analyst who edits one of them in a spreadsheet must not have
    the other win silently."""
    path = tmp_path / "j.csv"
    path.write_text("query_id,post_id,grade,gain\nq,p1,4,3\nq,p2,5,1\n", encoding="utf-8-sig")
    with pytest.raises(InputFileError, match=r"row 2: the columns grade and gain disagree \(grade 5 means gain 4"):
        read_judgements(path)
    path.write_text("query_id,post_id,grade,gain\nq,p1,4,3\nq,p2,,\nq,p3,2,\n", encoding="utf-8-sig")
    df = read_judgements(path)
    assert df["grade"].tolist()[0] == 4 and df["grade"].isna().tolist() == [False, True, False]
    assert df["gain"].tolist()[0] == 3 and df["gain"].tolist()[2] == 1


def test_csv_resaved_without_bom_by_a_spreadsheet(tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes("dataset,query,post_id,annotator,grade\nds,台风,p1,王五,4\n".encode("gb18030"))
    df = read_judgements(path)
    assert df["query"].iloc[0] == "台风" and df["annotator"].iloc[0] == "王五"


def test_bundle_round_trip_and_provenance(store, tmp_path):
    class Info:
        model_id, revision, kind, device, dtype = "Qwen/Qwen3-Reranker-0.6B", "abc123", "qwen3", "cpu", "float32"
        follows_instructions, template_sha256 = True, "f" * 64

    class Ranking:
        query, mode, instruction, info, created_at = "深圳 台风 积水", "precise", "Judge factual relevance", Info(), None

        def to_run(self):
            return {"p1": 0.9, "p0": 0.2}

    path = write_bundle(tmp_path / "out" / "b.zip", store, "ds1",
                        runs={"precise": Ranking(), "plain dict": {"q1": {"p1": 1.0}}})
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
    assert {"judgements.csv", "judgements.jsonl", "qrels.txt", "history.jsonl", "provenance.json",
            "runs/precise.txt", "runs/plain_dict.txt"} <= names
    b = read_bundle(path)
    prov = b.provenance
    assert prov["app_version"] == __version__ and prov["dataset"]["hash"] == "ds1"
    assert prov["dataset"]["name"] == "weibo.csv" and prov["annotators"] == ["bo", "张三"]
    run_prov = prov["runs"]["precise"]
    assert run_prov["model_id"] == "Qwen/Qwen3-Reranker-0.6B" and run_prov["revision"] == "abc123"
    assert run_prov["dtype"] == "float32" and run_prov["template_sha256"] == "f" * 64
    assert run_prov["instructions"] == ["Judge factual relevance"]
    assert prov["gain_mapping"].startswith("gain = grade - 1") and "created_at" in prov
    assert set(prov["files"]) >= {"judgements.csv", "qrels.txt", "runs/precise.txt"}
    # Round trip: judgements, qrels and runs come back equal.
    pd.testing.assert_frame_equal(_canon(b.judgements), _canon(judgements_frame(store, "ds1")))
    from core.evaluate import grades_to_qrels

    assert b.qrels == grades_to_qrels(store.grades("ds1"))
    assert b.runs["precise"] == {query_id_for("深圳 台风 积水"): {"p1": 0.9, "p0": 0.2}}
    fresh = LabelStore(tmp_path / "fresh.sqlite")
    import_judgements(fresh, b.judgements)
    pd.testing.assert_frame_equal(_canon(fresh.grades("ds1")), _canon(store.grades("ds1")))


@pytest.mark.parametrize("fmt,ext", [("csv", "csv"), ("jsonl", "jsonl"), ("bundle", "zip")])
def test_cli_export_import_round_trip(store, tmp_path, capsys, fmt, ext):
    out = tmp_path / f"export.{ext}"
    assert main(["export", "--store", str(store.path), "--dataset", "ds1", "--format", fmt,
                 "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    fresh = tmp_path / "fresh.sqlite"
    assert main(["import", str(out), "--store", str(fresh), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n_written"] == len(store.grades("ds1"))
    pd.testing.assert_frame_equal(_canon(LabelStore(fresh).grades("ds1")), _canon(store.grades("ds1")))


def test_cli_qrels_export_import_and_defaults(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SIEVE_LABEL_STORE", str(tmp_path / "default.sqlite"))
    s = LabelStore()  # the default store path from the settings
    s.set_grade("abc", "q text", "p1", 4, annotator="ana")
    s.set_grade("abc", "q text", "p2", 1, annotator="ana")
    out = tmp_path / "qrels.txt"
    assert main(["export", "--format", "qrels", "--out", str(out)]) == 0  # the only dataset, default store
    capsys.readouterr()
    assert read_qrels(out) == {query_id_for("q text"): {"p1": 3, "p2": 0}}
    fresh = tmp_path / "fresh.sqlite"
    assert main(["import", str(out), "--store", str(fresh), "--dataset", "abc", "--annotator", "ana"]) == 0
    got = LabelStore(fresh).grades("abc")
    assert dict(zip(got["post_id"], got["grade"].astype(int))) == {"p1": 4, "p2": 1}
    assert main(["import", str(out), "--store", str(fresh)]) == 2  # qrels need --dataset
    assert "--dataset" in capsys.readouterr().err
    assert main(["export", "--list"]) == 0 and "abc" in capsys.readouterr().out


def test_real_tweets_csv_is_formula_free_and_exact(real_data, tmp_path):
    """Real tweets often begin with '@user' or '-': each must come back exactly and never as a formula."""
    folder = real_data / "crisislex_t26" / "2013_Boston_bombings"
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent")
    with open(folder / "2013_Boston_bombings-tweets_labeled.csv", encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = [h.strip() for h in next(reader)]
        rows = [r for r in reader if len(r) == len(header)]
    col = {h: i for i, h in enumerate(header)}
    posts = pd.DataFrame({"post_id": [r[col["Tweet ID"]].strip().strip("'\"") for r in rows],
                          "text": [r[col["Tweet Text"]] for r in rows]}).drop_duplicates("post_id")
    gain = {"Related and informative": 2, "Related - but not informative": 1}
    store = LabelStore(tmp_path / "labels.sqlite")
    store.set_grades([
        {"dataset": "boston", "query": "Boston Marathon bombing", "post_id": pid, "annotator": "crisislex",
         "grade": 1 + gain.get(r[col["Informativeness"]].strip(), 0)}
        for pid, r in zip(posts["post_id"], rows)
    ])
    frame = judgements_frame(store, "boston", posts=posts)
    path = write_judgements_csv(frame, tmp_path / "boston.csv")
    with open(path, encoding="utf-8-sig", newline="") as fh:
        cells = [c for row in csv.reader(fh) for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    risky = posts["text"].str.match(r"[=+\-@\t\r']")
    assert risky.sum() > 0  # the real data does exercise the escaping
    back = read_judgements(path).set_index("post_id")
    expected = frame.set_index("post_id")
    assert (back.loc[expected.index, "text"] == expected["text"]).all()
    assert (back.loc[expected.index, "grade"] == expected["grade"]).all()


def test_bundled_sample_qrels_csv_and_trec_agree():
    """sample_data holds the same judgements as a grade CSV (1-5) and TREC qrels (gain = grade - 1)."""
    from pathlib import Path

    from core.evaluate import grades_to_qrels

    sample = Path(__file__).resolve().parent.parent / "sample_data"
    if not (sample / "qrels.csv").is_file() or not (sample / "qrels.txt").is_file():
        pytest.skip("sample_data/qrels.csv or qrels.txt is absent")
    from_csv = grades_to_qrels(read_judgements(sample / "qrels.csv"))
    assert from_csv == read_qrels(sample / "qrels.txt")


def test_import_resolves_dataset_prefixes_like_export_and_refuses_a_typo(tmp_path, capsys):
    """Breaker's finding: `import --dataset 269d` filed grades under a new dataset named "269d"."""
    store_path = tmp_path / "labels.sqlite"
    src = tmp_path / "j.csv"
    src.write_text("query_id,post_id,grade\nq1,p1,4\n", encoding="utf-8")
    full = "269d77bdeea4e85d9f59"
    assert main(["import", str(src), "--store", str(store_path), "--dataset", full]) == 0  # a new dataset
    src.write_text("query_id,post_id,grade\nq1,p1,2\n", encoding="utf-8")
    assert main(["import", str(src), "--store", str(store_path), "--dataset", "269d"]) == 0  # its prefix
    store = LabelStore(store_path)
    assert store.datasets()["dataset"].tolist() == [full]
    assert store.grades(full)["grade"].tolist() == [2]
    capsys.readouterr()
    assert main(["import", str(src), "--store", str(store_path), "--dataset", "typo123"]) == 2
    err = capsys.readouterr().err
    assert "No dataset in the label store" in err and "matches 'typo123'" in err and "20-character hash" in err
    assert store.datasets()["dataset"].tolist() == [full]


def test_export_refuses_an_output_name_that_does_not_match_its_format(tmp_path, capsys):
    """Breaker's finding: --format csv --out j.xlsx wrote CSV text into a .xlsx file, exit 0."""
    store_path = tmp_path / "labels.sqlite"
    LabelStore(store_path).set_grade("ds1", "q", "p1", 4, annotator="ana")
    for fmt, name in (("csv", "j.xlsx"), ("qrels", "q.csv"), ("bundle", "b.csv"), ("jsonl", "j.csv")):
        assert main(["export", "--store", str(store_path), "--format", fmt, "--out", str(tmp_path / name)]) == 2
        assert f"--format {fmt} writes" in capsys.readouterr().err and not (tmp_path / name).exists()
    assert main(["export", "--store", str(store_path), "--format", "qrels", "--out", str(tmp_path / "q.txt")]) == 0
