"""rnncli serve on a network it does not trust: the API key, the Host check, JSON only, 405 with
Allow, no paths in /v1/model, the queue limit, deadlines, work dropped when its client goes,
the header timeout and the connection limit."""

import http.client
import json
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
from serving import served

LONG = {"prompt": "the cat sat on the mat . " * 9, "explain": True}  # 63 tokens: many slices


def request(url, method="GET", path="/v1/model", body=None, headers=None):
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    sent = {"Content-Type": "application/json", **(headers or {})}
    conn.request(method, path, None if body is None else json.dumps(body), sent)
    response = conn.getresponse()
    raw = response.read()
    conn.close()
    return response.status, raw, response


def test_an_api_key_is_required_everywhere_but_the_page(tiny_model):
    with served(tiny_model, api_key="s3cret") as (url, _):
        for method, path, body in (("GET", "/v1/model", None), ("GET", "/openapi.json", None),
                                   ("POST", "/v1/complete", {"prompt": "the cat"}),
                                   ("POST", "/v1/completions", {"prompt": "the cat"})):
            status, raw, response = request(url, method, path, body)
            assert status == 401 and response.getheader("www-authenticate") == "Bearer"
            assert "Authorization: Bearer" in json.loads(raw)["error"]["message"]
            status, _, _ = request(url, method, path, body, {"Authorization": "Bearer wrong"})
            assert status == 401
            status, _, _ = request(url, method, path, body, {"Authorization": "Bearer s3cret"})
            assert status == 200
        for path in ("/", "/static/app.js", "/static/style.css"):
            assert request(url, path=path)[0] == 200


def test_the_host_header_must_name_the_server(tiny_model):
    port = None
    with served(tiny_model, allow_hosts=("rnn.example",)) as (url, _):
        port = urlsplit(url).port
        for host, status in ((f"127.0.0.1:{port}", 200), (f"localhost:{port}", 200),
                             ("rnn.example", 200), ("evil.example", 400),
                             (f"evil.example:{port}", 400), ("10.1.2.3", 400)):
            got, raw, _ = request(url, headers={"Host": host})
            assert got == status, (host, raw)
        assert b"--allow-host evil.example" in request(url, headers={"Host": "evil.example"})[1]


@pytest.fixture(scope="module")
def server(tiny_model):
    with served(tiny_model) as (url, _):
        yield url


def test_json_only_405_with_allow_and_no_paths(server, tiny_model):
    url = server
    status, raw, _ = request(url, "POST", "/v1/complete", {"prompt": "the cat"},
                             {"Content-Type": "text/plain"})  # a cross-site form's kind
    assert status == 415 and "application/json" in json.loads(raw)["error"]["message"]
    status, _, response = request(url, "DELETE", "/v1/complete")
    assert status == 405 and response.getheader("allow") == "POST"
    status, raw, _ = request(url)
    strings = list(strings_in(json.loads(raw)))
    assert status == 200 and strings
    assert not [s for s in strings if s.startswith("/") or str(tiny_model) in s]


def strings_in(x):
    if isinstance(x, dict | list):
        for v in x.values() if isinstance(x, dict) else x:
            yield from strings_in(v)
    elif isinstance(x, str):
        yield x


def in_thread(fn):
    out = []
    thread = threading.Thread(target=lambda: out.append(fn()))
    thread.start()
    return thread, out


def test_a_full_queue_answers_503_with_retry_after(tiny_model):
    with served(tiny_model, max_queue=1) as (url, app):
        thread, out = in_thread(lambda: request(url, "POST", "/v1/complete", LONG))
        while app.state.batcher.pending == 0:
            time.sleep(0.01)
        status, raw, response = request(url, "POST", "/v1/complete", {"prompt": "the cat"})
        assert status == 503 and response.getheader("retry-after") == "1"
        assert "--max-queue" in json.loads(raw)["error"]["message"]
        thread.join()
        assert out[0][0] == 200  # the one in hand was answered


def test_a_request_past_its_deadline_is_dropped(tiny_model):
    with served(tiny_model, request_timeout_s=0.2) as (url, app):
        status, raw, _ = request(url, "POST", "/v1/complete", LONG)
        assert status == 503 and "deadline" in json.loads(raw)["error"]["message"]
        assert request(url, "POST", "/v1/complete", {"prompt": "the cat"})[0] == 200


def test_a_client_that_goes_away_has_its_work_dropped(tiny_model):
    with served(tiny_model) as (url, app):
        batcher = app.state.batcher
        before = batcher.slices
        assert request(url, "POST", "/v1/complete", LONG)[0] == 200
        whole = batcher.slices - before  # the slices of the whole explanation
        parts = urlsplit(url)
        sock = socket.create_connection((parts.hostname, parts.port))
        body = json.dumps(LONG).encode()
        sock.sendall(b"POST /v1/complete HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                     b"application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        before = batcher.slices
        while batcher.slices == before:
            time.sleep(0.005)
        sock.close()  # gone after its first slice
        deadline = time.monotonic() + 60
        while batcher.pending and time.monotonic() < deadline:
            time.sleep(0.01)
        assert batcher.pending == 0
        time.sleep(0.2)
        assert batcher.slices - before < whole / 2


def test_slow_headers_and_too_many_connections_are_cut_off(tiny_model):
    with served(tiny_model, header_timeout_s=0.5, max_connections=2) as (url, _):
        parts = urlsplit(url)
        slow = socket.create_connection((parts.hostname, parts.port))
        slow.sendall(b"GET /v1/model HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and nothing more
        started = time.monotonic()
        slow.settimeout(30)
        assert slow.recv(100) == b""  # closed by the server
        assert 0.4 < time.monotonic() - started < 10
        slow.close()
        kept = [socket.create_connection((parts.hostname, parts.port)) for _ in range(2)]
        extra = socket.create_connection((parts.hostname, parts.port))
        extra.settimeout(30)
        try:
            assert extra.recv(100) == b""
        except ConnectionResetError:
            pass  # closed at once, as it should be
        kept[0].sendall(b"GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        kept[0].settimeout(30)
        assert kept[0].recv(12).startswith(b"HTTP/1.1 200")
        for s in [*kept, extra]:
            s.close()


@pytest.mark.parametrize("raw", [b"[" * 100_000 + b"]" * 100_000,
                                 b'{"prompt": "the \\ud800 cat"}', b'{"\\ud800": 1}',
                                 b'{"prompt": "the cat", "sample": true, "temperature": 1e39}',
                                 b'{"prompt": "the cat", "sample": true, "top_p": 5e-324}',
                                 b'{"prompt": "the cat", "words": Infinity}'])
def test_an_error_never_costs_the_next_request_on_the_connection(server, raw):
    parts = urlsplit(server)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    conn.request("POST", "/v1/complete", raw, {"Content-Type": "application/json"})
    response = conn.getresponse()
    assert response.status == 400 and json.loads(response.read())["error"]["message"]
    assert response.getheader("connection") != "close"
    conn.request("POST", "/v1/complete", b'{"prompt": "the cat sat on the"}',
                 {"Content-Type": "application/json"})
    again = conn.getresponse()
    assert again.status == 200 and json.loads(again.read())["completion"] == "mat"
    conn.close()
