"""Dashboard tests with Streamlit's AppTest: every page runs, the whole analyst flow
(load, rerank in two modes, compare, cluster, grade, export) works on the bundled
sample, post text stays plain text, errors are readable, grades survive a refresh.

The models are replaced by fast fakes patched into ``dashboard.resources``:
``FakeScorer`` follows the :class:`core.rerank.base.RelevanceScorer` protocol (a
sigmoid of the character overlap of query and post, plus a term that depends on
the instruction so modes give different, reproducible orders); ``FakeEmbedder``
hashes character bigrams into 64 dimensions. Everything else is the real core.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.rerank.base import BaseScorer, ScoreResult, ScorerInfo
from dashboard import state

_TOKEN = re.compile(r"\w", re.UNICODE)


def _grams(text: str) -> set[str]:
    chars = [c.lower() for c in _TOKEN.findall(text or "")]
    return {a + b for a, b in zip(chars, chars[1:], strict=False)} | set(chars)


def _unit(seed: str) -> float:
    return int(hashlib.sha1(seed.encode("utf-8")).hexdigest()[:8], 16) / 0xFFFFFFFF


class FakeScorer(BaseScorer):
    """Instruction-aware fake reranker (kind ``"qwen3"`` unless told otherwise)."""

    def __init__(self, *, kind: str = "qwen3", follows_instructions: bool = True,
                 model_id: str = "fake/Qwen3-Reranker-test") -> None:
        self._info = ScorerInfo(model_id=model_id, revision=None, kind=kind, device="cpu", dtype="float32",
                                follows_instructions=follows_instructions)
        self.calls = 0

    @property
    def info(self) -> ScorerInfo:
        return self._info

    def predict(self, query, documents, *, instruction=None, progress=None,
                should_cancel=None) -> ScoreResult:
        self.calls += 1
        q = _grams(query)
        logits = np.empty(len(documents), dtype=np.float32)
        for i, doc in enumerate(documents):
            if not str(doc).strip():
                logits[i] = np.nan
                continue
            d = _grams(doc)
            overlap = len(q & d) / max(1, len(q))
            wiggle = _unit(f"{instruction}|{doc}") if self._info.follows_instructions else 0.0
            logits[i] = 6.0 * overlap - 3.0 + 2.0 * wiggle
        if progress is not None:
            progress(len(documents), len(documents))
        scores = (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)
        return ScoreResult(scores=scores, log_odds=logits, info=self._info)


class FakeEmbedder:
    """Hashed character-bigram embedder, 64 dimensions, L2-normalised rows."""

    model_id = "fake-embedder"
    dim = 64

    def __init__(self) -> None:
        self.tasks: list[str | None] = []  # the task of every call, in order

    def embed(self, texts, *, task=None, progress=None) -> np.ndarray:
        self.tasks.append(task)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for g in _grams(str(text)):
                out[i, int(hashlib.md5(g.encode("utf-8")).hexdigest()[:6], 16) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        if progress is not None:
            progress(len(texts), len(texts))
        return out


# --------------------------------------------------------------------------- fixtures

REPO = Path(__file__).resolve().parent.parent
APP = str(REPO / "dashboard" / "app.py")
PAGES = ["data.py", "rerank.py", "compare.py", "map.py", "grade.py", "evaluate.py", "settings.py",
         "queue.py", "assign.py", "review.py"]
SAMPLE = REPO / "sample_data" / "weibo_sample.csv"
#: Posts that must show as typed: HTML, a javascript: link, Markdown and an emoji code.
NASTY = "<script>alert('x')</script> **bold** [click](javascript:alert(1)) # heading :smile: $x$ 台风"


@pytest.fixture
def fakes(monkeypatch):
    """Fake scorer and embedder patched into the dashboard's resource loaders; caches cleared."""
    import streamlit as st

    from dashboard import resources

    st.cache_data.clear()
    st.cache_resource.clear()
    scorer, embedder = FakeScorer(), FakeEmbedder()
    monkeypatch.setattr(resources, "get_scorer", lambda name, device, dtype, cache_dir: scorer)
    monkeypatch.setattr(resources, "get_embedder", lambda name, device, dtype: embedder)
    yield scorer
    st.cache_data.clear()
    st.cache_resource.clear()
    with resources._dense_lock:  # background builds made with this test's fakes and data folder
        while resources._dense:
            resources._dense.popitem()[1].cancel()


@pytest.fixture
def sample(fakes):
    """The bundled Weibo sample (committed; ``python sample_data/make_samples.py`` rewrites it)."""
    assert SAMPLE.is_file(), f"the bundled sample {SAMPLE} is missing"
    return SAMPLE


def start(page: str | None = None) -> AppTest:
    # Generous: on a fresh clone the first script runs compile UMAP's and ranx's numba
    # kernels, which takes minutes on 2 busy cores (later runs take seconds).
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    if page:
        at.switch_page(f"../pages/{page}").run()
    return at


def ok(at: AppTest) -> None:
    """No uncaught exception and no error message on the page."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def progress_texts(at: AppTest) -> str:
    """The texts of every progress bar on the page, joined."""
    return " | ".join(el.proto.text for el in at.get("progress"))


def button(at: AppTest, label: str):
    found = [b for b in at.button if b.label == label]
    assert found, f"no button {label!r}; buttons: {[b.label for b in at.button]}"
    return found[0]


def grade_button(at: AppTest, grade: int):
    """The Grade page's button for ``grade`` (its key names the post on screen)."""
    found = [b for b in at.button if (b.key or "").startswith("grade.btn.") and b.key.endswith(f".{grade}")]
    assert len(found) == 1, [b.key for b in at.button]
    return found[0]


