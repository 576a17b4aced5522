"""Work past one process: Ray for long batch work, several vLLM replicas for reranking.

- :mod:`core.distributed.ray_jobs`: embedding a whole export and scoring many
  queries x modes, one Ray task per chunk of posts when ``SIEVE_RAY_ADDRESS`` is set
  (in this process otherwise), with the same results either way;
- several ``vllm serve`` replicas for reranking live in the rerank stage,
  :mod:`core.rerank.vllm_pool` (``SIEVE_RERANKER=vllm:http://gpu1:8000,http://gpu2:8000``).

This package comes last in the data flow (``tests/test_architecture.py``): it runs
the stages' work elsewhere, so it may import them; no stage imports it.

Importing this package imports neither Ray nor vLLM.
"""
