"""Times for every post: the time column, relative Weibo times against a reference, snowflake IDs."""

from __future__ import annotations

import copy
import json
import os
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest

from core.ingest import read_posts
from core.ingest.times import SNOWFLAKE_EPOCH_MS, resolve_relative, snowflake_times

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample_data"


def _utc(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz="UTC")


# ------------------------------------------------------------------ relative and year-less times


def test_relative_times_resolve_against_the_reference_in_beijing_time():
    ref = _utc("2023-10-08 17:30")  # 2023-10-09 01:30 in Beijing: "today" is the 9th there
    cells = ["刚刚", "5分钟前", "3小时前", "今天 00:10", "昨天 23:50", "前天 08:15", "03-15 12:30",
             "3月15日 12:30", "12-31 23:00", "just now", "10 mins ago", "2 hours ago", "not a time"]
    times, kinds = resolve_relative(cells, pd.Series([ref] * len(cells)), "Asia/Shanghai")
    got = [None if pd.isna(t) else str(t.tz_convert("UTC"))[:16] for t in times]
    assert got == [
        "2023-10-08 17:30", "2023-10-08 17:25", "2023-10-08 14:30",
        "2023-10-08 16:10",  # 2023-10-09 00:10 Beijing
        "2023-10-08 15:50",  # 2023-10-08 23:50 Beijing
        "2023-10-07 00:15",  # 2023-10-07 08:15 Beijing
        "2023-03-15 04:30", "2023-03-15 04:30",
        "2022-12-31 15:00",  # a year-less date after the reference is last year's
        "2023-10-08 17:30", "2023-10-08 17:20", "2023-10-08 15:30", None,
    ]
    assert kinds == ["relative"] * 6 + ["year_less"] * 3 + ["relative"] * 3 + [""]


def test_year_less_date_of_a_year_without_it_is_not_guessed():
    times, kinds = resolve_relative(["02-29 10:00"], pd.Series([_utc("2023-03-01")]), "UTC")
    assert pd.isna(times[0]) and kinds == ["year_less"]


def test_weibo_sample_relative_times_resolve_against_its_crawl_time():
    """The sample shows times as the page did at its crawl time (``采集时间``); resolved, they are
    the generator's true times (to the minute, or to the hour for ``N小时前``)."""
    from tests.test_sample_data import _generator

    gen = _generator()
    truth = {p.post_id: pd.Timestamp(p.time).tz_convert("UTC")
             for p in gen.build(copy.deepcopy(gen.TOPICS)) if p.platform == "weibo"}  # build() fills posts in
    result = read_posts(SAMPLE / "weibo_sample.csv")
    report = result.report.times
    raw = pd.read_csv(SAMPLE / "weibo_sample.csv", dtype=str, encoding="utf-8-sig")
    shown = dict(zip(raw["微博id"], raw["发布时间"], strict=True))
    assert report["reference_source"] == "crawl time column '采集时间'"
    assert report["reference"] == "2025-04-30T01:00:00+00:00"  # 09:00 Beijing
    assert report["relative"] >= 3 and report["year_less"] >= 10 and report["missing"] == 0
    assert report["absolute"] + report["relative"] + report["year_less"] == len(result.posts)
    for pid, t in zip(result.posts["post_id"], result.posts["time"], strict=True):
        slack = pd.Timedelta(hours=1) if shown[pid].endswith("小时前") else pd.Timedelta(minutes=1)
        assert abs(truth[pid] - t) < slack, (pid, shown[pid], t, truth[pid])  # forms drop seconds or minutes
    assert any("dated against the reference time" in w for w in result.report.warnings)


def test_the_analyst_reference_moves_relative_times_only():
    base = read_posts(SAMPLE / "weibo_sample.csv").posts.set_index("post_id")["time"]
    later = read_posts(SAMPLE / "weibo_sample.csv", reference_time="2025-05-01T09:00:00+08:00")
    moved = later.posts.set_index("post_id")["time"] - base
    raw = pd.read_csv(SAMPLE / "weibo_sample.csv", dtype=str, encoding="utf-8-sig").set_index("微博id")["发布时间"]
    relative = raw.str.contains("前|今天|昨天|刚刚").reindex(moved.index)
    assert later.report.times["reference_source"] == "analyst"
    assert (moved[relative] == pd.Timedelta(days=1)).all() and relative.sum() >= 3
    assert (moved[~relative] == pd.Timedelta(0)).all()


