"""The adaptive softmax (Grave et al. 2017, "Efficient softmax approximation for GPUs"): an exact,
normalised output layer that spends little on rare words. PyTorch's
`nn.AdaptiveLogSoftmaxWithLoss` computes the same function with the same parameters.

The vocabulary is sorted by frequency, and cut at `cutoffs` C_0 < C_1 < ... < C_K = V: the head
holds the C_0 most frequent words and one entry per tail cluster; tail cluster i holds the words
[C_i, C_{i+1}) behind a projection of h to d_i = H // div_value^(i+1) dimensions:

    p_head = softmax(h @ W_head + b_head)                          (C_0 + K,)
    p(w) = p_head[w]                                               w < C_0
    p(w) = p_head[C_0 + i] * softmax(h @ W_proj_i @ W_tail_i)[w - C_i]    C_i <= w < C_{i+1}

Training needs log p(target) only: the head for every row, and tail cluster i only for the rows
whose target falls in it. The whole distribution (`log_prob`) is computed only when asked for.
Parameters: W_head (H, C_0 + K), b_head (C_0 + K,), and per cluster W_proj.i (H, d_i) and
W_tail.i (d_i, C_{i+1} - C_i).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnncli.nn.rowblocks import cache_rows, count_above, for_row_blocks

BLOCK = 1 << 22  # elements of a (rows, words) array computed at once outside training


@dataclass(frozen=True)
class Clusters:
    """The shape of an adaptive softmax over V words: bounds (C_0, ..., C_K = V), and d_i."""

    bounds: tuple[int, ...]
    dims: tuple[int, ...]

    @property
    def head(self) -> int:
        return self.bounds[0]

    def slices(self) -> list[tuple[int, int, int]]:
        """(i, C_i, C_{i+1}) per tail cluster."""
        return [(i, self.bounds[i], self.bounds[i + 1]) for i in range(len(self.dims))]


def clusters(V: int, H: int, cutoffs, div_value: float) -> Clusters:
    """The clusters for V words and hidden size H; ValueError for cutoffs that do not fit."""
    cutoffs = [int(c) for c in cutoffs]
    if not cutoffs or cutoffs != sorted(set(cutoffs)) or cutoffs[0] < 1 or cutoffs[-1] > V - 1:
        raise ValueError(f"cutoffs {cutoffs} must increase strictly from 1 to at most "
                         f"{V - 1} (the vocabulary has {V:,} words)")
    dims = tuple(int(H // div_value ** (i + 1)) for i in range(len(cutoffs)))  # as PyTorch's
    if min(dims) < 1:
        raise ValueError(f"hidden size {H} / div_value {div_value}^{len(dims)} leaves a tail "
                         "projection of no dimensions")
    return Clusters((*cutoffs, V), dims)


def shapes(c: Clusters, H: int) -> dict[str, tuple[int, ...]]:
    out = {"W_head": (H, c.head + len(c.dims)), "b_head": (c.head + len(c.dims),)}
    for i, lo, hi in c.slices():
        out[f"W_proj.{i}"] = (H, c.dims[i])
        out[f"W_tail.{i}"] = (c.dims[i], hi - lo)
    return out


def cluster_of(c: Clusters, targets: np.ndarray) -> np.ndarray:
    """Each target's tail cluster, -1 for a head word: (N,) -> (N,)."""
    return np.searchsorted(np.asarray(c.bounds), targets, side="right") - 1


