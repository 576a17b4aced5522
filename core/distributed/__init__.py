"""Work past one process: Ray for long batch work, several vLLM replicas for reranking.

- :mod:`core.distributed.ray_jobs`: embedding a whole export and scoring many
  queries x modes, one Ray task per chunk of posts when ``SIEVE_RAY_ADDRESS`` is set
  (in this process otherwise), with the same results either way;
- :mod:`core.distributed.vllm_pool`: a reranker on several ``vllm serve`` replicas,
  batches spread round-robin, failover when one is down
  (``SIEVE_RERANKER=vllm:http://gpu1:8000,http://gpu2:8000``).

Importing this package imports neither Ray nor vLLM.
"""