def test_without_a_crawl_column_the_file_time_is_the_reference(tmp_path):
    path = tmp_path / "weibo.csv"
    path.write_text("微博id,微博正文,发布时间\n4962432186745921,台风来了,10分钟前\n"
                    "4962432186745922,雨很大,2023-10-09 08:15\n", encoding="utf-8")
    mtime = datetime(2023, 10, 9, 4, 0, tzinfo=timezone.utc).timestamp()
    os.utime(path, (mtime, mtime))
    result = read_posts(path)
    assert list(result.posts["time"]) == [_utc("2023-10-09 03:50"), _utc("2023-10-09 00:15")]  # Beijing -> UTC
    assert result.report.times["reference_source"] == "file modification time"
    upload = read_posts(path.read_bytes(), filename="weibo.csv", file_time="2023-10-10T04:00:00Z")
    assert upload.posts["time"][0] == _utc("2023-10-10 03:50")
    assert upload.report.times["naive_time_zone"] == "Asia/Shanghai"
    assert upload.posts["time"][1] == _utc("2023-10-09 00:15")  # never moved by the reference


# ------------------------------------------------------------------ snowflake IDs


def test_snowflake_ids_decode_only_when_plausible():
    ms = int(_utc("2013-06-21 12:00").value // 1_000_000)
    flake = str((ms - SNOWFLAKE_EPOCH_MS) << 22 | 12345)
    now = _utc("2026-01-01")
    times, note = snowflake_times([f"'{flake}'", "12345", "abc", ""], layout="crisislex", latest=now)
    assert times[0] == _utc("2013-06-21 12:00") and times[1:].isna().all()  # 12345: a pre-2010 ID
    assert "snowflake" in note
    future = str((int(now.value // 1_000_000) + 10 * 86_400_000 - SNOWFLAKE_EPOCH_MS) << 22)
    assert snowflake_times([future], layout="twarc-csv", latest=now)[0].isna().all()
    weibo_mid = "4962432186745921"  # would decode to November 2010: never read as a time
    assert snowflake_times([weibo_mid], layout="weibo", latest=now)[0].isna().all()
    assert snowflake_times([weibo_mid] * 3, layout="generic", latest=now)[0].isna().all()
    assert snowflake_times([flake] * 3, layout="generic", latest=now)[0].notna().all()


@pytest.mark.parametrize("name, first_day, last_day", [
    ("2012_Sandy_Hurricane-ontopic_offtopic.csv", "2012-10-22", "2012-11-10"),  # landfall 2012-10-29
    ("2013_Alberta_Floods-ontopic_offtopic.csv", "2013-06-19", "2013-07-10"),  # floods from 2013-06-20
])
def test_crisislex_t6_tweets_get_times_from_their_ids(real_data, name, first_day, last_day):
    result = read_posts(real_data / "crisislex_t6" / name)
    times = result.posts["time"]
    assert str(times.dtype) == "datetime64[ns, UTC]"
    assert times.notna().all()
    assert times.between(_utc(first_day), _utc(last_day)).all(), (times.min(), times.max())
    assert result.report.times["snowflake"] == len(times)
    assert any("snowflake" in w for w in result.report.warnings)


def test_crisislex_t26_tweets_fall_on_their_event_dates(real_data):
    events = 0
    for folder in sorted((real_data / "crisislex_t26").iterdir()):
        described = list(folder.glob("*event_description.json"))
        tweets = list(folder.glob("*tweets_labeled.csv"))
        if not described or not tweets:
            continue
        when = json.loads(described[0].read_text(encoding="utf-8"))["time"]
        start = _utc(when["start_day"])
        end = start + pd.Timedelta(days=int(when["duration"]) + 1)
        times = read_posts(tweets[0]).posts["time"]
        inside = times.between(start - pd.Timedelta(days=3), end).mean()
        assert inside >= 0.98, (folder.name, times.min(), times.max())  # seen: 0.992-1.0
        events += 1
    assert events >= 10


def test_a_weibo_export_gets_no_warning_about_snowflake_ids(real_data):
    """A newcomer saw "IDs not read as X/Twitter snowflakes: this is a nlpcc export." among the
    warnings of the NLPCC Weibo file, where nothing is wrong; the report still says why."""
    result = read_posts(real_data / "nlpcc2016_weibo_stance" / "evasampledata4-TaskAA.txt")
    assert result.report.layout == "nlpcc"
    assert not [w for w in result.report.warnings if "not read as X/Twitter snowflakes" in w], result.report.warnings
    assert any("No time column" in w for w in result.report.warnings)  # what does matter is still said
    assert "not read as X/Twitter snowflakes" in result.report.times["snowflake_note"]
