"""``python -m core.candidates.bm25_child FOLDER KEY``: build and save the BM25 index of the
texts on stdin (an Arrow IPC stream, one string column) in ``FOLDER``.

Started by :func:`core.candidates.bm25._build_apart` for large corpora. Exit status 2: the
texts received do not have the :func:`core.store.folder.texts_key` ``KEY`` (nothing saved).
"""

from __future__ import annotations

import sys


def _main(argv: list[str]) -> int:
    import pyarrow as pa

    from core.candidates.bm25 import BM25Index
    from core.store.folder import texts_key

    folder, key = argv
    texts: list[str | None] = []
    with pa.ipc.open_stream(sys.stdin.buffer) as reader:
        for batch in reader:
            texts.extend(batch.column(0).to_pylist())
    if texts_key(texts) != key:
        print(f"the {len(texts)} texts received do not match the key {key}", file=sys.stderr)
        return 2
    BM25Index(texts).save(folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
