"""The vanilla RNN cell (Elman 1990), with the equation of PyTorch's nn.RNN (tanh), written for
row vectors:

    h_t = tanh(x_t @ W_xh + h_{t-1} @ W_hh + b_h)      the hidden state, the network's memory

W_xh is (In, H), W_hh is (H, H), b_h is (H,) (PyTorch's b_ih + b_hh). The state is (h,).

Like lstm.py and gru.py: a step forward / backward and a whole-window forward / backward. Forward
returns (out, cache), backward takes (dout, cache). The step takes the input's share
xw_t = x_t @ W_xh + b_h, which the window computes for all steps in one product
(cellparts.input_share) and inference for one.
"""

from __future__ import annotations

import numpy as np

from rnncli.nn.cellparts import input_share, reset

GATES = 1
PARAMS = ("W_xh", "W_hh", "b_h")
STATES = 1


def rnn_step_forward(xw_t, state, W_hh, out=None):
    """One step: h_t = tanh(xw_t + h_{t-1} @ W_hh).

    Args:
        xw_t: (B, H) x_t @ W_xh + b_h; state: (h_prev,), (B, H) (after any reset); W_hh: (H, H)
        out: optional (h,) buffer, (B, H)
    Returns:
        state: (h,), the new hidden state; cache: for rnn_step_backward
    """
    (h_prev,) = state
    h = np.matmul(h_prev, W_hh, out=None if out is None else out[0])  # (B, H)
    h += xw_t
    np.tanh(h, out=h)
    return (h,), (h_prev, h, W_hh)


def rnn_step_backward(dstate, cache, out=None, W_hh_T=None):
    """Back through one step.

    Args:
        dstate: (dh,), dL/dh_t (B, H), from the output at t and from step t+1
        cache: rnn_step_forward's; out: optional (B, H) buffer for dxw
        W_hh_T: optional W_hh.T laid out in rows, shared by a window's steps: BLAS multiplies
            by it about 1.5x faster than by the transposed view
    Returns:
        dxw: (B, H) dL/dxw_t, whence dW_xh and db_h
        dstate_prev: (dh_prev,), dL/dh_{t-1}
        dhw: (B, H) dL/d(h_{t-1} @ W_hh) (here the same array as dxw), whence
            dW_hh = h_{t-1}^T dhw, which rnn_backward sums over the window in one product
    """
    (dh,) = dstate
    h_prev, h, W_hh = cache
    dz = np.multiply(h, h, out=out)  # (B, H)
    np.subtract(1.0, dz, out=dz)  # tanh'(z) = 1 - tanh(z)^2 = 1 - h_t^2
    dz *= dh  # backprop through tanh
    dh_prev = dz @ (W_hh.T if W_hh_T is None else W_hh_T)  # backprop through h_{t-1} @ W_hh
    return dz, (dh_prev,), dz


def rnn_forward(x, state0, keep, W_xh, W_hh, b_h):
    """The recurrence over a whole window.

    Args:
        x: (T, B, In) inputs; state0: (h0,), (B, H), carried in from the previous window
        keep: (T, B) 1 where the state carries into step t, 0 where it resets to zero (after
            <eos>); None when nothing resets
        W_xh: (In, H), W_hh: (H, H), b_h: (H,)
    Returns:
        hs: (T, B, H) the hidden states h_1..h_T
        cache: for rnn_backward; cache["state"] is the state after step T
    """
    T, B, _ = x.shape
    H = W_hh.shape[0]
    xw = input_share(x, W_xh, b_h)  # (T, B, H)
    hs = np.empty((T, B, H), dtype=x.dtype)
    h_prevs = np.empty((T, B, H), dtype=x.dtype)  # h_{t-1} as step t saw it
    state, steps = state0, []
    for t in range(T):
        state = reset(state, None if keep is None else keep[t], out=(h_prevs[t],))
        state, step = rnn_step_forward(xw[t], state, W_hh, out=(hs[t],))
        steps.append(step)
    return hs, dict(x=x, keep=keep, h_prevs=h_prevs, steps=steps, W_xh=W_xh, W_hh=W_hh,
                    state=(hs[-1].copy(),))


def rnn_backward(dhs, cache):
    """Backpropagation through time over the window.

    Args:
        dhs: (T, B, H) the loss's gradient with respect to each h_t from the layer above
        cache: rnn_forward's
    Returns:
        dx: (T, B, In); dstate0: (dh0,), (B, H)
        grads: {"W_xh": (In, H), "W_hh": (H, H), "b_h": (H,)}
    """
    x, keep, h_prevs, W_xh = cache["x"], cache["keep"], cache["h_prevs"], cache["W_xh"]
    T, B, In = x.shape
    H = h_prevs.shape[2]
    dz = np.empty((T, B, H), dtype=x.dtype)  # gradients of the pre-activations
    dh = np.empty((B, H), dtype=x.dtype)
    dstate = (np.zeros((B, H), dtype=x.dtype),)  # what step t+1 sends back to h_t
    W_hh_T = np.ascontiguousarray(cache["W_hh"].T)  # (H, H)
    for t in reversed(range(T)):
        np.add(dhs[t], dstate[0], out=dh)  # h_t feeds both the output at t and step t+1
        _, dstate, _ = rnn_step_backward((dh,), cache["steps"][t], out=dz[t], W_hh_T=W_hh_T)
        dstate = reset(dstate, None if keep is None else keep[t], out=dstate)
    dz2 = dz.reshape(T * B, H)
    grads = {
        "W_xh": x.reshape(T * B, In).T @ dz2,  # (In, H)
        "W_hh": h_prevs.reshape(T * B, H).T @ dz2,  # sum over t of h_{t-1}^T dz_t, in one product
        "b_h": dz2.sum(axis=0),  # (H,)
    }
    dx = (dz2 @ W_xh.T).reshape(T, B, In)
    return dx, dstate, grads
