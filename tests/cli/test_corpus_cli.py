"""`rnncli corpus list / get` and configs that name a fetched corpus (`corpus:NAME/PART`), with
the test-only catalogue of tests/corpus_server.py served over a real HTTP server."""

import json

import pytest
from clirun import run
from corpus_server import TRAIN, VALID, CorpusServer, catalogue

from rnncli.config.schema import load_config
from rnncli.errors import ConfigError
from rnncli.text import corpora


@pytest.fixture
def server(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(corpora.MIRROR_ENV, raising=False)
    with CorpusServer() as s:
        s.files.update({"/pub/train.txt": TRAIN, "/pub/valid.txt": VALID})
        monkeypatch.setitem(corpora.CATALOGUE, "fixture", catalogue(s.url)["fixture"])
        yield s


def one_error_line(result, fragment):
    assert result.exit_code == 1, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and fragment in lines[0], lines


def test_get_prints_the_folder_and_list_shows_it_fetched(server, tmp_path):
    listed = run("corpus", "list", "--json")
    assert listed.exit_code == 0
    rows = {r["name"]: r for r in map(json.loads, listed.stdout.splitlines())}
    assert {"wikitext-2", "ptb", "tinyshakespeare", "fixture"} <= set(rows)
    assert [f["ref"] for f in rows["wikitext-2"]["files"]] == [
        "corpus:wikitext-2/train", "corpus:wikitext-2/valid", "corpus:wikitext-2/test"]
    assert not any(f["fetched"] for f in rows["fixture"]["files"])

    result = run("corpus", "get", "fixture")
    assert result.exit_code == 0, result.stderr
    folder = tmp_path / "cache" / "rnncli" / "corpora" / "fixture"
    assert result.stdout == f"{folder}\n"
    assert (f"fixture/train.txt: {len(TRAIN):,} bytes, SHA-256 verified, from "
            f"{server.url}/pub/train.txt") in result.stderr
    assert (folder / "train.txt").read_bytes() == TRAIN

    listed = run("corpus", "list")
    line = next(x for x in listed.stdout.splitlines() if x.startswith("fixture "))
    assert " fetched " in line
    again = run("corpus", "get", "fixture")
    assert "already in the cache" in again.stderr and again.stdout == result.stdout


def test_get_from_a_mirror_folder(server, tmp_path):
    (tmp_path / "m" / "fixture").mkdir(parents=True)
    (tmp_path / "m" / "fixture" / "train.txt").write_bytes(TRAIN)
    (tmp_path / "m" / "fixture" / "valid.txt").write_bytes(VALID)
    result = run("corpus", "get", "fixture", "--from", tmp_path / "m")
    assert result.exit_code == 0, result.stderr
    assert f"from {tmp_path / 'm' / 'fixture' / 'valid.txt'}" in result.stderr
    assert server.requests == []


def test_get_errors_are_one_line(server):
    one_error_line(run("corpus", "get", "fixture", "nosuch"), "no corpus called 'nosuch'")
    assert server.requests == []  # every name is checked before anything is fetched
    server.wrong.add("/pub/valid.txt")
    one_error_line(run("corpus", "get", "fixture"), "nothing was kept")
    server.wrong.clear()
    server.dies["/pub/train.txt"] = 1
    (tmp_cache := corpora.cache_root() / "fixture").mkdir(parents=True, exist_ok=True)
    (tmp_cache / "train.txt").unlink(missing_ok=True)
    one_error_line(run("corpus", "get", "fixture"), "run the same command again to resume")
    assert run("corpus", "get", "fixture").exit_code == 0


CONFIG = ("data:\n  train: corpus:fixture/train\n  valid: corpus:fixture/valid\n"
          "model: {embedding: 8, hidden: 8}\n"
          "train: {epochs: 1, batch_size: 4, bptt: 8}\noutput: model\n")


def test_a_config_names_a_fetched_corpus(server, tmp_path):
    (tmp_path / "c.yaml").write_text(CONFIG)
    config = load_config(tmp_path / "c.yaml")
    assert config.data.train == ["corpus:fixture/train"]  # kept as a reference, not a path
    assert config.data.valid == "corpus:fixture/valid"

    missing = run("train", tmp_path / "c.yaml")
    one_error_line(missing, "the corpus fixture is not fetched yet: run "
                            "`rnncli corpus get fixture`")
    assert not (tmp_path / "model").exists()

    assert run("corpus", "get", "fixture").exit_code == 0
    trained = run("train", tmp_path / "c.yaml")
    assert trained.exit_code == 0, trained.stderr
    model = json.loads((tmp_path / "model" / "model.json").read_text())
    assert model["config"]["data"]["train"] == ["corpus:fixture/train"]


@pytest.mark.parametrize("value, fragment", [
    ("corpus:wikitext2/train", "did you mean wikitext-2"),
    ("corpus:wikitext-2/tran", "wikitext-2 has no file 'tran'"),
    ("corpus:ptb", "name one of its files"),
])
def test_a_wrong_reference_is_a_config_error(tmp_path, value, fragment):
    with pytest.raises(ConfigError, match=f"--set: data.train: .*{fragment}"):
        load_config(None, [f"data.train={value}"])


def test_the_shell_completes_commands_and_corpus_names():
    import os
    import subprocess
    import sys
    from pathlib import Path

    def complete(words, cword):
        env = dict(os.environ, COMP_WORDS=words, COMP_CWORD=str(cword),
                   _RNNCLI_COMPLETE="complete_bash")
        script = Path(sys.executable).with_name("rnncli")  # the installed command
        return subprocess.run([str(script)], env=env, capture_output=True, text=True,
                              timeout=60).stdout.split()

    assert complete("rnncli cor", 1) == ["corpus"]
    assert complete("rnncli corpus get wiki", 3) == ["wikitext-2"]
    assert complete("rnncli corpus get ", 3) == list(corpora.CATALOGUE)
