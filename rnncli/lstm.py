"""The LSTM cell (Hochreiter & Schmidhuber 1997), with the equations and gate order of PyTorch's
nn.LSTM, written for row vectors:

    i_t = sigmoid(x_t @ W_xi + h_{t-1} @ W_hi + b_i)      input gate
    f_t = sigmoid(x_t @ W_xf + h_{t-1} @ W_hf + b_f)      forget gate
    g_t = tanh   (x_t @ W_xg + h_{t-1} @ W_hg + b_g)      candidate cell
    o_t = sigmoid(x_t @ W_xo + h_{t-1} @ W_ho + b_o)      output gate
    c_t = f_t * c_{t-1} + i_t * g_t                       the cell: memory that adds, not multiplies
    h_t = o_t * tanh(c_t)

The four gates are stacked side by side in that order (i, f, g, o): W_xh is (In, 4H), W_hh is
(H, 4H), b_h is (4H,) (PyTorch's b_ih + b_hh). The cell state c is what the vanilla RNN lacks: its
gradient flows back through `f_t *` alone, so it need not vanish over long distances.
"""

from __future__ import annotations

import numpy as np

from rnncli import layers

GATES = 4


def sigmoid(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """1 / (1 + exp(-z)), computed as (1 + tanh(z / 2)) / 2: stable for any z."""
    out = np.multiply(z, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1.0
    out *= 0.5
    return out


def lstm_step_forward(xw_t, h_prev, c_prev, W_hh, gates_out, c_out, tc_out):
    """One step.

    Args:
        xw_t: (B, 4H) x_t @ W_xh + b_h; h_prev, c_prev: (B, H) (after any reset); W_hh: (H, 4H)
        gates_out: (B, 4H) receives the gates' activations [i | f | g | o]
        c_out, tc_out: (B, H) receive c_t and tanh(c_t)
    Returns:
        h: (B, H) h_t
    """
    H = h_prev.shape[1]
    z = np.matmul(h_prev, W_hh, out=gates_out)  # (B, 4H) pre-activations
    z += xw_t
    sigmoid(z[:, : 2 * H], out=z[:, : 2 * H])  # i, f
    np.tanh(z[:, 2 * H: 3 * H], out=z[:, 2 * H: 3 * H])  # g
    sigmoid(z[:, 3 * H:], out=z[:, 3 * H:])  # o
    i, f, g, o = z[:, :H], z[:, H: 2 * H], z[:, 2 * H: 3 * H], z[:, 3 * H:]
    np.multiply(f, c_prev, out=c_out)  # c_t = f * c_{t-1} + i * g
    c_out += i * g
    np.tanh(c_out, out=tc_out)
    return o * tc_out  # h_t = o * tanh(c_t)


def lstm_step_backward(dh, dc, factors, f, W_hh, dz_out):
    """Back through one step.

    Args:
        dh: (B, H) dL/dh_t; dc: (B, H) dL/dc_t from step t+1 (the cell's own path)
        factors: (B, 5H) this step's local derivatives, from lstm_backward_factors
        f: (B, H) the forget gate; W_hh: (H, 4H); dz_out: (B, 4H) receives dL/d(pre-activations)
    Returns:
        dh_prev: (B, H), dc_prev: (B, H)
    """
    B, H = dh.shape
    dc = dc + dh * factors[:, 4 * H:]  # h = o * tanh(c): backprop through tanh(c)
    dz = dz_out.reshape(B, 4, H)
    fac = factors[:, : 4 * H].reshape(B, 4, H)
    np.multiply(fac[:, :3], dc[:, None, :], out=dz[:, :3])  # i, f, g: all fed by dc
    np.multiply(fac[:, 3], dh, out=dz[:, 3])  # o: fed by dh
    dh_prev = dz_out @ W_hh.T  # (B, H) through h_{t-1} @ W_hh
    dc_prev = dc * f  # through f * c_{t-1}: the path that does not vanish
    return dh_prev, dc_prev


def lstm_backward_factors(gates, c_prevs, tcs):
    """The local derivatives of every step at once (they need no recurrence), so that the
    backward loop multiplies instead of recomputing them: (T, B, 4H), (T, B, H) -> (T, B, 5H)

        dz_i = dc * g * i (1 - i)          dz_f = dc * c_{t-1} * f (1 - f)
        dz_g = dc * i * (1 - g^2)          dz_o = dh * tanh(c_t) * o (1 - o)
        dc  += dh * o * (1 - tanh(c_t)^2)
    """
    T, B, G = gates.shape
    H = G // 4
    i, f, g, o = (gates[..., k * H: (k + 1) * H] for k in range(4))
    out = np.empty((T, B, 5 * H), dtype=gates.dtype)
    np.multiply(g, i * (1.0 - i), out=out[..., :H])
    np.multiply(c_prevs, f * (1.0 - f), out=out[..., H: 2 * H])
    np.multiply(i, 1.0 - g * g, out=out[..., 2 * H: 3 * H])
    np.multiply(tcs, o * (1.0 - o), out=out[..., 3 * H: 4 * H])
    np.multiply(o, 1.0 - tcs * tcs, out=out[..., 4 * H:])
    return out


def lstm_forward(x, state0, keep, W_xh, W_hh, b_h):
    """The LSTM over a window.

    Args:
        x: (T, B, In); state0: (h0, c0), each (B, H); keep: (T, B) or None (see layers.rnn_forward)
    Returns:
        hs: (T, B, H), the last state (h_T, c_T), and the cache for lstm_backward
    """
    T, B, _ = x.shape
    H = W_hh.shape[0]
    xw = layers.input_share(x, W_xh, b_h)  # (T, B, 4H) every step's input share at once
    gates = np.empty((T, B, GATES * H), dtype=x.dtype)
    hs = np.empty((T, B, H), dtype=x.dtype)
    cs = np.empty((T, B, H), dtype=x.dtype)
    tcs = np.empty((T, B, H), dtype=x.dtype)
    h_prevs = np.empty((T, B, H), dtype=x.dtype)
    c_prevs = np.empty((T, B, H), dtype=x.dtype)
    h, c = state0
    for t in range(T):
        if keep is None:
            h_prevs[t], c_prevs[t] = h, c
        else:  # the reset: h and c <- 0 after <eos>
            np.multiply(h, keep[t, :, None], out=h_prevs[t])
            np.multiply(c, keep[t, :, None], out=c_prevs[t])
        hs[t] = lstm_step_forward(xw[t], h_prevs[t], c_prevs[t], W_hh, gates[t], cs[t], tcs[t])
        h, c = hs[t], cs[t]
    cache = (x, keep, h_prevs, c_prevs, gates, tcs, W_xh, W_hh)
    return hs, (hs[-1].copy(), cs[-1].copy()), cache


def lstm_backward(dhs, cache):
    """Backpropagation through time.

    Returns:
        dx (T, B, In), and {"W_xh": (In, 4H), "W_hh": (H, 4H), "b_h": (4H,)}
    """
    x, keep, h_prevs, c_prevs, gates, tcs, W_xh, W_hh = cache
    T, B, In = x.shape
    H = W_hh.shape[0]
    dz = np.empty_like(gates)  # (T, B, 4H)
    factors = lstm_backward_factors(gates, c_prevs, tcs)  # (T, B, 5H)
    dh_next = np.zeros((B, H), dtype=x.dtype)
    dc_next = np.zeros((B, H), dtype=x.dtype)
    for t in reversed(range(T)):
        dh = dhs[t] + dh_next  # h_t feeds the layer above and step t+1
        f = gates[t, :, H: 2 * H]
        dh_next, dc_next = lstm_step_backward(dh, dc_next, factors[t], f, W_hh, dz[t])
        if keep is not None:  # no gradient through a reset
            dh_next *= keep[t, :, None]
            dc_next *= keep[t, :, None]
    dz2 = dz.reshape(T * B, GATES * H)
    grads = {
        "W_xh": x.reshape(T * B, In).T @ dz2,
        "W_hh": h_prevs.reshape(T * B, H).T @ dz2,  # summed over the window in one product
        "b_h": dz2.sum(axis=0),
    }
    dx = (dz2 @ W_xh.T).reshape(T, B, In)
    return dx, grads


def lstm_step(x_t, state, W_xh, W_hh, b_h):
    """Inference: one step without a cache. x_t (B, In), state (h, c) -> the new (h, c)."""
    h, c = state
    H = h.shape[1]
    z = x_t @ W_xh + h @ W_hh + b_h  # (B, 4H)
    i, f = sigmoid(z[:, :H]), sigmoid(z[:, H: 2 * H])
    g, o = np.tanh(z[:, 2 * H: 3 * H]), sigmoid(z[:, 3 * H:])
    c = f * c + i * g
    return o * np.tanh(c), c
