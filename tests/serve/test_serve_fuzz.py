"""Whatever a client sends, the server answers it with JSON and a status below 500, and the
kept-alive connection goes on serving: thousands of generated requests (Hypothesis) against a
real server, all over one connection, built from the routes' own field names with values of
every JSON type, extreme numbers, non-finite ones, lone surrogates, deep nesting and bytes
that are not JSON."""

import http.client
import json
import time
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from serving import served

from rnncli.serve.openai_api import completions_fields
from rnncli.serve.schema import complete_fields, score_fields
from rnncli.serve.settings import Settings

LIMITS = dict(max_prompts=4, max_prompt_tokens=24, max_explain_tokens=8, max_explain_work=128,
              max_words=6, max_answer_bytes=1 << 16)
ROUTES = {"/v1/complete": complete_fields, "/v1/score": score_fields,
          "/v1/completions": completions_fields}
FIELDS = sorted({name for fields in ROUTES.values() for name in fields(Settings(**LIMITS))})

words = st.sampled_from(["the cat", "the", "a bird sang", "", "   ", "eos", "sentence", ".",
                         "\ud800", "cat \udfff sat", "\x00", "é", "the " * 30])
numbers = st.sampled_from([0, 1, 2, 3, -1, 0.0, 0.5, 1.0, 2.0, 1e-320, 5e-324, 1e-7, 1e39,
                           -1e39, 10**30, 2**63, 64, 100, 101, 256, 257, 2**31, True, False,
                           None, float("nan"), float("inf"), -float("inf")])
scalars = numbers | words | st.integers() | st.floats() | st.text(max_size=8)
values = scalars | st.lists(scalars, max_size=3) | st.dictionaries(
    st.sampled_from(FIELDS), scalars, max_size=2) | st.just([["the cat"]]) | st.just({})
names = st.sampled_from(FIELDS) | st.text(max_size=4)
objects = st.tuples(words | st.lists(words, min_size=1, max_size=5),
                    st.lists(st.tuples(names, values), max_size=4)).map(
    lambda pv: {"prompt": pv[0], **dict(pv[1])})
bodies = (objects.map(lambda b: json.dumps(b).encode())  # NaN, Infinity, \ud800 escapes
          | st.lists(st.tuples(names, values), max_size=4).map(
              lambda kv: json.dumps(dict(kv)).encode())
          | values.map(lambda v: json.dumps(v).encode())
          | st.integers(1, 20_000).map(lambda n: b"[" * n + b"]" * n)
          | st.integers(1, 5_000).map(lambda n: b'{"prompt": ' + b"[" * n + b"]" * n + b"}")
          | st.binary(max_size=64))


@pytest.fixture(scope="module")
def connection(tiny_model):
    with served(tiny_model, **LIMITS) as (url, _):
        parts = urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        yield conn
        conn.close()


def post(conn, path: str, raw: bytes) -> tuple[int, object, http.client.HTTPResponse]:
    conn.request("POST", path, raw, {"Content-Type": "application/json"})
    response = conn.getresponse()
    return response.status, json.loads(response.read()), response


@settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck))
@given(path=st.sampled_from(sorted(ROUTES)), raw=bodies)
def test_no_request_gets_a_5xx_or_costs_the_connection(connection, path, raw):
    status, answer, response = post(connection, path, raw)
    assert status < 500, (raw[:200], answer)
    assert response.getheader("connection") != "close"
    if status != 200:
        assert answer["error"]["message"]
        return
    for item in answer if isinstance(answer, list) else [answer]:  # allow_unk never sent true
        if path == "/v1/complete" and b'"allow_unk": true' not in raw:
            assert "<unk>" not in item["completion"], (raw, item)


def test_the_connection_still_answers_after_thousands(connection):
    started = time.monotonic()
    status, answer, _ = post(connection, "/v1/complete", b'{"prompt": "the cat sat on the"}')
    assert status == 200 and answer["completion"] == "mat"
    assert time.monotonic() - started < 10
