"""Finite-difference gradient checks in float64 (CS231n style): every parameter of the model,
through a whole truncated-BPTT window that starts from a carried, non-zero hidden state and has
an <eos> inside it, with the reset on and off."""

import numpy as np
import pytest

from rnncli.nn import gru, layers, lstm, rnn, rowblocks
from rnncli.nn.cells import shapes as cell_shapes
from rnncli.nn.model import RNNLM

EOS = 1


def rel_error(a, b):
    return np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)))


def numeric_grad(f, x, eps=3e-3):
    """Five-point centred differences of the scalar f() with respect to every entry of x
    (changed in place): error O(eps^4), so tiny gradients are resolved too."""
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        values = []
        for step in (2, 1, -1, -2):
            x[i] = old + step * eps
            values.append(f())
        x[i] = old
        grad[i] = (8 * (values[1] - values[2]) - (values[0] - values[3])) / (12 * eps)
    return grad


def window(T=6, B=3, V=7, seed=0):
    rng = np.random.default_rng(seed)
    inputs = rng.integers(2, V, size=(T, B))
    inputs[T // 2, 0] = EOS  # an <eos> inside the window: the state resets after it
    inputs[T - 2, B - 1] = EOS
    targets = rng.integers(0, V, size=(T, B))
    prev = np.vstack([rng.integers(2, V, size=(1, B)), inputs[:-1]])
    return inputs, targets, prev


CELLS = ["rnn", "lstm", "gru"]
VARIANTS = {  # n_layers, tie_weights, dropout
    "one layer": (1, False, 0.0),
    "two layers": (2, False, 0.0),
    "tied weights": (2, True, 0.0),
    "dropout, fixed mask": (2, False, 0.3),
}


def check_model_gradients(model, inputs, targets, state0, keep, seed=5):
    """Every parameter's analytic gradient against centred differences; dropout masks come
    from a generator re-seeded for every evaluation, so the mask is fixed."""
    rng = lambda: np.random.default_rng(seed)  # noqa: E731
    _, grads, _ = model.loss_and_grads(inputs, targets, state0, keep, rng())
    f = lambda: model.loss_and_grads(inputs, targets, state0, keep, rng())[0]  # noqa: E731
    assert set(grads) == set(model.params)
    for name, W in model.params.items():
        grad = grads[name].dense() if isinstance(grads[name], layers.RowGrad) else grads[name]
        assert grad.dtype == np.float64 and grad.shape == W.shape, name
        assert rel_error(numeric_grad(f, W), grad) < 1e-6, name


def random_model(cell, V, E, H, n_layers=1, tie=False, dropout=0.0):
    model = RNNLM.init(V, E, H, seed=1, dtype=np.float64, cell=cell, n_layers=n_layers,
                       tie_weights=tie, dropout=dropout)
    rng = np.random.default_rng(2)
    for W in model.params.values():  # non-zero biases, larger weights: exercise every path
        W += rng.normal(0, 0.2, W.shape)
    return model


def carried_state(model, B, seed=3):
    rng = np.random.default_rng(seed)
    return [tuple(rng.uniform(-0.9, 0.9, s.shape) for s in layer)
            for layer in model.zero_state(B)]


@pytest.mark.parametrize("reset", [True, False])
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("cell", CELLS)
def test_model_gradients_through_a_whole_window(cell, variant, reset):
    n_layers, tie, dropout = VARIANTS[variant]
    V, E, H, T, B = 7, (4 if tie else 5), 4, 6, 3
    model = random_model(cell, V, E, H, n_layers, tie, dropout)
    inputs, targets, prev = window(T, B, V)
    keep = (prev != EOS) if reset else None  # None: the no-reset fast path
    assert not reset or not keep.all(), "the window must contain a reset"
    check_model_gradients(model, inputs, targets, carried_state(model, B), keep)


@pytest.mark.parametrize("cell", CELLS)
def test_model_gradients_with_sizes_of_one(cell):
    V, E, H, T, B = 5, 1, 1, 3, 1
    model = random_model(cell, V, E, H)
    inputs, targets, prev = window(T, B, V)
    check_model_gradients(model, inputs, targets, carried_state(model, B), prev != EOS)


def test_reset_cuts_the_gradient_to_the_carried_state():
    """With the reset on, nothing before an <eos> influences what comes after it."""
    V, E, H, B = 6, 3, 4, 1
    model = RNNLM.init(V, E, H, seed=0, dtype=np.float64)
    inputs = np.array([[2], [EOS], [3], [4], [5]])
    prev = np.array([[2], [2], [EOS], [3], [4]])
    keep = prev != EOS
    x, _ = layers.embedding_forward(inputs, model.params["W_emb"])
    hs_a, _ = rnn.rnn_forward(x, (np.zeros((B, H)),), keep, model.params["W_xh"],
                              model.params["W_hh"], model.params["b_h"])
    hs_b, _ = rnn.rnn_forward(x, (np.ones((B, H)),), keep, model.params["W_xh"],
                              model.params["W_hh"], model.params["b_h"])
    assert not np.allclose(hs_a[:2], hs_b[:2])
    np.testing.assert_array_equal(hs_a[2:], hs_b[2:])


@pytest.mark.parametrize("cell", CELLS)
def test_carried_state_and_input_gradients_match_finite_differences(cell):
    """The window backward's dL/dstate0 (dh0, and dc0 for the lstm) and dL/dx."""
    T, B, E, H = 4, 2, 3, 5
    rng = np.random.default_rng(0)
    module = {"rnn": rnn, "lstm": lstm, "gru": gru}[cell]
    forward = getattr(module, f"{cell}_forward")
    x = rng.normal(size=(T, B, E))
    state0 = tuple(rng.normal(size=(B, H)) for _ in range(module.STATES))
    keep = np.ones((T, B))
    keep[2, 1] = 0
    params = [rng.normal(size=s) * 0.5 for s in cell_shapes(cell, E, H).values()]
    dhs = rng.normal(size=(T, B, H))
    _, cache = forward(x, state0, keep, *params)
    dx, dstate0, _ = getattr(module, f"{cell}_backward")(dhs, cache)
    f = lambda: float((forward(x, state0, keep, *params)[0] * dhs).sum())  # noqa: E731
    for s, ds in zip(state0, dstate0):
        assert rel_error(numeric_grad(f, s), ds) < 1e-6
    assert rel_error(numeric_grad(f, x), dx) < 1e-6


def test_softmax_cross_entropy_gradient_with_weights():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(6, 5)) * 3
    targets = rng.integers(0, 5, size=6)
    weight = np.array([1, 0, 1, 1, 0, 1], dtype=np.float64)
    loss, dlogits = layers.softmax_cross_entropy(logits, targets, weight)
    f = lambda: layers.softmax_cross_entropy(logits, targets, weight)[0]  # noqa: E731
    assert rel_error(numeric_grad(f, logits), dlogits) < 1e-6
    expected = -np.mean([np.log(np.exp(logits[i]) / np.exp(logits[i]).sum())[targets[i]]
                         for i in (0, 2, 3, 5)])
    assert loss == pytest.approx(expected, rel=1e-12)


