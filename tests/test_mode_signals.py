"""The model-agnostic parts of the modes: signals, their fusion, the pipeline's use of them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.errors import SieveError
from core.rerank.mode_part import apply_mode_part
from core.rerank.modes import Mode, load_modes
from core.rerank.pipeline import rerank
from core.rerank.signals import (
    emotion_intensity,
    informativeness,
    instruction_content,
    instruction_scores,
    specificity_features,
)
from core.rerank.signals.accuracy import FEATURE_NAMES
from tests._cand_fakes import FakeScorer, HashEmbedder, post_table

F = {name: i for i, name in enumerate(FEATURE_NAMES)}


# -- emotion ---------------------------------------------------------------------------------
def test_emotion_english_emoji_and_emphasis():
    s = emotion_intensity(["Road closed at 5th St.", "Praying for Boston, so heartbreaking",
                           "😭😭😭", "this is terrible", "this is terrible!!!", None])
    assert s.dtype == np.float32 and ((s >= 0) & (s <= 1)).all()
    assert s[0] == 0.0 and s[5] == 0.0  # nothing felt, and an empty post
    assert s[1] > 0.5 and s[2] > 0.5  # words of feeling; emoji alone
    assert s[4] > s[3] > 0  # "!!!" strengthens the same words


def test_emotion_chinese_lexicon_degree_bangs_and_weibo_emoticons():
    s = emotion_intensity(["深圳市交警通报：3月起执行", "难过", "非常难过", "非常难过！！！", "气死我了",
                           "气死我了[怒][怒]"])
    assert s[0] == 0.0
    assert 0 < s[1] < s[2] < s[3] < 1  # a DUTIR word; a HowNet degree adverb; exclamation marks
    assert s[5] > s[4]  # Weibo emoticon codes count as expressed feeling


def test_emotion_mixed_posts_take_either_part():
    en, zh, mixed = emotion_intensity(["so sad", "心痛", "so sad 心痛 😭"])
    assert mixed > max(en, zh) > 0
    assert emotion_intensity(["iPhone SE 3月发布 http://t.cn/x"])[0] == 0.0


# -- accuracy --------------------------------------------------------------------------------
def test_specificity_features_english_and_chinese():
    x = specificity_features([
        "Explosion at the finish line at 2:50 pm: 2 dead, 23 injured, police say http://t.co/x",
        "maybe just a rumour? I think so",
        "据深圳市交警通报，3月5日起已查处500辆电动车",
    ])
    assert x.shape == (3, len(FEATURE_NAMES)) and x.dtype == np.float32
    assert x[0, F["url"]] == 1 and x[0, F["figures"]] > 0 and x[0, F["date_time"]] == 1 and x[0, F["source"]] > 0
    assert x[1, F["hedge"]] > 0 and x[1, F["question"]] == 1 and x[1, F["first_person"]] > 0
    assert x[1, F["figures"]] == 0 and x[1, F["url"]] == 0
    assert x[2, F["figures"]] > 0 and x[2, F["date_time"]] == 1 and x[2, F["source"]] > 0
    assert x[2, F["entities"]] > 0  # jieba tags 深圳 as a place


def test_informativeness_prefers_the_sourced_report():
    p = informativeness([
        "Explosion at the finish line at 2:50 pm: 2 dead, 23 injured, police say http://t.co/x",
        "omg i can't believe this, so sad :( i hope everyone is ok",
        "据深圳市交警通报，3月5日起已查处500辆电动车 http://t.cn/x",
        "我好难过啊，为什么会这样？？",
    ])
    assert ((p > 0) & (p < 1)).all()
    assert p[0] > p[1] and p[2] > p[3]


def test_informativeness_uses_embeddings_of_the_right_width_only():
    texts = ["2 dead, 23 injured http://t.co/x", "so sad"]
    plain = informativeness(texts)
    np.testing.assert_allclose(informativeness(texts, np.ones((2, 7), dtype=np.float32)), plain)
    vecs = np.random.default_rng(0).normal(size=(2, 512)).astype(np.float32)
    assert not np.allclose(informativeness(texts, vecs), plain)


# -- instruction ------------------------------------------------------------------------------
def test_instruction_content_keeps_what_is_asked_for():
    assert instruction_content("Posts about donating or volunteering to help, not jokes") == \
        "donating volunteering help"
    assert instruction_content("Given a web search query, retrieve relevant passages that answer the query") == ""
    assert instruction_content("反对深圳禁摩限电的微博") == "反对 深圳 禁摩 限电"


def test_instruction_scores_lift_matching_posts_without_an_embedder():
    texts = ["flood water closes the road", "donate to the flood relief fund", "volunteers needed at the shelter",
             "flood pictures"]
    s = instruction_scores("Posts about donating or volunteering", texts)
    assert s.shape == (4,) and s.min() == 0.0 and s.max() == 1.0
    assert min(s[1], s[2]) > max(s[0], s[3])
    assert not instruction_scores("retrieve relevant posts", texts).any()  # no content word: flat


# -- modes and fusion -------------------------------------------------------------------------
def test_mode_signal_fields_validate_and_old_modes_files_keep_builtin_signals(tmp_path):
    with pytest.raises(SieveError, match="signal"):
        Mode(name="x", label="x", description="", instruction="y", signal="telepathy")
    with pytest.raises(SieveError, match="signal_weight"):
        Mode(name="x", label="x", description="", instruction="y", signal_weight=2.0)
    path = tmp_path / "modes.json"  # a file written before modes had signals
    path.write_text(json.dumps([{"name": "emotion", "label": "E", "description": "", "instruction": "feel"},
                                {"name": "mine", "label": "M", "description": "", "instruction": "oppose it"}]))
    modes = load_modes(path)
    assert modes["emotion"].signal == "emotion" and modes["accuracy"].signal == "accuracy"
    assert modes["relevance"].signal is None and modes["novelty"].signal is None
    assert modes["mine"].signal == "instruction" and modes["custom"].signal == "instruction"


def test_apply_mode_part_fuses_minmaxed_relevance_with_the_signal():
    mode = Mode(name="m", label="m", description="", instruction="Posts about donating", signal_weight=0.25)
    texts = ["flood road", "donate now", "flood photos"]
    part = apply_mode_part(mode, mode.instruction, np.array([0.9, 0.5, 0.7]), texts)
    np.testing.assert_allclose(part.scores, [0, 1, 0])
    np.testing.assert_allclose(part.fused, 0.75 * np.array([1.0, 0.0, 0.5]) + 0.25 * np.array([0, 1, 0]))
    assert part.signal == "instruction" and "0.25" in part.note
    flat = Mode(name="f", label="f", description="", instruction="retrieve relevant posts")
    assert apply_mode_part(flat, flat.instruction, np.array([0.9, 0.5, 0.7]), texts) is None


TEXTS = ["flood water closes the main road", "donate to the flood relief fund now",
         "flood flood road closed", "volunteers wanted: donate blankets for flood victims"]
SCORES = {TEXTS[0]: 0.9, TEXTS[1]: 0.7, TEXTS[2]: 0.8, TEXTS[3]: 0.4}


def test_pipeline_fuses_the_mode_part_only_for_scorers_without_instructions():
    posts = post_table(TEXTS)
    instr = "Posts about donating or volunteering"
    blind = rerank(posts, "flood", scorer=FakeScorer(SCORES, follows_instructions=False), mode="custom",
                   instruction=instr, embedder=HashEmbedder())
    tab = blind.table
    assert {"relevance_score", "mode_score"} <= set(tab.columns)
    plain = rerank(posts, "flood", scorer=FakeScorer(SCORES, follows_instructions=False), mode="relevance")
    assert plain.table["post_id"].tolist() == ["p0", "p2", "p1", "p3"]
    rank = dict(zip(tab["post_id"], tab["rank"]))
    assert rank["p1"] < 3 and rank["p3"] < 4 and rank["p2"] > 2  # donation posts up, the other flood post down
    np.testing.assert_allclose(sorted(tab["relevance_score"]), sorted(SCORES.values()), rtol=1e-6)
    assert tab["mode_score"].between(0, 1).all() and (np.diff(tab["score"]) <= 0).all()
    assert blind.mode_signal == "instruction" and blind.mode_weight == 0.5
    assert any("mode 'custom' part applied" in n.lower() for n in blind.notes)
    assert blind.to_run()["p1"] > blind.to_run()["p0"]  # runs (Evaluate) follow the fused score
    assert plain.table["mode_score"].isna().all() and plain.mode_signal is None
    # a scorer that follows instructions gets the instruction only: scores and order are its own
    aware = rerank(posts, "flood", scorer=FakeScorer(SCORES), mode="custom", instruction=instr,
                   embedder=HashEmbedder())
    assert aware.table["post_id"].tolist() == ["p0", "p2", "p1", "p3"]
    np.testing.assert_array_equal(aware.table["score"], aware.table["relevance_score"])
    assert aware.table["mode_score"].isna().all() and aware.instruction == instr
