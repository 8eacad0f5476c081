"""The pieces the three recurrent cells (rnn.py, lstm.py, gru.py) share.

    sigmoid(z) = 1 / (1 + exp(-z))                    the gates' squashing function
    xw_t = x_t @ W_xh + b                             the input's share, for a whole window at once
    h_{t-1} <- keep_t * h_{t-1}                       the reset: a new line starts from zero

Arrays are time-major: a window of T steps over B streams is (T, B, ...). A state is a tuple of
(B, H) arrays: (h,) for rnn and gru, (h, c) for lstm.
"""

from __future__ import annotations

import numpy as np


def sigmoid(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """1 / (1 + exp(-z)), computed as (1 + tanh(z / 2)) / 2: stable for any z."""
    out = np.multiply(z, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1.0
    out *= 0.5
    return out


def input_share(x: np.ndarray, W_xh: np.ndarray, b: np.ndarray) -> np.ndarray:
    """x_t @ W_xh + b for every step of a window in one product: (T, B, In) -> (T, B, G).

    The input does not depend on the recurrence, so this leaves only h_{t-1} @ W_hh to the
    step-by-step loop (in every cell: G = H, 4H or 3H gate pre-activations). Inference calls it
    on a window of one step.
    """
    T, B, In = x.shape
    xw = x.reshape(T * B, In) @ W_xh  # (T*B, G)
    xw += b
    return xw.reshape(T, B, -1)


def reset(state: tuple, keep_t: np.ndarray | None,
          out: tuple | None = None) -> tuple:
    """The state as step t sees it: zero in the streams where a new line starts (after <eos>).

    The backward pass applies the same mask to dL/dstate: no gradient flows through a reset.

    Args:
        state: tuple of (B, H) arrays
        keep_t: (B,) 1 where the state carries into step t, 0 where it resets; None: no reset
        out: optional tuple of (B, H) buffers (may be `state` itself, to reset in place)
    Returns:
        the tuple of (B, H) arrays, written into `out` when given
    """
    if out is None:
        if keep_t is None:
            return state
        return tuple(s * keep_t[:, None] for s in state)
    for s, o in zip(state, out):
        if keep_t is None:
            if o is not s:
                np.copyto(o, s)
        else:
            np.multiply(s, keep_t[:, None], out=o)
    return out
