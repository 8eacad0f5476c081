"""Choosing the words of a completion, one step at a time, from the model's distribution.

After the prompt, the model gives y_t = softmax(h_t @ W_hy + b_y), the distribution of the next
token; a decoding strategy picks one, feeds it back in as x_{t+1}, and goes on:

    greedy   the likeliest token at every step (deterministic)
    sample   a random draw from y_t, sharpened or flattened by a temperature T
             (softmax(logits / T)), optionally cut to the K likeliest tokens (top-k) or to the
             smallest set whose probability reaches P (top-p, "nucleus" sampling)
    beam     W partial completions kept at once, each extended by every token, the W likeliest
             kept; finished ones are ranked by log-probability per token (length normalisation:
             a plain sum would always prefer the shortest)

A completion ends at <eos> (the model ends the line; that <eos> is never part of the text), after
a sentence-ending mark with `until="sentence"`, or after `words` tokens. With `lines=N` it goes
on across line ends and ends at the N-th <eos>: the ones before it stay in the completion (the
text shows them as line breaks); without `words`, a line that reaches MAX_WORDS tokens ends
there (its <eos> is the only token left to choose). <unk> is never chosen unless allowed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnncli.errors import OptionError
from rnncli.nn.layers import log_softmax

UNTIL = ("eos", "sentence")
SENTENCE_END = frozenset({".", "!", "?", "\u2026"})
MAX_WORDS = 100  # the cap on a completion with `until` and no `words` (per line with `lines`)


@dataclass(frozen=True)
class Decoding:
    """How completions are chosen: their length, greedy / sampling / beam search, and which
    tokens may come. The options are checked when it is made (an OptionError names them)."""
    words: int | None = None  # at most this many tokens (None: 1, or MAX_WORDS with until)
    until: str | None = None  # "eos": to the end of the line; "sentence": to . ! ? or the end
    lines: int | None = None  # go on across line ends, to the end of the N-th line (None: 1)
    sample: bool = False  # draw at random instead of taking the likeliest
    temperature: float = 1.0  # sampling: < 1 sharpens the distribution, > 1 flattens it
    top_k: int = 0  # sampling: draw among the K likeliest tokens only (0: all)
    top_p: float = 1.0  # sampling: draw among the smallest set reaching probability P
    beam: int = 0  # beam search with this many beams (0: no beam search)
    seed: int | None = None  # sampling: the same seed and input give the same completions
    allow_unk: bool = False  # <unk> may be chosen

    def __post_init__(self):
        if self.words is not None and self.words < 0:
            raise OptionError(("words",), "must be 0 or more", self.words)
        if self.until is not None and self.until not in UNTIL:
            raise OptionError(("until",), f"must be one of {', '.join(UNTIL)}", self.until)
        if self.lines is not None and self.lines < 1:
            raise OptionError(("lines",), "must be 1 or more", self.lines)
        if self.lines is not None and self.until == "sentence":
            raise OptionError(("lines", "until"), "both say where to stop: choose one")
        if not 0 < self.temperature < float("inf"):
            raise OptionError(("temperature",), "must be > 0 and finite", self.temperature)
        if self.top_k < 0:
            raise OptionError(("top_k",), "must be 0 or more", self.top_k)
        if not 0 < self.top_p <= 1:
            raise OptionError(("top_p",), "must be in (0, 1]", self.top_p)
        if self.beam < 0:
            raise OptionError(("beam",), "must be 1 or more", self.beam)
        if self.beam and self.sample:
            raise OptionError(("beam", "sample"), "are two strategies: choose one")
        if not self.sample:
            given = tuple(name for name, on in (("temperature", self.temperature != 1.0),
                                                ("top_k", self.top_k != 0),
                                                ("top_p", self.top_p != 1.0)) if on)
            if given:
                verb = "applies" if len(given) == 1 else "apply"
                raise OptionError(given, f"{verb} only to sampling", needs="sample")

    @property
    def max_words(self) -> int:
        if self.words is not None:
            return self.words
        if self.lines is not None:
            return (MAX_WORDS + 1) * self.lines  # each line's tokens and its <eos>
        return MAX_WORDS if self.until else 1

    @property
    def line_cap(self) -> int | None:
        """The most tokens one line of a completion across lines may hold (None: no cap but
        max_words)."""
        return MAX_WORDS if self.lines is not None and self.words is None else None

    @property
    def line_ends(self) -> int:
        """The <eos> that ends the completion: the first, or the `lines`-th."""
        return self.lines or 1


# --- sampling filters: (N, V) log-probabilities in, the same with the cut tokens at -inf ---

def top_k_filter(logp: np.ndarray, k: int) -> np.ndarray:
    """Keep each row's k largest entries; the rest become -inf. k = 0 keeps all."""
    V = logp.shape[1]
    if k <= 0 or k >= V:
        return logp
    kth = np.partition(logp, V - k, axis=1)[:, V - k: V - k + 1]  # (N, 1) the k-th largest
    return np.where(logp >= kth, logp, -np.inf)  # ties at the k-th value are all kept


