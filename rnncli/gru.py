"""The GRU cell (Cho et al. 2014), with the equations and gate order of PyTorch's nn.GRU,
written for row vectors:

    r_t = sigmoid(x_t @ W_xr + b_xr + h_{t-1} @ W_hr + b_hr)          reset gate
    z_t = sigmoid(x_t @ W_xz + b_xz + h_{t-1} @ W_hz + b_hz)          update gate
    n_t = tanh   (x_t @ W_xn + b_xn + r_t * (h_{t-1} @ W_hn + b_hn))  candidate
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}

The gates are stacked in that order (r, z, n): W_xh is (In, 3H), W_hh is (H, 3H), and the two
biases b_xh, b_hh are (3H,) each; they cannot be merged, since r_t multiplies b_hn alone.
When z_t is near 1 the state is copied forward unchanged, which keeps gradients alive.
"""

from __future__ import annotations

import numpy as np

from rnncli import layers
from rnncli.lstm import sigmoid

GATES = 3


def gru_step_forward(xw_t, h_prev, W_hh, b_hh, gates_out, hw_n_out):
    """One step.

    Args:
        xw_t: (B, 3H) x_t @ W_xh + b_xh; h_prev: (B, H) (after any reset); W_hh: (H, 3H)
        gates_out: (B, 3H) receives [r | z | n]; hw_n_out: (B, H) receives h_{t-1} @ W_hn + b_hn
    Returns:
        h: (B, H) h_t
    """
    H = h_prev.shape[1]
    hw = h_prev @ W_hh  # (B, 3H)
    hw += b_hh
    rz = np.add(xw_t[:, : 2 * H], hw[:, : 2 * H], out=gates_out[:, : 2 * H])
    sigmoid(rz, out=rz)  # r, z
    r, z = gates_out[:, :H], gates_out[:, H: 2 * H]
    hw_n_out[...] = hw[:, 2 * H:]
    n = np.multiply(r, hw_n_out, out=gates_out[:, 2 * H:])  # n = tanh(xw_n + r * hw_n)
    n += xw_t[:, 2 * H:]
    np.tanh(n, out=n)
    return n + z * (h_prev - n)  # (1 - z) * n + z * h_{t-1}


def gru_step_backward(dh, gates, hw_n, h_prev, W_hh, dxw_out, dhw_out):
    """Back through one step.

    Args:
        dh: (B, H) dL/dh_t; gates: (B, 3H) [r | z | n]; hw_n: (B, H); h_prev: (B, H)
        W_hh: (H, 3H); dxw_out, dhw_out: (B, 3H) receive dL/d(x_t @ W_xh + b_xh) and
            dL/d(h_{t-1} @ W_hh + b_hh)
    Returns:
        dh_prev: (B, H)
    """
    H = dh.shape[1]
    r, z, n = gates[:, :H], gates[:, H: 2 * H], gates[:, 2 * H:]
    dn = dh * (1.0 - z) * (1.0 - n * n)  # through (1 - z) * n, then tanh
    dr = dn * hw_n * r * (1.0 - r)  # through r * hw_n, then sigmoid
    dzz = dh * (h_prev - n) * z * (1.0 - z)  # through z * (h - n), then sigmoid
    dxw_out[:, :H] = dr
    dxw_out[:, H: 2 * H] = dzz
    dxw_out[:, 2 * H:] = dn
    dhw_out[:, : 2 * H] = dxw_out[:, : 2 * H]  # r and z: x and h enter the same sum
    np.multiply(dn, r, out=dhw_out[:, 2 * H:])  # n: h enters through r * hw_n
    return dh * z + dhw_out @ W_hh.T  # the direct path z * h_{t-1}, and through W_hh


def gru_forward(x, state0, keep, W_xh, W_hh, b_xh, b_hh):
    """The GRU over a window.

    Args:
        x: (T, B, In); state0: (h0,) with h0 (B, H); keep: (T, B) or None
    Returns:
        hs: (T, B, H), the last state (h_T,), and the cache for gru_backward
    """
    T, B, _ = x.shape
    H = W_hh.shape[0]
    xw = layers.input_share(x, W_xh, b_xh)  # (T, B, 3H) every step's input share at once
    gates = np.empty((T, B, GATES * H), dtype=x.dtype)
    hw_n = np.empty((T, B, H), dtype=x.dtype)
    hs = np.empty((T, B, H), dtype=x.dtype)
    h_prevs = np.empty((T, B, H), dtype=x.dtype)
    (h,) = state0
    for t in range(T):
        if keep is None:
            h_prevs[t] = h
        else:
            np.multiply(h, keep[t, :, None], out=h_prevs[t])  # the reset: h <- 0 after <eos>
        hs[t] = gru_step_forward(xw[t], h_prevs[t], W_hh, b_hh, gates[t], hw_n[t])
        h = hs[t]
    cache = (x, keep, h_prevs, gates, hw_n, W_xh, W_hh)
    return hs, (hs[-1].copy(),), cache


def gru_backward(dhs, cache):
    """Backpropagation through time.

    Returns:
        dx (T, B, In), and {"W_xh": (In, 3H), "W_hh": (H, 3H), "b_xh": (3H,), "b_hh": (3H,)}
    """
    x, keep, h_prevs, gates, hw_n, W_xh, W_hh = cache
    T, B, In = x.shape
    H = W_hh.shape[0]
    dxw = np.empty_like(gates)  # (T, B, 3H)
    dhw = np.empty_like(gates)
    dh_next = np.zeros((B, H), dtype=x.dtype)
    for t in reversed(range(T)):
        dh = dhs[t] + dh_next
        dh_next = gru_step_backward(dh, gates[t], hw_n[t], h_prevs[t], W_hh, dxw[t], dhw[t])
        if keep is not None:
            dh_next *= keep[t, :, None]  # no gradient through a reset
    dxw2 = dxw.reshape(T * B, GATES * H)
    dhw2 = dhw.reshape(T * B, GATES * H)
    grads = {
        "W_xh": x.reshape(T * B, In).T @ dxw2,
        "W_hh": h_prevs.reshape(T * B, H).T @ dhw2,
        "b_xh": dxw2.sum(axis=0),
        "b_hh": dhw2.sum(axis=0),
    }
    return (dxw2 @ W_xh.T).reshape(T, B, In), grads


def gru_step(x_t, state, W_xh, W_hh, b_xh, b_hh):
    """Inference: one step without a cache. x_t (B, In), state (h,) -> the new (h,)."""
    (h,) = state
    H = h.shape[1]
    xw = x_t @ W_xh + b_xh  # (B, 3H)
    hw = h @ W_hh + b_hh
    r = sigmoid(xw[:, :H] + hw[:, :H])
    z = sigmoid(xw[:, H: 2 * H] + hw[:, H: 2 * H])
    n = np.tanh(xw[:, 2 * H:] + r * hw[:, 2 * H:])
    return (n + z * (h - n),)
