"""The inference step (one token at a time, as complete / decode / explain use it) against the
whole-window forward that training uses: the same hidden states and next-word probabilities,
for every cell, two layers, with an <eos> reset inside the window."""

import numpy as np
import pytest

from rnncli.nn.layers import log_softmax
from rnncli.nn.model import RNNLM


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_stepping_one_token_at_a_time_gives_the_window_forward(cell):
    V, E, H, T, B = 9, 4, 6, 7, 2
    model = RNNLM.init(V, E, H, seed=3, dtype=np.float64, cell=cell, n_layers=2, init=0.6)
    rng = np.random.default_rng(4)
    inputs = rng.integers(0, V, size=(T, B))
    keep = np.ones((T, B), dtype=bool)
    keep[3, 0] = False  # stream 0 starts a new line at step 3 (after an <eos>)
    state0 = [tuple(rng.uniform(-0.8, 0.8, (B, H)) for _ in s) for s in model.zero_state(B)]

    hs, state = model.run(inputs, state0, keep)  # (T, B, H) the window forward
    probs = np.exp(log_softmax(model.logits(hs.reshape(T * B, H)))).reshape(T, B, V)

    st = state0
    for t in range(T):
        # the reset, written out here: zero state for a stream whose line starts at t
        st = [tuple(np.where(keep[t][:, None], s, 0.0) for s in layer) for layer in st]
        h, st = model.step(inputs[t], st)  # (B, H) the top layer
        np.testing.assert_allclose(h, hs[t], rtol=1e-9, atol=1e-12, err_msg=f"h at step {t}")
        p = np.exp(log_softmax(model.logits(h)))  # (B, V)
        np.testing.assert_allclose(p, probs[t], rtol=1e-9, atol=1e-12, err_msg=f"p at {t}")
    for layer_a, layer_b in zip(st, state):  # the carried state, every layer (h and c)
        for a, b in zip(layer_a, layer_b):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    assert not np.allclose(probs[0], probs[1])  # the steps do differ


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lstm_gates_in_one_tanh_equal_each_gates_own_function(dtype):
    """The LSTM step activates its four gates with one tanh and its backward takes their
    derivatives in one pass (lstm.gate_maps): the same numbers, bit for bit, as a sigmoid on
    i, f, o and a tanh on g, and as s (1 - s) and 1 - g^2."""
    from rnncli.nn import lstm
    from rnncli.nn.cellparts import sigmoid
    rng = np.random.default_rng(0)
    B, H = 6, 5
    xw = rng.normal(0, 4, (B, 4 * H)).astype(dtype)
    W_hh = rng.normal(0, 1, (H, 4 * H)).astype(dtype)
    state = (rng.normal(0, 1, (B, H)).astype(dtype), rng.normal(0, 1, (B, H)).astype(dtype))
    _, (_, _, gates, _, _) = lstm.lstm_step_forward(xw, state, W_hh)
    z = state[0] @ W_hh + xw
    want = np.concatenate([sigmoid(z[:, :2 * H]), np.tanh(z[:, 2 * H: 3 * H]),
                           sigmoid(z[:, 3 * H:])], axis=1)
    np.testing.assert_array_equal(gates, want)
    _, _, one, zero = lstm.gate_maps(H, gates.dtype)
    slope = (one - gates) * gates + zero
    s = np.concatenate([gates[:, :2 * H], gates[:, 3 * H:]], axis=1)
    g = gates[:, 2 * H: 3 * H]
    np.testing.assert_array_equal(np.concatenate([slope[:, :2 * H], slope[:, 3 * H:]], axis=1),
                                  s * (1.0 - s))
    np.testing.assert_array_equal(slope[:, 2 * H: 3 * H], 1.0 - g * g)
