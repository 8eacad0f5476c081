"""Scoring a corpus: cross-entropy, perplexity, next-word accuracy.

Every target token counts, <eos> included: the text is cut at line ends into parallel streams,
each starting from a zero state with an <eos> before its first line, so the first word of every
line is predicted too. The hidden state follows the policy the model was trained with (reset
after each <eos>, or carried across lines).

Only the forward pass runs, and the output layer gives only what the scores need: each target's
log-probability and, when asked (`ranks`), how many words the model found likelier (its rank, for
top-1/top-5 accuracy), in row blocks that bound the (rows, V) arrays; never the whole
log-softmax. Without ranks the adaptive softmax reads only the head and the target's cluster.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rnncli.nn import adaptive_softmax, layers, threads
from rnncli.nn.model import RNNLM
from rnncli.nn.rowblocks import cache_rows, count_above, for_row_blocks
from rnncli.text.corpus import eval_streams, windows

BLOCK = 1 << 24  # elements of the (rows, V) logits computed at once: 64 MB in float32
EXP_MAX = 700.0  # perplexities are exp(min(cross-entropy, EXP_MAX)): exp overflows float64
# past 709.78


def perplexity(cross_entropy: float) -> float:
    """exp(cross-entropy), kept finite for a diverged model (at most exp(EXP_MAX))."""
    return math.exp(min(cross_entropy, EXP_MAX))


@dataclass
class EvalTotals:
    """What scoring a text adds up: counts and summed log-losses, from which the perplexities
    and accuracies follow (sums, so the parts of a text, or the ranks' shares, add up)."""
    tokens: int  # targets scored
    nll: float  # summed negative log-likelihood, nats
    top1: int  # targets that were the likeliest token
    top5: int  # targets among the five likeliest
    unk: int  # targets that are <unk>
    unk_nll: float = 0.0  # the part of nll spent on <unk> targets, nats
    logp: np.ndarray | None = None  # (N,) ln p of each target in stream order, when asked for
    ranked: bool = True  # top1 and top5 were counted (evaluate's `ranks`); else they are 0

    @property
    def cross_entropy(self) -> float:
        return self.nll / max(self.tokens, 1)

    @property
    def perplexity(self) -> float:
        """exp(cross-entropy) over every target, <unk> ones included."""
        return perplexity(self.cross_entropy)

    @property
    def perplexity_without_unk(self) -> float:
        """The same over the targets that are not <unk> (what SRILM's ppl and KenLM's
        "excluding OOVs" report)."""
        known = self.tokens - self.unk
        return perplexity((self.nll - self.unk_nll) / max(known, 1))

    def __add__(self, other: EvalTotals) -> EvalTotals:
        """The totals of two texts scored apart (their per-token logp not kept)."""
        return EvalTotals(self.tokens + other.tokens, self.nll + other.nll,
                          self.top1 + other.top1, self.top5 + other.top5, self.unk + other.unk,
                          self.unk_nll + other.unk_nll)

    def to_dict(self) -> dict:
        n = max(self.tokens, 1)
        return {"tokens": self.tokens, "cross_entropy": self.cross_entropy,
                "bits_per_token": self.cross_entropy / math.log(2),
                "log10_prob": -self.nll / math.log(10),
                "perplexity": self.perplexity,
                "perplexity_without_unk": self.perplexity_without_unk,
                "accuracy": self.top1 / n if self.ranked else None,
                "top5_accuracy": self.top5 / n if self.ranked else None,
                "unk_targets": self.unk, "unk_rate": self.unk / n}


def evaluate(model: RNNLM, ids: np.ndarray, eos: int, unk: int, reset_at_eos: bool,
             n_streams: int = 32, bptt: int = 32, per_token: bool = False,
             part: tuple[int, int] = (0, 1), ranks: bool = True,
             tuner: threads.Tuner | None = None,
             progress: Callable[[int, int], None] | None = None) -> EvalTotals:
    """Score every token of the stream `ids` (int, with <eos> after each line); with
    `per_token`, keep each target's log-probability too (EvalTotals.logp). Without `ranks`,
    top-1/top-5 accuracy is not counted (EvalTotals.ranked is False): perplexity alone costs
    less, much less with the adaptive softmax. With a `tuner`, each window is timed for it
    (rnncli.nn.threads: the thread count chosen as windows go).

    part=(k, n): only the k-th of n near-equal shares of the streams (the scores of the n
    shares add up to the whole's). progress(done, total): called after each window, in
    windows.
    """
    data, weight = eval_streams(ids, eos, n_streams)  # (L, S), (L - 1, S)
    if part[1] > 1:
        cols = np.array_split(np.arange(data.shape[1]), part[1])[part[0]]
        data, weight = data[:, cols], weight[:, cols]  # (L, S_k), (L - 1, S_k)
    S = data.shape[1]
    scores = EvalTotals(0, 0.0, 0, 0, 0, ranked=ranks)
    if S == 0:
        return scores
    if per_token:  # stream s holds the tokens from start[s] on, one per row
        start = np.concatenate([[0], np.cumsum(weight.sum(axis=0))[:-1]]).astype(np.int64)
        scores.logp = np.zeros(int(weight.sum()))
    state = model.zero_state(S)
    scorer = TargetScorer(model, k=5 if ranks else 0)
    n_windows = -(-(data.shape[0] - 1) // bptt)
    for i, win in enumerate(windows(data, bptt, eos)):
        T = win.inputs.shape[0]
        keep = (win.prev != eos) if reset_at_eos else None
        hs, state = model.run(win.inputs, state, keep)  # (T, S, H)
        w = weight[i * bptt: i * bptt + T].reshape(-1) > 0  # real targets only
        targets = win.targets.reshape(-1)[w]
        target_logp, rank = scorer(hs.reshape(T * S, model.H)[w], targets)
        if per_token:
            place = start[None, :] + (i * bptt + np.arange(T))[:, None]  # (T, S)
            scores.logp[place.reshape(-1)[w]] = target_logp
        scores.tokens += len(targets)
        target_logp = target_logp.astype(np.float64)  # (n,) summed in float64
        scores.nll -= float(target_logp.sum())
        scores.unk_nll -= float(target_logp[targets == unk].sum())
        if ranks:
            scores.top1 += int((rank == 0).sum())
            scores.top5 += int((rank < 5).sum())
        scores.unk += int((targets == unk).sum())
        if tuner is not None:
            tuner.tick(len(targets))
        if progress is not None:
            progress(i + 1, n_windows)
    return scores


def target_scores(model: RNNLM, h: np.ndarray, targets: np.ndarray,
                  k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """log p(target) (N,) float64 and the number of words strictly likelier (N,), exact below
    k, from the top layer's h (N, H); k = 0: no ranks (all 0), log p only, for less."""
    return TargetScorer(model, k)(h, targets)


class TargetScorer:
    """target_scores for one model, its output matrix prepared once for many windows; and, for
    `score`, each row's target and likeliest word (`best`). k = 0 counts no ranks."""

    def __init__(self, model: RNNLM, k: int = 5):
        self.model, self.k = model, k
        if model.softmax is None:  # [W_hy; b_y]: the bias added within the product
            self.W_aug = layers.with_bias_row(model.W_hy, model.params["b_y"])  # (H + 1, V)
            self.z = np.empty(0, dtype=model.dtype)  # the logits' buffer, kept across windows

    def __call__(self, h: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        m = self.model
        if m.softmax is not None:
            return adaptive_softmax.target_scores(h, targets, m.params, m.softmax, self.k)
        return full_target_scores(h, targets, self.W_aug, self._buffer(h.shape[0]),
                                  ranks=self.k > 0)

    def best(self, h: np.ndarray, targets: np.ndarray):
        """log p(target) (N,) float64, the likeliest word (N,) int and its log p (N,) float64,
        from the top layer's h (N, H)."""
        if self.model.softmax is None:
            return full_target_and_best(h, targets, self.W_aug, self._buffer(h.shape[0]))
        N = h.shape[0]
        got, best_logp = np.empty(N), np.empty(N)
        best = np.empty(N, dtype=np.int64)
        step = product_rows(N, self.model.V)
        for s in range(0, N, step):  # the whole distribution, a block of rows at a time
            logp = self.model.log_probs(h[s: s + step])  # (n, V)
            idx, r = np.arange(logp.shape[0]), slice(s, s + logp.shape[0])
            got[r] = logp[idx, targets[r]]
            best[r] = logp.argmax(axis=1)
            best_logp[r] = logp[idx, best[r]]
        return got, best, best_logp

    def _buffer(self, N: int) -> np.ndarray:
        """The logits' buffer, grown to what _logit_blocks needs for N rows."""
        size = product_rows(N, self.W_aug.shape[1]) * self.W_aug.shape[1]
        if self.z.size < size:
            self.z = np.empty(size, dtype=self.W_aug.dtype)
        return self.z


def product_rows(N: int, V: int) -> int:
    """How many of N rows one product of the full softmax's logits takes: up to BLOCK // V."""
    return min(N, max(1, BLOCK // V))


def _logit_blocks(h: np.ndarray, W_aug: np.ndarray, buffer: np.ndarray, rows) -> None:
    """The full softmax's logits z = [h, 1] @ W_aug, one product per block of product_rows
    rows (the more rows, the nearer BLAS comes to its peak), written into `buffer` (a flat
    array of at least product_rows(N, V) * V elements); then rows(block, first) for
    cache-sized pieces of each block, in parallel: `block` (k, V) is rows first .. first + k of
    the whole, and the callee may overwrite it."""
    N, H1 = h.shape[0], W_aug.shape[0]
    V = W_aug.shape[1]
    step, sub = product_rows(N, V), cache_rows(V)
    h_aug = np.empty((step, H1), dtype=W_aug.dtype)  # [h, 1]
    h_aug[:, -1] = 1.0
    for s in range(0, N, step):
        n = min(step, N - s)
        h_aug[:n, :-1] = h[s: s + n]
        z = np.matmul(h_aug[:n], W_aug, out=buffer[: n * V].reshape(n, V))  # (n, V)

        def pieces(r: slice, z=z, s=s) -> None:
            for a in range(r.start, r.stop, sub):
                rows(z[a: min(a + sub, r.stop)], s + a)  # a few rows: they stay in cache

        for_row_blocks(n, z.size, pieces)


def full_target_scores(h: np.ndarray, targets: np.ndarray, W_aug: np.ndarray,
                       buffer: np.ndarray, ranks: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The full softmax's target_scores, from W_aug = [W_hy; b_y] (H + 1, V) (see
    _logit_blocks for `buffer`).

    Three quick passes over each piece of the logits: count the words with z > z_y (only with
    `ranks`; else the ranks are 0), exp, sum: log p_y = z_y - log sum_j exp(z_j). Rows where
    that is not a normal float32 sum (a logit above 88 or all below -87) are done again with
    the max shift."""
    N = h.shape[0]
    logp = np.empty(N, dtype=np.float64)
    rank = np.zeros(N, dtype=np.int64)
    sums = np.empty(N, dtype=W_aug.dtype)  # sum_j exp(z_j) of each row

    def rows(block: np.ndarray, first: int) -> None:
        g = slice(first, first + block.shape[0])
        z_y = block[np.arange(block.shape[0]), targets[g]]  # (k,)
        if ranks:
            rank[g] = count_above(block, z_y)
        with np.errstate(over="ignore", divide="ignore"):  # such rows are done again
            np.exp(block, out=block)
            sums[g] = block.sum(axis=1)
            logp[g] = z_y - np.log(sums[g].astype(np.float64))

    _logit_blocks(h, W_aug, buffer, rows)
    bad = np.flatnonzero(~((sums >= np.finfo(sums.dtype).tiny) & (sums < np.inf)))
    if len(bad):
        logp_bad = layers.log_softmax(h[bad] @ W_aug[:-1] + W_aug[-1])  # (n, V)
        logp[bad] = logp_bad[np.arange(len(bad)), targets[bad]]
    return logp, rank


def full_target_and_best(h: np.ndarray, targets: np.ndarray, W_aug: np.ndarray,
                         buffer: np.ndarray):
    """TargetScorer.best for the full softmax: per piece of the logits, the likeliest word (argmax),
    the shift by its logit, exp, sum."""
    N = h.shape[0]
    got, best_logp = np.empty(N, dtype=np.float64), np.empty(N, dtype=np.float64)
    best = np.empty(N, dtype=np.int64)

    def rows(block: np.ndarray, first: int) -> None:
        g, idx = slice(first, first + block.shape[0]), np.arange(block.shape[0])
        best[g] = block.argmax(axis=1)
        z_best = block[idx, best[g]]  # (k,) the shift: no exp overflows
        z_y = block[idx, targets[g]]
        block -= z_best[:, None]
        np.exp(block, out=block)
        lse = np.log(block.sum(axis=1).astype(np.float64))  # log sum_j exp(z_j - z_best)
        best_logp[g] = -lse
        got[g] = (z_y - z_best) - lse

    _logit_blocks(h, W_aug, buffer, rows)
    return got, best, best_logp
