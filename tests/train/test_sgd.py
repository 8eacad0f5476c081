"""SGD with momentum, Nesterov's momentum and weight decay against the formulas themselves."""

import tracemalloc

import numpy as np
import pytest

from rnncli.config.schema import load_config
from rnncli.nn.layers import RowGrad
from rnncli.train.loop import train
from rnncli.train.sgd import SGD, sgd_step

V, E, H = 9, 3, 4  # the embedding has rows no step reads (8 and up)
SHAPES = {"W_emb": (V, E), "W_hh": (H, H), "b_h": (H,), "b_1": (1,)}


def make_params(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {n: rng.normal(size=s) for n, s in SHAPES.items()}


def make_grads(step: int) -> dict:
    """Step `step`'s gradients, float64; the embedding's a RowGrad of a few rows below 8."""
    rng = np.random.default_rng(100 + step)
    grads = {n: rng.normal(size=s) for n, s in SHAPES.items() if n != "W_emb"}
    rows = np.sort(rng.choice(8, size=1 + step % 4, replace=False))
    grads["W_emb"] = RowGrad(rows, rng.normal(size=(len(rows), E)), (V, E))
    return grads


def reference(params, n_steps, lrs, momentum, nesterov, weight_decay):
    """torch.optim.SGD's step written out plainly, on copies."""
    params = {n: p.copy() for n, p in params.items()}
    bufs = {}
    for step in range(n_steps):
        for name, g in make_grads(step).items():
            g = g.dense() if isinstance(g, RowGrad) else g
            p = params[name]
            d_p = g + weight_decay * p
            if momentum != 0:
                if name not in bufs:
                    bufs[name] = d_p.copy()
                else:
                    bufs[name] = momentum * bufs[name] + d_p
                d_p = d_p + momentum * bufs[name] if nesterov else bufs[name]
            params[name] = p - lrs[step] * d_p
    return params


OPTIONS = [
    pytest.param(dict(momentum=0.9), id="momentum"),
    pytest.param(dict(momentum=0.5, nesterov=True), id="nesterov"),
    pytest.param(dict(weight_decay=0.1), id="weight_decay"),
    pytest.param(dict(momentum=0.9, nesterov=True, weight_decay=0.01), id="all"),
    pytest.param(dict(momentum=0.7, weight_decay=0.05), id="momentum_and_decay"),
]


@pytest.mark.parametrize("options", OPTIONS)
def test_steps_follow_the_formulas(options):
    lrs = [0.3, 0.3, 0.3, 0.15, 0.15, 0.075]  # the lr changes between steps, as a decay does
    params = make_params()
    opt = SGD(params, lrs[0], **options)
    for step, lr in enumerate(lrs):
        opt.lr = lr
        opt.step(make_grads(step))
    expected = reference(make_params(), len(lrs), lrs, options.get("momentum", 0.0),
                         options.get("nesterov", False), options.get("weight_decay", 0.0))
    for name, W in params.items():
        np.testing.assert_allclose(W, expected[name], rtol=1e-12, err_msg=name)
    never_read = make_params()["W_emb"][8:]
    moved = not np.array_equal(params["W_emb"][8:], never_read)
    assert moved == ("weight_decay" in options)  # only the decay reaches rows never read


def test_plain_sgd_is_sgd_step_bit_for_bit():
    a, b = make_params(), make_params()
    opt = SGD(a, 0.4, momentum=0.0, weight_decay=0.0)
    for step in range(5):
        opt.step(make_grads(step))
        sgd_step(b, make_grads(step), 0.4)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
    assert opt.state_dict()["momentum_buffers"] == {}


def test_plain_sgd_moves_only_the_rows_read(monkeypatch):
    def no_dense(self):
        raise AssertionError("plain SGD must not make a RowGrad dense")

    monkeypatch.setattr(RowGrad, "dense", no_dense)
    params = make_params()
    before = params["W_emb"].copy()
    opt = SGD(params, 0.5)
    grads = make_grads(2)
    rows = grads["W_emb"].rows.copy()
    opt.step(grads)
    unread = np.setdiff1d(np.arange(V), rows)
    np.testing.assert_array_equal(params["W_emb"][unread], before[unread])
    assert not np.array_equal(params["W_emb"][rows], before[rows])


def test_state_dict_round_trip_continues_identically():
    options = dict(momentum=0.9, nesterov=True, weight_decay=0.01)
    a = make_params()
    opt_a = SGD(a, 0.2, **options)
    for step in range(3):
        opt_a.step(make_grads(step))
    opt_a.lr = 0.1
    state = opt_a.state_dict()
    assert state["lr"] == 0.1 and set(state["momentum_buffers"]) == set(SHAPES)

    b = {n: p.copy() for n, p in a.items()}
    opt_b = SGD(b, 99.0, **options)  # the lr comes from the state
    opt_b.load_state_dict(state)
    state["momentum_buffers"]["W_hh"][...] = 0  # the loaded buffers are copies
    for step in range(3, 6):
        opt_a.step(make_grads(step))
        opt_b.step(make_grads(step))
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])


def test_load_state_dict_refuses_a_buffer_that_does_not_fit():
    opt = SGD(make_params(), 0.1, momentum=0.9)
    with pytest.raises(ValueError, match="W_hh"):
        opt.load_state_dict({"lr": 0.1, "momentum_buffers": {"W_hh": np.zeros((2, 2))}})
    with pytest.raises(ValueError, match="W_nope"):
        opt.load_state_dict({"lr": 0.1, "momentum_buffers": {"W_nope": np.zeros(1)}})


def test_steps_after_the_first_allocate_no_big_arrays():
    rng = np.random.default_rng(0)
    big_V, big_E = 2000, 50  # 800 kB of float64
    params = {"W_emb": rng.normal(size=(big_V, big_E)), "W": rng.normal(size=(big_E, big_E))}

    def grads():
        rows = np.arange(0, big_V, 97)
        return {"W_emb": RowGrad(rows, rng.normal(size=(len(rows), big_E)), (big_V, big_E)),
                "W": rng.normal(size=(big_E, big_E))}

    opt = SGD(params, 0.1, momentum=0.9, nesterov=True, weight_decay=0.01)
    opt.step(grads())  # the first step allocates the buffers
    g = grads()
    tracemalloc.start()
    try:
        opt.step(g)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < params["W_emb"].nbytes // 4


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="nesterov"):
        SGD(make_params(), 0.1, nesterov=True)
    with pytest.raises(ValueError, match="momentum"):
        SGD(make_params(), 0.1, momentum=-0.1)
    with pytest.raises(ValueError, match="weight_decay"):
        SGD(make_params(), 0.1, weight_decay=-1.0)


def test_training_with_momentum_lowers_the_loss(tiny_config):
    saved = train(load_config(tiny_config, ["train.epochs=8", "train.lr=0.1",
                                            "train.momentum=0.9"]))
    losses = [r["train_loss"] for r in saved.history]
    assert losses[-1] < losses[0] - 0.5
    assert saved.history[0]["lr"] == 0.1
    assert saved.config.train.momentum == 0.9
