"""The continuous cache (Grave, Joulin and Usunier 2017, "Improving Neural Language Models with
a Continuous Cache"): the network's own recent hidden states, kept as a memory of which word came
next.

At step t the last N hidden states h_i of the stream are the keys, and the tokens that followed
them, x_{i+1}, the values:

    p_cache(w | h_t) = sum_{i: x_{i+1} = w} exp(theta h_t . h_i) / sum_i exp(theta h_t . h_i)
    p(w)             = (1 - lambda) p_model(w) + lambda p_cache(w)

Nothing is trained: theta (how sharply h_t must match a kept state) and lambda (how far the cache
is trusted) are chosen on held-out text (rnncli.infer.adapt). A word seen a few hundred tokens
back, in a context like this one, becomes likelier: names, rare terms, a document's own words.

The keys live in a ring buffer of N slots per stream; each step costs one dot product per kept
state, so N = 2,000 and H = 200 add about 0.8 MFLOP a token, a small part of the full softmax's
2 V H.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EMPTY = -1  # the value of a slot that holds no state yet


@dataclass(frozen=True)
class CacheParams:
    """How the cache is read: N states kept, lambda its share of the mix, theta its sharpness."""

    size: int
    lam: float
    theta: float

    def to_dict(self) -> dict:
        return {"size": self.size, "lambda": self.lam, "theta": self.theta}


class Cache:
    """The last `size` (h_i, x_{i+1}) pairs of each of S streams, stepping together.

    keys: (S, N, H) hidden states h_i, each stream's contiguous; values: (S, N) the token that
    followed each, EMPTY for a slot not yet written or a padding target; stamp: (N,) the step
    each slot was written at.
    """

    def __init__(self, size: int, S: int, H: int, dtype=np.float32):
        if size < 1:
            raise ValueError(f"a cache keeps at least one state, got size {size}")
        self.size = size
        self.keys = np.zeros((S, size, H), dtype=dtype)  # (S, N, H)
        self.values = np.full((S, size), EMPTY, dtype=np.int64)  # (S, N)
        self.stamp = np.full(size, -(1 << 62), dtype=np.int64)  # (N,) never written: far past
        self.t = 0  # steps seen so far

    def window_probs(self, hs: np.ndarray, targets: np.ndarray, real: np.ndarray,
                     thetas: list[float]) -> np.ndarray:
        """p_cache(target) at every step of a window, for each theta, then keep the window.

        Step t's query h_t reads the `size` states before it: the kept ones and the window's own
        earlier steps.

        Args:
            hs: (T, S, H) the top layer's hidden states h_t
            targets: (T, S) x_{t+1}, the token each h_t predicts
            real: (T, S) False for a padding target (never a value of the cache)
            thetas: the sharpness values to read the cache with
        Returns:
            (len(thetas), T, S) p_cache(target); NaN where the cache held nothing yet
        """
        T = hs.shape[0]
        q = np.ascontiguousarray(hs.transpose(1, 0, 2))  # (S, T, H) the queries
        values = np.where(real, targets, EMPTY).T  # (S, T) what the window's states predict
        y = targets.T  # (S, T)
        now, steps = self.t + np.arange(T), np.arange(T)  # (T,) each query's step
        # 1) the match of every query with every key it may read, per stream: h_t . h_i for
        #    the kept states, then for the window's own earlier steps
        z = np.concatenate([np.matmul(q, self.keys.transpose(0, 2, 1)),  # (S, T, N)
                            np.matmul(q, q.transpose(0, 2, 1))], axis=2)  # (S, T, N + T)
        sees = np.concatenate([self.stamp[None, :] >= now[:, None] - self.size,  # (T, N)
                               (steps[None, :] < steps[:, None])
                               & (steps[None, :] >= steps[:, None] - self.size)], axis=1)
        z += np.where(sees, 0.0, -np.inf).astype(z.dtype)  # -inf: a key the query cannot read
        # 2) shift each query by its best match: exp(theta (z - z_max)) never overflows
        z_max = z.max(axis=2, keepdims=True)  # (S, T, 1)
        empty = ~np.isfinite(z_max[..., 0])  # (S, T) queries that see nothing yet
        z_max[~np.isfinite(z_max)] = 0.0
        z -= z_max
        same = np.concatenate([self.values[:, None, :] == y[:, :, None],  # (S, T, N)
                               values[:, None, :] == y[:, :, None]], axis=2).astype(z.dtype)
        out = np.empty((len(thetas), T, hs.shape[1]), dtype=np.float64)
        e = np.empty_like(z)
        for k, theta in enumerate(thetas):
            # 3) the softmax over the keys a query sees, and the share of the target's keys
            np.multiply(z, theta, out=e)
            np.exp(e, out=e)  # (S, T, N + T), 0 where unseen
            total = e.sum(axis=2)  # (S, T)
            e *= same
            with np.errstate(invalid="ignore", divide="ignore"):
                p = e.sum(axis=2).astype(np.float64) / total
            p[empty] = np.nan
            out[k] = p.T
        self._keep(q, values)
        return out

    def _keep(self, q: np.ndarray, values: np.ndarray) -> None:
        """Write a window's states (S, T, H) and values (S, T) into the ring (only its last
        `size` steps when longer)."""
        T = q.shape[1]
        first = max(0, T - self.size)
        slots = (self.t + np.arange(first, T)) % self.size
        self.keys[:, slots] = q[:, first:]
        self.values[:, slots] = values[:, first:]
        self.stamp[slots] = self.t + np.arange(first, T)
        self.t += T

    def distribution(self, h: np.ndarray, V: int, theta: float) -> np.ndarray:
        """p_cache(w) for every word, for the next step of each stream: h (S, H) -> (S, V),
        rows that sum to 1 (rows of zeros while the cache is empty)."""
        kept = self.stamp >= self.t - self.size  # (N,) slots written
        seen, keys = self.values[:, kept], self.keys[:, kept]  # (S, n), (S, n, H)
        S = h.shape[0]
        p = np.zeros((S, V), dtype=np.float64)
        if seen.shape[1] == 0:
            return p
        z = theta * np.matmul(keys, h[:, :, None])[..., 0].astype(np.float64)  # (S, n)
        z[seen == EMPTY] = -np.inf
        z_max = z.max(axis=1, keepdims=True)
        z_max[~np.isfinite(z_max)] = 0.0
        e = np.exp(z - z_max)  # (S, n)
        total = e.sum(axis=1, keepdims=True)
        w = np.divide(e, total, out=np.zeros_like(e), where=total > 0)  # (S, n)
        rows = np.broadcast_to(np.arange(S)[:, None], w.shape)
        ok = seen != EMPTY
        np.add.at(p, (rows[ok], seen[ok]), w[ok])  # the weights of each word's states summed
        return p

    def add(self, h: np.ndarray, next_ids: np.ndarray) -> None:
        """Keep one step: h (S, H) and the token that followed it (S,)."""
        self._keep(h[:, None], next_ids[:, None].astype(np.int64))


def mix(p_model: np.ndarray, p_cache: np.ndarray, lam: float) -> np.ndarray:
    """(1 - lambda) p_model + lambda p_cache, with p_model alone where the cache is empty
    (p_cache NaN): same shapes in, one out."""
    mixed = (1.0 - lam) * p_model + lam * np.nan_to_num(p_cache)
    return np.where(np.isnan(p_cache), p_model, mixed)
