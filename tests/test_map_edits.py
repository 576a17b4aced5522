"""Renaming and merging clusters on the Map page (a newcomer found four clusters named
"prayforboston · ..." and no way to rename or merge them). The map itself is shared by every
tab showing it, so the edits are this session's view of it: another tab sees the clusters as
found, "Cluster again" starts from them, and a per-cluster table made before a merge is dropped.

The models are the fakes of test_dashboard.
"""

from __future__ import annotations

import numpy as np
import pytest

from dashboard import state
from tests.test_dashboard import button, fakes, ok, sample, start  # noqa: F401 (fixtures)


def clustered(k: int = 4):
    at = start("map.py")
    at.radio(key="map.method").set_value("kmeans").run()
    at.number_input(key="map.k").set_value(k).run()
    button(at, "Cluster").click().run()
    ok(at)
    return at


def cluster_table(at) -> dict[int, tuple[str, int, str]]:
    """``{cluster: (name, size, keywords)}`` of the page's Clusters table."""
    table = next(d.value for d in at.dataframe if "keywords" in d.value.columns)
    return {int(r.cluster): (r.name, int(r.size), r.keywords) for r in table.itertuples(index=False)}


def submit(at, label: str):  # a form sends its widgets' values with the submit: set them, then this
    found = [b for b in at.get("form_submit_button") if b.proto.label == label]
    assert len(found) == 1, label
    return found[0]


def test_rename_then_merge_shows_everywhere_on_the_page_and_only_in_this_tab(sample):
    at = clustered()
    before = cluster_table(at)
    assert len(before) == 4
    big, second, third = sorted(before, key=lambda c: -before[c][1])[:3]
    # Rename
    at.selectbox(key="map.rename.cluster").set_value(big)
    at.text_input(key="map.rename.name").set_value("  Typhoon   damage ")
    submit(at, "Rename").click().run()
    ok(at)
    assert cluster_table(at)[big][0] == "Typhoon damage"
    # Merge two others under a new name: one cluster, the sizes add up, keywords counted again
    at.multiselect(key="map.merge.clusters").set_value([second, third])
    at.text_input(key="map.merge.name").set_value("Rescue and relief")
    submit(at, "Merge").click().run()
    ok(at)
    after = cluster_table(at)
    into, gone = min(second, third), max(second, third)
    assert gone not in after and len(after) == 3
    assert after[into][:2] == ("Rescue and relief", before[second][1] + before[third][1])
    assert after[big][0] == "Typhoon damage"
    assert at.multiselect(key="map.merge.clusters").value == []  # the next merge starts empty
    labels = state.work(at.session_state).clusters.result.labels_
    assert (labels == gone).any(), "the shared map itself is not changed"
    assert any(c.value.startswith("3 clusters") for c in at.caption)
    # Another tab showing the same map sees the clusters as found
    other = clustered()
    assert state.work(other.session_state).clusters is not None
    assert cluster_table(other) == before
    # Undo everything
    button(at, "Undo every rename and merge").click().run()
    ok(at)
    assert cluster_table(at) == before


@pytest.mark.parametrize("picked, message", [([], "at least two clusters"), ("one", "at least two clusters")])
def test_a_merge_of_fewer_than_two_clusters_says_so(sample, picked, message):
    at = clustered()
    before = cluster_table(at)
    if picked == "one":
        picked = [next(iter(before))]
    at.multiselect(key="map.merge.clusters").set_value(picked)
    submit(at, "Merge").click().run()
    assert not at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert cluster_table(at) == before


def test_a_blank_name_is_refused_and_nothing_changes(sample):
    at = clustered()
    before = cluster_table(at)
    at.text_input(key="map.rename.name").set_value("   ")
    submit(at, "Rename").click().run()
    assert not at.exception and any("empty" in e.value for e in at.error)
    assert cluster_table(at) == before


def test_a_merge_drops_the_per_cluster_table_made_before_it_and_cluster_again_starts_afresh(sample):
    at = clustered()
    at.text_input(key="map.query").set_value("台风").run()
    button(at, "Rerank inside each cluster").click().run()
    ok(at)
    assert state.work(at.session_state).within is not None
    before = cluster_table(at)
    two = sorted(before)[:2]
    at.multiselect(key="map.merge.clusters").set_value(two)
    submit(at, "Merge").click().run()
    ok(at)
    assert state.work(at.session_state).within is None
    assert any("clustering changed" in i.value for i in at.info)
    button(at, "Rerank inside each cluster").click().run()
    ok(at)
    table = state.work(at.session_state).within.table
    assert len(table) == len(before) - 1 and max(two) not in set(table["cluster"])
    button(at, "Cluster again").click().run()
    ok(at)
    assert cluster_table(at) == before and state.work(at.session_state).cluster_edits is None
    assert np.array_equal(np.unique(state.work(at.session_state).clusters.result.labels_), sorted(before))


def test_a_merge_without_a_name_keeps_a_name_typed_for_one_of_its_clusters(sample):
    """The breaker's note: rename cluster B to "Foo", merge A+B (A the smaller id) with no name:
    the merged cluster took A's keyword name and "Foo" was gone without a word."""
    at = clustered()
    before = cluster_table(at)
    a, b = sorted(before)[:2]
    at.selectbox(key="map.rename.cluster").set_value(b)
    at.text_input(key="map.rename.name").set_value("Foo")
    submit(at, "Rename").click().run()
    at.multiselect(key="map.merge.clusters").set_value([a, b])
    submit(at, "Merge").click().run()
    ok(at)
    assert cluster_table(at)[a][0] == "Foo"
