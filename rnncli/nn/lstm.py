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
gradient flows back through `f_t *` alone, so it need not vanish over long distances. The state
is (h, c).

Like rnn.py and gru.py: a step forward / backward and a whole-window forward / backward, forward
returning (out, cache) and backward taking (dout, cache); the step takes the input's share
xw_t = x_t @ W_xh + b_h (cellparts.input_share).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from rnncli.nn.cellparts import input_share, reset

GATES = 4
PARAMS = ("W_xh", "W_hh", "b_h")
STATES = 2


@lru_cache(maxsize=16)
def gate_maps(H: int, dtype: np.dtype) -> tuple[np.ndarray, ...]:
    """Per-column constants (4H,), read-only, that treat the four gates as one array:

        act(z) = half * tanh(half * z) + b    i, f, o: half = b = 1/2 (the sigmoid); g: 1, 0
        act'   = act * (one - act) + zero     i, f, o: one = 1, zero = 0 (s (1 - s));  g: 0, 1

    since sigmoid(z) = (1 + tanh(z / 2)) / 2 (cellparts.sigmoid) and tanh' = 1 - g^2. Halving
    is exact in floating point, so this gives the same numbers as separate calls on each gate's
    columns, in a third of the passes. Returns (half, b, one, zero).
    """
    sigmoid = np.ones(GATES * H, dtype=bool)
    sigmoid[2 * H: 3 * H] = False  # g
    maps = tuple(np.where(sigmoid, s, t).astype(dtype)
                 for s, t in ((0.5, 1.0), (0.5, 0.0), (1.0, 0.0), (0.0, 1.0)))
    for m in maps:
        m.flags.writeable = False
    return maps


def lstm_step_forward(xw_t, state, W_hh, out=None):
    """One step.

    Args:
        xw_t: (B, 4H) x_t @ W_xh + b_h; state: (h_prev, c_prev), each (B, H) (after any reset)
        W_hh: (H, 4H)
        out: optional buffers (gates (B, 4H), h, c, tanh(c) (B, H) each)
    Returns:
        state: (h, c), the new state; cache: for lstm_step_backward
    """
    h_prev, c_prev = state
    gates, h, c, tc = (None,) * 4 if out is None else out
    H = h_prev.shape[1]
    half, b, _, _ = gate_maps(H, h_prev.dtype)
    z = np.matmul(h_prev, W_hh, out=gates)  # (B, 4H) pre-activations
    z += xw_t
    z *= half  # sigmoid for i, f, o and tanh for g, all in one tanh (see gate_maps)
    np.tanh(z, out=z)
    z *= half
    z += b
    i, f, g, o = z[:, :H], z[:, H: 2 * H], z[:, 2 * H: 3 * H], z[:, 3 * H:]
    c = np.multiply(f, c_prev, out=c)  # c_t = f * c_{t-1} + i * g
    c += i * g
    tc = np.tanh(c, out=tc)
    h = np.multiply(o, tc, out=h)  # h_t = o * tanh(c_t)
    return (h, c), (h_prev, c_prev, z, tc, W_hh)


