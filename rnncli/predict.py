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
    Prompts of similar length go through the network together (see `length_groups`), so one
    very long prompt does not pad every other one to its length.
    """
    if words < 0:
        raise PromptError(f"--words must be >= 0, got {words}")
    if top_k < 0:
        raise PromptError(f"--top-k must be >= 0, got {top_k}")
    toks = split_texts(saved, prompts, "prompt")
    results: list[Completion | None] = [None] * len(prompts)
    for group in length_groups([len(t) for t in toks], PAD_BUDGET):
        done = _complete_group(saved, [prompts[i] for i in group], [toks[i] for i in group],
                               words, top_k)
        for i, c in zip(group, done):
            results[i] = c
    return results  # type: ignore[return-value]


PAD_BUDGET = 1 << 16  # at most this many (step, prompt) cells in one group's padded batch
READ_CHUNK = 1024  # prompt steps read through the network per call (bounds the memory)


def split_texts(saved: SavedModel, texts: list[str], what: str) -> list[list[str]]:
    """Each text's tokens, as the model's tokeniser splits them; a PromptError for a text with
    none (`what` names it: prompt, sentence)."""
    d = saved.config.data
    split = tokenizer(d.tokenizer)
    toks = [split(x, d.lowercase) for x in texts]
    for x, t in zip(texts, toks):
        if not t:
            shown = x if len(x) <= 40 else x[:37] + "..."
            raise PromptError(f"the {what} {shown!r} has no words")
    return toks


def length_groups(lengths: list[int], budget: int) -> list[list[int]]:
    """Indices of the texts in batches of similar length: shortest first, a batch growing
    while its padded size (longest x count) stays within `budget` cells."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    groups: list[list[int]] = []
    for i in order:
        if groups and (len(groups[-1]) + 1) * lengths[i] <= budget:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def _complete_group(saved: SavedModel, prompts: list[str], toks: list[list[str]], words: int,
                    top_k: int) -> list[Completion]:
    model, vocab, d = saved.model, saved.vocab, saved.config.data
    B = len(prompts)
    T = max(len(t) for t in toks)
    inputs = np.full((T, B), vocab.eos, dtype=np.int64)  # left-padded, aligned at the end
    active = np.zeros((T, B), dtype=bool)
    for b, t in enumerate(toks):
        inputs[T - len(t):, b] = vocab.encode(t)
        active[T - len(t):, b] = True

    # 1) read the prompts into the hidden state; a prompt's state is zero when its first word
    #    comes in (h_{t-1} carries into step t only from a word of the prompt)
    keep = np.zeros((T, B), dtype=bool)  # (T, B)
    keep[1:] = active[:-1]
    state = model.zero_state(B)
    for i in range(0, T, READ_CHUNK):
        hs, state = model.run(inputs[i: i + READ_CHUNK], state, keep[i: i + READ_CHUNK])
    h = hs[-1]  # (B, H) the top layer's h after each prompt's last word

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
