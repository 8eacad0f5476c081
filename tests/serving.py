"""A server for the tests: `rnncli serve`'s app on a free loopback port, in a thread of the test
process, and a small JSON client for it (urllib: nothing beyond the standard library)."""

from __future__ import annotations

import json
import math
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager

from rnncli.serve.settings import Settings
from rnncli.store import model_folder


@contextmanager
def served(model_dir, **limits):
    """Serve the model folder on 127.0.0.1, port chosen by the system; yields (url, app)."""
    import uvicorn

    from rnncli.serve.app import create_app
    from rnncli.serve.run import bind, uvicorn_config

    settings = Settings(**limits)
    app = create_app(model_folder.load(model_dir), settings)
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn_config(app, settings, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", app
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def call(url: str, body=None, timeout: float = 60) -> tuple[int, object]:
    """POST `body` (an object as JSON, or raw bytes) or GET when None: (status, parsed JSON)."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="GET" if body is None else "POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def same_answer(got, expected, rel=1e-5) -> bool:
    """JSON answers equal: words, counts and keys exactly, floats to `rel`. The server scores
    prompts batched with others and the CLI alone: matrices of other shapes, where BLAS may sum
    in another order (it does with OpenBLAS's Haswell kernels), so the last bits differ."""
    if isinstance(got, float) and isinstance(expected, float):
        return math.isclose(got, expected, rel_tol=rel, abs_tol=rel * 1e-12)
    if isinstance(got, dict) and isinstance(expected, dict):
        return got.keys() == expected.keys() and all(
            same_answer(got[k], expected[k], rel) for k in got)
    if isinstance(got, list) and isinstance(expected, list):
        return len(got) == len(expected) and all(
            same_answer(a, b, rel) for a, b in zip(got, expected))
    return type(got) is type(expected) and got == expected
