"""The GRU cell (Cho et al. 2014), with the equations and gate order of PyTorch's nn.GRU,
written for row vectors:

    r_t = sigmoid(x_t @ W_xr + b_xr + h_{t-1} @ W_hr + b_hr)          reset gate
    z_t = sigmoid(x_t @ W_xz + b_xz + h_{t-1} @ W_hz + b_hz)          update gate
    n_t = tanh   (x_t @ W_xn + b_xn + r_t * (h_{t-1} @ W_hn + b_hn))  candidate
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}

The gates are stacked in that order (r, z, n): W_xh is (In, 3H), W_hh is (H, 3H), and the two
biases b_xh, b_hh are (3H,) each; they cannot be merged, since r_t multiplies b_hn alone.
When z_t is near 1 the state is copied forward unchanged, which keeps gradients alive. The state
is (h,).

Like rnn.py and lstm.py: a step forward / backward and a whole-window forward / backward, forward
returning (out, cache) and backward taking (dout, cache); the step takes the input's share
xw_t = x_t @ W_xh + b_xh (cellparts.input_share), and b_hh as well, which the other cells fold
into b_h.
"""

from __future__ import annotations

import numpy as np

from rnncli.nn.cellparts import input_share, reset, sigmoid

GATES = 3
PARAMS = ("W_xh", "W_hh", "b_xh", "b_hh")
STATES = 1


def gru_step_forward(xw_t, state, W_hh, b_hh, out=None):
    """One step.

    Args:
        xw_t: (B, 3H) x_t @ W_xh + b_xh; state: (h_prev,), (B, H) (after any reset)
        W_hh: (H, 3H); b_hh: (3H,)
        out: optional buffers (gates (B, 3H), h (B, H), hw_n (B, H))
    Returns:
        state: (h,), the new hidden state; cache: for gru_step_backward
    """
    (h_prev,) = state
    gates, h, hw_n = (None,) * 3 if out is None else out
    B, H = h_prev.shape
    if gates is None:
        gates = np.empty((B, 3 * H), dtype=xw_t.dtype)
    hw = h_prev @ W_hh  # (B, 3H)
    hw += b_hh
    rz = np.add(xw_t[:, : 2 * H], hw[:, : 2 * H], out=gates[:, : 2 * H])
    sigmoid(rz, out=rz)  # r, z
    r, z = gates[:, :H], gates[:, H: 2 * H]
    if hw_n is None:
        hw_n = hw[:, 2 * H:]  # h_{t-1} @ W_hn + b_hn
    else:
        hw_n[...] = hw[:, 2 * H:]
    n = np.multiply(r, hw_n, out=gates[:, 2 * H:])  # n = tanh(xw_n + r * hw_n)
    n += xw_t[:, 2 * H:]
    np.tanh(n, out=n)
    h = np.subtract(h_prev, n, out=h)  # h_t = (1 - z) * n + z * h_{t-1} = n + z * (h_{t-1} - n)
    h *= z
    h += n
    return (h,), (h_prev, gates, hw_n, W_hh)


def gru_step_backward(dstate, cache, out=None, W_hh_T=None):
    """Back through one step.

    Args:
        dstate: (dh,), dL/dh_t (B, H), from the output at t and from step t+1
        cache: gru_step_forward's; out: optional (dxw, dhw) buffers, (B, 3H) each
        W_hh_T: optional W_hh.T laid out in rows, shared by a window's steps: BLAS multiplies
            by it about 1.5x faster than by the transposed view
    Returns:
        dxw: (B, 3H) dL/d(x_t @ W_xh + b_xh), whence dW_xh and db_xh
        dstate_prev: (dh_prev,), (B, H)
        dhw: (B, 3H) dL/d(h_{t-1} @ W_hh + b_hh), whence dW_hh and db_hh
    """
    (dh,) = dstate
    h_prev, gates, hw_n, W_hh = cache
    H = dh.shape[1]
    dxw, dhw = (np.empty_like(gates), np.empty_like(gates)) if out is None else out
    r, z, n = gates[:, :H], gates[:, H: 2 * H], gates[:, 2 * H:]
    dn = dh * (1.0 - z) * (1.0 - n * n)  # through (1 - z) * n, then tanh
    dr = dn * hw_n * r * (1.0 - r)  # through r * hw_n, then sigmoid
    dzz = dh * (h_prev - n) * z * (1.0 - z)  # through z * (h - n), then sigmoid
    dxw[:, :H] = dr
    dxw[:, H: 2 * H] = dzz
    dxw[:, 2 * H:] = dn
    dhw[:, : 2 * H] = dxw[:, : 2 * H]  # r and z: x and h enter the same sum
    np.multiply(dn, r, out=dhw[:, 2 * H:])  # n: h enters through r * hw_n
    dh_prev = dh * z + dhw @ (W_hh.T if W_hh_T is None else W_hh_T)  # directly, and via W_hh
    return dxw, (dh_prev,), dhw


