"""Sieve's Streamlit dashboard: entry point, session state, cached resources,
the one error boundary, and shared widgets. Pages live in ``pages/``.

Start it from the repository root with ``python -m streamlit run dashboard/app.py``.
"""
