"""Turning text into tokens and tokens back into text.

The word tokeniser has two versions. Version 2, the current one (rnncli.text.words), keeps
what a reader sees as one word whole (numbers, times, URLs, e-mail addresses, abbreviations,
elisions, hyphenated words) and writes down where tokens touch, so that text comes back as it
was written. A model folder records the version that made it; folders from before the versions
were recorded were made by version 1, described here, which they keep using.

Version 1 of the word tokeniser knows Unicode: a word is a run of letters (any script, with
their combining marks) and digits, and an apostrophe inside a word keeps it whole (`don't`,
`пам'ять`). Every other visible character (punctuation, symbols) is a token of its own. The char
tokeniser makes every character a token. The whitespace tokeniser reads pre-tokenised corpora
(Penn Treebank, WikiText) as the field does: a line's tokens are exactly `line.split()`, and
every line, blank ones included, ends with `<eos>` (PyTorch word_language_model's `data.py`,
Mikolov's RNNLM toolkit). The other tokenisers skip blank lines. Every line ends with the
`<eos>` token.

In every mode the corpus's spelling of the unknown word (`<unk>`, or `data.unk_token`) is one
token, the vocabulary's `<unk>`: the same id as any word outside the vocabulary.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import regex

from rnncli.errors import DataError
from rnncli.text import words
from rnncli.text.words import EOS, UNK

TOKENIZERS = ("word", "char", "whitespace")
VERSION = 2  # the word tokeniser's current version; the char and whitespace ones have one
VERSIONS = (1, 2)

_WORD = r"[\p{L}\p{M}\p{N}]+(?:['\u2019][\p{L}\p{M}\p{N}]+)*"
_TOKEN = regex.compile(rf"{_WORD}|[^\s\p{{Z}}\p{{Cc}}]")  # control characters are spacing

# Detokenising: where a token does not want a space on one of its sides.
_NO_SPACE_BEFORE = set(".,;:!?)]}%\u2026\u00bb\u201d\u2019'")
_NO_SPACE_AFTER = set("([{\u00ab\u201c\u2018\u00bf\u00a1")
_GLUE = set("-/")  # joins its neighbours: well-known, and/or


def split_words(text: str, lowercase: bool = False) -> list[str]:
    """Split one line of text into word and punctuation tokens (no <eos>): version 1."""
    if lowercase:
        text = text.lower()
    return _TOKEN.findall(text)


def split_chars(text: str, lowercase: bool = False) -> list[str]:
    """Split one line of text into characters (no <eos>)."""
    if lowercase:
        text = text.lower()
    return list(text)


def split_whitespace(text: str, lowercase: bool = False) -> list[str]:
    """Split one pre-tokenised line at runs of whitespace (no <eos>)."""
    if lowercase:
        text = text.lower()
    return text.split()


_SPLITTERS = {"word": split_words, "char": split_chars, "whitespace": split_whitespace}


def keeps_blank_lines(kind: str) -> bool:
    """Whether a blank line is a line of the corpus (one `<eos>`) for this tokeniser."""
    return kind == "whitespace"


def _clash(unk_token: str) -> DataError:
    return DataError(f"the text has {UNK!r} as a word, but data.unk_token says unknown words "
                     f"are spelled {unk_token!r}: {UNK!r} is the vocabulary's unknown word, so "
                     f"this word would be lost; set data.unk_token to {UNK!r} or respell it")


def tokenizer(kind: str, unk_token: str = UNK,
              version: int = VERSION) -> Callable[..., list[str]]:
    """The splitting function `split(line, lowercase=False) -> tokens` for `data.tokenizer`
    ("word", "char" or "whitespace") and, for words, `data.tokenizer_version`, where the
    spelling `unk_token` is the one token `<unk>`.

    A DataError when the text uses `<unk>` itself while `unk_token` names another spelling.
    """
    split = _SPLITTERS[kind]

    def split_line(text: str, lowercase: bool = False) -> list[str]:
        if unk_token != UNK and UNK in text:
            raise _clash(unk_token)
        if kind == "word" and version >= 2:
            return words.split(text, lowercase, unk_token)
        if unk_token not in text:  # the common case: nothing to map
            return split(text, lowercase)
        if kind == "whitespace":  # only a whole token is the unknown word
            return [UNK if t == unk_token else (t.lower() if lowercase else t)
                    for t in text.split()]
        tokens: list[str] = []
        for i, piece in enumerate(text.split(unk_token)):
            if i:
                tokens.append(UNK)
            tokens.extend(split(piece, lowercase))
        return tokens

    return split_line


def tokenize_lines(lines: Iterable[str], kind: str = "word", lowercase: bool = False,
                   unk_token: str = UNK, version: int = VERSION) -> Iterator[str]:
    """Tokens of many lines, each line followed by <eos>; blank lines are skipped, except by
    the whitespace tokeniser, for which a blank line is one <eos>."""
    split = tokenizer(kind, unk_token, version)
    blank_too = keeps_blank_lines(kind)
    for line in lines:
        line = line.rstrip("\r\n")
        if not blank_too and not line.strip():
            continue
        yield from split(line, lowercase)
        yield EOS


def detokenize(tokens: Iterable[str], kind: str = "word", version: int = VERSION) -> str:
    """Join tokens into text: as written (word tokens, version 2: rnncli.text.words), with
    single spaces (whitespace tokens) or nothing (characters) between them; `<eos>` becomes a
    line end. Version 1's word tokens get spacing guessed from the punctuation: `sushi.`."""
    if kind == "word" and version >= 2:
        return words.detokenize(tokens)
    if kind == "char":
        return "".join("\n" if t == EOS else t for t in tokens)
    if kind == "whitespace":
        done, line = [], []  # finished lines, the words of the current one
        for tok in tokens:
            if tok == EOS:
                done.append(" ".join(line) + "\n")
                line = []
            else:
                line.append(tok)
        return "".join(done) + " ".join(line)
    return _guess_spacing(tokens)


def continues(prev: str | None, tok: str, kind: str = "word", version: int = VERSION) -> str:
    """What goes between a text ending in token `prev` and its continuation starting with
    `tok`: a space or nothing, as `detokenize` would join them."""
    if kind == "char":
        return ""
    if kind == "word" and version >= 2:
        return "" if words.joined(prev, tok) else " "
    if prev is None or prev == EOS or tok == EOS:
        return ""
    if kind == "word" and detokenize([prev, tok], kind, version) == prev + tok:
        return ""
    return " "


def bare(tok: str, kind: str = "word", version: int = VERSION) -> str:
    """What a token spells, without the marks of where it touches its neighbours."""
    return words.bare(tok) if kind == "word" and version >= 2 else tok


def _guess_spacing(tokens: Iterable[str]) -> str:
    """Version 1's word tokens joined with spacing guessed from the punctuation."""
    out: list[str] = []
    prev = None
    open_quote = False
    for tok in tokens:
        if tok == EOS:
            out.append("\n")
            prev = None
            continue
        space = prev is not None
        if tok == '"':
            if open_quote:  # a closing quote hugs the word before it
                space = False
            open_quote = not open_quote
        if tok in _NO_SPACE_BEFORE or tok in _GLUE:
            space = False
        if prev is not None and (prev in _NO_SPACE_AFTER or prev in _GLUE
                                 or (prev == '"' and open_quote)):
            space = False
        if space:
            out.append(" ")
        out.append(tok)
        prev = tok
    return "".join(out)