def on_screen(at: AppTest) -> tuple[str, str]:
    """(query, post ID) of the card on the Grade page."""
    return at.session_state["sieve.params.GradeParams"].card


def load_path(at: AppTest, path) -> AppTest:
    """Load the file at ``path`` on the Data page's "A file on this machine" (its folder must be
    allowed: ``SIEVE_DATA_ROOTS``)."""
    at.segmented_control(key="data.source").set_value("path").run()
    at.text_input(key="data.path").set_value(str(path)).run()
    button(at, "Load this file").click().run()
    return at


def rerank(at: AppTest, query: str, mode: str) -> AppTest:
    at.switch_page("../pages/rerank.py").run()
    at.text_input(key="rerank.query").set_value(query).run()
    at.selectbox(key="rerank.mode").set_value(mode).run()
    button(at, "Rerank").click().run()
    ok(at)
    return at


# --------------------------------------------------------------------------- every page


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_without_exception(sample, page):
    at = start(page)
    ok(at)
    assert at.title, "the page shows its title"


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_with_results_present(sample, page):
    """After a rerank in two modes, every page renders its results without error."""
    at = start()
    rerank(at, "台风", "relevance")
    rerank(at, "台风", "accuracy")
    at.switch_page(f"../pages/{page}").run()
    ok(at)


# --------------------------------------------------------------------------- the whole flow


def test_full_flow_load_rerank_compare_cluster_grade_export(sample):
    at = start()
    ok(at)
    assert state.dataset(at.session_state) is not None, "the bundled sample loads by itself"
    ds = state.dataset(at.session_state)
    n_posts = len(ds.posts)
    assert n_posts > 10

    rerank(at, "台风", "relevance")
    rerank(at, "台风", "accuracy")
    rankings = state.work(at.session_state).rankings
    assert {r.mode for r in rankings} == {"relevance", "accuracy"}
    table = at.dataframe[0].value
    assert {"rank", "score", "log_odds", "first_stage_rank", "moved", "text"} <= set(table.columns)
    assert table["rank"].tolist() == list(range(1, len(table) + 1))

    at.switch_page("../pages/compare.py").run()
    assert at.text_input(key="compare.query").value == "台风", "the query carries over from Rerank"
    button(at, "Compare").click().run()
    ok(at)
    assert state.work(at.session_state).comparison.modes == ("relevance", "accuracy")
    assert len(at.get("plotly_chart")) == 1, "the slope chart is drawn"

    at.switch_page("../pages/map.py").run()
    button(at, "Cluster").click().run()
    ok(at)
    assert [c.key for c in at.get("plotly_chart")][:1] == ["map.chart"], "the map is drawn"

    at.switch_page("../pages/grade.py").run()
    ok(at)
    given = {}
    for grade in (4, 2, 5):
        _, pid = on_screen(at)
        grade_button(at, grade).click().run()
        ok(at)
        given[pid] = grade
    assert len(given) == 3, "each grade moves the queue to the next post"
    assert f"3 of {len(at.dataframe[0].value)} graded" in progress_texts(at), "the page counts the grades"

    at.switch_page("../pages/evaluate.py").run()
    ok(at)
    files = state.work(at.session_state).exports
    assert {"qrels.txt", "judgements.csv", "judgements.jsonl", "sieve-bundle.zip"} <= set(files)
    assert {"run-relevance.txt", "run-accuracy.txt"} <= set(files)
    with zipfile.ZipFile(io.BytesIO(files["sieve-bundle.zip"])) as zf:
        csv_name = next(n for n in zf.namelist() if n.endswith("judgements.csv"))
        exported = pd.read_csv(zf.open(csv_name), encoding="utf-8-sig", dtype={"post_id": str})
    assert dict(zip(exported["post_id"], exported["grade"].astype(int), strict=True)) == given
    assert set(exported["query"]) == {"台风"}
    run_lines = files["run-accuracy.txt"].decode("utf-8").splitlines()
    assert run_lines and all(line.split()[1] == "Q0" and line.split()[5] == "accuracy" for line in run_lines)
    assert files["qrels.txt"].decode("utf-8").count("\n") == 3  # one line per graded post
    labels = [b.label for b in at.get("download_button")]
    assert any("bundle" in lab for lab in labels) and len(labels) >= 6

    button(at, "Evaluate").click().run()
    assert not at.exception
    # Three grades on one query may or may not include a relevant post (grade >= 4 counts):
    # either the metrics table or a readable message, never a traceback.
    assert state.work(at.session_state).evaluation is not None or at.error


def test_grades_and_dataset_survive_a_browser_refresh(sample):
    at = start()
    rerank(at, "台风", "relevance")
    at.switch_page("../pages/grade.py").run()
    _, pid = on_screen(at)
    grade_button(at, 3).click().run()
    dataset_hash = state.dataset(at.session_state).dataset_hash

    fresh = start()  # a new browser session: nothing in session state
    ok(fresh)
    assert state.dataset(fresh.session_state).dataset_hash == dataset_hash
    fresh.switch_page("../pages/grade.py").run()
    button(fresh, "Recompute the rankings from before the page was reloaded").click().run()
    ok(fresh)
    queue = fresh.dataframe[0].value
    assert queue.set_index("post_id").loc[pid, "grade"] == 3, "the grade comes back from the label store"
    assert "1 of" in progress_texts(fresh)


