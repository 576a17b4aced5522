"""Instruction modes: named, editable instruction presets for the reranker.

Qwen3-Reranker is instruction-aware: the same (query, post) pair is judged
differently under a different ``<Instruct>``. The model card advises writing
instructions in English even for other languages, because the training data's
instructions were mostly English (Qwen3 Embedding technical report,
arXiv:2506.05176). Defaults live here; the analyst's edits and additions live
in a JSON file (``Settings.modes_path``), a list of objects with the fields of
:class:`Mode`, that overrides defaults of the same name.

A mode has two parts: its instruction, for rerankers that follow instructions
(Qwen3, vLLM), and a model-agnostic part that the pipeline applies when the
scorer cannot follow instructions (the embedded default): a *signal* scored on
every candidate and fused with the relevance score (:mod:`core.rerank.mode_part`),
and/or diversification (MMR).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from core.errors import SieveError

logger = logging.getLogger(__name__)

#: Model-agnostic signals a mode can carry (see :mod:`core.rerank.mode_part`):
#: ``emotion`` (strength of expressed feeling), ``accuracy`` (P(informative) of a
#: classifier trained on CrisisLex T26), ``instruction`` (the instruction's own
#: content words as a second query).
SIGNALS = ("emotion", "accuracy", "instruction")

#: The model card's default instruction (Qwen/Qwen3-Reranker-0.6B, "Usage").
DEFAULT_INSTRUCTION = "Given a web search query, retrieve relevant passages that answer the query"


@dataclass(frozen=True)
class Mode:
    """One instruction preset.

    Attributes:
        name: identifier (``relevance``, ``accuracy``, ``emotion``, ``novelty``,
            ``custom`` or an analyst's own), lower case, no spaces.
        label: short title for the UI.
        description: one line for the analyst: what this mode puts first.
        instruction: the English text given to the reranker as ``<Instruct>``.
        diversify: whether the mode re-orders the reranked list by maximal
            marginal relevance over embeddings (the model-agnostic part that
            also applies when the scorer ignores instructions).
        mmr_lambda: MMR trade-off in [0, 1]: 1 = relevance only, 0 = diversity
            only (Carbonell & Goldstein, SIGIR 1998). Used when ``diversify``.
        signal: the model-agnostic signal applied when the scorer cannot
            follow instructions: one of :data:`SIGNALS`, or ``None`` (none).
            Default ``"instruction"``, so a mode an analyst writes moves the
            embedded ranking by its own words.
        signal_weight: weight ``w`` in [0, 1] of the signal in the fused
            score ``(1 - w) * relevance + w * signal`` (default 0.5).
    """

    name: str
    label: str
    description: str
    instruction: str
    diversify: bool = False
    mmr_lambda: float = 0.7
    signal: str | None = "instruction"
    signal_weight: float = 0.5

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("_", "").replace("-", "").isalnum():
            raise SieveError(
                f"A mode name must be letters, digits, '-' or '_'. Got {self.name!r} instead."
            )
        if not self.instruction.strip():
            raise SieveError(f"The mode {self.name!r} has an empty instruction. Write one sentence "
                             "saying which posts should come first.")
        if not 0.0 <= self.mmr_lambda <= 1.0:
            raise SieveError(
                f"The mmr_lambda of mode {self.name!r} must be in [0, 1]. Got {self.mmr_lambda} instead."
            )
        if self.signal is not None and self.signal not in SIGNALS:
            raise SieveError(f"The signal of mode {self.name!r} must be one of {', '.join(SIGNALS)} or null. "
                             f"Got {self.signal!r} instead.")
        if not 0.0 <= self.signal_weight <= 1.0:
            raise SieveError(f"The signal_weight of mode {self.name!r} must be in [0, 1]. "
                             f"Got {self.signal_weight} instead.")


DEFAULT_MODES: tuple[Mode, ...] = (
    Mode(
        name="relevance",
        label="Plain relevance",
        description="Posts about the query first (the model card's default instruction).",
        instruction=DEFAULT_INSTRUCTION,
        signal=None,
    ),
    Mode(
        name="accuracy",
        label="Factual accuracy",
        description="Specific, factual, sourced posts first: who, what, when, where, numbers, links.",
        instruction=(
            "Given a query about an event or topic, retrieve social media posts that report "
            "specific, verifiable facts about it (who, what, when, where, figures, official or "
            "cited sources), not opinions, jokes, rumours or vague reactions"
        ),
        signal="accuracy",
    ),
    Mode(
        name="emotion",
        label="Emotional resonance",
        description="Posts expressing strong feeling about the query first: grief, anger, joy, fear, sympathy.",
        instruction=(
            "Given a query about an event or topic, retrieve social media posts in which the author "
            "expresses strong personal emotion about it, such as grief, anger, fear, joy, excitement "
            "or sympathy"
        ),
        signal="emotion",
    ),
    Mode(
        name="novelty",
        label="Novelty",
        description="Posts adding an angle the others do not; the list is also diversified (MMR).",
        instruction=(
            "Given a query about an event or topic, retrieve social media posts that add a distinct "
            "angle, detail or perspective on it that most posts do not mention, rather than repeating "
            "the common reaction"
        ),
        diversify=True,
        mmr_lambda=0.7,
        signal=None,
    ),
    Mode(
        name="custom",
        label="Custom",
        description="Your own instruction: say in one English sentence which posts should come first.",
        instruction=DEFAULT_INSTRUCTION,
    ),
)


#: Names of the built-in modes (:data:`DEFAULT_MODES`).
BUILTIN_MODE_NAMES: frozenset[str] = frozenset(m.name for m in DEFAULT_MODES)


def is_builtin(name: str) -> bool:
    """Whether ``name`` is the name of a built-in mode (``relevance``, ``accuracy``, ...)."""
    return name in BUILTIN_MODE_NAMES


def reset_mode(name: str, path: str | Path) -> dict[str, Mode]:
    """Restore a built-in mode: remove its override from the modes file at ``path``.

    Args:
        name: a built-in mode name (:func:`is_builtin`).
        path: the analyst's modes file (``Settings.modes_path``); a missing file
            means nothing is overridden.

    Returns:
        The modes after the reset (as :func:`load_modes`).

    Raises:
        SieveError: when ``name`` is not a built-in mode, or the file cannot be read.
    """
    if not is_builtin(name):
        raise SieveError(f"{name!r} is not a built-in mode, so it has no default to restore. "
                         f"Built-in modes: {', '.join(m.name for m in DEFAULT_MODES)}.")
    modes = load_modes(path)
    if not Path(path).is_file():
        return modes
    entries = json.loads(Path(path).read_text(encoding="utf-8"))
    kept = [e for e in entries if not (isinstance(e, dict) and e.get("name") == name)]
    if len(kept) != len(entries):
        path = Path(path)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(kept, ensure_ascii=False, indent=2), encoding="utf-8")
        tmp.replace(path)
        logger.info("restored the built-in mode %s (override removed from %s)", name, path)
    return load_modes(path)


def load_modes(path: str | Path | None = None) -> dict[str, Mode]:
    """The modes: defaults, overridden or extended by the analyst's JSON file.

    Args:
        path: JSON file with a list of mode objects; ``None`` or a missing file
            means defaults only.

    Returns:
        Mode name -> :class:`Mode`, defaults first, in a stable order.

    Raises:
        SieveError: when the file is not valid JSON or a mode is malformed
            (the message names the file and the entry).
    """
    modes = {m.name: m for m in DEFAULT_MODES}
    if path is None or not Path(path).is_file():
        return modes
    try:
        entries = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SieveError(
            f"The modes file {path} could not be read as JSON ({exc}). Fix it or delete it to "
            "return to the default modes."
        ) from exc
    if not isinstance(entries, list):
        raise SieveError(f"The modes file {path} must hold a JSON list of modes.")
    for i, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or "name" not in entry:
            raise SieveError(f"Entry {i} of the modes file {path} must be an object with a 'name'.")
        base = modes.get(entry["name"])
        try:
            modes[entry["name"]] = replace(base, **entry) if base else Mode(**entry)
        except TypeError as exc:
            raise SieveError(f"Entry {i} ({entry['name']!r}) of the modes file {path}: {exc}.") from exc
    return modes


def save_modes(modes: dict[str, Mode] | list[Mode], path: str | Path) -> None:
    """Write ``modes`` to ``path`` as a JSON list (UTF-8, readable, atomic replace)."""
    items = list(modes.values()) if isinstance(modes, dict) else list(modes)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps([asdict(m) for m in items], ensure_ascii=False, indent=2), encoding="utf-8")
    tmp.replace(path)


def resolve_instruction(mode: str | Mode | None, instruction: str | None = None,
                        modes: dict[str, Mode] | None = None) -> tuple[Mode, str]:
    """Pick the mode and the instruction text to use.

    Args:
        mode: a mode name, a :class:`Mode`, or ``None`` for ``relevance``.
        instruction: an explicit instruction; it wins over the mode's text
            (used for ``custom`` and for edited instructions).
        modes: the available modes (default :func:`load_modes` defaults).

    Returns:
        ``(mode, instruction_text)``.

    Raises:
        SieveError: for an unknown mode name (the message lists the known ones).
    """
    modes = modes or {m.name: m for m in DEFAULT_MODES}
    if isinstance(mode, Mode):
        chosen = mode
    else:
        name = mode or "relevance"
        if name not in modes:
            raise SieveError(
                f"Unknown mode {name!r}. Choose one of: {', '.join(modes)}; or give an instruction."
            )
        chosen = modes[name]
    text = instruction.strip() if instruction and instruction.strip() else chosen.instruction
    return chosen, text
