"""The bundled synthetic sample (``sample_data/``): the files are what the
generator writes, parse as the exports they imitate, and the qrels are
consistent with the posts (IDs as strings, grades 1-5, gain = grade - 1)."""

from __future__ import annotations

import csv
import importlib.util
import re
import sys
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
FILES = ("weibo_sample.csv", "x_sample.csv", "queries.tsv", "qrels.csv", "qrels.txt")
WEIBO_HEADER = ["微博id", "用户昵称", "微博正文", "发布时间", "点赞数", "转发数", "评论数", "话题", "采集时间"]
#: How a Weibo page shows a time: absolute, relative to the crawl, or without a year.
WEIBO_TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}|刚刚|\d+(分钟|小时)前|(今天|昨天|前天) \d{2}:\d{2}"
                           r"|\d{2}-\d{2} \d{2}:\d{2}|\d{1,2}月\d{1,2}日 \d{2}:\d{2}")
X_HEADER = ["id", "created_at", "author.username", "text", "lang", "like_count", "retweet_count",
            "reply_count", "url"]
TWITTER_EPOCH_MS = 1288834974657


def _generator():
    """Import ``sample_data/make_samples.py`` (a script, not a package) once."""
    name = "sieve_sample_data_make_samples"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, SAMPLE / "make_samples.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the file runs
        spec.loader.exec_module(module)
    return sys.modules[name]


