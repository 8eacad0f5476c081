"""The layers of the network, each a forward/backward pair with a cache.

Arrays are laid out time-major and batch-major: a window of T steps over B streams is (T, B, ...).
Rows are vectors, so the lesson's `W_xh x_t` is written `x_t @ W_xh` with W_xh of shape (E, H).

    x_t = W_emb[w_t]                                   one-hot w_t picks a row: the embedding
    h_t = tanh(x_t @ W_xh + h_{t-1} @ W_hh + b_h)      the hidden state, the network's memory
    y_t = softmax(h_t @ W_hy + b_y)                    the next-token distribution

Backward functions take the gradient of the loss with respect to the forward's output and the
forward's cache, and return the gradients of the inputs in the order the forward took them.
"""

from __future__ import annotations

import numpy as np

from rnncli.parallel import for_row_blocks

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


# --- the recurrence: h_t = tanh(x_t @ W_xh + h_{t-1} @ W_hh + b_h) --------------------------

def rnn_step_forward(xw_t: np.ndarray, h_prev: np.ndarray, W_hh: np.ndarray,
                     out: np.ndarray | None = None) -> np.ndarray:
    """One time step: h_t = tanh(xw_t + h_{t-1} @ W_hh).

    Args:
        xw_t: (B, H) the input's share, x_t @ W_xh + b_h (computed for the whole window at once)
        h_prev: (B, H) the previous hidden state h_{t-1} (after any reset)
        W_hh: (H, H)
        out: (B, H) optional buffer for h_t
    Returns:
        h: (B, H) the new hidden state h_t (its own cache: tanh' = 1 - h^2)
    """
    h = np.matmul(h_prev, W_hh, out=out)  # (B, H)
    h += xw_t
    return np.tanh(h, out=h)


