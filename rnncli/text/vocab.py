"""The vocabulary: token <-> integer id.

Ids 0 and 1 are `<unk>` and `<eos>`; the words follow from most to least frequent (ties in order
of first appearance), keeping those seen at least `min_count` times, at most `max_vocab` in all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from rnncli.text.tokenize import EOS, UNK

SPECIALS = (UNK, EOS)


class Vocab:
    """Tokens <-> ids: `itos` (id -> token, the specials <unk> and <eos> first, then by
    frequency) and `stoi` (token -> id); a token outside it encodes as <unk>."""
    def __init__(self, itos: Sequence[str]):
        if list(itos[: len(SPECIALS)]) != list(SPECIALS):
            raise ValueError(f"a vocabulary starts with {SPECIALS}")
        self.itos: list[str] = list(itos)
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(self.itos)}
        self.unk = self.stoi[UNK]
        self.eos = self.stoi[EOS]

    @classmethod
    def build(cls, tokens: Iterable[str], min_count: int = 1,
              max_vocab: int | None = None) -> Vocab:
        return cls.from_counts(Counter(tokens), min_count, max_vocab)

    @classmethod
    def from_counts(cls, counts: Counter, min_count: int = 1,
                    max_vocab: int | None = None) -> Vocab:
        """From token counts whose insertion order is the order of first appearance."""
        counts = Counter(counts)
        for special in SPECIALS:
            counts.pop(special, None)
        words = sorted(counts, key=counts.__getitem__, reverse=True)
        words = [w for w in words if counts[w] >= min_count]
        if max_vocab is not None:
            words = words[: max(0, max_vocab - len(SPECIALS))]
        return cls([*SPECIALS, *words])

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def encode(self, tokens: Iterable[str], count: int = -1) -> np.ndarray:
        """Token ids, int32, from any iterable (no list is built; `count`, when known, lets
        the array be allocated once); unknown tokens become <unk>."""
        get, unk = self.stoi.get, self.unk
        return np.fromiter((get(t, unk) for t in tokens), dtype=np.int32, count=count)

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.itos[int(i)] for i in ids]