def test_embedding_backward_sums_repeated_rows():
    ids = np.array([[0, 2], [2, 2]])
    dx = np.arange(8, dtype=np.float64).reshape(2, 2, 2)
    dW = layers.embedding_backward(dx, ids, V=4).dense()
    expected = np.zeros((4, 2))
    np.add.at(expected, ids.reshape(-1), dx.reshape(-1, 2))  # the slow, obvious oracle
    np.testing.assert_array_equal(dW, expected)


@pytest.mark.parametrize("weighted", [False, True])
def test_row_parallel_softmax_matches_a_plain_one_bit_for_bit_across_threads(monkeypatch,
                                                                              weighted):
    """Large enough to be cut into blocks: same numbers as the obvious formula, and the same
    bits whether one thread or several do the work."""
    rng = np.random.default_rng(0)
    N, V = 301, 2000
    logits = (rng.normal(size=(N, V)) * 4).astype(np.float32)
    targets = rng.integers(0, V, size=N)
    weight = (rng.random(N) > 0.3).astype(np.float32) if weighted else None
    results = []
    for threads in (1, 2, 3):
        monkeypatch.setattr(rowblocks, "_workers", threads)
        results.append(layers.softmax_cross_entropy(logits.copy(), targets, weight,
                                                    inplace=True))
    for loss, dlogits in results[1:]:
        assert loss == results[0][0]
        np.testing.assert_array_equal(dlogits, results[0][1])

    z = logits.astype(np.float64)
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    w = np.ones(N) if weight is None else weight.astype(np.float64)
    expected_loss = -(w * np.log(p[np.arange(N), targets])).sum() / w.sum()
    p[np.arange(N), targets] -= 1
    p *= (w / w.sum())[:, None]
    assert results[0][0] == pytest.approx(expected_loss, rel=1e-6)
    np.testing.assert_allclose(results[0][1], p, atol=1e-8)


def test_sparse_embedding_step_equals_the_dense_one():
    from rnncli.train.sgd import clip_global_norm, sgd_step
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 6, size=(4, 3))
    dx = rng.normal(size=(4, 3, 2))
    sparse = layers.embedding_backward(dx, ids, V=10)
    dense = sparse.dense()
    W_a = rng.normal(size=(10, 2))
    W_b, W_0 = W_a.copy(), W_a.copy()
    norm_a = clip_global_norm({"W": sparse}, 0.5)
    norm_b = clip_global_norm({"W": dense}, 0.5)
    assert norm_a == pytest.approx(norm_b)
    sgd_step({"W": W_a}, {"W": sparse}, 0.3)
    sgd_step({"W": W_b}, {"W": dense}, 0.3)
    np.testing.assert_allclose(W_a, W_b, rtol=1e-12)
    unread = np.setdiff1d(np.arange(10), ids)
    np.testing.assert_array_equal(W_a[unread], W_0[unread])  # rows no step read stay put
