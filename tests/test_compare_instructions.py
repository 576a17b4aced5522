"""The Compare page ranks each mode with the instruction the analyst sees for it on the Rerank
page: a newcomer typed their own instruction under "Custom", then compared Custom with Plain
relevance and got Kendall's tau 1.000 and identical ranks, because Compare used Custom's
default text (the relevance instruction) and never said which instruction it used.

The models are the fakes of test_dashboard (the fake reranker's scores move with the
instruction, as Qwen3-Reranker's do).
"""

from __future__ import annotations

from dashboard import state
from tests.test_dashboard import button, fakes, ok, rerank, sample, start  # noqa: F401 (fixtures)

OWN = "Retrieve eyewitness reports of the typhoon posted from the scene"


def compare(at, modes: list[str], query: str = "台风"):
    at.switch_page("../pages/compare.py").run()
    at.text_input(key="compare.query").set_value(query).run()
    at.multiselect(key="compare.modes").set_value(modes).run()
    return at


def texts(at) -> str:
    return " | ".join(str(m.value) for m in [*at.markdown, *at.caption, *at.warning])


def test_custom_is_compared_with_the_instruction_typed_for_it_on_the_rerank_page(sample):
    at = start()
    compare(at, ["relevance", "custom"])
    ok(at)
    shown = texts(at)
    assert "are given the same instruction" in shown  # before any edit: said, not silently tau 1
    # The analyst writes Custom's instruction on the Rerank page and reranks with it.
    rerank(at, "台风", "custom")
    at.text_area(key="rerank.instruction.custom").set_value(OWN).run()
    button(at, "Rerank").click().run()
    ok(at)
    edited = state.work(at.session_state).last_request
    assert edited.instruction == OWN
    compare(at, ["relevance", "custom"])
    shown = texts(at)
    assert OWN in shown and "(as edited on the Rerank page)" in shown
    assert "are given the same instruction" not in shown
    button(at, "Compare").click().run()
    ok(at)
    found = state.work(at.session_state).comparison
    assert found.by_mode["custom"].instruction == OWN  # the very ranking the Rerank page made
    assert found.by_mode["custom"] is state.work(at.session_state).rankings[edited]
    tau = found.result.pairs["tau"].iloc[0]
    assert tau < 0.999, found.result.pairs


def test_a_comparison_made_before_an_edit_says_it_is_out_of_date(sample):
    at = start()
    compare(at, ["relevance", "accuracy"])
    button(at, "Compare").click().run()
    ok(at)
    assert "before an instruction was edited" not in texts(at)
    rerank(at, "台风", "accuracy")
    at.text_area(key="rerank.instruction.accuracy").set_value(OWN).run()
    compare(at, ["relevance", "accuracy"])
    ok(at)
    assert "before an instruction was edited" in texts(at)
    button(at, "Compare").click().run()
    assert "before an instruction was edited" not in texts(at)
    assert state.work(at.session_state).comparison.by_mode["accuracy"].instruction == OWN


def test_an_empty_rank_among_the_movers_is_explained(sample):
    """A newcomer read "None" in the movers table: the post was not among what that mode ranked."""
    at = compare(start(), ["relevance", "emotion", "novelty"])
    at.number_input(key="compare.top_k").set_value(10).run()
    button(at, "Compare").click().run()
    ok(at)
    movers = state.work(at.session_state).comparison.result.movers
    rank_cols = [c for c in movers.columns if c.startswith("rank:")]
    assert movers[rank_cols].isna().any().any(), movers  # ten posts each: a mover missing from one list
    assert any("An empty rank (None)" in c.value for c in at.caption)
