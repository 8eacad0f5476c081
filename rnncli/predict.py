"""Completing prompts: read the prompt into the hidden state, then pick the likeliest words.

Many prompts go through the network together. Prompts of different lengths are aligned at their
ends: a shorter prompt waits with h = 0 until its first word, so every prompt starts from the
fresh state that training starts each line from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rnncli.errors import PromptError
from rnncli.layers import log_softmax
from rnncli.store import SavedModel
from rnncli.tokenize import detokenize, tokenizer


@dataclass
class Completion:
    prompt: str
    completion: str  # the generated text, detokenised
    tokens: list[str]  # the generated tokens
    next: list[tuple[str, float]] = field(default_factory=list)  # top-k after the prompt
    unknown: list[str] = field(default_factory=list)  # prompt tokens outside the vocabulary

    def to_dict(self) -> dict:
        return {"prompt": self.prompt, "completion": self.completion,
                "next": [{"word": w, "prob": p} for w, p in self.next],
                "unknown": self.unknown}


def complete(saved: SavedModel, prompts: list[str], words: int = 1,
             top_k: int = 0) -> list[Completion]:
    """Greedy completions of `words` tokens for each prompt, and the top_k next tokens.

    Generation stops early at <eos> (the model thinks the line is over); <unk> is never chosen.
    """
    if words < 0:
        raise PromptError(f"--words must be >= 0, got {words}")
    if top_k < 0:
        raise PromptError(f"--top-k must be >= 0, got {top_k}")
    if not prompts:
        return []
    model, vocab, d = saved.model, saved.vocab, saved.config.data
    split = tokenizer(d.tokenizer)
    toks = [split(p, d.lowercase) for p in prompts]
    for p, t in zip(prompts, toks):
        if not t:
            raise PromptError(f"the prompt {p!r} has no words")
    B = len(prompts)
    T = max(len(t) for t in toks)
    inputs = np.full((T, B), vocab.eos, dtype=np.int64)  # left-padded, aligned at the end
    active = np.zeros((T, B), dtype=bool)
    for b, t in enumerate(toks):
        inputs[T - len(t):, b] = vocab.encode(t)
        active[T - len(t):, b] = True

    # 1) read the prompts into the hidden state; a prompt's state stays zero until it starts
    state = model.zero_state(B)
    h = state[-1][0]  # (B, H) the top layer's h
    for t in range(T):
        h_new, new = model.step(inputs[t], state)
        on = active[t, :, None]
        state = [tuple(np.where(on, a, b) for a, b in zip(sn, so)) for sn, so in zip(new, state)]
        h = np.where(on, h_new, h)  # (B, H)

    # 2) the next-token distribution after each prompt
    logp = log_softmax(model.logits(h))  # (B, V)
    nexts = [_top_k(row, top_k, vocab.itos) for row in logp]

    # 3) greedy generation: the likeliest token that is not <unk>, until <eos>
    generated: list[list[str]] = [[] for _ in range(B)]
    done = np.zeros(B, dtype=bool)
    for step in range(words):
        if step > 0:
            logp = log_softmax(model.logits(h))
        logp[:, vocab.unk] = -np.inf
        choice = logp.argmax(axis=1)  # (B,)
        for b in range(B):
            if done[b]:
                continue
            if choice[b] == vocab.eos:
                done[b] = True
            else:
                generated[b].append(vocab.itos[choice[b]])
        if done.all():
            break
        h, state = model.step(choice, state)

    results = []
    for b, prompt in enumerate(prompts):
        unknown = [t for t in toks[b] if t not in vocab]
        results.append(Completion(prompt, detokenize(generated[b], d.tokenizer), generated[b],
                                  nexts[b], unknown))
    return results


def _top_k(logp: np.ndarray, k: int, itos: list[str]) -> list[tuple[str, float]]:
    """The k likeliest tokens of one distribution (V,), likeliest first, with probabilities."""
    k = min(k, len(logp))
    if k <= 0:
        return []
    best = np.argpartition(-logp, k - 1)[:k]  # the k largest, unordered: O(V)
    best = best[np.argsort(-logp[best], kind="stable")]
    return [(itos[i], float(np.exp(logp[i]))) for i in best]