# --------------------------------------------------------------------------- post text is plain text


def _markdown_sources(at: AppTest) -> list[str]:
    out = []
    kinds = ("markdown", "caption", "title", "header", "subheader", "error", "warning", "info", "success")
    for kind in kinds:
        out += [str(el.value) for el in at.get(kind)]
    return out


def test_post_text_is_never_rendered_as_markdown_or_html(fakes, tmp_path):
    csv = "id,text\n" + "\n".join(
        f'p{i},"{NASTY.replace(chr(34), chr(34) * 2)} {i}"' for i in range(12)) + "\n"
    at = start()
    at.segmented_control(key="data.source").set_value("upload").run()
    at.file_uploader(key="data.upload").upload("nasty.csv", csv.encode("utf-8"), "text/csv").run()
    ok(at)
    assert state.dataset(at.session_state).name == "nasty.csv"
    rerank(at, "台风", "relevance")
    at.switch_page("../pages/grade.py").run()
    ok(at)
    assert any(NASTY in str(t.value) for t in at.text), "the post is shown verbatim with st.text"
    for page in PAGES:
        at.switch_page(f"../pages/{page}").run()
        for src in _markdown_sources(at):
            assert "<script" not in src and "](javascript" not in src and "**bold**" not in src, src


def test_escape_markdown_neutralises_markup():
    from dashboard.widgets import escape_markdown

    out = escape_markdown(NASTY)
    assert "<" not in out and "**" not in out and "](" not in out and ":smile:" not in out
    assert out.count("\\*") == 4 and "&lt;script" in out
    assert escape_markdown("a\nb") == "a  \nb"
    assert escape_markdown(None) == ""


def test_hover_text_escapes_html_and_wraps_cjk():
    from dashboard.widgets import hover_text

    out = hover_text("<b>x</b> " + "台" * 120, width=50)
    assert out.startswith("&lt;b&gt;x&lt;/b&gt;")
    assert out.count("<br>") >= 2 and "<b>" not in out


# --------------------------------------------------------------------------- error boundary


def _boundary_app():
    import streamlit as st

    from core.errors import ColumnError
    from dashboard.errors import error_boundary

    with error_boundary("reading the file"):
        raise ColumnError("The column 'text' of posts.csv is empty.", hint="Pick the text column.")
    with error_boundary("reranking"):
        raise KeyError("boom")
    with error_boundary("stopping"):
        st.stop()
    st.write("not reached")


def test_error_boundary_shows_readable_messages_not_tracebacks():
    at = AppTest.from_function(_boundary_app)
    at.run()
    assert not at.exception
    assert "The column 'text' of posts.csv is empty." in at.error[0].value.replace("\\", "")
    assert "Pick the text column." in at.info[0].value.replace("\\", "")
    assert "reranking" in at.error[1].value and "KeyError" in at.error[1].value
    assert "Traceback" not in at.error[1].value
    assert at.expander[0].label == "Details for a bug report"
    assert "Traceback" in at.expander[0].code[0].value
    assert not [m for m in at.markdown if "not reached" in m.value], "st.stop passes through the boundary"


def test_a_core_error_on_a_page_is_shown_and_the_app_keeps_working(sample, tmp_path):
    at = start()
    load_path(at, tmp_path / "missing.csv")
    assert not at.exception
    assert at.error and "missing.csv" in at.error[0].value.replace("\\", "")
    assert state.dataset(at.session_state).path.endswith("weibo_sample.csv"), "the sample stays loaded"


# --------------------------------------------------------------------------- sidebar badge, settings


def test_embedded_fallback_shows_a_warning_badge(sample, monkeypatch):
    from dashboard import resources

    embedded = FakeScorer(kind="embedded", follows_instructions=False, model_id="embedded:usem3+bm25")
    monkeypatch.setattr(resources, "get_scorer", lambda name, device, dtype, cache_dir: embedded)
    at = start("rerank.py")
    ok(at)
    sidebar = " ".join(str(m.value) for m in at.sidebar.markdown)
    assert "Embedded fallback" in sidebar
    assert any("cannot read the instruction" in w.value and "mode_score" in w.value for w in at.warning)


def _score_help(at: AppTest) -> str:
    import json

    cols = json.loads(at.dataframe[0].proto.columns or "{}")
    return str(next((v.get("help") for k, v in cols.items() if "score" in k and isinstance(v, dict)), ""))


@pytest.mark.parametrize("kind", ["embedded", "qwen3"])
def test_an_embedded_score_is_never_called_p_yes(sample, monkeypatch, kind):
    from dashboard import resources

    scorer = FakeScorer(kind=kind, follows_instructions=kind != "embedded")
    monkeypatch.setattr(resources, "get_scorer", lambda name, device, dtype, cache_dir: scorer)
    at = rerank(start(), "台风", "relevance")
    shown = " ".join(_markdown_sources(at)) + " " + _score_help(at)
    if kind == "embedded":
        assert "P(yes)" not in shown.replace("\\", "")
        assert "not a probability" in _score_help(at) and "not a probability" in shown
    else:
        assert "P(yes)" in _score_help(at)


def test_qwen3_in_use_shows_the_model_not_the_warning(sample):
    at = start()
    sidebar = " ".join(str(m.value) for m in at.sidebar.markdown)
    assert "fake/Qwen3-Reranker-test" in sidebar.replace("\\", "")
    assert "Embedded fallback" not in sidebar