def gru_forward(x, state0, keep, W_xh, W_hh, b_xh, b_hh):
    """The GRU over a window.

    Args:
        x: (T, B, In); state0: (h0,), (B, H); keep: (T, B) or None (see rnn.rnn_forward)
        W_xh: (In, 3H), W_hh: (H, 3H), b_xh, b_hh: (3H,)
    Returns:
        hs: (T, B, H); cache: for gru_backward; cache["state"] is (h_T,)
    """
    T, B, _ = x.shape
    H = W_hh.shape[0]
    xw = input_share(x, W_xh, b_xh)  # (T, B, 3H) every step's input share at once
    gates = np.empty((T, B, GATES * H), dtype=x.dtype)
    hs, hw_n, h_prevs = (np.empty((T, B, H), dtype=x.dtype) for _ in range(3))
    state, steps = state0, []
    for t in range(T):
        state = reset(state, None if keep is None else keep[t], out=(h_prevs[t],))
        state, step = gru_step_forward(xw[t], state, W_hh, b_hh, out=(gates[t], hs[t], hw_n[t]))
        steps.append(step)
    return hs, dict(x=x, keep=keep, h_prevs=h_prevs, steps=steps, W_xh=W_xh, W_hh=W_hh,
                    state=(hs[-1].copy(),))


def gru_backward(dhs, cache):
    """Backpropagation through time.

    Args:
        dhs: (T, B, H) dL/dh_t from the layer above; cache: gru_forward's
    Returns:
        dx: (T, B, In); dstate0: (dh0,), (B, H)
        grads: {"W_xh": (In, 3H), "W_hh": (H, 3H), "b_xh": (3H,), "b_hh": (3H,)}
    """
    x, keep, h_prevs, W_xh = cache["x"], cache["keep"], cache["h_prevs"], cache["W_xh"]
    T, B, In = x.shape
    H = h_prevs.shape[2]
    dxw = np.empty((T, B, GATES * H), dtype=x.dtype)
    dhw = np.empty_like(dxw)
    dstate = (np.zeros((B, H), dtype=x.dtype),)
    W_hh_T = np.ascontiguousarray(cache["W_hh"].T)  # (3H, H)
    for t in reversed(range(T)):
        dh = dhs[t] + dstate[0]  # h_t feeds the layer above and step t+1
        _, dstate, _ = gru_step_backward((dh,), cache["steps"][t], out=(dxw[t], dhw[t]),
                                         W_hh_T=W_hh_T)
        dstate = reset(dstate, None if keep is None else keep[t], out=dstate)
    dxw2 = dxw.reshape(T * B, GATES * H)
    dhw2 = dhw.reshape(T * B, GATES * H)
    grads = {
        "W_xh": x.reshape(T * B, In).T @ dxw2,
        "W_hh": h_prevs.reshape(T * B, H).T @ dhw2,  # summed over the window in one product
        "b_xh": dxw2.sum(axis=0),
        "b_hh": dhw2.sum(axis=0),
    }
    dx = (dxw2 @ W_xh.T).reshape(T, B, In)
    return dx, dstate, grads