def rnn_step_backward(dh: np.ndarray, dtanh: np.ndarray, W_hh: np.ndarray,
                      dz: np.ndarray | None = None,
                      dh_prev: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Back through one step.

    Args:
        dh: (B, H) dL/dh_t, from the output at t and from step t+1
        dtanh: (B, H) 1 - h_t^2, the derivative of tanh at this step
        W_hh: (H, H); dz, dh_prev: optional (B, H) buffers
    Returns:
        dz: (B, H) dL/dz_t for the pre-activation z_t (also dL/dxw_t)
        dh_prev: (B, H) dL/dh_{t-1}; dW_hh is summed over the window by the caller
    """
    dz = np.multiply(dh, dtanh, out=dz)  # backprop through tanh: tanh'(z) = 1 - tanh(z)^2
    dh_prev = np.matmul(dz, W_hh.T, out=dh_prev)  # backprop through h_{t-1} @ W_hh
    return dz, dh_prev


def input_share(x: np.ndarray, W_xh: np.ndarray, b: np.ndarray) -> np.ndarray:
    """x_t @ W_xh + b for every step of a window in one product: (T, B, In) -> (T, B, G).

    The input does not depend on the recurrence, so this leaves only h_{t-1} @ W_hh to the
    step-by-step loop (in every cell: G = H, 4H or 3H gate pre-activations).
    """
    T, B, In = x.shape
    xw = x.reshape(T * B, In) @ W_xh  # (T*B, G)
    xw += b
    return xw.reshape(T, B, -1)


def rnn_forward(x: np.ndarray, h0: np.ndarray, keep: np.ndarray | None, W_xh: np.ndarray,
                W_hh: np.ndarray, b_h: np.ndarray) -> tuple[np.ndarray, tuple]:
    """The recurrence over a whole window.

    Args:
        x: (T, B, E) inputs
        h0: (B, H) the state carried in from the previous window
        keep: (T, B) 1 where h_{t-1} carries into step t, 0 where it resets to zero (after
            <eos>); None when nothing resets
        W_xh: (E, H), W_hh: (H, H), b_h: (H,)
    Returns:
        hs: (T, B, H) the hidden states h_1..h_T, and the cache for rnn_backward
    """
    T, B, _ = x.shape
    H = W_hh.shape[0]
    xw = input_share(x, W_xh, b_h)  # (T, B, H)
    hs = np.empty((T, B, H), dtype=x.dtype)
    h_prevs = np.empty((T, B, H), dtype=x.dtype)  # h_{t-1} as step t saw it
    h = h0
    for t in range(T):
        if keep is None:
            h_prevs[t] = h
        else:
            np.multiply(h, keep[t, :, None], out=h_prevs[t])  # the reset: h <- 0 after <eos>
        h = rnn_step_forward(xw[t], h_prevs[t], W_hh, out=hs[t])
    return hs, (x, keep, h_prevs, hs, W_xh, W_hh)


def rnn_backward(dhs: np.ndarray, cache: tuple) -> tuple[np.ndarray, ...]:
    """Backpropagation through time over the window.

    Args:
        dhs: (T, B, H) the loss's gradient with respect to each h_t from the layer above
    Returns:
        dx (T, B, E), dh0 (B, H), dW_xh (E, H), dW_hh (H, H), db_h (H,)
    """
    x, keep, h_prevs, hs, W_xh, W_hh = cache
    T, B, E = x.shape
    H = W_hh.shape[0]
    dtanh = np.square(hs)  # (T, B, H) 1 - h_t^2 for every step at once
    np.subtract(1.0, dtanh, out=dtanh)
    dz = np.empty_like(hs)  # (T, B, H) gradients of the pre-activations
    dh = np.empty((B, H), dtype=hs.dtype)
    dh_next = np.zeros((B, H), dtype=hs.dtype)  # what step t+1 sends back to h_t
    for t in reversed(range(T)):
        np.add(dhs[t], dh_next, out=dh)  # h_t feeds both the output at t and step t+1
        rnn_step_backward(dh, dtanh[t], W_hh, dz=dz[t], dh_prev=dh_next)
        if keep is not None:
            dh_next *= keep[t, :, None]  # no gradient flows through a reset
    dz2 = dz.reshape(T * B, H)
    dW_hh = h_prevs.reshape(T * B, H).T @ dz2  # sum over t of h_{t-1}^T dz_t, in one product
    dW_xh = x.reshape(T * B, E).T @ dz2  # (E, H)
    db_h = dz2.sum(axis=0)  # (H,)
    dx = (dz2 @ W_xh.T).reshape(T, B, E)
    return dx, dh_next, dW_xh, dW_hh, db_h


# --- output: y_t = softmax(h_t @ W_hy + b_y) ------------------------------------------------

def linear_forward(h: np.ndarray, W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, tuple]:
    """h (N, H) -> h @ W + b (N, V)."""
    out = h @ W  # (N, V)
    out += b
    return out, (h, W)


def linear_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dout (N, V) -> dh (N, H), dW (H, V), db (V,)."""
    h, W = cache
    db = np.ones(dout.shape[0], dtype=dout.dtype) @ dout  # the column sums, as a BLAS product
    dW = np.ascontiguousarray(h.T) @ dout  # (H, V); BLAS is faster with h.T laid out in rows
    return dout @ W.T, dW, db


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

    def rows(r: slice) -> None:  # one block of rows: five passes over memory, in place
        block = p[r]
        idx = np.arange(block.shape[0])
        block -= block.max(axis=1, keepdims=True)  # shift for stability: softmax is unchanged
        z_target = block[idx, targets[r]].astype(np.float64)
        np.exp(block, out=block)
        sums = block.sum(axis=1, dtype=np.float64)
        nll[r] = np.log(sums) - z_target  # -log p_y = log sum exp z - z_y
        scale = 1.0 / (sums * total)  # softmax = exp / sum, and the mean's 1/N, together
        if w is not None:
            scale *= w[r]
        block *= scale.astype(block.dtype)[:, None]
        onehot = block.dtype.type(1.0 / total) if w is None else (w[r] / total).astype(block.dtype)
        block[idx, targets[r]] -= onehot  # d(-log p_y)/dz = p - onehot(y), scaled as above

    for_row_blocks(N, N * V, rows)
    loss = float(nll.sum() if w is None else (w * nll).sum()) / total
    return loss, p