def top_p_filter(logp: np.ndarray, p: float) -> np.ndarray:
    """Keep, in each row, the smallest set of likeliest tokens whose probability reaches p.

    Tokens are taken likeliest first (ties in id order) until their total is >= p; the token
    that crosses p is kept, every later one is cut. p = 1 keeps all.
    """
    if p >= 1.0:
        return logp
    probs = np.exp(logp - logp.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)  # (N, V)
    order = np.argsort(-probs, axis=1, kind="stable")  # (N, V) likeliest first
    sorted_p = np.take_along_axis(probs, order, axis=1)
    before = np.cumsum(sorted_p, axis=1) - sorted_p  # (N, V) the total of the likelier ones
    keep_sorted = before < p  # the first token always, then until the total reaches p
    keep_sorted[:, 0] = True  # even for a p that float32 rounds to 0
    keep = np.empty_like(keep_sorted)
    np.put_along_axis(keep, order, keep_sorted, axis=1)
    return np.where(keep, logp, -np.inf)


def sampling_logp(logp: np.ndarray, d: Decoding) -> np.ndarray:
    """The distribution sampling draws from: temperature, then top-k, then top-p."""
    if d.temperature != 1.0:
        logp = log_softmax(logp / d.temperature)
    return top_p_filter(top_k_filter(logp, d.top_k), d.top_p)


def draw(logp: np.ndarray, rngs: list[np.random.Generator]) -> np.ndarray:
    """One token per row, row b drawn with rngs[b] from the distribution exp(logp[b])."""
    probs = np.exp(logp - logp.max(axis=1, keepdims=True))  # (N, V) unnormalised
    cdf = np.cumsum(probs, axis=1)  # (N, V)
    u = 1.0 - np.array([r.random() for r in rngs])  # (N,) in (0, 1]: never a zero-prob token
    choice = (cdf < (u * cdf[:, -1])[:, None]).sum(axis=1)  # the first index reaching u
    return np.minimum(choice, logp.shape[1] - 1)


def prompt_rngs(seed: int | None, first: int, n: int) -> list[np.random.Generator]:
    """One random stream per prompt, from (seed, the prompt's index in the input): the same
    seed and input give the same samples however the prompts are batched."""
    if seed is None:
        return [np.random.default_rng() for _ in range(n)]
    return [np.random.default_rng([seed, first + i]) for i in range(n)]


# --- generation ------------------------------------------------------------------------------

@dataclass
class Hypothesis:
    """One completion as decoding builds it: its tokens so far and their log-probability."""
    ids: list[int]  # the chosen tokens (<eos> ending lines before the last), the closing
    # <eos> not included
    logprob: float  # their total log-probability, nats (the closing <eos>'s included)
    ended: bool  # the model ended the line (<eos>) or the sentence

    @property
    def score(self) -> float:
        """Log-probability per token: what beam search ranks finished completions by."""
        return self.logprob / max(len(self.ids) + self.ended, 1)


class Stepper:
    """The model seen one step at a time: the next-token log-probabilities, and feeding a token.

    `banned` tokens (<unk>) get -inf; `eos` ends a line; `stops` end it after being printed."""

    def __init__(self, model, eos: int, banned: list[int], stops: list[int]):
        self.model, self.eos, self.banned = model, eos, banned
        self.stops = np.array(stops, dtype=np.int64)

    def is_stop(self, ids: np.ndarray) -> np.ndarray:
        """Whether each token ends a sentence (any shape of ids)."""
        return np.isin(ids, self.stops)

    def logp(self, h: np.ndarray) -> np.ndarray:
        logp = self.model.log_probs(h)  # (N, V)
        logp[:, self.banned] = -np.inf
        return logp

    def end_full_lines(self, logp: np.ndarray, in_line: np.ndarray, cap: int | None) -> None:
        """Rows whose line holds `cap` tokens (in_line (N,)) can only end it: all but <eos>
        become -inf, in place."""
        if cap is not None and (in_line >= cap).any():
            full = in_line >= cap  # (N,)
            eos = logp[full, self.eos]
            logp[full] = -np.inf
            logp[full, self.eos] = eos

    def feed(self, ids: np.ndarray, state: list) -> tuple[np.ndarray, list]:
        return self.model.step(ids, state)


