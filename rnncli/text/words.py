"""The word tokeniser, version 2: what a reader sees as one word is one token, and the spacing
between tokens is written down, so that detokenising gives the text back as it was written.

1) Splitting. A token is, tried in this order at each place of the line:
   - a URL: a scheme and `://` (`https://example.com/path`) or `www.`, up to the next space,
     less the punctuation that ends a sentence or closes a bracket after it;
   - an e-mail address: `john.doe@example.com`;
   - an abbreviation with inner dots: two or more single letters each followed by a dot
     (`a.m.`, `e.g.`, `U.S.`);
   - a word: a run of letters (any script, with their combining marks) and digits, joined into
     one token across an apostrophe or a hyphen between two of them (`don't`, `пам'ять`,
     `well-known`, `o'er-press'd`) and, between two digits, across `.`, `,` or `:` (`3.14`,
     `5,000`, `9:30`);
   - a run of dots or of hyphens (`...`, `--`);
   - any other visible character (punctuation, symbols).
   Then the apostrophes at a word's edge: a pair that quotes (an opening one, and a closing
   one later in the line with no word after it but punctuation or the line's end: `'shall'?`)
   stay tokens of their own; any other joins its word (`'tis`, `'em`, `goin'`, `kings'`).
2) Spacing. Each token knows whether a space came before it. Where two tokens touch (no space
   between them), a joiner mark, `JOINER`, goes on the punctuation's side: a leading mark when
   the second token is punctuation (`sushi` `￭.`), else a trailing one on the first
   (`(￭` `word`), else (two words touching) a leading mark on the second. So the marks ride on
   punctuation, where spacing varies, and words keep one spelling. The vocabulary learns the
   marked spellings like any other token, and `detokenize` puts a space between two tokens
   unless a mark joins them.

Lines keep no spacing at their ends, and runs of spaces or tabs inside a line come back as one
space; everything else comes back as it was written.
"""

from __future__ import annotations

import regex

JOINER = "\uffed"  # ￭: the side on which a token touches its neighbour
EOS = "<eos>"
UNK = "<unk>"
SPECIALS = (EOS, UNK)

_W = r"[\p{L}\p{M}\p{N}]"
_APOSTROPHES = "'\u2019"
_URL = (r"(?:\p{L}[\p{L}\p{N}+.\-]*://|www\.)"  # a scheme, or www.
        r"[^\s\p{Z}\p{Cc}]*[^\s\p{Z}\p{Cc}.,;:!?'\"\u2019)\]}>]")  # ends in no punctuation
_EMAIL = rf"{_W}[\p{{L}}\p{{M}}\p{{N}}._%+\-]*@{_W}+(?:-{_W}+)*(?:\.{_W}+(?:-{_W}+)*)+"
_ABBREVIATION = r"(?:\p{L}\.){2,}"
_WORD = rf"{_W}+(?:(?:['\u2019\-\u2010]|(?<=\p{{N}})[.,:](?=\p{{N}})){_W}+)*"
_OTHER = r"\.{2,}|-{2,}|[^\s\p{Z}\p{Cc}]"  # control characters are spacing
_HAS_WORD = regex.compile(_W)


def _token_pattern(unk_token: str) -> regex.Pattern:
    return regex.compile("|".join([regex.escape(unk_token), _URL, _EMAIL, _ABBREVIATION,
                                   _WORD, _OTHER]))


_PATTERNS: dict[str, regex.Pattern] = {}


def spaced(text: str, unk_token: str = UNK) -> list[tuple[str, bool]]:
    """The tokens of one line, each with whether a space came before it (False for the
    first); the corpus's spelling of the unknown word, `unk_token`, is the one token `<unk>`."""
    pattern = _PATTERNS.get(unk_token)
    if pattern is None:
        pattern = _PATTERNS[unk_token] = _token_pattern(unk_token)
    out: list[tuple[str, bool]] = []
    end = 0
    for m in pattern.finditer(text):
        tok = m.group()
        out.append((UNK if tok == unk_token else tok, bool(out) and m.start() > end))
        end = m.end()
    if any(tok in _APOSTROPHES for tok, _ in out):
        out = _elisions(out)
    return out


