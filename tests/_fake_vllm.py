"""A fake ``vllm serve`` (``/v1/models`` and ``/score``) on 127.0.0.1, shared by the vLLM tests.

vLLM itself needs a GPU; this server answers the two endpoints Sieve uses with the
same JSON shapes. Scores are either positional (``(i + 1) / (len + 1)`` for the
i-th document of a request, the data sent back in reverse order on purpose) or,
with ``scores="content"``, a hash of ``text_1 + text_2`` in [0.01, 0.99] so that a
post's score does not depend on how the posts were batched (what a real
pointwise reranker does): the distributed tests compare batchings exactly.
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

MODEL_ID = "Qwen/Qwen3-Reranker-0.6B"


def content_score(text_1: str, text_2: str) -> float:
    """The ``scores="content"`` score of one (query, document) pair: a float in [0.01, 0.99]."""
    h = int(hashlib.sha256((text_1 + "\x00" + text_2).encode("utf-8")).hexdigest()[:8], 16)
    return 0.01 + 0.98 * (h / 0xFFFFFFFF)


class FakeVLLM:
    """One fake vLLM server; use as a context manager or call :meth:`start`/:meth:`stop`.

    Attributes:
        url: ``http://127.0.0.1:PORT`` once started.
        requests: ``[(path, payload)]`` of every POST, in arrival order.
    """

    def __init__(self, *, scores: str = "position", model: str = MODEL_ID) -> None:
        self.scores = scores
        self.model = model
        self.requests: list[tuple[str, dict]] = []
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, obj):
                body = json.dumps(obj).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                self._reply({"data": [{"id": fake.model}]})

            def do_POST(self):
                payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append((self.path, payload))
                docs = payload["text_2"]
                if fake.scores == "content":
                    values = [content_score(payload["text_1"], d) for d in docs]
                else:
                    values = [(i + 1) / (len(docs) + 1) for i in range(len(docs))]
                data = [{"index": i, "score": v} for i, v in enumerate(values)]
                self._reply({"data": data[::-1]})  # out of order on purpose

        return Handler

    def start(self, port: int = 0) -> Self:
        """Listen on ``port`` (0: any free one; the old port after :meth:`stop`: a replica back up)."""
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self

    def stop(self) -> None:
        """Shut the server down: its port refuses connections from now on (a replica that died)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