def generate(stepper: Stepper, h: np.ndarray, state: list, d: Decoding,
             rngs: list[np.random.Generator] | None = None) -> list[Hypothesis]:
    """Greedy or sampled completions for a batch, from the top layer's h (B, H) and the state
    after each prompt."""
    B = h.shape[0]
    rows = np.arange(B)
    chosen = []  # (B,) token per step; -1 once a row is done
    logprob = np.zeros(B)  # (B,)
    done = np.zeros(B, dtype=bool)
    ended = np.zeros(B, dtype=bool)
    n_eos = np.zeros(B, dtype=np.int64)  # (B,) line ends chosen so far
    in_line = np.zeros(B, dtype=np.int64)  # (B,) tokens of the line being written
    for _ in range(d.max_words):
        logp = stepper.logp(h)  # (B, V)
        stepper.end_full_lines(logp, in_line, d.line_cap)
        choice = draw(sampling_logp(logp, d), rngs) if d.sample else logp.argmax(axis=1)
        logprob += np.where(done, 0.0, logp[rows, choice])
        n_eos += ~done & (choice == stepper.eos)
        in_line = np.where(choice == stepper.eos, 0, in_line + 1)
        eos = ~done & (choice == stepper.eos) & (n_eos >= d.line_ends)  # the closing <eos>
        chosen.append(np.where(done | eos, -1, choice))
        stop = ~done & stepper.is_stop(choice) if d.until == "sentence" else np.zeros_like(eos)
        ended |= eos | stop
        done |= eos | stop
        if done.all():
            break
        h, state = stepper.feed(choice, state)
    ids = np.stack(chosen, axis=1) if chosen else np.zeros((B, 0), dtype=np.int64)  # (B, S)
    return [Hypothesis([int(i) for i in ids[b] if i >= 0], float(logprob[b]), bool(ended[b]))
            for b in range(B)]


def beam_search(stepper: Stepper, h: np.ndarray, state: list,
                d: Decoding) -> list[list[Hypothesis]]:
    """The W best completions of each prompt, best first.

    Each prompt keeps W beams (rows b*W .. b*W + W-1). At every step each beam is extended by
    every token and the W likeliest extensions (by total log-probability) are kept; one that
    ends the line leaves the beam as a finished hypothesis. A prompt is done when W of its
    hypotheses have finished (or at the word limit); with W = 1 this is greedy decoding.
    Finished and unfinished hypotheses are ranked by log-probability per token.
    """
    W = d.beam
    B = h.shape[0]
    rows = np.repeat(np.arange(B), W)  # (B*W,) every prompt's state, W times
    h = h[rows]
    state = [tuple(a[rows] for a in layer) for layer in state]
    scores = np.full((B, W), -np.inf)  # (B, W) each beam's total log-probability
    scores[:, 0] = 0.0  # one live beam to start with, not W copies of it
    paths = np.zeros((B, W, 0), dtype=np.int64)  # (B, W, steps) each beam's tokens
    finished: list[list[Hypothesis]] = [[] for _ in range(B)]
    for _ in range(d.max_words):
        logp = stepper.logp(h)  # (B*W, V)
        stepper.end_full_lines(logp, _tokens_in_line(paths, stepper.eos).reshape(-1), d.line_cap)
        V = logp.shape[1]
        cand = (scores[:, :, None] + logp.reshape(B, W, V)).reshape(B, W * V)  # (B, W*V)
        top = np.argpartition(-cand, W - 1, axis=1)[:, :W]  # (B, W) the W best, unordered
        best = np.take_along_axis(cand, top, axis=1)
        order = np.argsort(-best, axis=1, kind="stable")
        top, best = np.take_along_axis(top, order, axis=1), np.take_along_axis(best, order, 1)
        parent, token = np.divmod(top, V)  # (B, W) the beam each extends, and by what
        paths = np.concatenate([np.take_along_axis(paths, parent[:, :, None], axis=1),
                                token[:, :, None]], axis=2)  # (B, W, steps + 1)
        live = np.isfinite(best)
        n_eos = (paths == stepper.eos).sum(axis=2)  # (B, W) line ends on each path
        eos = live & (token == stepper.eos) & (n_eos >= d.line_ends)  # the closing <eos>
        stop = live & stepper.is_stop(token) if d.until == "sentence" else np.zeros_like(eos)
        for b, w in zip(*np.nonzero(eos | stop)):  # finished: they leave the beam
            ids = paths[b, w] if stop[b, w] else paths[b, w, :-1]
            finished[b].append(Hypothesis(ids.tolist(), float(best[b, w]), True))
        full = np.array([len(f) >= W for f in finished])[:, None]  # (B, 1) W finished: done
        scores = np.where(live & ~eos & ~stop & ~full, best, -np.inf)
        if np.isneginf(scores).all():
            break
        state_rows = (np.arange(B)[:, None] * W + parent).reshape(-1)  # (B*W,) parent rows
        state = [tuple(a[state_rows] for a in layer) for layer in state]
        h, state = stepper.feed(np.where(np.isfinite(scores), token, stepper.eos).reshape(-1),
                                state)
    results = []
    for b in range(B):
        alive = [Hypothesis(paths[b, w].tolist(), float(scores[b, w]), False)
                 for w in range(W) if np.isfinite(scores[b, w])]
        hyps = sorted(finished[b] + alive, key=lambda x: -x.score)
        results.append(hyps[:W])
    return results


def _tokens_in_line(paths: np.ndarray, eos: int) -> np.ndarray:
    """(B, W) how many tokens each path (B, W, S) holds after its last <eos>."""
    S = paths.shape[2]
    if S == 0:
        return np.zeros(paths.shape[:2], dtype=np.int64)
    is_eos = paths[:, :, ::-1] == eos  # (B, W, S) from the last step back
    since = is_eos.argmax(axis=2)  # steps back to the last <eos> (0 when none: see below)
    return np.where(is_eos.any(axis=2), since, S)