def test_upload_limit_is_stated_next_to_the_uploader(sample):
    at = start()
    at.segmented_control(key="data.source").set_value("upload").run()
    assert any("200 MB" in c.value for c in at.caption)


def test_settings_apply_and_persist(sample):
    at = start("settings.py")
    at.text_input[-1].set_value("alice")  # annotator
    button(at, "Apply").click().run()
    ok(at)
    assert at.session_state["sieve.params.AppSettings"].annotator == "alice"
    fresh = start()
    assert fresh.session_state["sieve.params.AppSettings"].annotator == "alice"


def test_settings_with_a_model_that_cannot_load_are_not_applied(sample, monkeypatch):
    """Finding: a bogus folder showed "Settings applied" next to the error, with CLI advice."""
    from core.errors import ModelUnavailableError
    from dashboard import resources

    good = resources.get_scorer

    def get_scorer(name, device, dtype, cache_dir):
        if name.startswith("/"):
            raise ModelUnavailableError(
                f"The reranker model {name!r} is neither an existing folder nor a model id such as "
                "'Qwen/Qwen3-Reranker-0.6B'. Check the path given with --model or SIEVE_RERANKER.")
        return good(name, device, dtype, cache_dir)

    monkeypatch.setattr(resources, "get_scorer", get_scorer)
    at = start("settings.py")
    before = at.session_state["sieve.params.AppSettings"].reranker
    at.selectbox(key="settings.reranker").set_value("__other__")
    at.text_input(key="settings.other").set_value("/no/such/folder")
    at.text_input(key="settings.annotator").set_value("bob")
    button(at, "Apply").click().run()
    assert not at.exception
    assert not at.success, "no success message when the model cannot load"
    errors = " ".join(e.value for e in at.error)
    assert "neither an existing folder" in errors and "--model" not in errors and "Settings page" in errors
    assert any("NOT applied" in w.value for w in at.warning)
    s = at.session_state["sieve.params.AppSettings"]
    assert s.reranker == before and s.annotator != "bob"
    # what was typed is kept in the form, and a good choice applies
    assert at.text_input(key="settings.other").value == "/no/such/folder"
    at.selectbox(key="settings.reranker").set_value("embedded")
    button(at, "Apply").click().run()
    ok(at)
    assert at.success and at.session_state["sieve.params.AppSettings"].reranker == "embedded"
    assert at.session_state["sieve.params.AppSettings"].annotator == "bob"


# --------------------------------------------------------------------------- helpers


class _R:
    """The part of a Ranking that the queue reads."""

    def __init__(self, ids):
        n = len(ids)
        self.table = pd.DataFrame({"post_id": ids, "rank": range(1, n + 1), "score": np.linspace(0.9, 0.1, n),
                                   "first_stage_rank": range(1, n + 1), "text": [f"t{i}" for i in ids]})


def test_grading_queue_puts_disagreement_first_then_rank():
    from core.labels.pool import grading_queue

    # a: ranks a1 b2 c3 d4; b: ranks c1 b2 a3 (d absent -> 4)
    q = grading_queue({"a": _R(["a", "b", "c", "d"]), "b": _R(["c", "b", "a"])})
    # spreads: a |1-3|=2, b 0, c |3-1|=2, d only in one mode: 0
    # -> a (best 1), c (best 1), b (best 2), d (best 4)
    assert q["post_id"].tolist() == ["a", "c", "b", "d"]
    assert q["disagreement"].tolist() == [2, 2, 0, 0]
    assert q["rank:b"].isna().tolist() == [False, False, False, True]


def test_grading_queue_with_one_mode_is_the_ranking():
    from core.labels.pool import grading_queue

    assert grading_queue({"a": _R(["x", "y", "z"])})["post_id"].tolist() == ["x", "y", "z"]


def test_grading_queue_pools_every_modes_top_k_first():
    """TREC-style pooling: the union of each mode's top k first (disagreement order inside),
    even when posts further down disagree more; then the rest."""
    from core.evaluate.names import evaluation_depth
    from core.labels.pool import grading_queue

    modes = {"a": _R(["a", "b", "c", "d", "e", "f"]), "b": _R(["a", "b", "c", "f", "e", "d"])}
    q = grading_queue(modes, pool_depth=2)
    assert q["post_id"].tolist() == ["a", "b", "d", "f", "c", "e"]
    assert q["pooled"].tolist() == [True, True, False, False, False, False]
    # without the pool depth cutting them off, d and f (disagreement 2) come first
    assert grading_queue(modes, pool_depth=10)["post_id"].tolist()[:2] == ["d", "f"]
    assert evaluation_depth(["ndcg@5", "ndcg@10", "precision@5", "mrr"]) == 10
    assert evaluation_depth(["ndcg@20", "map"]) == 20
    assert evaluation_depth(["mrr"]) == 10


def _key_events(at: AppTest, *events: tuple[str, str, int | None]) -> AppTest:
    """Send the key listener's log (event id, post id, grade) as the browser would, and rerun."""
    from dashboard.widgets import post_token

    query = on_screen(at)[0]
    log = [{"id": eid, "token": post_token(query, pid), "grade": g} for eid, pid, g in events]
    at.session_state["grade.keys"] = {"events": log}
    return at.run()


