"""The command line's shared layer (``core/cli_common.py``, ``core/tables.py``) and ``core/cli.py``'s rules."""

from __future__ import annotations

import argparse
import json

import pandas as pd
import pytest

from core import cli
from core.cli import build_parser, main
from core.cli_common import (
    add_budget_argument,
    add_command,
    budget_from_args,
    existing_file,
    int_at_least,
    open_store,
    parse_columns,
    positive_int,
)
from core.config import DEFAULT_RERANK_BUDGET
from core.errors import ColumnError, SieveError
from core.tables import neutralise, table_format, unneutralise, write_table

# -- core/cli.py ---------------------------------------------------------------------------------

def test_every_command_module_registers_its_commands():
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert set(sub.choices) >= {"inspect", "rerank", "cluster", "timeline", "evaluate", "export", "import",
                                "download", "users"}


def test_a_command_module_that_fails_to_import_is_not_skipped(monkeypatch):
    """A broken module must stop the command line loudly, not hide its commands."""
    monkeypatch.setattr(cli, "COMMAND_MODULES", (*cli.COMMAND_MODULES, "core.no_such_stage.cli"))
    with pytest.raises(ModuleNotFoundError, match="no_such_stage"):
        build_parser()


def test_a_person_error_is_one_line_and_exit_code_2(tmp_path, capsys):
    code = main(["export", "--store", str(tmp_path / "none.sqlite"), "--list"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: The label store ") and "none.sqlite" in err and "Traceback" not in err
    assert err.count("\n") == 1


# -- argument types ------------------------------------------------------------------------------

def test_int_types_accept_the_range_and_name_the_bad_value():
    assert positive_int("3") == 3
    assert int_at_least(0)("0") == 0
    for bad, why in (("0", "got 0"), ("-2", "got -2"), ("two", "got 'two'")):
        with pytest.raises(argparse.ArgumentTypeError, match=why):
            positive_int(bad)
    with pytest.raises(argparse.ArgumentTypeError, match=">= 2"):
        int_at_least(2)("1")


def test_bad_count_on_the_command_line_stops_the_parse_with_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["cluster", str(tmp_path / "posts.csv"), "--k", "0"])
    assert stop.value.code == 2
    assert "argument --k: expected a whole number >= 1, got 0" in capsys.readouterr().err


def test_existing_file(tmp_path):
    f = tmp_path / "run.txt"
    f.write_text("q Q0 d 1 1.0 r\n")
    assert existing_file(str(f)) == f
    with pytest.raises(argparse.ArgumentTypeError, match="does not exist"):
        existing_file(str(tmp_path / "missing.txt"))
    with pytest.raises(argparse.ArgumentTypeError, match="is a folder"):
        existing_file(str(tmp_path))


def test_evaluate_names_a_missing_run_file(tmp_path, capsys):
    qrels = tmp_path / "qrels.txt"
    qrels.write_text("q 0 d 1\n")
    with pytest.raises(SystemExit):
        main(["evaluate", "--qrels", str(qrels), "--run", str(tmp_path / "nope.txt")])
    assert "nope.txt does not exist" in capsys.readouterr().err


def test_parse_columns():
    assert parse_columns(None) is None
    assert parse_columns(["text=title+selftext", "id=", "time= 发布时间 "]) == {
        "text": ["title", "selftext"], "id": None, "time": "发布时间"}
    with pytest.raises(ColumnError, match="ROLE=COLUMN"):
        parse_columns(["text"])


def test_budget_default_is_the_configured_one(monkeypatch):
    parser = argparse.ArgumentParser()
    add_budget_argument(parser)
    assert budget_from_args(parser.parse_args([])) == DEFAULT_RERANK_BUDGET
    assert budget_from_args(parser.parse_args(["--budget", "7"])) == 7
    monkeypatch.setenv("SIEVE_RERANK_BUDGET", "55")
    assert budget_from_args(parser.parse_args([])) == 55


def test_add_command_runs_its_function():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    add_command(sub, "hello", lambda args: 7, help="say hello")
    args = parser.parse_args(["hello"])
    assert args.func(args) == 7


def test_open_store(tmp_path, monkeypatch):
    with pytest.raises(SieveError, match="does not exist"):
        open_store(tmp_path / "labels.sqlite")
    store = open_store(tmp_path / "labels.sqlite", must_exist=False)
    store.set_grade("d1", "q", "p1", 4, annotator="ana")
    assert open_store(tmp_path / "labels.sqlite").grades("d1")["grade"].tolist() == [4]
    monkeypatch.setenv("SIEVE_LABEL_STORE", str(tmp_path / "labels.sqlite"))
    assert open_store(None).path == tmp_path / "labels.sqlite"


# -- tables by suffix ----------------------------------------------------------------------------

@pytest.fixture
def table() -> pd.DataFrame:
    return pd.DataFrame({
        "post_id": ["p1", "p2", "p3"],
        "rank": [1, 2, 3],
        "score": [0.912345678, 0.5, float("nan")],
        "text": ["=HYPERLINK(\"x\")", "台风 \"山竹\", 深圳", None],
    })


def test_table_format_by_suffix():
    assert table_format("a.CSV") == "csv"
    assert table_format("a.json") == "jsonl"
    assert table_format("a.parquet") == "parquet"
    with pytest.raises(SieveError, match=r"must end in \.csv or \.jsonl. Got '\.pdf'"):
        table_format("out/a.pdf", allowed=(".csv", ".jsonl"))
    with pytest.raises(SieveError, match="no extension"):
        table_format("a")


def test_csv_has_bom_crlf_and_reads_back(table, tmp_path):
    path = write_table(table, tmp_path / "sub" / "t.csv", float_format="%.6g", formula_safe=False)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    assert b"0.912346" in raw  # %.6g
    back = pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False)
    assert back["text"].tolist() == ["=HYPERLINK(\"x\")", "台风 \"山竹\", 深圳", ""]
    assert back["score"].tolist()[2] == ""