def _is_word(tok: str) -> bool:
    return tok not in SPECIALS and _HAS_WORD.search(tok) is not None


def _elisions(toks: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """Apostrophes at a word's edge: an opening one closed later in the line (a quotation)
    stays apart; any other joins the word it touches (`'tis`, `goin'`).

    1) find the apostrophes touching a word on their right only (openers) or on their left
    only (closers), 2) pair each closer that ends a phrase (no word follows it after a space:
    `'shall'?`, not `goin' home`) with the last unpaired opener before it, 3) join the unpaired
    ones to their words."""
    n = len(toks)
    opens, joins = [], {}  # unpaired openers; apostrophe index -> word index it joins
    for i, (tok, _) in enumerate(toks):
        if tok not in _APOSTROPHES:
            continue
        right = i + 1 < n and not toks[i + 1][1] and _is_word(toks[i + 1][0])
        left = i > 0 and not toks[i][1] and _is_word(toks[i - 1][0])
        if right and not left:
            opens.append(i)
            joins[i] = i + 1
        elif left and not right:
            before_word = i + 1 < n and toks[i + 1][1] and _is_word(toks[i + 1][0])
            if opens and not before_word:  # a closing quote: it and its opener stay apart
                del joins[opens.pop()]
            else:  # goin' home, o' the: an elision goes on to the next word
                joins[i] = i - 1
    if not joins:
        return toks
    out: list[tuple[str, bool]] = []
    skip = False
    for i, (tok, space) in enumerate(toks):
        if skip:
            skip = False
            continue
        if joins.get(i) == i + 1:  # 'tis: the apostrophe and the word after it
            out.append((tok + toks[i + 1][0], space))
            skip = True
        elif joins.get(i) == i - 1:  # goin': onto the word before
            out[-1] = (out[-1][0] + tok, out[-1][1])
        else:
            out.append((tok, space))
    return out


def mark(toks: list[tuple[str, bool]]) -> list[str]:
    """Tokens with joiner marks where two touch: on the punctuation's side (see the module)."""
    out = [tok for tok, _ in toks]
    for i in range(1, len(toks)):
        if toks[i][1]:
            continue
        a, b = out[i - 1], toks[i][0]
        if b in SPECIALS and a in SPECIALS:
            continue
        if not _is_word(b) and b not in SPECIALS:
            out[i] = JOINER + out[i]
        elif not _is_word(a) and a not in SPECIALS:
            out[i - 1] = out[i - 1] + JOINER
        elif b not in SPECIALS:
            out[i] = JOINER + out[i]
        else:  # a word touching <unk> on its left: mark the word
            out[i - 1] = out[i - 1] + JOINER
    return out


def split(text: str, lowercase: bool = False, unk_token: str = UNK) -> list[str]:
    """One line's tokens (no <eos>), joiner-marked where they touch."""
    toks = spaced(text, unk_token)
    if lowercase:
        toks = [(t if t == UNK else t.lower(), s) for t, s in toks]
    return mark(toks)


def bare(tok: str) -> str:
    """A token without its joiner marks: what it spells."""
    if len(tok) > 1 and tok.startswith(JOINER):
        tok = tok[1:]
    if len(tok) > 1 and tok.endswith(JOINER):
        tok = tok[:-1]
    return tok


def joined(prev: str | None, tok: str) -> bool:
    """Whether `tok` follows `prev` with no space (no space either at a line's start)."""
    if prev is None or prev == EOS:
        return True
    return (len(tok) > 1 and tok.startswith(JOINER)) or (len(prev) > 1 and prev.endswith(JOINER))


def detokenize(tokens) -> str:
    """Marked tokens back into text: a space between two tokens unless a mark joins them,
    `<eos>` a line end."""
    out: list[str] = []
    prev = None
    for tok in tokens:
        if tok == EOS:
            out.append("\n")
        else:
            if not joined(prev, tok):
                out.append(" ")
            out.append(bare(tok))
        prev = tok
    return "".join(out)
