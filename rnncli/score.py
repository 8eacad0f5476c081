"""Scoring sentences: how likely the model finds each one, token by token.

A sentence is read as a line: an <eos> first (from a zero state, as `eval` starts every stream),
then its tokens, then the <eos> that ends it; every token after the first <eos> is a target, so
the total covers the first word and the line's end too. Surprisal is -log2 p: the bits of
surprise at each token.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from rnncli.data import windows
from rnncli.layers import log_softmax
from rnncli.predict import length_groups, split_texts
from rnncli.store import SavedModel
from rnncli.tokenize import EOS

MAX_CELLS = 1 << 12  # (step, sentence) cells scored together: bounds the (cells, V) array


@dataclass
class Score:
    sentence: str
    logprob: float  # total log-probability, nats
    tokens: list[dict] = field(default_factory=list)  # token, surprisal_bits, best, best_prob

    @property
    def perplexity(self) -> float:
        return math.exp(-self.logprob / max(len(self.tokens), 1))

    def to_dict(self) -> dict:
        return {"sentence": self.sentence, "logprob": self.logprob,
                "perplexity": self.perplexity, "tokens": self.tokens}


def score(saved: SavedModel, sentences: list[str]) -> list[Score]:
    """Score each sentence; sentences of similar length are scored together."""
    model, vocab = saved.model, saved.vocab
    toks = split_texts(saved, sentences, "sentence")
    results: list[Score | None] = [None] * len(sentences)
    for group in length_groups([len(t) + 1 for t in toks], MAX_CELLS):
        T = len(toks[group[-1]]) + 1  # the longest: its words and the closing <eos>
        ids = np.full((T + 1, len(group)), vocab.eos, dtype=np.int64)  # <eos> w_1 .. w_n <eos>
        for b, i in enumerate(group):
            ids[1: len(toks[i]) + 1, b] = vocab.encode(toks[i])
        (win,) = windows(ids, T, vocab.eos)  # one window: inputs, targets, the token before
        targets = win.targets
        keep = (win.prev != vocab.eos) if saved.config.train.reset_at_eos else None
        hs, _ = model.run(win.inputs, model.zero_state(len(group)), keep)  # (T, B, H)
        logp = log_softmax(model.logits(hs.reshape(-1, model.H))).reshape(T, len(group), -1)
        for b, i in enumerate(group):
            n = len(toks[i]) + 1  # the words and the closing <eos>
            rows = logp[:n, b]  # (n, V)
            target = targets[:n, b]
            got = rows[np.arange(n), target]
            best = rows.argmax(axis=1)
            per_token = [{"token": tok, "surprisal_bits": float(-got[t] / math.log(2)),
                          "best": vocab.itos[best[t]], "best_prob": float(np.exp(rows[t, best[t]]))}
                         for t, tok in enumerate(toks[i] + [EOS])]
            results[i] = Score(sentences[i], float(got.astype(np.float64).sum()), per_token)
    return results  # type: ignore[return-value]
