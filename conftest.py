"""The examples of README.md and docs/*.md, run as tests by Sybil: ```console blocks through
tests/docs_console.py, ```python blocks as Python; `<!-- skip: next "reason" -->` before a
block shows it without running it, for the reason given."""

from pathlib import Path

import pytest
from sybil import Sybil
from sybil.parsers.markdown import CodeBlockParser, PythonCodeBlockParser, SkipParser

import docs_console


@pytest.fixture(scope="session")
def docs_model():
    """The demo model the tests ship: the same weights on every machine."""
    return Path(__file__).resolve().parent / "tests" / "fixtures" / "demo-model"


pytest_collect_file = Sybil(
    parsers=[CodeBlockParser("console", docs_console.evaluate), PythonCodeBlockParser(),
             SkipParser()],
    patterns=["README.md", "docs/*.md"],
    fixtures=["docs_model", "tmp_path_factory"],
).pytest()
