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


# --- embedding: x_t = W_emb[w_t] -----------------------------------------------------------

def embedding_forward(ids: np.ndarray, W_emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ids (T, B) int -> x (T, B, E). A one-hot vector times W_emb is a row lookup."""
    return W_emb[ids], ids


def embedding_backward(dx: np.ndarray, ids: np.ndarray, V: int) -> np.ndarray:
    """dx (T, B, E) -> dW_emb (V, E): each row sums the gradients of the steps that read it.

    The rows are summed by sorting the ids and adding up each run (`np.add.reduceat`), which is
    much faster than scattering with `np.add.at`.
    """
    E = dx.shape[-1]
    flat = ids.reshape(-1)
    order = np.argsort(flat, kind="stable")
    sorted_ids = flat[order]
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    dW_emb = np.zeros((V, E), dtype=dx.dtype)
    dW_emb[sorted_ids[starts]] = np.add.reduceat(dx.reshape(-1, E)[order], starts, axis=0)
    return dW_emb


# --- the recurrence: h_t = tanh(x_t @ W_xh + h_{t-1} @ W_hh + b_h) --------------------------

def rnn_step_forward(xw_t: np.ndarray, h_prev: np.ndarray,
                     W_hh: np.ndarray) -> tuple[np.ndarray, tuple]:
    """One time step.

    Args:
        xw_t: (B, H) the input's share, x_t @ W_xh + b_h (computed for the whole window at once)
        h_prev: (B, H) the previous hidden state h_{t-1} (after any reset)
        W_hh: (H, H)
    Returns:
        h: (B, H) the new hidden state h_t, and the cache for the backward step
    """
    h = np.tanh(xw_t + h_prev @ W_hh)  # (B, H)
    return h, (h, W_hh)


def rnn_step_backward(dh: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Back through one step: dh (B, H) -> dz (B, H) the pre-activation's gradient (which is
    also dxw_t), and dh_prev (B, H). dW_hh is summed over the window by the caller."""
    h, W_hh = cache
    dz = dh * (1.0 - h * h)  # backprop through tanh: d tanh(z) = 1 - tanh(z)^2
    dh_prev = dz @ W_hh.T  # backprop through h_{t-1} @ W_hh
    return dz, dh_prev


def rnn_forward(x: np.ndarray, h0: np.ndarray, keep: np.ndarray, W_xh: np.ndarray,
                W_hh: np.ndarray, b_h: np.ndarray) -> tuple[np.ndarray, tuple]:
    """The recurrence over a whole window.

    Args:
        x: (T, B, E) inputs
        h0: (B, H) the state carried in from the previous window
        keep: (T, B) 1 where h_{t-1} carries into step t, 0 where it resets to zero (after <eos>)
        W_xh: (E, H), W_hh: (H, H), b_h: (H,)
    Returns:
        hs: (T, B, H) the hidden states h_1..h_T, and the cache for rnn_backward
    """
    T, B, E = x.shape
    H = W_hh.shape[0]
    xw = (x.reshape(T * B, E) @ W_xh + b_h).reshape(T, B, H)  # every step's input at once
    hs = np.empty((T, B, H), dtype=x.dtype)
    h_prevs = np.empty((T, B, H), dtype=x.dtype)
    h = h0
    for t in range(T):
        h_prevs[t] = h * keep[t, :, None]  # the reset: h_{t-1} <- 0 after <eos>
        hs[t], _ = rnn_step_forward(xw[t], h_prevs[t], W_hh)
        h = hs[t]
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
    dz = np.empty_like(hs)  # (T, B, H) gradients of the pre-activations
    dh_next = np.zeros((B, H), dtype=hs.dtype)  # what step t+1 sends back to h_t
    for t in reversed(range(T)):
        dh = dhs[t] + dh_next  # h_t feeds both the output at t and the step t+1
        dz[t], dh_prev = rnn_step_backward(dh, (hs[t], W_hh))
        dh_next = dh_prev * keep[t, :, None]  # no gradient flows through a reset
    dz2 = dz.reshape(T * B, H)
    dW_hh = h_prevs.reshape(T * B, H).T @ dz2  # sum over t of h_{t-1}^T dz_t, in one product
    dW_xh = x.reshape(T * B, E).T @ dz2  # (E, H)
    db_h = dz2.sum(axis=0)  # (H,)
    dx = (dz2 @ W_xh.T).reshape(T, B, E)
    return dx, dh_next, dW_xh, dW_hh, db_h


# --- output: y_t = softmax(h_t @ W_hy + b_y) ------------------------------------------------

def linear_forward(h: np.ndarray, W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, tuple]:
    """h (N, H) -> h @ W + b (N, V)."""
    return h @ W + b, (h, W)


def linear_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dout (N, V) -> dh (N, H), dW (H, V), db (V,)."""
    h, W = cache
    return dout @ W.T, h.T @ dout, dout.sum(axis=0)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax, computed stably: (N, V) -> (N, V)."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax_cross_entropy(logits: np.ndarray, targets: np.ndarray,
                          weight: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of the targets under softmax(logits), and its gradient.

    Args:
        logits: (N, V); targets: (N,) int; weight: (N,) optional per-target weights (0 = skip)
    Returns:
        loss: -sum(w * log p[target]) / sum(w)
        dlogits: (N, V) = w * (softmax(logits) - onehot(target)) / sum(w)
    """
    N = logits.shape[0]
    logp = log_softmax(logits)  # (N, V)
    rows = np.arange(N)
    w = np.ones(N, dtype=logits.dtype) if weight is None else weight.astype(logits.dtype)
    total = w.sum()
    loss = -float((w * logp[rows, targets]).sum() / total)
    dlogits = np.exp(logp)  # softmax
    dlogits[rows, targets] -= 1.0  # d(-log p_y)/dz = p - onehot(y)
    dlogits *= (w / total)[:, None]
    return loss, dlogits