def test_key_grades_land_on_the_post_on_screen_even_when_stale_or_repeated(sample):
    """Finding: fast keys graded the wrong post and dropped one. Each key event names the
    post that was on screen; a late event for an earlier post grades that post, a repeated
    (stale) send of the same events grades nothing twice, an unknown post is an error."""
    from dashboard import resources

    at = rerank(start(), "台风", "relevance")
    rerank(at, "台风", "accuracy")
    at.switch_page("../pages/grade.py").run()
    ok(at)
    first = on_screen(at)[1]
    # "3" pressed on the first post; the page moved on before "4" was processed
    _key_events(at, ("k-1", first, 3))
    ok(at)
    second = on_screen(at)[1]
    assert second != first
    # the browser sends the whole log again (a stale/duplicate send), plus "4" on the second
    # post and "5" pressed while the *first* post was still on screen (a late event)
    _key_events(at, ("k-1", first, 3), ("k-2", second, 4), ("k-3", first, 5))
    ok(at)
    store = resources.label_store_for(at.session_state["sieve.params.AppSettings"])
    ds = state.dataset(at.session_state)
    grades = store.grades(ds.dataset_hash, "台风")
    got = dict(zip(grades["post_id"].astype(str), grades["grade"], strict=False))
    assert got == {first: 5, second: 4}, "each grade on the post it was pressed for, none elsewhere"
    assert "2 of" in progress_texts(at)
    third = on_screen(at)[1]
    assert third not in (first, second), "the queue moved past both graded posts"
    # the same log once more: nothing changes (applied once per event id)
    _key_events(at, ("k-1", first, 3), ("k-2", second, 4), ("k-3", first, 5))
    again = store.grades(ds.dataset_hash, "台风")
    assert dict(zip(again["post_id"].astype(str), again["grade"], strict=False)) == got
    assert on_screen(at)[1] == third
    # a skip by key is recorded as a skip, and shows as "skipped" in the queue (not "open")
    _key_events(at, ("k-4", third, None))
    queue = at.dataframe[0].value.set_index("post_id")
    assert queue.loc[third, "status"] == "skipped" and queue.loc[first, "status"] == "graded"
    assert (queue["status"] == "open").sum() == len(queue) - 3
    # an event naming no post of this session is reported, not dropped silently
    at.session_state["grade.keys"] = {"events": [{"id": "k-9", "token": "0" * 16, "grade": 2}]}
    at.run()
    assert any("could not be matched" in e.value for e in at.error)


def test_a_very_long_post_is_cut_on_the_grade_page(fakes):
    long = "长文" * 5000
    csv = "id,text\n" + f"p0,{long}\n" + "".join(f"p{i},台风 post {i}\n" for i in range(1, 20))
    at = start()
    at.segmented_control(key="data.source").set_value("upload").run()
    at.file_uploader(key="data.upload").upload("long.csv", csv.encode("utf-8"), "text/csv").run()
    ok(at)
    rerank(at, "长文", "relevance")
    at.switch_page("../pages/grade.py").run()
    ok(at)
    assert on_screen(at)[1] == "p0"
    shown = [str(t.value) for t in at.text]
    assert not any(long in t for t in shown) and any(long[:2000] in t for t in shown)
    assert any("Showing the first 2,000 of 10,000 characters" in c.value for c in at.caption)
    toggle = next(t for t in at.toggle if t.label.startswith("Show the whole post"))
    toggle.set_value(True).run()
    assert any(long in str(t.value) for t in at.text)


def test_selected_post_ids_reads_customdata_of_every_trace():
    from dashboard.charts import selected_post_ids

    event = {"selection": {"points": [{"customdata": ["p7"], "point_index": 0, "curve_number": 1},
                                      {"customdata": ["p2"], "point_index": 0, "curve_number": 0},
                                      {"customdata": ["p7"], "point_index": 0, "curve_number": 1}]}}
    assert selected_post_ids(event) == ["p7", "p2"]
    assert selected_post_ids(None) == []


def test_map_figure_carries_post_ids_and_escaped_hover():
    import numpy as np

    from dashboard.charts import map_figure

    posts = pd.DataFrame({"post_id": ["a", "b", "c"], "text": ["<b>x</b>", "y", "z"]})
    fig = map_figure(np.zeros((3, 2)), posts, labels=np.array([0, -1, 0]))
    ids = sorted(str(cd[0]) for tr in fig.data for cd in tr.customdata)
    assert ids == ["a", "b", "c"]
    assert all("<b>x" not in str(t) for tr in fig.data for t in tr.text)
    assert [tr.name for tr in fig.data] == ["unclustered", "0: cluster 0"]  # drawn under the clusters
    assert {tr.hovertemplate for tr in fig.data} == {"%{text}<extra></extra>"}, "no post text in a template"


def test_slope_chart_draws_one_line_per_top_post_with_ranks_per_mode():
    from dashboard.charts import slope_chart

    fig = slope_chart({"a": _R(["p", "q", "r"]), "b": _R(["r", "p"])}, k=2)
    lines = {tr.name: list(tr.y) for tr in fig.data}
    # union of the top 2 of each mode: p, q (a) and r, p (b); q is absent from b
    assert lines == {"p": [1.0, 2.0], "q": [2.0, None], "r": [3.0, 1.0]}
    assert all(tr.hovertemplate == "%{x}: rank %{y}<br>%{text}<extra></extra>" for tr in fig.data)


# --------------------------------------------------------------------------- page behaviour