def lstm_step_backward(dstate, cache, out=None, W_hh_T=None):
    """Back through one step.

        dc  += dh * o * (1 - tanh(c_t)^2)  dz_o = dh * tanh(c_t) * o (1 - o)
        dz_i = dc * g * i (1 - i)          dz_f = dc * c_{t-1} * f (1 - f)
        dz_g = dc * i * (1 - g^2)

    Args:
        dstate: (dh, dc), each (B, H): dL/dh_t from the output at t and step t+1, and dL/dc_t
            from step t+1 (the cell's own path)
        cache: lstm_step_forward's; out: optional (B, 4H) buffer for dxw
        W_hh_T: optional W_hh.T laid out in rows, shared by a window's steps: BLAS multiplies
            by it about 1.5x faster than by the transposed view
    Returns:
        dxw: (B, 4H) dL/d(pre-activations), whence dW_xh and db_h
        dstate_prev: (dh_prev, dc_prev), each (B, H)
        dhw: (B, 4H) dL/d(h_{t-1} @ W_hh) (here the same array as dxw), whence dW_hh
    """
    dh, dc = dstate
    h_prev, c_prev, gates, tc, W_hh = cache
    B, H = dh.shape
    i, f, g, o = gates[:, :H], gates[:, H: 2 * H], gates[:, 2 * H: 3 * H], gates[:, 3 * H:]
    dz = np.empty_like(gates) if out is None else out  # (B, 4H)
    dz_i, dz_f, dz_g, dz_o = dz[:, :H], dz[:, H: 2 * H], dz[:, 2 * H: 3 * H], dz[:, 3 * H:]
    np.multiply(dh, tc, out=dz_o)  # h = o * tanh(c): through o ...
    dc = dc + dh * o * (1.0 - tc * tc)  # ... and through tanh(c)
    np.multiply(dc, g, out=dz_i)  # c = f * c_{t-1} + i * g: through i ...
    np.multiply(dc, c_prev, out=dz_f)  # ... through f ...
    np.multiply(dc, i, out=dz_g)  # ... and through g
    _, _, one, zero = gate_maps(H, gates.dtype)
    slope = np.subtract(one, gates)  # (B, 4H) then each gate's derivative: s (1 - s), 1 - g^2
    slope *= gates
    slope += zero
    dz *= slope  # through the sigmoids and the tanh
    dh_prev = dz @ (W_hh.T if W_hh_T is None else W_hh_T)  # (B, H) through h_{t-1} @ W_hh
    dc_prev = dc * f  # through f * c_{t-1}: the path that does not vanish
    return dz, (dh_prev, dc_prev), dz


def lstm_forward(x, state0, keep, W_xh, W_hh, b_h):
    """The LSTM over a window.

    Args:
        x: (T, B, In); state0: (h0, c0), each (B, H); keep: (T, B) or None (see rnn.rnn_forward)
        W_xh: (In, 4H), W_hh: (H, 4H), b_h: (4H,)
    Returns:
        hs: (T, B, H); cache: for lstm_backward; cache["state"] is (h_T, c_T)
    """
    T, B, _ = x.shape
    H = W_hh.shape[0]
    xw = input_share(x, W_xh, b_h)  # (T, B, 4H) every step's input share at once
    gates = np.empty((T, B, GATES * H), dtype=x.dtype)
    hs, cs, tcs, h_prevs, c_prevs = (np.empty((T, B, H), dtype=x.dtype) for _ in range(5))
    state, steps = state0, []
    for t in range(T):
        state = reset(state, None if keep is None else keep[t], out=(h_prevs[t], c_prevs[t]))
        state, step = lstm_step_forward(xw[t], state, W_hh, out=(gates[t], hs[t], cs[t], tcs[t]))
        steps.append(step)
    return hs, dict(x=x, keep=keep, h_prevs=h_prevs, steps=steps, W_xh=W_xh, W_hh=W_hh,
                    state=(hs[-1].copy(), cs[-1].copy()))


def lstm_backward(dhs, cache):
    """Backpropagation through time.

    Args:
        dhs: (T, B, H) dL/dh_t from the layer above; cache: lstm_forward's
    Returns:
        dx: (T, B, In); dstate0: (dh0, dc0), each (B, H)
        grads: {"W_xh": (In, 4H), "W_hh": (H, 4H), "b_h": (4H,)}
    """
    x, keep, h_prevs, W_xh = cache["x"], cache["keep"], cache["h_prevs"], cache["W_xh"]
    T, B, In = x.shape
    H = h_prevs.shape[2]
    dz = np.empty((T, B, GATES * H), dtype=x.dtype)
    dstate = (np.zeros((B, H), dtype=x.dtype), np.zeros((B, H), dtype=x.dtype))
    W_hh_T = np.ascontiguousarray(cache["W_hh"].T)  # (4H, H)
    for t in reversed(range(T)):
        dh = dhs[t] + dstate[0]  # h_t feeds the layer above and step t+1
        _, dstate, _ = lstm_step_backward((dh, dstate[1]), cache["steps"][t], out=dz[t],
                                          W_hh_T=W_hh_T)
        dstate = reset(dstate, None if keep is None else keep[t], out=dstate)
    dz2 = dz.reshape(T * B, GATES * H)
    grads = {
        "W_xh": x.reshape(T * B, In).T @ dz2,
        "W_hh": h_prevs.reshape(T * B, H).T @ dz2,  # summed over the window in one product
        "b_h": dz2.sum(axis=0),
    }
    dx = (dz2 @ W_xh.T).reshape(T, B, In)
    return dx, dstate, grads
