"""Sieve core: the domain logic of the analyst dashboard, with no Streamlit.

Data flows one way, and the sub-packages follow it::

    export file -> ingest (post table) -> candidates (first stage)
      -> rerank (relevance scores, instruction modes) -> compare (mode comparisons)
      -> embed + cluster (clusters and the 2D map) -> labels (grades)
      -> evaluate (nDCG@k, MRR) + export (qrels, runs, bundle)

``python -m core --help`` exposes the same steps on the command line.
"""

__version__ = "0.1.0"