def test_edited_instruction_is_used_and_named_in_the_run(sample):
    at = start("rerank.py")
    at.text_input(key="rerank.query").set_value("台风").run()
    at.text_area(key="rerank.instruction.relevance").set_value("Retrieve posts that report damage").run()
    button(at, "Rerank").click().run()
    ok(at)
    (req, ranking), = state.work(at.session_state).rankings.items()
    assert ranking.instruction == "Retrieve posts that report damage"
    assert req.instruction == "Retrieve posts that report damage"
    from dashboard.rerank import run_name

    assert run_name(req).startswith("relevance-edited-")


def test_rerank_filters_narrow_the_table(sample):
    at = rerank(start(), "台风", "relevance")
    full = at.dataframe[0].value
    word = str(full["text"].iloc[0])[:2]
    at.text_input(key="rerank.text_filter").set_value(word).run()
    shown = at.dataframe[0].value
    assert 0 < len(shown) <= len(full)
    assert shown["text"].str.contains(word, regex=False).all()
    at.slider(key="rerank.min_score").set_value(0.95).run()
    assert (at.dataframe[0].value["score"] >= 0.95).all()


def test_column_mapping_override_and_duplicate_collapse(fakes):
    csv = ("id,headline,body\n"
           "1,short one,the first body text about typhoons\n"
           "2,short two,the second body text about floods\n"
           "3,short two,the second body text about floods\n")
    at = start()
    at.segmented_control(key="data.source").set_value("upload").run()
    at.file_uploader(key="data.upload").upload("two_text_columns.csv", csv.encode(), "text/csv").run()
    ok(at)
    at.selectbox(key="data.col.text").set_value("headline").run()
    ok(at)
    ds = state.dataset(at.session_state)  # duplicates are collapsed by default, with their counts
    assert ds.posts["text"].tolist() == ["short one", "short two"]
    assert ds.posts["dup_count"].tolist() == [1, 2]
    assert ds.columns == {"text": "headline"}
    assert "dup_count" in at.dataframe[-1].value.columns  # the preview shows it (titled "copies")
    at.toggle(key="data.collapse").set_value(False).run()  # the one switch turns it off
    ok(at)
    ds = state.dataset(at.session_state)
    assert ds.posts["text"].tolist() == ["short one", "short two", "short two"]
    assert ds.columns == {"text": "headline"}
    at.toggle(key="data.collapse").set_value(True).run()
    ok(at)
    assert len(state.dataset(at.session_state).posts) == 2


def test_a_file_without_a_known_text_column_offers_its_own_columns_and_loads(sample):
    """Finding: the mapping offered the previous dataset's columns, never the failed file's."""
    at = start()
    before = state.dataset(at.session_state)
    at.segmented_control(key="data.source").set_value("upload").run()
    at.file_uploader(key="data.upload").upload("short.csv", b"id,blurb\n1,ok\n2,yes sure\n3,fine then\n",
                                               "text/csv").run()
    assert not at.exception
    assert any("no usable text column" in e.value for e in at.error)
    assert any("Column mapping" in i.value for i in at.info), "the hint names the real control"
    assert state.dataset(at.session_state) is before
    assert any("is still loaded" in w.value and "previous dataset" in w.value for w in at.warning)
    options = at.selectbox(key="data.col.text").options
    assert "blurb" in options and "id" in options
    assert not set(before.report.get("source_columns") or []) - {"id", "blurb"} & set(options)
    at.selectbox(key="data.col.text").set_value("blurb").run()
    ok(at)
    ds = state.dataset(at.session_state)
    assert ds.name == "short.csv" and ds.posts["text"].tolist() == ["ok", "yes sure", "fine then"]
    assert not any("still loaded" in w.value for w in at.warning)


def test_cluster_then_rerank_lists_posts_per_cluster(sample):
    at = start("map.py")
    at.radio(key="map.method").set_value("kmeans").run()
    at.number_input(key="map.k").set_value(3).run()
    button(at, "Cluster").click().run()
    ok(at)
    assert state.work(at.session_state).clusters.result.n_clusters_ == 3
    at.text_input(key="map.query").set_value("台风").run()
    button(at, "Rerank inside each cluster").click().run()
    ok(at)
    table = at.dataframe[-1].value
    assert {"cluster", "score", "text", "post_id"} <= set(table.columns)
    assert table.groupby("cluster").size().max() <= 3
    # Re-clustering (another k) makes that table stale: it is cleared, with a note, not kept.
    n_tables = len(at.dataframe)
    at.number_input(key="map.k").set_value(4).run()
    assert len(at.dataframe) == n_tables, "still the same clustering: the table stays"
    button(at, "Cluster again with these settings").click().run()
    ok(at)
    assert state.work(at.session_state).clusters.result.n_clusters_ == 4
    assert state.work(at.session_state).within is None
    assert len(at.dataframe) == n_tables - 1
    assert any("clustering changed" in i.value for i in at.info)


def test_map_after_a_refresh_offers_to_recompute_the_remembered_rankings(sample):
    at = rerank(start(), "台风", "relevance")
    fresh = start("map.py")  # a new browser session
    fresh.radio(key="map.color").set_value("relevance").run()
    button(fresh, "Cluster").click().run()
    ok(fresh)
    assert any("can be recomputed" in i.value for i in fresh.info)
    button(fresh, "Recompute the remembered rankings").click().run()
    ok(fresh)
    assert any("Relevance for" in c.value for c in fresh.caption)
    assert not any("can be recomputed" in i.value for i in fresh.info)
    del at


