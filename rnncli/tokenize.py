"""Turning text into tokens and tokens back into text.

The word tokeniser knows Unicode: a word is a run of letters (any script, with their combining
marks) and digits, and an apostrophe inside a word keeps it whole (`don't`, `пам'ять`). Every
other visible character (punctuation, symbols) is a token of its own. The char tokeniser makes
every character a token. Either way, every line ends with the `<eos>` token.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import regex

EOS = "<eos>"
UNK = "<unk>"

_WORD = r"[\p{L}\p{M}\p{N}]+(?:['\u2019][\p{L}\p{M}\p{N}]+)*"
_TOKEN = regex.compile(rf"{_WORD}|[^\s\p{{Z}}\p{{Cc}}]")  # control characters are spacing

# Detokenising: where a token does not want a space on one of its sides.
_NO_SPACE_BEFORE = set(".,;:!?)]}%\u2026\u00bb\u201d\u2019'")
_NO_SPACE_AFTER = set("([{\u00ab\u201c\u2018\u00bf\u00a1")
_GLUE = set("-/")  # joins its neighbours: well-known, and/or


def split_words(text: str, lowercase: bool = False) -> list[str]:
    """Split one line of text into word and punctuation tokens (no <eos>)."""
    if lowercase:
        text = text.lower()
    return _TOKEN.findall(text)


def split_chars(text: str, lowercase: bool = False) -> list[str]:
    """Split one line of text into characters (no <eos>)."""
    if lowercase:
        text = text.lower()
    return list(text)


def tokenizer(kind: str):
    """The splitting function for `data.tokenizer` ("word" or "char")."""
    return {"word": split_words, "char": split_chars}[kind]


def tokenize_lines(lines: Iterable[str], kind: str = "word",
                   lowercase: bool = False) -> Iterator[str]:
    """Tokens of many lines, each line followed by <eos>; blank lines are skipped."""
    split = tokenizer(kind)
    for line in lines:
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        yield from split(line, lowercase)
        yield EOS


def detokenize(tokens: Iterable[str], kind: str = "word") -> str:
    """Join tokens into text with natural spacing: `sushi.` not `sushi .`."""
    if kind == "char":
        return "".join("\n" if t == EOS else t for t in tokens)
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
