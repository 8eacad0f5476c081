"""The examples of README.md and docs/*.md, run as tests, so that the guide cannot drift from what
the commands print. Sybil finds them: ```console blocks run through tests/docs_console.py,
```python blocks as Python, and `<!-- skip: next "reason" -->` before a block shows it
without running it, for the reason given.

The examples that need a model use the demo model the tests ship (conftest's fixed_demo_model:
the same weights on every machine, so what they print does not depend on the BLAS kernel that
trained it). Each example is a test of its own, named by its page and line. A page's examples
share one namespace and one folder and run in the page's order: an example run alone first runs
the ones before it on its page (a page may train a model in one block and show it in the next).
An example that trains, or starts MPI ranks or a server, is marked `slow`, and so are the ones
after it on its page, which would run it first.
"""

from pathlib import Path

import docs_console
import pytest
from sybil import Sybil
from sybil.evaluators.skip import Skipper
from sybil.parsers.markdown import CodeBlockParser, PythonCodeBlockParser, SkipParser

REPO = Path(__file__).resolve().parents[2]
# pages whose examples another test runs: doctests with a setup of their own
RUN_ELSEWHERE = {"python-api.md": "tests/api/test_api_docs.py"}
PAGES = [REPO / "README.md", *sorted(page for page in (REPO / "docs").glob("*.md")
                                     if page.name not in RUN_ELSEWHERE)]
SYBIL = Sybil(parsers=[CodeBlockParser("console", docs_console.evaluate), PythonCodeBlockParser(),
                       SkipParser()])

_documents = {page: SYBIL.parse(page) for page in PAGES}
_examples = {page: list(document.examples()) for page, document in _documents.items()}
_evaluated = dict.fromkeys(PAGES, 0)  # how many of each page's examples have run


def _is_directive(example) -> bool:
    return isinstance(example.region.evaluator, Skipper)


def _starts_work(example) -> bool:
    """Does the example train, start MPI ranks or a server (the suite's `slow` tests)?"""
    above = example.document.text[:example.region.start].rstrip().rsplit("\n", 1)[-1]
    return (any(word in str(example.parsed) for word in ("rnncli train", "mpiexec"))
            or "with rnncli serve" in above)


def _cases():
    for page, examples in _examples.items():
        slow = False  # from the first slow example on, a page's examples run it first
        for i, example in enumerate(examples):
            if _is_directive(example):
                continue
            shown_only = i > 0 and _is_directive(examples[i - 1])  # after `skip: next`
            slow = slow or (_starts_work(example) and not shown_only)
            yield pytest.param(page, i, id=f"{page.relative_to(REPO)}:{example.line}",
                               marks=[pytest.mark.slow] if slow else [])


CASES = list(_cases())


def test_pages_run_elsewhere_are_run_there():
    for page, test in RUN_ELSEWHERE.items():
        assert page in (REPO / test).read_text(), f"{test} does not run docs/{page}"


def test_pages_have_examples():
    assert len(CASES) >= 20, "the examples were not found: has the Markdown changed shape?"


@pytest.mark.parametrize("page, index", CASES)
def test_example(page, index, fixed_demo_model, tmp_path_factory, docs_servers):
    document, examples = _documents[page], _examples[page]
    document.namespace.update(docs_model=fixed_demo_model, tmp_path_factory=tmp_path_factory,
                              docs_servers=docs_servers)
    for earlier in examples[_evaluated[page]:index]:  # the page's examples before this one
        try:
            earlier.evaluate()
        except Exception:  # a failure or a skip: reported by that example's own test
            pass
    _evaluated[page] = max(_evaluated[page], index + 1)
    examples[index].evaluate()



@pytest.fixture(scope="session")
def docs_servers():
    """The servers that pages' examples start (rnncli serve), stopped when the tests end."""
    servers = docs_console.Servers()
    yield servers
    servers.stop()
