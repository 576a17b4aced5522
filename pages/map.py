"""Map page: the posts on a 2D map (hover shows the post), coloured by cluster
or by relevance for the current query; a box/lasso selection fills the table
below; keywords and sizes per cluster; cluster-then-rerank; method and
parameters adjustable."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import auth, charts, mapping, remember, rerank, resources, state
from dashboard.errors import error_boundary
from dashboard.state import MapParams, RerankParams
from dashboard.timecharts import cluster_volume, rose_section
from dashboard.timefilter import time_filter
from dashboard.widgets import counted, end_page, escape_markdown, posts_table, require_dataset, score_meaning

auth.require("map")
st.title("Map")
ds = require_dataset()

p = state.params(MapParams)
s = state.settings()
mask = mapping.mappable(ds.posts)
mask = mask & time_filter(ds.posts).mask(ds.posts["time"])  # the time range narrows the map's posts
posts = ds.posts.reset_index(drop=True) if mask.all() else ds.posts[mask].reset_index(drop=True)  # no copy of all
key = resources.posts_key(ds.dataset_hash, posts["post_id"].tolist())

c1, c2, c3, c4 = st.columns(4)
METHODS, COLOURS = ["hdbscan", "kmeans"], ["cluster", "relevance"]
p.method = c1.radio("Clustering", METHODS, **state.bind("map.method", p.method, index_of=METHODS),
                    format_func={"hdbscan": "HDBSCAN (finds the number)", "kmeans": "k-means"}.get)
if p.method == "kmeans":
    p.k = state.number(c2, "Clusters (k)", "map.k", p.k, min_value=2, max_value=200)
else:
    p.min_cluster_size = state.number(c2, "Minimum cluster size (0 = automatic)", "map.mcs", p.min_cluster_size,
                                      min_value=0, max_value=10_000)
p.assign_noise = c3.toggle("Noise to nearest cluster", **state.bind("map.noise", p.assign_noise),
                           help="Give each unclustered (noise) post the nearest cluster.")
p.color_by = c4.radio("Colour by", COLOURS, **state.bind("map.color", p.color_by, index_of=COLOURS),
                      format_func={"cluster": "cluster", "relevance": "relevance (last rerank)"}.get)

params_now = mapping.made_with(p, key)
done = state.work().clusters
stale = done is not None and done.made_with != params_now
label = "Cluster" if done is None else ("Cluster again with these settings" if stale else "Cluster again")
if st.button(label, type="primary" if (done is None or stale) else "secondary", icon=":material/hub:"):
    bar = st.progress(0.0)
    with error_boundary("clustering"):
        done = mapping.cluster(p, posts, mask, key, progress_bar=bar)
        mapping.forget_edits()  # the clusters as found again
        stale = False
    bar.empty()  # the map below shows the result

if done is not None and done.preview and not stale:
    offer = st.empty()
    if mapping.full_map_offer(done, len(posts), offer.container()):
        bar = st.progress(0.0)
        with error_boundary("drawing the full map"):
            done = mapping.cluster(p, posts, mask, key, progress_bar=bar, full=True)
            offer.empty()
        bar.empty()

if done is None:
    building = mapping.map_build()
    st.info(f"Press “Cluster” to embed the {len(posts):,} scorable posts with "
            f"{escape_markdown(s.embedder)} "
            "and place them on a map (embeddings are cached on disk)."
            + (" They are being embedded in the background: a preview of a random sample comes first, within "
               "about a minute, then the full map when every post is embedded."
               if building is not None and not building.complete else ""), icon=":material/info:")
    end_page()
if stale:
    st.caption("The map below was made with other settings; press the button to redo it.")
if done.rows is not None and (stale or len(done.rows) != len(posts)):
    # the map's own posts (a preview: its sample; a stale map: those of the time range it was made for)
    posts = (ds.posts.reset_index(drop=True) if len(done.rows) == len(ds.posts)  # the whole table: no copy
             else ds.posts.iloc[done.rows].reset_index(drop=True))

result = done.result
labels, names, kw = mapping.shown(done)  # with this session's renames and merges
coords = np.asarray(result.coords_2d_)
relevance = None
last = state.last_request()
if p.color_by == "relevance" and last is None:
    remembered = [r for r in remember.remembered_requests() if r not in state.rankings()]
    if remembered:
        # After a browser refresh the rankings are remembered, not in the session: recompute them.
        newest = remembered[-1]
        st.info(f"{len(remembered)} earlier ranking(s) of this dataset (before a reload, or before another "
                "dataset was opened) can be recomputed "
                f"(scores come from the cache) to colour by relevance, the newest for "
                f"“{escape_markdown(newest.query)}” ({escape_markdown(newest.mode)}).",
                icon=":material/history:")
        if st.button("Recompute the remembered rankings", key="map.recompute"):
            with error_boundary("recomputing earlier rankings"):
                rerank.recompute_remembered(progress_bar=st.progress(0.0))
                st.rerun()
    last = state.last_request()
if p.color_by == "relevance":
    if last is None:
        st.caption("No ranking in this session: colouring by cluster. Rerank a query to colour by its "
                   "relevance scores.")
    else:
        table = state.rankings()[last].table
        scores = dict(zip(table["post_id"].astype(str), table["score"], strict=False))
        relevance = np.array([scores.get(pid, np.nan) for pid in posts["post_id"].astype(str)], dtype=float)
        st.caption(f"Relevance for “{escape_markdown(last.query)}” ({escape_markdown(last.mode)}): "
                   f"{escape_markdown(score_meaning(getattr(state.rankings()[last], 'info', None)))}; "
                   "grey: not scored.")

fig = charts.map_figure(coords, posts, labels=labels, relevance=relevance, color_by=p.color_by,
                        names=names.names)
event = st.plotly_chart(fig, key="map.chart", on_select="rerun", selection_mode=("box", "lasso", "points"))
picked = charts.selected_post_ids(event, coords=coords, posts=posts)  # every post in a box/lasso
if len(posts) > charts.MAP_POINTS_MAX:
    st.caption(f"{len(posts):,} posts: the grey shading is the density of all of them, "
               f"{charts.MAP_POINTS_MAX:,} are drawn as points (each cluster keeps its share); "
               "a box or lasso lists every post inside it.")
how = (f"HDBSCAN, minimum cluster size {result.min_cluster_size_}" if result.method == "hdbscan"
       else f"k-means, k = {result.k_}" + (f" (you asked for {result.k}: there are only {result.k_} distinct "
                                             "posts to cluster)" if result.k and result.k_ and result.k_ < result.k
                                             else ""))
how += "".join(f" · {'largest cluster' if i == 0 else 'then the largest again'} ({sp.share:.0%} of clustered "
               f"posts) split into {sp.n_parts}" for i, sp in enumerate(result.splits_))
if result.reduction_ == "umap":
    reduced = (f"UMAP to {result.n_components} dimensions for clustering, map in 2D · "
               f"seed {result.random_state}")
    if done.preview:
        reduced += f" · a preview: {len(posts):,} posts drawn at random; the full map places the others"
    elif getattr(result, "fit_sample_", None):
        reduced += (f" · fitted on a sample of {result.fit_sample_:,} distinct posts, the others placed by "
                    "their nearest sample posts")
else:  # too few posts for UMAP: clustered on the embeddings themselves, mapped with PCA
    reduced = (f"only {counted(len(posts), 'post')}, too few for UMAP: clustered on the full embeddings, "
               "map by PCA (2D)")
ids, counts = np.unique(labels, return_counts=True)
sizes = dict(zip(ids.tolist(), counts.tolist(), strict=True))  # after this tab's merges
st.caption(f"{counted(sum(c >= 0 for c in sizes), 'cluster')}, {sizes.get(-1, 0):,} unclustered (noise) · {how} · "
           f"{reduced}")

if picked:
    sel = posts[posts["post_id"].astype(str).isin(picked)].copy()
    sel.insert(0, "cluster", labels[sel.index])
    st.markdown(f"**Selected posts** ({len(sel):,})")
    posts_table(sel, columns=["cluster", "text", "post_id", "author", "time", "likes"], height=320,
                key="map.selected")
else:
    st.caption("Draw a box or a lasso on the map (or click points) to list those posts here.")

st.subheader("Clusters")
rows = [{"cluster": c, "name": names.name(c), "size": n, "keywords": ", ".join(map(str, kw.get(c, [])))}
        for c, n in sorted(sizes.items(), key=lambda item: (item[0] == -1, -item[1]))]
st.dataframe(pd.DataFrame(rows), hide_index=True,
             column_config={"keywords": st.column_config.TextColumn("keywords (c-TF-IDF)", width="large")})
edits = mapping.edits_for(done)
edited = edits is not None and bool(edits.names or edits.merged)
with st.expander("Rename or merge clusters", expanded=edited):
    choices = [c for c, _ in sorted(sizes.items(), key=lambda item: -item[1]) if c >= 0]
    shown_as = {c: f"{c} · {names.name(c)}" for c in choices}.get  # a dict's .get: no page function kept
    with st.form("map.rename", border=False, clear_on_submit=True):
        r1, r2 = st.columns([1, 2])
        cluster = r1.selectbox("Cluster", choices, format_func=shown_as, key="map.rename.cluster")
        new_name = r2.text_input("New name", key="map.rename.name", max_chars=120)
        renamed = st.form_submit_button("Rename", icon=":material/edit:")
    if renamed:
        with error_boundary("renaming the cluster"):
            mapping.rename_cluster(done, cluster, new_name)
            st.rerun()
    with st.form("map.merge", border=False, clear_on_submit=True):
        m1, m2 = st.columns([2, 1])
        together = m1.multiselect("Clusters to merge (two or more)", choices, format_func=shown_as,
                                  key="map.merge.clusters")
        merged_name = m2.text_input("Name of the merged cluster (optional)", key="map.merge.name", max_chars=120)
        merge = st.form_submit_button("Merge", icon=":material/merge:",
                                      help="The clusters become one, with the smallest of their numbers; its "
                                           "keywords are counted again over all its posts.")
    if merge:
        with error_boundary("merging the clusters"):
            with st.spinner("Counting the keywords of the merged cluster…"):
                mapping.merge_into_one(done, together, merged_name, posts["text"])
            state.forget_widgets("map.merge.clusters")  # its options changed: start the next merge empty
            st.rerun()
    st.caption("Names and merges are this tab's view of this map: “Cluster again”, the full map after a "
               "preview, another tab or a reload start from the clusters as found.")
    if edited:
        st.button("Undo every rename and merge", key="map.edits.forget", on_click=mapping.forget_edits,
                  icon=":material/undo:")

st.subheader("Over time")
cluster_volume(posts, labels, names.names)
st.subheader("What rose")
rose_section(posts, labels, names.names, state.rankings()[last].to_run() if last in state.rankings() else None,
             last.query if last is not None else None)

st.subheader("Cluster, then rerank")
rp = state.params(RerankParams)
q = st.text_input("Query", **state.bind("map.query", rp.query))
p.top_n = state.number(st, "Best posts per cluster", "map.top_n", p.top_n, min_value=1, max_value=50)
if st.button("Rerank inside each cluster", disabled=not q.strip()):
    with error_boundary("reranking inside clusters"):
        mapping.rerank_within(q.strip(), posts, labels, top_n=p.top_n, names=names.names)
within = state.work().within
if within is not None and within.made_with != mapping.shown_version(done):
    # made on another clustering: its clusters are not the ones on the map any more
    state.work().within = within = None
    st.info("The clustering changed since the last “Rerank inside each cluster”: press it again for "
            "the clusters on the map now.", icon=":material/refresh:")
if within:
    st.caption(f"Clusters by mean relevance to “{escape_markdown(within.query)}”, with their best posts · "
               f"score: {escape_markdown(score_meaning(resources.scorer_for(s).info))}")
    rows = []
    for r in within.table.itertuples(index=False):
        best = zip(r.top_post_ids, r.top_scores, r.top_texts, strict=False)
        for i, (pid, score, text) in enumerate(best, 1):
            rows.append({"cluster": names.name(r.cluster), "size": r.size, "mean relevance": r.mean_relevance,
                         "#": i, "score": score, "text": text, "post_id": pid})
    posts_table(pd.DataFrame(rows),
                columns=["cluster", "size", "mean relevance", "#", "score", "text", "post_id"],
                height=420, key="map.within_table",
                column_config={"mean relevance": st.column_config.NumberColumn(format="%.3f"),
                               "score": st.column_config.NumberColumn(format="%.3f")})
