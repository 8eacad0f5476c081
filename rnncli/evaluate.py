"""Scoring a corpus: cross-entropy, perplexity, next-word accuracy.

Every target token counts, <eos> included: the text is cut at line ends into parallel streams,
each starting from a zero state with an <eos> before its first line, so the first word of every
line is predicted too. The hidden state follows the policy the model was trained with (reset
after each <eos>, or carried across lines).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rnncli.data import eval_streams, windows
from rnncli.layers import log_softmax
from rnncli.model import RNNLM


@dataclass
class Scores:
    tokens: int  # targets scored
    nll: float  # summed negative log-likelihood, nats
    top1: int  # targets that were the likeliest token
    top5: int  # targets among the five likeliest
    unk: int  # targets that are <unk>
    logp: np.ndarray | None = None  # (N,) ln p of each target in stream order, when asked for

    @property
    def cross_entropy(self) -> float:
        return self.nll / max(self.tokens, 1)

    @property
    def perplexity(self) -> float:
        return math.exp(min(self.cross_entropy, 700.0))

    def to_dict(self) -> dict:
        n = max(self.tokens, 1)
        return {"tokens": self.tokens, "cross_entropy": self.cross_entropy,
                "perplexity": self.perplexity, "accuracy": self.top1 / n,
                "top5_accuracy": self.top5 / n, "unk_rate": self.unk / n}


def evaluate(model: RNNLM, ids: np.ndarray, eos: int, unk: int, reset_at_eos: bool,
             n_streams: int = 32, bptt: int = 32, per_token: bool = False) -> Scores:
    """Score every token of the stream `ids` (int, with <eos> after each line); with
    `per_token`, keep each target's log-probability too (Scores.logp)."""
    data, weight = eval_streams(ids, eos, n_streams)  # (L, S), (L - 1, S)
    S = data.shape[1]
    scores = Scores(0, 0.0, 0, 0, 0)
    if per_token:  # stream s holds the tokens from start[s] on, one per row
        start = np.concatenate([[0], np.cumsum(weight.sum(axis=0))[:-1]]).astype(np.int64)
        scores.logp = np.zeros(int(weight.sum()))
    state = model.zero_state(S)
    for i, win in enumerate(windows(data, bptt, eos)):
        T = win.inputs.shape[0]
        keep = (win.prev != eos) if reset_at_eos else None
        hs, state = model.run(win.inputs, state, keep)  # (T, S, H)
        logp = log_softmax(model.logits(hs.reshape(T * S, model.H)))  # (T*S, V)
        w = weight[i * bptt: i * bptt + T].reshape(-1) > 0  # real targets only
        targets = win.targets.reshape(-1)[w]
        logp = logp[w]
        target_logp = logp[np.arange(len(targets)), targets]
        if per_token:
            place = start[None, :] + (i * bptt + np.arange(T))[:, None]  # (T, S)
            scores.logp[place.reshape(-1)[w]] = target_logp
        rank = (logp > target_logp[:, None]).sum(axis=1)  # tokens strictly likelier
        scores.tokens += len(targets)
        scores.nll -= float(target_logp.astype(np.float64).sum())
        scores.top1 += int((rank == 0).sum())
        scores.top5 += int((rank < 5).sum())
        scores.unk += int((targets == unk).sum())
    return scores
