"""Breaker 25: defects found in the commits since 82cfb57 (map edits, streamed JSON objects)."""

from __future__ import annotations

import json

import pytest

from core.ingest import read_posts
from core.ingest.formats_json import find_records
from core.ingest.json_stream import byte_pieces, object_items, object_outline
from tests.test_dashboard import button, fakes, ok, sample, start  # noqa: F401 (fixtures)
from tests.test_map_edits import cluster_table, clustered, submit

# A crawler that appends a page to its output object by writing the key again: json.loads (and
# every JSON reader that keeps the last value) sees only the last "statuses".
_DUPLICATE = ('{"statuses": [{"id": 1, "text": "first page"}], "search_metadata": {"count": 1}, '
              '"statuses": [{"id": 2, "text": "second page"}]}')


@pytest.mark.parametrize("piece", [3, 1 << 20])
def test_a_duplicated_posts_key_streams_the_same_records_as_the_whole_document(piece):
    """An object whose list member appears twice: the whole-document parse (json.loads keeps
    the last value) gives only the second list, but object_items streams the elements of
    every member with that name, so the rows differ from find_records(json.loads(text))."""
    pieces = lambda: byte_pieces(_DUPLICATE.encode("utf-8"), "utf-8", size=piece)
    found = object_outline(pieces())
    streamed = [r for _, records in object_items(pieces(), *found) for r in records]
    assert streamed == find_records(json.loads(_DUPLICATE))


def test_a_duplicated_posts_key_gives_the_rows_it_gave_before_the_streaming():
    """Same, through read_posts: before acfd6b1 the file gave one post ("second page"); now it
    gives both pages' posts (a post json.loads never sees is imported)."""
    result = read_posts(_DUPLICATE.encode("utf-8"), filename="dup.json", file_time="2024-06-01")
    assert result.posts["text"].tolist() == ["second page"]


def test_renaming_a_cluster_renames_it_in_the_per_cluster_rerank_table_too(sample):
    """Rename after "Rerank inside each cluster": the chart, the Clusters table and What rose show
    the new name, but the per-cluster table keeps the old keyword name (its names were frozen when
    it was made, and shown_version ignores renames, so the table is neither redrawn nor dropped)."""
    at = clustered(4)
    at.text_input(key="map.query").set_value("台风").run()
    button(at, "Rerank inside each cluster").click().run()
    ok(at)
    before = cluster_table(at)
    big = max(before, key=lambda c: before[c][1])
    at.selectbox(key="map.rename.cluster").set_value(big)
    at.text_input(key="map.rename.name").set_value("Typhoon damage")
    submit(at, "Rename").click().run()
    ok(at)
    assert cluster_table(at)[big][0] == "Typhoon damage"
    within = next(d.value for d in at.dataframe if "mean relevance" in d.value.columns)
    shown = set(within["cluster"])
    assert before[big][0] not in shown, f"the per-cluster table still shows the old name {before[big][0]!r}"
    assert "Typhoon damage" in shown


def test_a_second_merge_does_not_silently_reuse_the_first_merges_name(sample):
    """Merge two clusters as "Rescue and relief", then merge two others without typing a name
    (the name is optional): the form kept the first name, so both merged clusters are called
    "Rescue and relief" (two identical names in the legend and the Clusters table, the problem
    7f6aa39 fixed for keyword names). The merge form is not cleared on submit (pages/map.py)."""
    at = clustered(6)
    ids = sorted(cluster_table(at))
    at.multiselect(key="map.merge.clusters").set_value(ids[0:2])
    at.text_input(key="map.merge.name").set_value("Rescue and relief")
    submit(at, "Merge").click().run()
    ok(at)
    at.multiselect(key="map.merge.clusters").set_value(ids[2:4])  # name left as the form shows it
    submit(at, "Merge").click().run()
    ok(at)
    names = [name for name, _, _ in cluster_table(at).values()]
    assert len(names) == len(set(names)), names
