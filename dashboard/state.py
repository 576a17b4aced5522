"""Typed session state, its one owner: every page's parameters and results.

Streamlit forgets a widget's value when its page is not shown, and forgets the
whole session on a browser refresh. So:

* each page's parameters (and its own state, e.g. the Data page's last failed load)
  live in one dataclass stored under a fixed key of ``st.session_state``
  (:func:`params`); widgets are tied to it (:func:`bind`) and written back to
  it, so values survive page switches;
* the loaded dataset and every page's results made from it (rankings, the
  comparison, the clustering, the evaluation, the exports) live in one
  :class:`dashboard.results.DatasetState` (:func:`work`), which
  :func:`set_dataset` replaces in one step when another dataset is loaded;
* grades never live here: they go straight to the SQLite label store;
* what is needed to reopen the work after a refresh (the dataset source, the
  settings, the rerank requests made, the grading position) is written to a
  small JSON file per browser tab in the data folder (:mod:`dashboard.remember`),
  and the dataset is re-identified by its content hash, so its grades come back.

No other module reads or writes ``st.session_state``: widget values go through
:func:`bind`, :func:`seed`, :func:`widget`, :func:`set_widget` and :func:`forget_widgets`, the
signed-in user through :func:`user` and :func:`set_user`
(``tests/test_state_owner.py`` checks it).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import Any, TypeVar

import streamlit as st

from dashboard.params import (  # noqa: F401 (their home is dashboard.params; imported from here too)
    MAX_RERANK_BUDGET,
    SAMPLE_DIR,
    SAMPLES,
    AppSettings,
    CompareParams,
    DataParams,
    EvaluateParams,
    GradeParams,
    MapParams,
    QueueParams,
    RerankParams,
    SessionFlags,
)
from dashboard.results import (  # noqa: F401 (their home is dashboard.results; imported from here too)
    ClusterEdits,
    ClusterMap,
    Comparison,
    DatasetState,
    LoadedDataset,
    RankingRequest,
    WithinClusters,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

# --------------------------------------------------------------------------- session state

#: Key of the :class:`DatasetState`.
WORK_KEY = "sieve.work"
#: Key of the signed-in :class:`core.security.User` (team mode).
USER_KEY = "sieve.user"
#: Key of the signed-in user's name (the owner of the tab's session file, :mod:`dashboard.remember`).
OWNER_KEY = "sieve.user_name"
#: Key of the Rerank page's Cancel flag (set by a callback while a run reads it).
CANCEL_KEY = "rerank.cancel_requested"


def params(cls: type[T]) -> T:
    """The session's parameter dataclass of type ``cls`` (created with defaults once).

    ``AppSettings`` starts from the environment and the remembered session file.
    """
    key = f"sieve.params.{cls.__name__}"
    if key not in st.session_state:
        st.session_state[key] = AppSettings.from_environment() if cls is AppSettings else cls()
    return st.session_state[key]


def set_params(value: Any) -> None:
    """Replace the session's parameter dataclass of ``type(value)`` with ``value``."""
    st.session_state[f"sieve.params.{type(value).__name__}"] = value


def check_environment() -> None:
    """Read every ``SIEVE_*`` setting once (``core.config.get_settings``).

    Raises:
        core.errors.SieveError: a variable holds a value Sieve cannot use (its message names it).
    """
    from core.config import get_settings

    get_settings()


def settings() -> AppSettings:
    """The session's :class:`AppSettings`."""
    return params(AppSettings)


def seed(key: str, value: Any) -> str:
    """Give widget ``key`` the value ``value`` unless it already has one; returns ``key``.

    Widgets tied to a stored parameter use :func:`bind`, which seeds and also makes
    ``value`` the widget's own default; ``seed`` alone is for code that only needs the value.
    """
    if key not in st.session_state:
        st.session_state[key] = value
    return key


def bind(key: str, value: Any, *, index_of: Sequence | None = None,
         default_of: Sequence | None = None) -> dict[str, Any]:
    """Keyword arguments that tie widget ``key`` to the stored parameter ``value``.

    ``st.text_input("Query", **bind("rerank.query", p.query))`` (number boxes: :func:`number`):

    * ``key`` is seeded with ``value`` (:func:`seed`), so the widget shows the stored
      parameter after a page switch (Streamlit drops the state of widgets that were
      not on the last page) and after :func:`forget_widgets`;
    * the widget's value (``value`` when it has none) is also its own default (``value=``; ``index=`` into
      ``index_of`` for a selectbox or radio; ``default=`` from ``default_of`` for a
      multiselect or segmented control, keeping only values among those options).
      When a rerun cuts the one before it short (an analyst typing and clicking
      faster than a loaded machine reruns the page), the browser can redraw a
      widget from its default instead of its value (Streamlit issues 9100 and 9056).
      With Streamlit's defaults (``min_value``, an empty text) a seeded-only widget
      then came back as budget 1, top-k 1 or an empty instruction, seen on a loaded
      2-core machine; tied this way it comes back as the analyst left it.

    Raises:
        ValueError: ``index_of`` and ``default_of`` both given.
    """
    if index_of is not None and default_of is not None:
        raise ValueError("give index_of or default_of, not both")
    value = st.session_state[seed(key, value)]  # this run's value when the widget has one
    if index_of is not None:
        options = list(index_of)
        return {"key": key, "index": options.index(value) if value in options else 0}
    if default_of is not None:
        options = list(default_of)
        if isinstance(value, (list, tuple)):
            return {"key": key, "default": [v for v in value if v in options]}
        return {"key": key, "default": value if value in options else None}
    return {"key": key, "value": value}