def _read_csv(name: str) -> tuple[list[str], list[dict[str, str]]]:
    with open(SAMPLE / name, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


@pytest.fixture(scope="module")
def weibo():
    return _read_csv("weibo_sample.csv")


@pytest.fixture(scope="module")
def xposts():
    return _read_csv("x_sample.csv")


@pytest.fixture(scope="module")
def qrels():
    return _read_csv("qrels.csv")[1]


def test_files_are_what_the_generator_writes(tmp_path):
    gen = _generator()
    counts = gen.write_all(gen.build(gen.TOPICS), tmp_path)
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (SAMPLE / name).read_bytes(), (
            f"sample_data/{name} is stale: run python sample_data/make_samples.py"
        )
    assert counts["weibo"] + counts["x"] >= 300


def test_weibo_export_looks_like_a_crawler_export(weibo):
    raw = (SAMPLE / "weibo_sample.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "the Weibo export must be UTF-8 with BOM"
    header, rows = weibo
    assert header == WEIBO_HEADER
    n_records = raw.decode("utf-8-sig").count("\n") - sum(r["微博正文"].count("\n") for r in rows) - 1
    assert len(rows) == n_records  # quoted newlines do not split records
    ids = [r["微博id"] for r in rows]
    assert all(re.fullmatch(r"[1-9]\d{15}", i) for i in ids)
    assert len(set(ids)) == len(ids)
    texts = [r["微博正文"] for r in rows]
    assert sum("//@" in t for t in texts) >= 5
    assert sum(t.startswith("转发微博") for t in texts) >= 3
    assert sum(t.endswith("全文") for t in texts) >= 3
    assert sum(bool(re.search(r"#[^#\s]+#", t)) for t in texts) >= 10
    assert sum(bool(re.search(r"\[[\u4e00-\u9fffA-Za-z]{1,4}\]", t)) for t in texts) >= 10
    assert sum("\n" in t for t in texts) >= 2
    counts = [r[c] for r in rows for c in ("点赞数", "转发数", "评论数")]
    assert any(re.fullmatch(r"\d{1,3}(,\d{3})+", c) for c in counts)
    assert "无" in counts
    assert all(re.fullmatch(r"\d{1,3}(,\d{3})*|\d+|无", c) for c in counts)
    dup_texts = [t for t, n in Counter(t for t in texts if t and t != "转发微博").items() if n > 1]
    assert len(dup_texts) >= 3  # copies under other accounts
    assert len({r["采集时间"] for r in rows}) == 1
    datetime.strptime(rows[0]["采集时间"], "%Y-%m-%d %H:%M")
    assert all(WEIBO_TIME_RE.fullmatch(r["发布时间"]) for r in rows)
    kinds = Counter("absolute" if r["发布时间"][:2] == "20" and r["发布时间"][4] == "-" else "other" for r in rows)
    assert kinds["other"] >= 10  # relative and year-less times, as m.weibo.cn shows them
    for r in rows:
        own = r["微博正文"].split("//@", 1)[0]
        assert set(filter(None, r["话题"].split(","))) == set(re.findall(r"#([^#\s][^#\n]{0,30}?)#", own))


def test_x_export_looks_like_twarc_csv(xposts):
    header, rows = xposts
    assert header == X_HEADER
    ids = [r["id"] for r in rows]
    assert all(re.fullmatch(r"1\d{18}", i) for i in ids)
    assert len(set(ids)) == len(ids)
    for r in rows:  # snowflake IDs encode the creation time
        created = datetime.strptime(r["created_at"], "%Y-%m-%dT%H:%M:%S.000Z").replace(tzinfo=timezone.utc)
        ms = (int(r["id"]) >> 22) + TWITTER_EPOCH_MS
        assert 0 <= ms - created.timestamp() * 1000 < 1000
        assert r["url"] == f"https://x.com/{r['author.username']}/status/{r['id']}"
        assert all(r[c].isdigit() for c in ("like_count", "retweet_count", "reply_count"))
    texts = [r["text"] for r in rows]
    assert sum(t.startswith("RT @") for t in texts) >= 5
    assert sum("&amp;" in t for t in texts) >= 3 and any("&lt;" in t for t in texts)
    assert sum("https://t.co/" in t for t in texts) >= 10
    assert sum(bool(re.search(r"(?<!RT )@\w+", t)) for t in texts) >= 3
    assert sum(bool(re.search(r"#\w+", t)) for t in texts) >= 10
    langs = Counter(r["lang"] for r in rows)
    assert langs["en"] >= 50 and langs["zh"] >= 5
    assert any(re.search(r"[\u4e00-\u9fff]", t) and re.search(r"[A-Za-z]{4,}", t) for t in texts)
    # every retweet copy repeats the start of a post by the account it names
    by_author = defaultdict(list)
    for r in rows:
        by_author[r["author.username"]].append(r["text"])
    for t in texts:
        if t.startswith("RT @"):
            author, body = re.match(r"RT @(\w+): (.*)", t, re.S).groups()
            stem = body.rstrip("…")
            assert any(o.startswith(stem) for o in by_author[author]), t


def test_sizes_and_languages(weibo, xposts):
    n_weibo, n_x = len(weibo[1]), len(xposts[1])
    assert n_weibo + n_x >= 300
    assert 0.5 <= n_weibo / (n_weibo + n_x) <= 0.7
    gen = _generator()
    posts = gen.build(gen.TOPICS)
    assert n_weibo == sum(p.platform == "weibo" for p in posts)
    assert n_x == sum(p.platform == "x" for p in posts)
    assert len({p.topic for p in posts if p.topic != "misc"}) >= 6
    lengths = [len(r["微博正文"]) for r in weibo[1]] + [len(r["text"]) for r in xposts[1]]
    assert min(lengths) <= 5 and max(lengths) >= 200


def test_queries_file():
    lines = (SAMPLE / "queries.tsv").read_text(encoding="utf-8").splitlines()
    queries = dict(line.split("\t") for line in lines)
    assert len(queries) == len(lines) >= 6
    assert all(re.fullmatch(r"[a-z0-9_]+", q) for q in queries)
    assert "这剧太上头了停不下来" in queries.values()
    cjk = [bool(re.search(r"[\u4e00-\u9fff]", q)) for q in queries.values()]
    latin = [bool(re.search(r"[A-Za-z]{3,}", q)) for q in queries.values()]
    assert any(c and not l for c, l in zip(cjk, latin))  # Chinese
    assert any(l and not c for c, l in zip(cjk, latin))  # English
    assert any(c and l for c, l in zip(cjk, latin))  # mixed


def test_qrels_csv_matches_posts_and_queries(weibo, xposts, qrels):
    queries = dict(line.split("\t") for line in (SAMPLE / "queries.tsv").read_text("utf-8").splitlines())
    text_of = {r["微博id"]: r["微博正文"] for r in weibo[1]} | {r["id"]: r["text"] for r in xposts[1]}
    pairs = [(r["query_id"], r["post_id"]) for r in qrels]
    assert len(set(pairs)) == len(pairs)
    by_query: dict[str, Counter] = defaultdict(Counter)
    for r in qrels:
        assert r["post_id"] in text_of, f"qrels post_id {r['post_id']} is not in the sample exports"
        assert r["query"] == queries[r["query_id"]]
        assert r["grade"] in {"1", "2", "3", "4", "5"}
        text = text_of[r["post_id"]].split("//@", 1)[0].strip()
        assert text and text != "转发微博", f"placeholder post {r['post_id']} was graded"
        by_query[r["query_id"]][int(r["grade"])] += 1
    assert set(by_query) == set(queries)
    for qid, grades in by_query.items():
        assert 25 <= sum(grades.values()) <= 50, qid
        assert grades[4] + grades[5] >= 3, f"{qid}: fewer than 3 posts graded >= 4"
        assert grades[1] + grades[2] >= 3, f"{qid}: fewer than 3 hard negatives graded <= 2"


def test_qrels_txt_is_trec_with_gain_grade_minus_one(qrels):
    lines = (SAMPLE / "qrels.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(qrels)
    for line, row in zip(lines, qrels):
        qid, zero, pid, gain = line.split(" ")
        assert (qid, zero, pid) == (row["query_id"], "0", row["post_id"])
        assert int(gain) == int(row["grade"]) - 1
        assert 0 <= int(gain) <= 4


def test_copies_carry_the_grade_of_their_original(weibo, xposts, qrels):
    text_of = {r["微博id"]: r["微博正文"] for r in weibo[1]} | {r["id"]: r["text"] for r in xposts[1]}
    grades: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in qrels:
        grades[(r["query_id"], text_of[r["post_id"]])].add(r["grade"])
    assert all(len(g) == 1 for g in grades.values())
    assert any(n > 1 for n in Counter(text_of[r["post_id"]] for r in qrels).values())


@pytest.mark.parametrize("name, text_column, id_column", [
    ("weibo_sample.csv", "微博正文", "微博id"),
    ("x_sample.csv", "text", "id"),
])
def test_read_posts_keeps_every_record_and_id(name, text_column, id_column, qrels):
    try:
        from core.ingest import read_posts
    except ImportError:
        pytest.skip("core.ingest.read_posts is not written yet")
    _, rows = _read_csv(name)
    result = read_posts(SAMPLE / name)
    report = result.report.to_dict()
    assert report["columns"]["text"] == text_column
    assert report["columns"]["id"] == id_column
    assert report["rows_read"] == len(rows)
    ids = set(result.posts["post_id"])
    assert all(isinstance(i, str) for i in ids)
    assert ids <= {r[id_column] for r in rows}
    graded = {r["post_id"] for r in qrels} & {r[id_column] for r in rows}
    assert graded and graded <= ids
