"""The examples of the Python API's guide (docs/python-api.md) and docstrings (rnncli.api) run
as written: doctest, in a folder holding the demo model at runs/cuisine and a tiny corpus."""

import doctest
import shutil
from pathlib import Path

import pytest
from conftest import TINY_TEXT

import rnncli
import rnncli.api

ROOT = Path(__file__).resolve().parents[2]
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.fixture
def workdir(fixed_demo_model, tmp_path, monkeypatch):
    shutil.copytree(fixed_demo_model, tmp_path / "runs" / "cuisine")
    (tmp_path / "tiny.txt").write_text(TINY_TEXT)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_guide_runs_as_written(workdir):
    result = doctest.testfile(str(ROOT / "docs" / "python-api.md"), module_relative=False,
                              optionflags=FLAGS, globs={})
    assert result.attempted > 20 and result.failed == 0


def test_the_docstrings_run_as_written(workdir):
    globs = {"rnncli": rnncli, "model": rnncli.load("runs/cuisine")}
    for module in (rnncli, rnncli.api):
        result = doctest.testmod(module, optionflags=FLAGS, extraglobs=globs)
        assert result.attempted >= 2 and result.failed == 0
