"""/openapi.json and docs/serving.md's API section come from the field tables that check the
requests: the document states the running server's limits, every documented range is the one
enforced, and the docs are regenerated whenever a field changes."""

import re
from pathlib import Path

import pytest
from serving import call, served

from rnncli.serve.openapi import API_END, API_START, document, markdown
from rnncli.serve.settings import Settings

DOCS = Path(__file__).resolve().parents[2] / "docs" / "serving.md"
LIMITS = dict(max_words=9, max_prompts=5)


@pytest.fixture(scope="module")
def served_document(tiny_model):
    with served(tiny_model, **LIMITS) as (url, _):
        status, doc = call(url + "/openapi.json")
        assert status == 200
        yield url, doc


def fields_of(doc, path):
    return doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]


def test_the_document_states_the_server_s_own_limits(served_document):
    _, doc = served_document
    assert doc["openapi"].startswith("3.1")
    assert doc == document(Settings(**LIMITS))
    assert fields_of(doc, "/v1/completions")["properties"]["max_tokens"]["maximum"] == 9
    prompt = fields_of(doc, "/v1/complete")["properties"]["prompt"]
    assert prompt["oneOf"][1]["maxItems"] == 5


def just_outside(schema):
    """A value past each end of a field's documented range."""
    kind = schema["type"][0] if isinstance(schema["type"], list) else schema["type"]
    step = 1 if kind == "integer" else schema["minimum"] / 2 or 0.5
    return [schema["minimum"] - step, schema["maximum"] + (1 if kind == "integer" else 0.5)]


@pytest.mark.parametrize("path", ["/v1/complete", "/v1/completions"])
def test_every_documented_range_is_the_one_enforced(served_document, path):
    url, doc = served_document
    body = fields_of(doc, path)
    ranged = {k: v for k, v in body["properties"].items() if "minimum" in v}
    assert len(ranged) >= 5
    for name, schema in ranged.items():
        extra = {"sample": True} if path == "/v1/complete" and name.startswith(
            ("temperature", "top_")) else {}
        for value in just_outside(schema):
            status, answer = call(url + path, {"prompt": "the cat", name: value, **extra})
            assert status == 400 and answer["error"]["param"] == name, (name, value, answer)
        for value in (schema["minimum"], schema["maximum"]):  # the ends themselves: served
            status, answer = call(url + path, {"prompt": "the cat", name: value, **extra})
            assert status == 200, (name, value, answer)


def test_the_docs_api_section_is_generated_from_the_same_tables():
    text = DOCS.read_text(encoding="utf-8")
    found = re.search(re.escape(API_START) + r"\n\n(.*)\n" + re.escape(API_END), text, re.S)
    assert found, "docs/serving.md lost its API section markers"
    assert found.group(1) == markdown(document(Settings())), (
        "docs/serving.md is out of date: python -m rnncli.serve.openapi --docs docs/serving.md")
