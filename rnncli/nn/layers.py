"""The layers around the recurrence, each a forward/backward pair with a cache.

Arrays are laid out time-major and batch-major: a window of T steps over B streams is (T, B, ...).
Rows are vectors, so the lesson's `W_hy h_t` is written `h_t @ W_hy` with W_hy of shape (H, V).

    x_t = W_emb[w_t]                                   one-hot w_t picks a row: the embedding
    h_t = ...                                          the recurrent cell: rnn.py, lstm.py, gru.py
    y_t = softmax(h_t @ W_hy + b_y)                    the next-token distribution

Backward functions take the gradient of the loss with respect to the forward's output and the
forward's cache, and return the gradients of the inputs in the order the forward took them.
"""

from __future__ import annotations

import numpy as np

from rnncli.nn.rowblocks import cache_rows, for_row_blocks

# --- embedding: x_t = W_emb[w_t] -----------------------------------------------------------

def embedding_forward(ids: np.ndarray, W_emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ids (T, B) int -> x (T, B, E). A one-hot vector times W_emb is a row lookup."""
    return W_emb[ids], ids


class RowGrad:
    """The gradient of an embedding matrix: zero except in the rows the window read.

    Kept as (rows, values) so that clipping and the SGD step touch R rows, not all V.
    """

    def __init__(self, rows: np.ndarray, values: np.ndarray, shape: tuple[int, int]):
        self.rows = rows  # (R,) distinct row indices
        self.values = values  # (R, E) the gradient of those rows
        self.shape = shape  # (V, E) the full matrix's

    def dense(self) -> np.ndarray:
        """The full (V, E) gradient."""
        out = np.zeros(self.shape, dtype=self.values.dtype)
        out[self.rows] = self.values
        return out


def embedding_backward(dx: np.ndarray, ids: np.ndarray, V: int) -> RowGrad:
    """dx (T, B, E) -> dW_emb (V, E): each row sums the gradients of the steps that read it.

    The rows are summed by sorting the ids and adding up each run (`np.add.reduceat`), which is
    much faster than scattering with `np.add.at`.
    """
    E = dx.shape[-1]
    flat = ids.reshape(-1)
    order = np.argsort(flat, kind="stable")
    sorted_ids = flat[order]
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    values = np.add.reduceat(dx.reshape(-1, E)[order], starts, axis=0)  # (R, E)
    return RowGrad(sorted_ids[starts], values, (V, E))


# --- output: y_t = softmax(h_t @ W_hy + b_y) ------------------------------------------------

def with_bias_row(W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[W; b]: W (H, V) with b (V,) as one more row, so that [h, 1] @ [W; b] = h @ W + b."""
    W1 = np.empty((W.shape[0] + 1, W.shape[1]), dtype=W.dtype)  # (H + 1, V)
    W1[:-1] = W
    W1[-1] = b
    return W1


def linear_forward(h: np.ndarray, W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, tuple]:
    """h (N, H) -> h @ W + b (N, V), as one product [h, 1] @ [W; b]: the bias rides in the
    product instead of a pass over the (N, V) result."""
    N, H = h.shape
    h1_T = np.empty((H + 1, N), dtype=h.dtype)  # [h, 1].T, laid out in rows for the backward
    h1_T[:H] = h.T
    h1_T[H] = 1.0
    return h1_T.T @ with_bias_row(W, b), (h1_T, W)


def linear_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dout (N, V) -> dh (N, H), dW (H, V), db (V,); dW and db come from one product,
    [h, 1].T @ dout (db = the column sums of dout)."""
    h1_T, W = cache
    dW1 = h1_T @ dout  # (H + 1, V)
    return dout @ W.T, dW1[:-1], dW1[-1]


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax, computed stably: (N, V) -> (N, V)."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax_cross_entropy(logits: np.ndarray, targets: np.ndarray,
                          weight: np.ndarray | None = None,
                          inplace: bool = False) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of the targets under softmax(logits), and its gradient, fused.

    Args:
        logits: (N, V); targets: (N,) int; weight: (N,) optional per-target weights (0 = skip)
        inplace: overwrite logits with the gradient (saves a (N, V) array on the hot path)
    Returns:
        loss: -sum(w * log p[target]) / sum(w)
        dlogits: (N, V) = w * (softmax(logits) - onehot(target)) / sum(w)
    """
    N, V = logits.shape
    w = None if weight is None else weight.astype(np.float64)
    total = float(N) if w is None else float(w.sum())
    p = logits if inplace else logits.copy()
    nll = np.empty(N, dtype=np.float64)  # -log p[target] of each row

    sub = cache_rows(V)

    def rows(r: slice) -> None:  # one block of rows: five passes, in place, a few rows at a
        for a in range(r.start, r.stop, sub):  # time, so that the passes read the cache
            q = slice(a, min(a + sub, r.stop))
            block = p[q]
            idx = np.arange(block.shape[0])
            block -= block.max(axis=1, keepdims=True)  # shift for stability: softmax unchanged
            z_target = block[idx, targets[q]].astype(np.float64)
            np.exp(block, out=block)
            sums = block.sum(axis=1, dtype=np.float64)
            nll[q] = np.log(sums) - z_target  # -log p_y = log sum exp z - z_y
            scale = 1.0 / (sums * total)  # softmax = exp / sum, and the mean's 1/N, together
            if w is not None:
                scale *= w[q]
            block *= scale.astype(block.dtype)[:, None]
            onehot = (block.dtype.type(1.0 / total) if w is None
                      else (w[q] / total).astype(block.dtype))
            block[idx, targets[q]] -= onehot  # d(-log p_y)/dz = p - onehot(y), scaled

    for_row_blocks(N, N * V, rows)
    loss = float(nll.sum() if w is None else (w * nll).sum()) / total
    return loss, p