def test_the_map_embeds_posts_with_the_clustering_task(sample):
    """Instruction-aware embedders (Qwen3-Embedding) get the clustering instruction on the
    Map page, and no instruction for posts as retrieval documents."""
    from core.embed import CLUSTER_TASK
    from dashboard import resources

    embedder = resources.get_embedder("any", "", "")  # the fake patched in by the fixture
    at = rerank(start(), "台风", "novelty")  # novelty diversifies: it needs post embeddings
    assert embedder.tasks and CLUSTER_TASK not in embedder.tasks
    at.switch_page("../pages/map.py").run()
    button(at, "Cluster").click().run()
    ok(at)
    assert embedder.tasks[-1] == CLUSTER_TASK


def test_map_caption_for_few_posts_says_no_umap(fakes):
    csv = "id,text\n" + "".join(f"p{i},台风 post number {i} about floods {i % 3}\n" for i in range(12))
    at = start()
    at.segmented_control(key="data.source").set_value("upload").run()
    at.file_uploader(key="data.upload").upload("few.csv", csv.encode("utf-8"), "text/csv").run()
    at.switch_page("../pages/map.py").run()
    button(at, "Cluster").click().run()
    ok(at)
    captions = " ".join(c.value for c in at.caption)
    assert "too few for UMAP" in captions and "none+pca" not in captions


def test_a_failed_grade_write_is_shown_not_lost_silently(sample, monkeypatch):
    from core.labels.store import LabelStoreError
    from dashboard import grading

    at = rerank(start(), "台风", "relevance")
    at.switch_page("../pages/grade.py").run()

    def locked(*args, **kwargs):
        raise LabelStoreError("The label store labels.sqlite stayed locked for 30 s. "
                              "Close the other program.")

    monkeypatch.setattr(grading, "save", locked)
    grade_button(at, 2).click().run()
    assert not at.exception
    assert any("stayed locked" in e.value for e in at.error)
    assert "0 of" in progress_texts(at)


def test_unavailable_model_gives_a_message_on_every_page_not_a_crash(sample, monkeypatch):
    from core.errors import ModelUnavailableError
    from dashboard import resources

    def unavailable(name, device, dtype, cache_dir):
        raise ModelUnavailableError("The weights of Qwen/Qwen3-Reranker-4B are not in the Hugging Face cache "
                                    "and the hub cannot be reached.", hint="Give a local folder in Settings.")

    monkeypatch.setattr(resources, "get_scorer", unavailable)
    at = start()
    for page in PAGES:
        at.switch_page(f"../pages/{page}").run()
        assert not at.exception, page
        assert any("Qwen3-Reranker-4B" in e.value.replace("\\", "") for e in at.sidebar.error), page
    at.switch_page("../pages/rerank.py").run()
    at.text_input(key="rerank.query").set_value("台风").run()
    button(at, "Rerank").click().run()
    assert not at.exception
    assert any("Qwen3-Reranker-4B" in e.value.replace("\\", "") for e in at.main.error)
    assert not state.work(at.session_state).rankings


def test_switching_to_the_x_sample_loads_it(sample):
    at = start()
    at.selectbox(key="data.sample").set_value("x_sample.csv").run()
    ok(at)
    ds = state.dataset(at.session_state)
    assert ds.path.endswith("x_sample.csv") and len(ds.posts) > 10
    # duplicates are collapsed by default: each kept post counts its copies, and every post is accounted for
    assert len(ds.posts) == ds.report["n_posts"] - ds.report["duplicates"]
    assert ds.posts["dup_count"].sum() == ds.report["n_posts"]


def test_an_edited_instruction_can_be_saved_as_a_mode(sample):
    at = start("rerank.py")
    at.text_area(key="rerank.instruction.relevance").set_value("Retrieve eyewitness reports").run()
    at.text_input(key="rerank.new_mode.name").set_value("eyewitness")
    at.text_input(key="rerank.new_mode.label").set_value("Eyewitness reports")
    button(at, "Save mode").click().run()
    ok(at)
    at.switch_page("../pages/rerank.py").run()
    assert "Eyewitness reports" in at.selectbox(key="rerank.mode").options
    from core.config import get_settings
    from core.rerank.modes import load_modes

    assert load_modes(get_settings().modes_path)["eyewitness"].instruction == "Retrieve eyewitness reports"


def test_saving_a_mode_under_a_built_in_name_needs_confirmation_and_can_be_restored(sample):
    from core.config import get_settings
    from core.rerank.modes import DEFAULT_INSTRUCTION, load_modes

    at = start("rerank.py")
    at.text_area(key="rerank.instruction.relevance").set_value("Retrieve eyewitness reports").run()
    at.text_input(key="rerank.new_mode.name").set_value("relevance")
    button(at, "Save mode").click().run()
    assert not at.exception
    assert any("built\\-in mode" in e.value for e in at.error), "refused without the confirmation"
    assert load_modes(get_settings().modes_path)["relevance"].instruction == DEFAULT_INSTRUCTION
    at.checkbox(key="rerank.new_mode.replace").check()
    button(at, "Save mode").click().run()
    ok(at)
    assert load_modes(get_settings().modes_path)["relevance"].instruction == "Retrieve eyewitness reports"
    at.run()
    assert any("is replaced by a saved instruction" in w.value for w in at.warning)
    button(at, "Restore the built-in mode").click().run()
    ok(at)
    assert load_modes(get_settings().modes_path)["relevance"].instruction == DEFAULT_INSTRUCTION
    assert at.text_area(key="rerank.instruction.relevance").value == DEFAULT_INSTRUCTION
    assert not any("replaced" in w.value for w in at.warning)


