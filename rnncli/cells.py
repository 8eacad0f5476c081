"""The recurrent cells behind one interface, so the model can stack any of them.

Each cell has a state (a tuple of (B, H) arrays: (h,) for rnn and gru, (h, c) for lstm), its
parameters by name, a whole-window forward and backward, and a cache-free step for inference.
"""

from __future__ import annotations

import numpy as np

from rnncli import gru, layers, lstm


class RNNCell:
    """h_t = tanh(x_t @ W_xh + h_{t-1} @ W_hh + b_h)   (rnncli.layers)"""
    name, gates, n_states = "rnn", 1, 1
    biases = ("b_h",)

    def forward(self, x, state, keep, p):
        hs, cache = layers.rnn_forward(x, state[0], keep, p["W_xh"], p["W_hh"], p["b_h"])
        return hs, (hs[-1].copy(),), cache

    def backward(self, dhs, cache):
        dx, _, dW_xh, dW_hh, db_h = layers.rnn_backward(dhs, cache)
        return dx, {"W_xh": dW_xh, "W_hh": dW_hh, "b_h": db_h}

    def step(self, x_t, state, p):
        return (np.tanh(x_t @ p["W_xh"] + state[0] @ p["W_hh"] + p["b_h"]),)


class LSTMCell:
    """rnncli.lstm: gates i, f, g, o and a cell state c."""
    name, gates, n_states = "lstm", lstm.GATES, 2
    biases = ("b_h",)

    def forward(self, x, state, keep, p):
        return lstm.lstm_forward(x, state, keep, p["W_xh"], p["W_hh"], p["b_h"])

    def backward(self, dhs, cache):
        return lstm.lstm_backward(dhs, cache)

    def step(self, x_t, state, p):
        return lstm.lstm_step(x_t, state, p["W_xh"], p["W_hh"], p["b_h"])


class GRUCell:
    """rnncli.gru: gates r, z, n."""
    name, gates, n_states = "gru", gru.GATES, 1
    biases = ("b_xh", "b_hh")

    def forward(self, x, state, keep, p):
        return gru.gru_forward(x, state, keep, p["W_xh"], p["W_hh"], p["b_xh"], p["b_hh"])

    def backward(self, dhs, cache):
        return gru.gru_backward(dhs, cache)

    def step(self, x_t, state, p):
        return gru.gru_step(x_t, state, p["W_xh"], p["W_hh"], p["b_xh"], p["b_hh"])


CELLS = {c.name: c for c in (RNNCell(), LSTMCell(), GRUCell())}


def shapes(cell: str, In: int, H: int) -> dict[str, tuple[int, ...]]:
    """The shapes of one layer's parameters: input In, hidden H."""
    c = CELLS[cell]
    G = c.gates * H
    return {"W_xh": (In, G), "W_hh": (H, G), **{b: (G,) for b in c.biases}}