def test_formula_safe_csv_neutralises_text_not_numbers(tmp_path):
    frame = pd.DataFrame({"post_id": ["-1", "p"], "delta": [-1, 2], "text": ["@all", "'quoted"]})
    path = write_table(frame, tmp_path / "t.csv", formula_safe=True, plain_columns=("post_id",))
    back = pd.read_csv(path, encoding="utf-8-sig", dtype=str)
    assert back["post_id"].tolist() == ["-1", "p"]  # a plain column
    assert back["delta"].tolist() == ["-1", "2"]  # numbers are never escaped
    assert back["text"].tolist() == ["'@all", "''quoted"]
    assert [unneutralise(v) for v in back["text"]] == ["@all", "'quoted"]
    assert neutralise("+1") == "'+1" and neutralise("ok") == "ok"


def test_tsv_and_jsonl(table, tmp_path):
    tsv = write_table(table, tmp_path / "t.tsv")
    assert pd.read_csv(tsv, sep="\t", encoding="utf-8-sig")["rank"].tolist() == [1, 2, 3]
    jsonl = write_table(table.assign(n=pd.array([1, None, 3], dtype="Int64")), tmp_path / "t.jsonl")
    text = jsonl.read_text(encoding="utf-8")
    assert "台风" in text and "\r" not in text  # not \u-escaped, \n line ends
    recs = [json.loads(line) for line in text.splitlines()]
    assert recs[0]["rank"] == 1 and isinstance(recs[0]["rank"], int)
    assert recs[2]["score"] is None and recs[2]["text"] is None and recs[1]["n"] is None


def test_parquet_keeps_dtypes(table, tmp_path):
    pytest.importorskip("pyarrow")
    back = pd.read_parquet(write_table(table, tmp_path / "t.parquet"))
    pd.testing.assert_frame_equal(back, table)


def test_an_explicit_format_overrides_the_suffix(table, tmp_path):
    path = write_table(table, tmp_path / "t.txt", format="csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    with pytest.raises(SieveError, match="table format"):
        write_table(table, tmp_path / "t.csv", format="xlsx")