def test_an_empty_instruction_is_an_error_not_a_silent_default(sample):
    at = start("rerank.py")
    at.text_input(key="rerank.query").set_value("台风").run()
    at.text_area(key="rerank.instruction.relevance").set_value("  ").run()
    assert any("instruction is empty" in e.value for e in at.error)
    assert button(at, "Rerank").disabled
    button(at, "Restore this mode's instruction").click().run()
    ok(at)
    assert at.text_area(key="rerank.instruction.relevance").value.strip()
    assert not button(at, "Rerank").disabled


def test_inputs_and_results_survive_page_switches(sample):
    at = rerank(start(), "台风", "accuracy")
    at.text_input(key="rerank.text_filter").set_value("台").run()
    for page in PAGES:
        at.switch_page(f"../pages/{page}").run()
    at.switch_page("../pages/rerank.py").run()
    ok(at)
    assert at.text_input(key="rerank.query").value == "台风"
    assert at.selectbox(key="rerank.mode").value == "accuracy"
    assert at.text_input(key="rerank.text_filter").value == "台"
    assert any("Results for" in h.value for h in at.subheader), "the ranking is still shown"


@pytest.fixture
def real_scorer_fake_embedder(monkeypatch):
    """Only the embedder is faked: the scorer comes from the real ``core.rerank.load_scorer``."""
    import streamlit as st

    from dashboard import resources

    st.cache_data.clear()
    st.cache_resource.clear()
    monkeypatch.setattr(resources, "get_embedder", lambda name, device, dtype: FakeEmbedder())
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def test_a_local_qwen3_folder_is_loaded_and_reranks(real_scorer_fake_embedder, tiny_qwen3_dir):
    """The Settings page takes a local Qwen3-Reranker folder (a tiny random one here): the badge
    names it, no fallback warning, and the Rerank page scores with it (log-odds present)."""
    if not SAMPLE.is_file():
        pytest.skip(f"the bundled sample {SAMPLE} is absent")
    at = start("settings.py")
    at.selectbox[0].set_value("__other__")
    at.text_input[0].set_value(str(tiny_qwen3_dir))
    button(at, "Apply").click().run()
    ok(at)
    sidebar = " ".join(str(m.value) for m in at.sidebar.markdown).replace("\\", "")
    assert "Embedded fallback" not in sidebar and tiny_qwen3_dir.name in sidebar
    at.switch_page("../pages/rerank.py").run()
    at.number_input(key="rerank.budget").set_value(8).run()
    at.text_input(key="rerank.query").set_value("台风").run()
    button(at, "Rerank").click().run()
    ok(at)
    table = at.dataframe[0].value
    assert len(table) == 8 and table["log_odds"].notna().all()
    assert (table["score"].between(0, 1)).all()


def test_compare_says_select_all_keeps_four_modes(sample):
    at = start("compare.py")
    ok(at)
    assert len(at.multiselect(key="compare.modes").options) > 4
    assert any("keeps the first 4" in c.value for c in at.caption)


def test_the_data_page_sends_the_browser_its_first_1000_posts_not_the_whole_file(sample, tmp_path, monkeypatch):
    rows = [f"p{i},post number {i} about the flood" for i in range(1500)]
    (tmp_path / "big.csv").write_text("id,text\n" + "\n".join(rows) + "\n", encoding="utf-8")
    monkeypatch.setenv("SIEVE_DATA_ROOTS", str(tmp_path))
    at = start()
    load_path(at, tmp_path / "big.csv")
    ok(at)
    assert len(state.dataset(at.session_state).posts) == 1500
    preview = at.dataframe[-1].value
    assert len(preview) == 1000 and preview["post_id"].astype(str).tolist()[:2] == ["p0", "p1"]
    assert any("The first 1,000 of 1,500 posts" in c.value for c in at.caption)


def test_compare_on_a_one_post_file_says_why_tau_is_empty(sample, tmp_path, monkeypatch):
    (tmp_path / "one.csv").write_text("id,text\np1,flood water on the main road\n", encoding="utf-8")
    monkeypatch.setenv("SIEVE_DATA_ROOTS", str(tmp_path))
    at = start()
    load_path(at, tmp_path / "one.csv")
    at.switch_page("../pages/compare.py").run()
    at.text_input(key="compare.query").set_value("flood").run()
    button(at, "Compare").click().run()
    ok(at)
    assert any("fewer than 2 posts in common" in c.value for c in at.caption)


def test_the_ranking_download_carries_its_file_made_with_the_page(sample):
    """The ranking CSV is made with the page, not when the button is clicked: a newcomer's click
    that landed as a rerun began left a deferred download spinning, disabled until a reload."""
    at = rerank(start(), "台风", "relevance")
    found = [b.proto for b in at.get("download_button") if b.proto.label == "Download this ranking (CSV)"]
    assert len(found) == 1 and found[0].url.endswith(".csv"), found


def test_a_blank_query_says_what_to_do_and_a_long_one_is_shortened_in_the_heading(sample):
    at = start("rerank.py")
    assert button(at, "Rerank").disabled
    assert any("Type a query above" in c.value for c in at.caption)
    long_query = "台风 " * 3000  # a whole post pasted as the query
    rerank(at, long_query, "relevance")
    heading = next(h.value for h in at.subheader if "Results for" in h.value)
    assert len(heading) < 300 and "…" in heading
    assert not any("Type a query above" in c.value for c in at.caption)