def number(container: Any, label: str, key: str, value: int, *, min_value: int, max_value: int,
           **kwargs: Any) -> int:
    """``container.number_input(label, ...)`` tied to ``value`` as :func:`bind` ties it; returns its int.

    ``value``, and a value already in session state, are first clamped into
    ``[min_value, max_value]``: Streamlit raises on a default outside the range, and a value may
    come from outside the widget (``SIEVE_RERANK_BUDGET``, a remembered session file).

    Args:
        container: ``st`` or a column, form or other container.
        **kwargs: other arguments of ``st.number_input`` (``step``, ``help``...).
    """
    def clamp(v: Any) -> int:
        return int(min(max(int(v), min_value), max_value))

    if key in st.session_state and st.session_state[key] is not None:
        current = st.session_state[key]
        if clamp(current) != current:
            st.session_state[key] = clamp(current)
    return int(container.number_input(label, min_value=min_value, max_value=max_value,
                                      **bind(key, clamp(value)), **kwargs))


def widget(key: str, default: Any = None) -> Any:
    """The value of widget ``key`` (``default`` when it has none yet)."""
    return st.session_state.get(key, default)


def has_widget(key: str) -> bool:
    """Whether widget ``key`` has a value (it was drawn or seeded, and not dropped since)."""
    return key in st.session_state


def set_widget(key: str, value: Any) -> None:
    """Give widget ``key`` the value ``value`` (before the widget is drawn in this run)."""
    st.session_state[key] = value


def forget_widgets(*keys: str) -> None:
    """Drop the values of widgets ``keys``: they are drawn with their seed or default again."""
    for key in keys:
        st.session_state.pop(key, None)


def user() -> Any:
    """The signed-in :class:`core.security.User`, or ``None``."""
    return st.session_state.get(USER_KEY)


def owner_name() -> str | None:
    """The signed-in user's name, or ``None`` (local mode)."""
    return st.session_state.get(OWNER_KEY)


def set_user(u: Any) -> None:
    """Sign ``u`` in (``None``: sign out)."""
    if u is None:
        st.session_state.pop(USER_KEY, None)
        st.session_state.pop(OWNER_KEY, None)
    else:
        st.session_state[USER_KEY] = u
        st.session_state[OWNER_KEY] = u.name


def clear_session() -> None:
    """Forget everything of this session (sign-out)."""
    for key in list(st.session_state):
        del st.session_state[key]


def set_cancel(requested: bool) -> None:
    """Set (or reset) the Rerank page's Cancel flag."""
    st.session_state[CANCEL_KEY] = requested


def cancel_requested() -> bool:
    """Whether Cancel was pressed since the last run started."""
    return bool(st.session_state.get(CANCEL_KEY))


# --------------------------------------------------------------------------- dataset and results


def work(session: Any = None) -> DatasetState:
    """The session's :class:`DatasetState`: the dataset in use and every page's results from it.

    Args:
        session: a session state mapping (a test passes ``AppTest.session_state``);
            default: this session's.
    """
    session = st.session_state if session is None else session
    if WORK_KEY not in session:
        session[WORK_KEY] = DatasetState()
    return session[WORK_KEY]


def dataset(session: Any = None) -> LoadedDataset | None:
    """The loaded dataset, or ``None`` (``session`` as in :func:`work`)."""
    session = st.session_state if session is None else session
    found = session[WORK_KEY] if WORK_KEY in session else None  # noqa: SIM401 (AppTest state has no get)
    return found.dataset if found is not None else None


def set_dataset(ds: LoadedDataset | None) -> None:
    """Make ``ds`` the dataset in use.

    Another dataset (other content hash or number of posts) replaces the whole
    :class:`DatasetState` in one step, so no page keeps a result of the old one; the
    same dataset read again (e.g. with another reference time) keeps its results.
    """
    old = work()
    same = (old.dataset is not None and ds is not None and old.dataset.dataset_hash == ds.dataset_hash
            and len(old.dataset.posts) == len(ds.posts))
    new = dataclasses.replace(old, dataset=ds) if same else DatasetState(dataset=ds)
    old_hash = old.dataset.dataset_hash if old.dataset is not None else None
    del old
    # work() made the key. Streamlit keeps the previous run's value of a key until the next run starts;
    # deleting drops that copy too, so the replaced dataset (or the same one read again) is freed by this
    # run, not by the analyst's next click.
    del st.session_state[WORK_KEY]
    st.session_state[WORK_KEY] = new
    if not same and old_hash is not None:
        from dashboard import mapping  # the maps kept for reuse go with the replaced dataset (issue 11)

        mapping.release_maps(old_hash)  # not when a new tab or a refresh opens its first dataset


# --------------------------------------------------------------------------- rankings


def rankings() -> dict[RankingRequest, Any]:
    """The session's rankings (:class:`core.rerank.pipeline.Ranking`) by request, oldest first."""
    return work().rankings


def put_ranking(request: RankingRequest, ranking: Any) -> None:
    """Store ``ranking`` (replacing an older one for the same request; it becomes the newest)."""
    w = work()
    w.rankings.pop(request, None)
    w.rankings[request] = ranking
    w.last_request = request


def last_request() -> RankingRequest | None:
    """The most recent rerank request of this session (on the loaded dataset)."""
    return work().last_request


def rankings_for_query(query: str) -> dict[str, Any]:
    """The newest ranking per mode for ``query``: ``{mode: Ranking}``."""
    out: dict[str, Any] = {}
    for req, ranking in rankings().items():
        if req.query == query:
            out[req.mode] = ranking
    return out


def ranked_queries() -> list[str]:
    """Queries with at least one ranking, newest first."""
    seen: list[str] = []
    for req in reversed(list(rankings())):
        if req.query not in seen:
            seen.append(req.query)
    return seen
