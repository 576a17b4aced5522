"""core.ingest on every file of ../shared/real_data (skipped where that folder is absent).

Record counts and cells are checked against Python's csv module, read
independently here, so that a reader that drops, merges or shifts records fails.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest

from core.ingest import read_posts

_SHARED = Path(os.environ.get("SIEVE_SHARED_DIR", Path(__file__).resolve().parent.parent.parent / "shared"))
_REAL = _SHARED / "real_data"

# relative path, text column, ID column, delimiter
EXPECTED = {
    "crisislex_t26": ("Tweet Text", "Tweet ID", ","),
    "crisislex_t6": ("tweet", "tweet id", ","),
    "nlpcc2016_weibo_stance": ("TEXT", "ID", "\t"),
}
FILES = sorted(
    str(p.relative_to(_REAL))
    for pattern in ("crisislex_t26/*/*-tweets_labeled.csv", "crisislex_t6/*.csv", "nlpcc2016_weibo_stance/*.txt")
    for p in _REAL.glob(pattern)
) if _REAL.is_dir() else []


def _records(path: Path, delimiter: str) -> list[list[str]]:
    """The data records of a file, read with the csv module (header dropped)."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh, delimiter=delimiter, skipinitialspace=delimiter == ","))
    return rows[1:]


@pytest.mark.parametrize("rel", FILES)
def test_real_file_maps_text_and_counts_every_record(real_data, rel):
    path = real_data / rel
    text_col, id_col, delimiter = EXPECTED[rel.split("/")[0]]
    records = _records(path, delimiter)
    result = read_posts(path)
    report, posts = result.report, result.posts
    assert report.columns["text"] == text_col
    assert report.columns["id"] == id_col
    assert report.delimiter == delimiter
    assert report.n_posts == report.rows_read == len(records) == len(posts)
    assert report.dropped == {}
    # every cell lands in its row: raw text equals the csv module's text cell
    text_idx = 2 if delimiter == "\t" else 1
    assert posts["text_raw"].tolist() == [r[text_idx] for r in records]
    ids = [r[0].strip("'\"") for r in records]
    # IDs are strings without quotes; only a repeated ID gets a suffix
    assert posts["post_id"].str.replace(r"~\d+$", "", regex=True).tolist() == ids
    assert posts["post_id"].str.fullmatch(r"\d+(~\d+)?").all()
    assert posts["post_id"].is_unique
    assert posts["scorable"].mean() > 0.95


def test_nlpcc_has_3000_rows_of_4_fields(real_data):
    path = real_data / "nlpcc2016_weibo_stance" / "evasampledata4-TaskAA.txt"
    result = read_posts(path)
    assert result.report.n_posts == 3000
    assert result.report.source_columns == ["ID", "TARGET", "TEXT", "STANCE"]
    assert result.report.encoding == "utf-8-sig"
    assert all(len(r) == 4 for r in _records(path, "\t"))
    posts = result.posts
    assert posts["post_id"].tolist() == [str(i) for i in range(1, 3001)]
    assert (posts["lang"] != "en").mean() > 0.9
    assert posts["hashtags"].map(len).sum() > 100  # #话题# topics found in real Weibo text
    reposts = posts[posts["text_raw"].str.contains("//@", regex=False)]
    assert len(reposts) > 0 and not reposts["text"].str.contains("//@", regex=False).any()


def test_crisislex_t6_ids_have_no_quotes(real_data):
    posts = read_posts(real_data / "crisislex_t6" / "2012_Sandy_Hurricane-ontopic_offtopic.csv").posts
    assert posts["post_id"].iloc[0] == "262596552399396864"
    assert not posts["post_id"].str.contains("'").any()


def test_inspect_json_on_real_files(real_data, capsys):
    from core.cli import main

    for rel, n in [("nlpcc2016_weibo_stance/evasampledata4-TaskAA.txt", 3000),
                   ("crisislex_t26/2013_Boston_bombings/2013_Boston_bombings-tweets_labeled.csv", 1000)]:
        assert main(["inspect", str(real_data / rel), "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["n_posts"] == n
        assert set(out) >= {"encoding", "delimiter", "n_posts", "columns", "dropped", "warnings"}
        assert out["columns"]["text"] in ("TEXT", "Tweet Text")
