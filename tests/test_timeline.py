"""core.timeline: windows, bins, counts per cluster, what rose; the timeline command."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.cli import main
from core.ingest import read_posts
from core.timeline import TimeWindow, choose_bin, in_bin, timeline, top_posts, what_rose

REPO = Path(__file__).resolve().parent.parent
SANDY = "crisislex_t6/2012_Sandy_Hurricane-ontopic_offtopic.csv"


def _times(*values: str) -> pd.Series:
    return pd.Series(pd.to_datetime(list(values), utc=True))


@pytest.mark.parametrize("span, expected", [
    (pd.Timedelta(minutes=90), "minute"), (pd.Timedelta(hours=10), "5 minutes"),
    (pd.Timedelta(days=2), "15 minutes"), (pd.Timedelta(days=3), "hour"), (pd.Timedelta(days=20), "6 hours"),
    (pd.Timedelta(days=100), "day"), (pd.Timedelta(days=3000), "week"),
])
def test_bins_are_chosen_from_the_span(span, expected):
    name, freq = choose_bin(span)
    assert name == expected
    assert span / pd.Timedelta(freq if freq != "W-MON" else "7D") + 1 <= 200 or name == "week"


def test_hand_counted_timeline_per_group_in_a_display_zone():
    times = _times("2023-10-08 15:59", "2023-10-08 16:00", "2023-10-08 16:30", "2023-10-09 03:00")
    times = pd.concat([times, pd.Series([pd.NaT], dtype="datetime64[ns, UTC]")], ignore_index=True)
    tl = timeline(times, ["a", "b", "a", "a", "b"], freq="1D", tz="Asia/Shanghai")
    # Beijing days: 10-08 23:59 | 10-09 00:00, 00:30, 11:00
    assert [str(d.date()) for d in tl.counts.index] == ["2023-10-08", "2023-10-09"]
    assert tl.counts.loc[pd.Timestamp("2023-10-08"), "a"] == 1
    assert tl.counts.loc[pd.Timestamp("2023-10-09")].to_dict() == {"a": 2, "b": 1}
    assert tl.n_posts == 4 and tl.n_no_time == 1 and int(tl.counts.to_numpy().sum()) == 4
    utc = timeline(times, freq="1D", tz="UTC")
    assert utc.counts["posts"].tolist() == [3, 1]
    assert in_bin(times, "2023-10-09", "1D", "Asia/Shanghai").tolist() == [False, True, True, True, False]


def test_windows_keep_the_posts_in_range_and_drop_untimed_ones():
    times = pd.concat([_times("2023-01-01", "2023-01-02", "2023-01-03"),
                       pd.Series([pd.NaT], dtype="datetime64[ns, UTC]")], ignore_index=True)
    assert TimeWindow().mask(times).tolist() == [True] * 4
    w = TimeWindow.from_strings("2023-01-02T00:00:00Z", "")
    assert w.mask(times).tolist() == [False, True, True, False]
    assert TimeWindow.from_strings("2023-01-01", "2023-01-02").mask(times).tolist() == [True, True, False, False]
    with pytest.raises(ValueError, match="after it ends"):
        TimeWindow.from_strings("2023-01-03", "2023-01-01")
    assert w.to_dict() == {"start": "2023-01-02T00:00:00+00:00", "end": None}


def test_what_rose_counts_and_shares_by_hand():
    # before (00:00-06:00]: a a b b ; now (06:00-12:00]: a b b b c c
    times = _times("2023-01-01 01:00", "2023-01-01 02:00", "2023-01-01 03:00", "2023-01-01 04:00",
                   "2023-01-01 07:00", "2023-01-01 08:00", "2023-01-01 09:00", "2023-01-01 10:00",
                   "2023-01-01 11:00", "2023-01-01 12:00")
    groups = ["a", "a", "b", "b", "a", "b", "b", "b", "c", "c"]
    rose = what_rose(times, groups, window=pd.Timedelta(hours=6))
    assert rose["group"].tolist() == ["c", "b", "a"]
    c = rose.iloc[0]
    assert (c.n_now, c.n_before) == (2, 0)
    assert c.share_now == pytest.approx(2 / 6) and c.share_before == 0.0
    assert c.lift == pytest.approx((3 / 9) / (1 / 7))  # add-one smoothing over 3 groups
    a = rose.set_index("group").loc["a"]
    assert a.change == pytest.approx(1 / 6 - 2 / 4)
    assert rose.attrs["now"].start == pd.Timestamp("2023-01-01 06:00", tz="UTC")


def test_top_posts_by_score_then_newest():
    posts = pd.DataFrame({"post_id": ["p1", "p2", "p3"], "text": ["x", "y", "z"],
                          "time": _times("2023-01-01", "2023-01-02", "2023-01-03")})
    assert top_posts(posts, np.array([True, True, True]), {"p1": 0.9, "p2": 0.1}, n=2)["post_id"].tolist() == [
        "p1", "p2"]
    assert top_posts(posts, np.array([True, True, False]), None, n=5)["post_id"].tolist() == ["p2", "p1"]


def test_sandy_timeline_adds_up_to_the_posts_in_range(real_data):
    posts = read_posts(real_data / SANDY).posts
    window = TimeWindow.from_strings("2012-10-29T12:00:00Z", "2012-10-30T12:00:00Z")
    inside = posts[window.mask(posts["time"])]
    labels = np.where(inside["text"].str.contains("power|electric", case=False), "power", "other")
    tl = timeline(inside["time"], labels, tz="America/New_York")
    assert tl.bin == "15 minutes" and 20 <= len(tl.counts) <= 200
    assert int(tl.counts.to_numpy().sum()) == len(inside) == tl.n_posts
    assert 0 < len(inside) < len(posts)
    # each bin's posts are exactly the posts whose time falls in it
    first = tl.counts.index[0]
    assert in_bin(inside["time"], first, tl.freq, tl.tz).sum() == tl.counts.loc[first].sum()


def test_timeline_command_writes_counts_that_add_up(real_data, tmp_path, capsys):
    out = tmp_path / "timeline.csv"
    assert main(["timeline", str(real_data / SANDY), "--by", "hour", "--out", str(out)]) == 0
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[0].keys() >= {"bin_start", "group", "count"}
    assert sum(int(r["count"]) for r in rows) == len(read_posts(real_data / SANDY).posts)
    assert "hour" in capsys.readouterr().out


def test_timeline_command_with_a_query_and_a_range(tmp_path):
    out = tmp_path / "t.csv"
    sample = REPO / "sample_data" / "x_sample.csv"
    code = main(["timeline", str(sample), "--by", "day", "--query", "battery", "--embedded", "--top-k", "20",
                 "--start", "2024-01-01", "--out", str(out)])
    assert code == 0
    df = pd.read_csv(out, encoding="utf-8-sig")
    assert df["count"].sum() <= 20 and df["count"].sum() > 0
    assert (pd.to_datetime(df["bin_start"]) >= pd.Timestamp("2024-01-01")).all()
    assert "mean_score" in df.columns


def test_the_bin_width_reads_as_words():
    """A newcomer read "bins of one 5 minutes" under a chart."""
    assert timeline(_times("2024-05-01 08:00", "2024-05-01 18:00")).bin_width == "5 minutes"
    assert timeline(_times("2024-05-01", "2024-08-01")).bin_width == "one day"

