"""Completing prompts: read the prompt into the hidden state, then decode the words that follow.

Many prompts go through the network together. Prompts of different lengths are aligned at their
ends: a shorter prompt waits with h = 0 until its first word, so every prompt starts from the
fresh state that training starts each line from. How the words are chosen (greedy, sampling,
beam search) is rnncli.infer.decode's business; why the model chose them, rnncli.infer.explain's.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field, replace

import numpy as np

from rnncli.errors import OptionError, PromptError
from rnncli.infer import explain as why
from rnncli.infer.decode import (
    SENTENCE_END,
    Decoding,
    Hypothesis,
    Stepper,
    beam_search,
    generate,
    prompt_rngs,
)
from rnncli.store.model_folder import SavedModel
from rnncli.text.tokenize import bare, detokenize, tokenizer
from rnncli.text.words import JOINER


@dataclass(frozen=True)
class NextWord:
    """A token the model finds likely next, with its probability."""
    word: str
    prob: float


@dataclass
class Completion:
    """One prompt's completion, with what was asked for beside it (the next tokens, the beams,
    the explanation, the trace); `to_dict` is what `complete --json` prints."""
    prompt: str
    completion: str  # the generated text, detokenised
    tokens: list[str]  # the generated tokens
    logprob: float = 0.0  # their total log-probability given the prompt (nats)
    next: list[NextWord] = field(default_factory=list)  # the likeliest next tokens
    unknown: list[str] = field(default_factory=list)  # prompt tokens outside the vocabulary
    beams: list[dict] | None = None  # beam search: every beam, best first
    explain: list[why.Attribution] | None = None  # --explain: each prompt token's share
    explained: str | None = None  # --explain: the token explained (the completion's first)
    trace: list[why.TraceStep] | None = None  # --trace: the hidden state at each prompt token

    def to_dict(self) -> dict:
        out = {"prompt": self.prompt, "completion": self.completion, "logprob": self.logprob,
               "next": [{"word": n.word, "prob": n.prob} for n in self.next],
               "unknown": self.unknown}
        if self.beams is not None:
            out["beams"] = self.beams
        if self.explain is not None:
            out["explained"] = self.explained
            out["explain"] = [a.to_dict() for a in self.explain]
        if self.trace is not None:
            out["trace"] = [s.to_dict() for s in self.trace]
        return out


def complete(saved: SavedModel, prompts: list[str], decoding: Decoding | None = None, *,
             next_k: int = 0, explain: bool = False, trace: bool = False,
             first: int = 0, rngs: list | None = None,
             toks: list[list[str]] | None = None) -> list[Completion]:
    """Complete each prompt as `decoding` says (default: one word, greedy).

    Args:
        next_k: also list the next_k likeliest tokens after each prompt, with probabilities
        explain: attribute the first completed token to the prompt's tokens (rnncli.infer.explain)
        trace: record the hidden state at every prompt token
        first: the index of prompts[0] in the whole input (sampling seeds each prompt by it)
        rngs: sampling: one generator per prompt, instead of those `first` and the seed give
              (a server batching several requests, each with its own seed)
        toks: the prompts' tokens when the caller has split them already (split_texts)
    Prompts of similar length go through the network together (see `length_groups`), so one
    very long prompt does not pad every other one to its length.
    """
    return why.drain(complete_steps(saved, prompts, decoding, next_k=next_k, explain=explain,
                                    trace=trace, first=first, rngs=rngs, toks=toks))


def complete_steps(saved: SavedModel, prompts: list[str], decoding: Decoding | None = None, *,
                   next_k: int = 0, explain: bool = False, trace: bool = False,
                   first: int = 0, rngs: list | None = None,
                   toks: list[list[str]] | None = None,
                   cells: int = why.CELL_BUDGET) -> Generator[None, None, list[Completion]]:
    """complete in slices: a generator that yields between groups of prompts and between
    explain's batches of `cells` cells (rnncli.infer.explain.explain_steps), and returns the
    Completions. A server answers other requests between the slices."""
    d = decoding or Decoding()
    check_next_k(next_k)
    if toks is None:
        toks = split_texts(saved, prompts, "prompt")
    if explain and max(map(len, toks), default=0) > EXPLAIN_MAX_TOKENS:
        raise OptionError(("explain",), f"takes prompts of up to {EXPLAIN_MAX_TOKENS:,} "
                          "tokens (its cost grows with the square of the length); one has "
                          f"{max(map(len, toks)):,}")
    if d.sample and rngs is None:
        rngs = prompt_rngs(d.seed, first, len(prompts))
    elif not d.sample:
        rngs = None
    results: list[Completion | None] = [None] * len(prompts)
    for group in length_groups([len(t) for t in toks], PAD_BUDGET):
        yield
        done = yield from _complete_group(saved, [prompts[i] for i in group],
                                          [toks[i] for i in group], d, next_k, explain, trace,
                                          [rngs[i] for i in group] if rngs else None, cells)
        for i, c in zip(group, done):
            results[i] = c
    return results  # type: ignore[return-value]


def check_next_k(next_k: int) -> None:
    """An OptionError unless next_k (how many likeliest next tokens to list) is 0 or more; the
    command line and the server call it before loading or queueing anything."""
    if next_k < 0:
        raise OptionError(("next_k",), "must be 0 or more", next_k)


PAD_BUDGET = 1 << 16  # at most this many (step, prompt) cells in one group's padded batch
READ_CHUNK = 1024  # prompt steps read through the network per call (bounds the memory)
BEAM_CELLS = 1 << 23  # beam search scores at most this many (prompt, beam, word) candidates
EXPLAIN_MAX_TOKENS = 1000  # --explain runs 16 paths per token, each through the whole prompt


def split_texts(saved: SavedModel, texts: list[str], what: str) -> list[list[str]]:
    """Each text's tokens, as the model's tokeniser splits them; a PromptError for a text with
    none (`what` names it: prompt, sentence).

    A prompt's last token is open: what follows it is yet to come, so whether it touches its
    continuation is unknown. Where the vocabulary has it with and without a trailing joiner
    (`(` and `(￭`), it takes the spelling seen more often in training (the lower id)."""
    d = saved.config.data
    split = tokenizer(d.tokenizer, d.unk_token, d.tokenizer_version)
    toks = [split(x, d.lowercase) for x in texts]
    for x, t in zip(texts, toks):
        if not t:
            shown = x if len(x) <= 40 else x[:37] + "..."
            raise PromptError(f"the {what} {shown!r} has no words")
    if what == "prompt" and d.tokenizer == "word" and d.tokenizer_version >= 2:
        stoi = saved.vocab.stoi
        for t in toks:
            spellings = [s for s in (t[-1], t[-1] + JOINER) if s in stoi]
            if spellings:
                t[-1] = min(spellings, key=stoi.__getitem__)
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


def align(saved: SavedModel, toks: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
    """Prompts as one batch aligned at their ends: inputs (T, B) ids, left-padded, and keep
    (T, B), 0 up to each prompt's first token (its state is zero when its first word comes in:
    h_{t-1} carries into step t only from a word of the prompt)."""
    vocab = saved.vocab
    B, T = len(toks), max(len(t) for t in toks)
    inputs = np.full((T, B), vocab.eos, dtype=np.int64)  # (T, B)
    active = np.zeros((T, B), dtype=bool)
    for b, t in enumerate(toks):
        inputs[T - len(t):, b] = vocab.encode(t)
        active[T - len(t):, b] = True
    keep = np.zeros((T, B), dtype=bool)  # (T, B)
    keep[1:] = active[:-1]
    return inputs, keep


def _complete_group(saved: SavedModel, prompts: list[str], toks: list[list[str]], d: Decoding,
                    next_k: int, explain: bool, trace: bool, rngs,
                    cells: int) -> Generator[None, None, list[Completion]]:
    model, vocab, kind = saved.model, saved.vocab, saved.config.data.tokenizer
    version = saved.config.data.tokenizer_version
    B = len(prompts)
    inputs, keep = align(saved, toks)
    T = inputs.shape[0]

    # 1) read the prompts into the hidden state
    state = model.zero_state(B)
    tops = []  # the top layer's h at every step, kept only for --trace
    for i in range(0, T, READ_CHUNK):
        hs, state = model.run(inputs[i: i + READ_CHUNK], state, keep[i: i + READ_CHUNK])
        if trace:
            tops.append(hs)
    h = hs[-1]  # (B, H) the top layer's h after each prompt's last word

    # 2) the likeliest next tokens after each prompt, when asked for (the output layer is the
    #    costly part with a large vocabulary: decoding computes it again with <unk> banned)
    nexts: list[list[NextWord]] = [[] for _ in range(B)]
    if next_k:
        logp = model.log_probs(h)  # (B, V)
        nexts = [_top_k(row, next_k, vocab.itos) for row in logp]

    # 3) the completion
    banned = [] if d.allow_unk else [vocab.unk]
    stops = [i for i, t in enumerate(vocab.itos) if bare(t, kind, version) in SENTENCE_END]
    stepper = Stepper(model, vocab.eos, banned, stops)
    beams: list[list[Hypothesis]] | None = None
    if d.beam:
        d = replace(d, beam=min(d.beam, len(vocab)))  # more beams than words: no more to find
        rows = max(1, BEAM_CELLS // (d.beam * len(vocab)))  # prompts whose (W, V) fit at once
        beams = []
        for i in range(0, B, rows):
            part = slice(i, i + rows)
            beams += beam_search(stepper, h[part], [tuple(a[part] for a in layer)
                                                    for layer in state], d)
        best = [bs[0] for bs in beams]
    else:
        best = generate(stepper, h, state, d, rngs)

    # 4) why: the first completed token, traced back to the prompt's tokens
    attributions = None
    if explain:
        # with --words 0 nothing was chosen: explain the likeliest next token
        chosen = stepper.logp(h).argmax(axis=1) if d.max_words == 0 else None  # (B,)
        targets = [hyp.ids[0] if hyp.ids else vocab.eos if hyp.ended else int(chosen[b])
                   for b, hyp in enumerate(best)]
        attributions = []
        for b in range(B):
            attributions.append((yield from why.explain_steps(
                model, inputs[T - len(toks[b]):, b], targets[b], vocab.eos, vocab.itos, cells)))
    traces = None
    if trace:
        traces = why.trace(model, np.concatenate(tops), inputs, vocab.itos)

    results = []
    for b, prompt in enumerate(prompts):
        words = [vocab.itos[i] for i in best[b].ids]
        unknown = [bare(t, kind, version) for t in toks[b] if t not in vocab]
        c = Completion(prompt, detokenize(words, kind, version), words, best[b].logprob,
                       nexts[b], unknown)
        if beams is not None:
            c.beams = [_beam_dict(x, vocab.itos, kind, version) for x in beams[b]]
        n = len(toks[b])
        if attributions is not None:
            c.explain, c.explained = attributions[b], vocab.itos[targets[b]]
        if traces is not None:
            c.trace = traces[b][T - n:]
        results.append(c)
    return results


def _beam_dict(hyp: Hypothesis, itos: list[str], kind: str, version: int) -> dict:
    words = [itos[i] for i in hyp.ids]
    return {"completion": detokenize(words, kind, version), "logprob": hyp.logprob,
            "score": hyp.score, "ended": hyp.ended}


def _top_k(logp: np.ndarray, k: int, itos: list[str]) -> list[NextWord]:
    """The k likeliest tokens of one distribution (V,), likeliest first, with probabilities."""
    k = min(k, len(logp))
    if k <= 0:
        return []
    best = np.argpartition(-logp, k - 1)[:k]  # the k largest, unordered: O(V)
    best = best[np.argsort(-logp[best], kind="stable")]
    return [NextWord(itos[i], float(np.exp(logp[i]))) for i in best]

