"""Fetching corpora over a real HTTP server on 127.0.0.1 (tests/corpus_server.py) and from a
mirror folder, with a test-only catalogue: verified downloads, wrong bytes, a server that dies
half-way, resume, 404s, mirrors; and `corpus:NAME/PART` references."""

from pathlib import Path

import pytest
from corpus_server import TRAIN, VALID, CorpusServer, catalogue

from rnncli.errors import DataError
from rnncli.text import corpora
from rnncli.text.corpora import cache_root, locate, parse_reference
from rnncli.text.corpus import read_lines
from rnncli.text.fetch import fetch


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(corpora.MIRROR_ENV, raising=False)
    return tmp_path / "cache" / "rnncli" / "corpora" / "fixture"


@pytest.fixture
def server():
    with CorpusServer() as s:
        s.files.update({"/pub/train.txt": TRAIN, "/pub/valid.txt": VALID})
        yield s


def left_in(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_good_download_is_kept_and_not_fetched_again(cache, server):
    cat = catalogue(server.url)
    got = fetch("fixture", catalogue=cat)
    assert [f.path for f in got] == [cache / "train.txt", cache / "valid.txt"]
    assert [f.source for f in got] == [f"{server.url}/pub/train.txt", f"{server.url}/pub/valid.txt"]
    assert (cache / "train.txt").read_bytes() == TRAIN
    assert (cache / "valid.txt").read_bytes() == VALID
    assert [f.size for f in got] == [len(TRAIN), len(VALID)]
    assert left_in(cache) == ["train.txt", "valid.txt"]  # no .part left behind
    asked = len(server.requests)
    again = fetch("fixture", catalogue=cat)
    assert [f.source for f in again] == [None, None] and len(server.requests) == asked


def test_progress_is_reported_up_to_the_size(cache, server):
    seen = []
    fetch("fixture", catalogue=catalogue(server.url),
          progress=lambda label, done, total: seen.append((label, done, total)))
    assert seen[-1] == ("fixture/valid.txt", len(VALID), len(VALID))
    train = [s for s in seen if s[0] == "fixture/train.txt"]
    assert train[-1] == ("fixture/train.txt", len(TRAIN), len(TRAIN))
    assert [d for _, d, _ in train] == sorted(d for _, d, _ in train)


def test_a_wrong_body_keeps_nothing(cache, server):
    server.wrong.add("/pub/train.txt")
    with pytest.raises(DataError, match="SHA-256 .* nothing was kept"):
        fetch("fixture", catalogue=catalogue(server.url))
    assert left_in(cache) == []
    server.wrong.clear()
    fetch("fixture", catalogue=catalogue(server.url))  # and a later try starts afresh
    assert (cache / "train.txt").read_bytes() == TRAIN
    assert server.requests[-2] == ("/pub/train.txt", None)


def test_a_server_dying_mid_file_leaves_a_part_that_is_resumed(cache, server):
    server.dies["/pub/train.txt"] = 1
    with pytest.raises(DataError, match="broke off after .* run the same command again"):
        fetch("fixture", catalogue=catalogue(server.url))
    half = len(TRAIN) // 2
    assert left_in(cache) == ["train.txt.part"]
    assert (cache / "train.txt.part").read_bytes() == TRAIN[:half]
    got = fetch("fixture", catalogue=catalogue(server.url))
    assert server.requests[1] == ("/pub/train.txt", f"bytes={half}-")  # only the rest asked
    assert got[0].path.read_bytes() == TRAIN
    assert left_in(cache) == ["train.txt", "valid.txt"]


def test_a_server_that_ignores_range_sends_it_all_again(cache, server):
    server.dies["/pub/train.txt"] = 1
    server.ignore_range.add("/pub/train.txt")
    with pytest.raises(DataError, match="broke off"):
        fetch("fixture", catalogue=catalogue(server.url))
    fetch("fixture", catalogue=catalogue(server.url))
    assert (cache / "train.txt").read_bytes() == TRAIN  # not the first half twice


def test_a_part_that_is_already_whole_is_verified(cache, server):
    cache.mkdir(parents=True)
    (cache / "train.txt.part").write_bytes(TRAIN)  # the connection broke after the last byte
    fetch("fixture", catalogue=catalogue(server.url))
    assert server.requests[0] == ("/pub/train.txt", f"bytes={len(TRAIN)}-")  # 416: none left
    assert (cache / "train.txt").read_bytes() == TRAIN


def test_a_resumed_part_with_wrong_bytes_keeps_nothing(cache, server):
    cache.mkdir(parents=True)
    (cache / "train.txt.part").write_bytes(b"x" * 100)  # not the file's first 100 bytes
    with pytest.raises(DataError, match="SHA-256"):
        fetch("fixture", catalogue=catalogue(server.url))
    assert left_in(cache) == []


def test_a_404_keeps_nothing(cache, server):
    del server.files["/pub/valid.txt"]
    with pytest.raises(DataError, match=r"/pub/valid.txt: HTTP 404"):
        fetch("fixture", catalogue=catalogue(server.url))
    assert left_in(cache) == ["train.txt"]  # the file that was verified stays


def test_no_server_says_how_to_use_a_mirror(cache, server):
    url = server.url
    server.shutdown()
    server.server_close()  # nothing listens on the port any more
    with pytest.raises(DataError, match=r"cannot download .* --from DIR\|URL or "
                                        r"RNNCLI_CORPUS_MIRROR"):
        fetch("fixture", catalogue=catalogue(url))


def test_an_http_mirror_is_laid_out_name_file_and_may_use_aliases(cache, server):
    server.files.update({"/m/fixture/train.txt": TRAIN, "/m/fixture/held.txt": VALID})
    got = fetch("fixture", mirror=f"{server.url}/m/", catalogue=catalogue(server.url))
    assert [f.source for f in got] == [f"{server.url}/m/fixture/train.txt",
                                       f"{server.url}/m/fixture/held.txt"]
    assert (cache / "valid.txt").read_bytes() == VALID
    assert not any(p.startswith("/pub/") for p, _ in server.requests)  # not the public source


def test_an_http_mirror_without_the_file(cache, server):
    server.files["/m/fixture/train.txt"] = TRAIN
    with pytest.raises(DataError, match=r"/m/fixture/valid.txt: not found on the mirror \(HTTP "
                                        r"404\), nor under held.txt"):
        fetch("fixture", mirror=f"{server.url}/m", catalogue=catalogue(server.url))
    assert left_in(cache) == ["train.txt"]


def mirror_folder(root, valid=VALID):
    (root / "fixture").mkdir(parents=True)
    (root / "fixture" / "train.txt").write_bytes(TRAIN)
    (root / "fixture" / "held.txt").write_bytes(valid)  # under its alias
    return root


def test_a_mirror_folder(cache, tmp_path):
    mirror = mirror_folder(tmp_path / "mirror")
    got = fetch("fixture", mirror=str(mirror), catalogue=catalogue("http://127.0.0.1:9"))
    assert [f.source for f in got] == [str(mirror / "fixture" / "train.txt"),
                                       str(mirror / "fixture" / "held.txt")]
    assert (cache / "valid.txt").read_bytes() == VALID
    assert left_in(cache) == ["train.txt", "valid.txt"]


def test_a_mirror_folder_with_wrong_bytes_keeps_nothing_of_that_file(cache, tmp_path):
    mirror = mirror_folder(tmp_path / "mirror", valid=VALID + b"more\n")
    with pytest.raises(DataError, match="held.txt: SHA-256 .* nothing was kept"):
        fetch("fixture", mirror=str(mirror), catalogue=catalogue("http://127.0.0.1:9"))
    assert left_in(cache) == ["train.txt"]


def test_the_mirror_setting_is_used_when_no_mirror_is_given(cache, tmp_path, monkeypatch):
    mirror = mirror_folder(tmp_path / "mirror")
    monkeypatch.setenv(corpora.MIRROR_ENV, str(mirror))
    got = fetch("fixture", catalogue=catalogue("http://127.0.0.1:9"))
    assert got[0].source == str(mirror / "fixture" / "train.txt")


def test_a_missing_mirror_folder(cache, tmp_path):
    with pytest.raises(DataError, match="no such mirror folder"):
        fetch("fixture", mirror=str(tmp_path / "nowhere"), catalogue=catalogue("http://x"))


def test_an_unknown_corpus_names_the_closest(cache):
    with pytest.raises(DataError, match="no corpus called 'wikitext2' .did you mean wikitext-2"):
        fetch("wikitext2")


def test_the_cache_follows_xdg_and_ignores_a_relative_value(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_root() == tmp_path / "rnncli" / "corpora"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_root() == tmp_path / "home" / ".cache" / "rnncli" / "corpora"


def test_references_name_a_corpus_file(cache, tmp_path, monkeypatch):
    monkeypatch.setitem(corpora.CATALOGUE, "fixture", catalogue("http://x")["fixture"])
    assert parse_reference("corpus:fixture/valid")[1].name == "valid.txt"
    assert parse_reference("corpus:fixture/valid.txt")[1].name == "valid.txt"
    assert parse_reference("corpus:tinyshakespeare")[1].name == "input.txt"  # its only file
    with pytest.raises(DataError, match="fixture has no file 'tset'; it has corpus:fixture/train, "
                                        "corpus:fixture/valid"):
        parse_reference("corpus:fixture/tset")
    with pytest.raises(DataError, match="name one of its files"):
        parse_reference("corpus:fixture")
    with pytest.raises(DataError, match=r"corpus:fixture/train: the corpus fixture is not fetched "
                                        r"yet: run `rnncli corpus get fixture`"):
        locate("corpus:fixture/train")
    with pytest.raises(DataError, match="run `rnncli corpus get fixture`"):
        read_lines("corpus:fixture/train")
    fetch("fixture", mirror=str(mirror_folder(tmp_path / "mirror")))
    assert locate("corpus:fixture/train") == cache / "train.txt"
    assert read_lines("corpus:fixture/valid")[0] == "the bird sat on the cat ."
    assert locate("data/corpus.txt") == Path("data/corpus.txt")  # a plain path is as given


def test_the_real_catalogue_matches_a_mirror(real_corpus):
    """The catalogue's SHA-256 of Tiny Shakespeare hold for the mirror's bytes (skipped without
    RNNCLI_CORPUS_MIRROR), and the text is the one the recipe describes."""
    text = real_corpus("tinyshakespeare")["input"].read_text(encoding="utf-8")
    assert len(text) == 1_115_394 and len(set(text)) == 65
