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

from rnncli.infer.evaluate import TargetScorer
from rnncli.infer.predict import align, length_groups, split_texts
from rnncli.store.model_folder import SavedModel
from rnncli.text.corpus import windows
from rnncli.text.tokenize import EOS, bare

MAX_CELLS = 1 << 12  # (step, sentence) cells read through the network together


@dataclass
class TokenScore:
    """One token of a scored sentence: how surprising it was, and what the model expected."""
    token: str
    surprisal_bits: float  # -log2 p(token | the tokens before it)
    best: str  # the likeliest token there
    best_prob: float  # its probability

    def to_dict(self) -> dict:
        return {"token": self.token, "surprisal_bits": self.surprisal_bits, "best": self.best,
                "best_prob": self.best_prob}


@dataclass
class SentenceScore:
    """One sentence's log-probability under the model, and per token its surprisal and the
    model's best guess there; `to_dict` is what `score --json` prints."""
    sentence: str
    logprob: float  # total log-probability, nats
    tokens: list[TokenScore] = field(default_factory=list)  # its tokens and the closing <eos>
    unknown: list[str] = field(default_factory=list)  # tokens outside the vocabulary (<unk>)

    @property
    def perplexity(self) -> float:
        return math.exp(-self.logprob / max(len(self.tokens), 1))

    def to_dict(self) -> dict:
        return {"sentence": self.sentence, "logprob": self.logprob,
                "perplexity": self.perplexity, "tokens": [t.to_dict() for t in self.tokens],
                "unknown": self.unknown}


def score(saved: SavedModel, sentences: list[str],
          toks: list[list[str]] | None = None) -> list[SentenceScore]:
    """Score each sentence; sentences of similar length are scored together. `toks`: the
    sentences' tokens when the caller has split them already (split_texts)."""
    model, vocab, d = saved.model, saved.vocab, saved.config.data
    if toks is None:
        toks = split_texts(saved, sentences, "sentence")
    results: list[SentenceScore | None] = [None] * len(sentences)
    scorer = TargetScorer(model)
    for group in length_groups([len(t) + 1 for t in toks], MAX_CELLS):
        T = len(toks[group[-1]]) + 1  # the longest: its words and the closing <eos>
        ids = np.full((T + 1, len(group)), vocab.eos, dtype=np.int64)  # <eos> w_1 .. w_n <eos>
        for b, i in enumerate(group):
            ids[1: len(toks[i]) + 1, b] = vocab.encode(toks[i])
        (win,) = windows(ids, T, vocab.eos)  # one window: inputs, targets, the token before
        targets = win.targets
        keep = (win.prev != vocab.eos) if saved.config.train.reset_at_eos else None
        hs, _ = model.run(win.inputs, model.zero_state(len(group)), keep)  # (T, B, H)
        got, best, best_logp = scorer.best(hs.reshape(-1, model.H), targets.reshape(-1))
        got, best, best_logp = (a.reshape(T, len(group)) for a in (got, best, best_logp))
        for b, i in enumerate(group):
            n = len(toks[i]) + 1  # the words and the closing <eos>
            per_token = [TokenScore(tok, float(-got[t, b] / math.log(2)), vocab.itos[best[t, b]],
                                    float(np.exp(best_logp[t, b])))
                         for t, tok in enumerate(toks[i] + [EOS])]
            unknown = [bare(t, d.tokenizer, d.tokenizer_version) for t in toks[i]
                       if t not in vocab]
            results[i] = SentenceScore(sentences[i], float(got[:n, b].astype(np.float64).sum()),
                                       per_token, unknown)
    return results  # type: ignore[return-value]


def continuation_logprobs(saved: SavedModel, prompts: list[list[str]], continuations:
                          list[list[str]], top: int = 0) -> list[list[tuple[float, list]]]:
    """Each continuation token's log-probability given its prompt and the tokens before it,
    the prompt read as `complete` reads it (from h = 0 at its first word); with `top`, also the
    `top` likeliest tokens at that step with theirs. Per text, per continuation token:
    (logprob, [(token, logprob), ...])."""
    model, vocab = saved.model, saved.vocab
    seqs = [p + c for p, c in zip(prompts, continuations)]
    inputs, keep = align(saved, seqs)  # (T, B) aligned at their ends
    T = inputs.shape[0]
    hs, _ = model.run(inputs, model.zero_state(len(seqs)), keep)  # (T, B, H)
    out = []
    for b, (p, c) in enumerate(zip(prompts, continuations)):
        start = T - len(seqs[b]) + len(p) - 1  # the step whose h predicts c[0]
        logp = model.log_probs(hs[start: start + len(c), b])  # (n, V)
        targets = np.array(vocab.encode(c), dtype=np.int64)  # (n,)
        best = np.argsort(-logp, axis=1, kind="stable")[:, :top]  # (n, top)
        out.append([(float(logp[t, targets[t]]),
                     [(vocab.itos[i], float(logp[t, i])) for i in best[t]])
                    for t in range(len(c))])
    return out
