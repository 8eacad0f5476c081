"""A real HTTP server on 127.0.0.1 for the corpus fetching tests, and a test-only catalogue.

The server holds files by URL path and can be told, per path, to send a wrong body, to die
half-way through the body (a given number of times), or to ignore Range requests; anything it
does not hold is a 404. It records every request's path and Range header.
"""

from __future__ import annotations

import hashlib
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from rnncli.text.corpora import Corpus, CorpusFile

TRAIN = ("the cat sat on the mat .\nthe dog sat on the log .\n"
         "a bird sang in the tree .\nthe cat saw the bird .\n" * 60).encode()
VALID = b"the bird sat on the cat .\nthe dog saw the tree .\n" * 10


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def catalogue(base: str) -> dict[str, Corpus]:
    """The fixture corpus, its public source being `base`/pub/... (not a mirror's layout);
    valid.txt has the alias held.txt, as WikiText-2's files have wiki.*.tokens."""
    corpus = Corpus("fixture", "a test corpus", (
        CorpusFile("train", "train.txt", f"{base}/pub/train.txt", sha256(TRAIN)),
        CorpusFile("valid", "valid.txt", f"{base}/pub/valid.txt", sha256(VALID),
                   aliases=("held.txt",))))
    return {corpus.name: corpus}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        server: CorpusServer = self.server  # type: ignore[assignment]
        path = self.path
        server.requests.append((path, self.headers.get("Range")))
        body = server.files.get(path)
        if body is None:
            self.send_error(404)
            return
        if path in server.wrong:
            body = bytes(reversed(body))  # as long, other bytes
        start = 0
        asked = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if asked and path not in server.ignore_range:
            start = int(asked[1])
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        rest = body[start:]
        if server.dies.get(path, 0) > 0:
            server.dies[path] -= 1
            self.wfile.write(rest[:len(rest) // 2])  # then the connection closes: HTTP/1.0
            self.wfile.flush()
            return
        self.wfile.write(rest)


class CorpusServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.files: dict[str, bytes] = {}
        self.wrong: set[str] = set()
        self.ignore_range: set[str] = set()
        self.dies: dict[str, int] = {}
        self.requests: list[tuple[str, str | None]] = []
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()
        self.thread.join()
