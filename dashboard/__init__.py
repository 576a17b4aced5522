"""Sieve's Streamlit dashboard: entry point, session state, cached resources,
the one error boundary, the job modules and shared widgets. Pages live in ``pages/``.

Start it from the repository root with ``python -m streamlit run dashboard/app.py``.

How a page works (one way for every page)
------------------------------------------
widgets -> the page's parameters -> one call into a job module -> render.

* **State has one owner**, :mod:`dashboard.state`: each page's parameters (and its own
  page state) are a dataclass of :mod:`dashboard.params` (``state.params(RerankParams)``);
  the loaded dataset and every page's results made from it are one
  :class:`dashboard.results.DatasetState` (``state.work()``), which ``state.set_dataset``
  replaces in one step when another dataset is loaded. No other module touches
  ``st.session_state``; widget values go through ``state.bind``/``seed``/``widget``/``set_widget``/
  ``forget_widgets``.
* **Pages reach core one way: through the job modules, never by importing** ``core``.
  A job module takes plain parameters, makes the core call it stands for through the
  cached loaders of :mod:`dashboard.resources`, and keeps the result in ``state``:

  - :mod:`dashboard.data`: uploads, samples, loading and reopening a dataset (``core.ingest``);
  - :mod:`dashboard.rerank`: modes, embeddings, reranking, comparing modes (``core.rerank``,
    ``core.compare``); :mod:`dashboard.live` the Rerank page's streamed run;
  - :mod:`dashboard.mapping`: clustering, the map, rerank inside clusters (``core.cluster``);
  - :mod:`dashboard.grading`: the grading queue and each grade (``core.labels``);
  - :mod:`dashboard.export`: runs, metrics and export files (``core.evaluate``, ``core.export``);
  - :mod:`dashboard.team`: assignments and review (``core.labels.assign``, ``core.labels.review``);
  - :mod:`dashboard.storage`: the dataset store on disk and removing what is not in use (``core.store.usage``).

  Names of core a page needs to draw or to raise (the grade scale, the column roles, the model
  ids, ``SieveError``) come from the job module of its job, or :mod:`dashboard.errors`.
* :mod:`dashboard.resources` holds the cached models, label store and results; a page asks it
  only for what it shows of a model (``resources.scorer_for(settings).info``).
* :mod:`dashboard.errors` is the one error boundary; :mod:`dashboard.widgets` holds the
  shared widgets (post text as plain text, the model badge).

``tests/test_state_owner.py`` checks the first two rules by scanning the sources.
"""