def softmax_nll(z: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """In place, z (n, C) logits become softmax(z); returns -log softmax(z)[row, target] (n,)
    in float64. Rows are handled in parallel blocks."""
    n = z.shape[0]
    nll = np.empty(n, dtype=np.float64)

    sub = cache_rows(z.shape[1])

    def rows(r: slice) -> None:
        for a in range(r.start, r.stop, sub):  # a few rows at a time: they stay in cache
            g = slice(a, min(a + sub, r.stop))
            block = z[g]
            block -= block.max(axis=1, keepdims=True)  # shift for stability
            z_t = block[np.arange(block.shape[0]), targets[g]].astype(np.float64)
            np.exp(block, out=block)
            sums = block.sum(axis=1, dtype=np.float64)
            block *= (1.0 / sums).astype(block.dtype)[:, None]
            nll[g] = np.log(sums) - z_t  # -log p_y = log sum exp z - z_y

    for_row_blocks(n, z.size, rows)
    return nll


def _dsoftmax_nll(p: np.ndarray, targets: np.ndarray, dnll) -> np.ndarray:
    """In place, p = softmax(z) (n, C) becomes dL/dz = dnll * (p - onehot(target))."""
    idx = np.arange(p.shape[0])
    if np.ndim(dnll) == 0:
        p *= p.dtype.type(dnll)
        p[idx, targets] -= p.dtype.type(dnll)
    else:
        d = dnll.astype(p.dtype)
        p *= d[:, None]
        p[idx, targets] -= d
    return p


# --- training: log p(target) from the head and the target's cluster ------------------------

def adaptive_forward(h: np.ndarray, targets: np.ndarray, p: dict[str, np.ndarray],
                     c: Clusters) -> tuple[np.ndarray, tuple]:
    """-log p(target) of each row, computing only what the targets need.

    Args:
        h: (N, H) hidden states; targets: (N,) word ids; p: the parameters by name
    Returns:
        nll: (N,) float64, and the cache for adaptive_backward (which consumes it)
    """
    C0 = c.head
    which = cluster_of(c, targets)  # (N,) -1 in the head
    head_targets = np.where(which < 0, targets, C0 + which)  # a tail word's cluster entry
    z_head = h @ p["W_head"]  # (N, C0 + K)
    z_head += p["b_head"]
    nll = softmax_nll(z_head, head_targets)  # z_head now holds p_head
    tails = []
    for i, lo, _ in c.slices():
        rows = np.flatnonzero(which == i)  # (n_i,) only the rows whose target is here
        if not len(rows):
            tails.append(None)
            continue
        h_i = h[rows]  # (n_i, H)
        proj = h_i @ p[f"W_proj.{i}"]  # (n_i, d_i)
        z = proj @ p[f"W_tail.{i}"]  # (n_i, C_{i+1} - C_i)
        nll[rows] += softmax_nll(z, targets[rows] - lo)  # log p = log p_head + log p_tail
        tails.append((rows, h_i, proj, z, targets[rows] - lo))
    return nll, (h, z_head, head_targets, tails, p)


def adaptive_backward(dnll, cache: tuple) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """dnll: dL/dnll, a scalar (the same for every row) or (N,) -> dh (N, H), {name: grad}."""
    h, p_head, head_targets, tails, p = cache
    grads = {}
    dz = _dsoftmax_nll(p_head, head_targets, dnll)  # (N, C0 + K) backprop through the softmax
    grads["W_head"] = np.ascontiguousarray(h.T) @ dz  # (H, C0 + K)
    grads["b_head"] = np.ones(dz.shape[0], dtype=dz.dtype) @ dz  # column sums, as a product
    dh = dz @ p["W_head"].T  # (N, H)
    for i, tail in enumerate(tails):
        W_proj, W_tail = p[f"W_proj.{i}"], p[f"W_tail.{i}"]
        if tail is None:  # no target in this cluster: its weights get no gradient
            grads[f"W_proj.{i}"] = np.zeros_like(W_proj)
            grads[f"W_tail.{i}"] = np.zeros_like(W_tail)
            continue
        rows, h_i, proj, p_tail, t = tail
        dz = _dsoftmax_nll(p_tail, t, dnll if np.ndim(dnll) == 0 else dnll[rows])
        grads[f"W_tail.{i}"] = proj.T @ dz  # (d_i, C_{i+1} - C_i)
        dproj = dz @ W_tail.T  # (n_i, d_i) backprop through proj @ W_tail
        grads[f"W_proj.{i}"] = h_i.T @ dproj  # (H, d_i)
        dh[rows] += dproj @ W_proj.T  # rows are distinct: one update each
    return dh, grads


# --- inference -----------------------------------------------------------------------------

def _log_softmax_(z: np.ndarray) -> np.ndarray:
    """In place: z (n, C) -> log softmax(z)."""
    z -= z.max(axis=1, keepdims=True)
    z -= np.log(np.exp(z).sum(axis=1, keepdims=True))
    return z


def head_log_prob(h: np.ndarray, p: dict[str, np.ndarray]) -> np.ndarray:
    """log p_head: (N, H) -> (N, C0 + K)."""
    z = h @ p["W_head"]  # (N, C0 + K)
    z += p["b_head"]
    return _log_softmax_(z)


def cluster_log_prob(h: np.ndarray, head_lp: np.ndarray, p: dict[str, np.ndarray],
                     c: Clusters, i: int) -> np.ndarray:
    """log p(w) of cluster i's words: h (n, H), head_lp (n, C0 + K) -> (n, C_{i+1} - C_i)."""
    z = (h @ p[f"W_proj.{i}"]) @ p[f"W_tail.{i}"]  # (n, C_{i+1} - C_i)
    _log_softmax_(z)
    z += head_lp[:, c.head + i, None]
    return z


def log_prob(h: np.ndarray, p: dict[str, np.ndarray], c: Clusters) -> np.ndarray:
    """The whole distribution, log p(w) for every word: (N, H) -> (N, V)."""
    N = h.shape[0]
    head_lp = head_log_prob(h, p)  # (N, C0 + K)
    out = np.empty((N, c.bounds[-1]), dtype=head_lp.dtype)
    out[:, :c.head] = head_lp[:, :c.head]
    for i, lo, hi in c.slices():
        out[:, lo:hi] = cluster_log_prob(h, head_lp, p, c, i)
    return out


def _lse(z: np.ndarray, threshold: np.ndarray | None = None,
         upto: int = 0) -> tuple[np.ndarray, np.ndarray | None]:
    """log sum_j exp(z_j) of each row of z (n, C), z unchanged, in cache-sized row blocks;
    with a threshold (n,), also how many of each row's first `upto` entries exceed it, counted
    while the block is in cache. Returns lse (n,) and the counts (n,) or None."""
    n, C = z.shape
    lse = np.empty(n, dtype=z.dtype)
    count = None if threshold is None else np.empty(n, dtype=np.int64)
    sub = cache_rows(C)

    def rows(r: slice) -> None:
        scratch = np.empty((min(sub, r.stop - r.start), C), dtype=z.dtype)  # exp's output
        for a in range(r.start, r.stop, sub):
            block = z[a: min(a + sub, r.stop)]
            b = slice(a, a + block.shape[0])
            if count is not None:
                count[b] = count_above(block[:, :upto], threshold[b])
            m = block.max(axis=1)  # (b,) the shift for stability
            e = np.subtract(block, m[:, None], out=scratch[: block.shape[0]])
            np.exp(e, out=e)
            lse[b] = m + np.log(e.sum(axis=1))

    for_row_blocks(n, z.size, rows)
    return lse, count


def target_scores(h: np.ndarray, targets: np.ndarray, p: dict[str, np.ndarray], c: Clusters,
                  k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """log p(target) and the target's rank (words strictly likelier), without the whole
    distribution: a word of cluster i can beat the target only where log p_head[C0 + i] does,
    so a row reads a cluster other than its target's only then, and only while its rank is
    below k. Ranks of k or more are reported as at least k; k = 0 counts no ranks (all 0), and
    then only the head and each row's target cluster are read. Nothing is normalised: each
    row's log-sum-exp is found once, and words are compared as logits, with thresholds.

    Args: h (N, H), targets (N,). Returns: logp (N,) float64, rank (N,) int.
    """
    N, C0 = h.shape[0], c.head
    which = cluster_of(c, targets)
    z_head = h @ p["W_head"]  # (N, C0 + K)
    z_head += p["b_head"]
    rank = np.zeros(N, dtype=np.int64)
    # a head word w beats the target where z_head[w] > thr: thr = z_head[target] for a head
    # target, z_head[C0 + i] + log p_tail(target) for a target in cluster i
    thr = z_head[np.arange(N), np.where(which < 0, targets, 0)]  # (N,)

    def tail_logits(rows: np.ndarray, i: int):  # cluster i's logits, in bounded blocks
        step = max(1, BLOCK // (c.bounds[i + 1] - c.bounds[i]))
        for s in range(0, len(rows), step):
            q = rows[s: s + step]
            yield q, (h[q] @ p[f"W_proj.{i}"]) @ p[f"W_tail.{i}"]  # (n, C_{i+1} - C_i)

    for i, lo, _ in c.slices():  # 1) tail targets: log p_tail, and their cluster's words above
        for q, u in tail_logits(np.flatnonzero(which == i), i):
            u_t = u[np.arange(len(q)), targets[q] - lo]
            lse_u, above = _lse(u, u_t if k else None, u.shape[1])
            thr[q] = z_head[q, C0 + i] + (u_t - lse_u)
            if k:
                rank[q] = above
    lse_head, above = _lse(z_head, thr if k else None, C0)  # 2) the head's words above
    if k:
        rank += above
    t = thr - lse_head  # log p(target)
    if not k:
        return t.astype(np.float64), rank
    head_lp = z_head[:, C0:] - lse_head[:, None]  # (N, K) log p_head of each cluster
    for i, _, _ in c.slices():  # 3) other clusters, only where they could hold a likelier word
        maybe = (which != i) & (rank < k) & (head_lp[:, i] > t)
        for q, u in tail_logits(np.flatnonzero(maybe), i):
            lse_u, _ = _lse(u)
            rank[q] += count_above(u, lse_u + t[q] - head_lp[q, i])
    return t.astype(np.float64), rank
