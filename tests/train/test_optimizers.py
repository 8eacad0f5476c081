"""Adam, AdamW, RMSprop and Adagrad against torch.optim (golden vectors) and their formulas."""

from pathlib import Path

import numpy as np
import pytest

from rnncli.config.schema import load_config
from rnncli.nn.layers import RowGrad
from rnncli.train.optimizers import Adagrad, Adam, AdamW, RMSprop, get_state, set_state

GOLDEN = np.load(Path(__file__).resolve().parents[1] / "golden" / "optim.npz")
NAMES = ("W_emb", "W_hh", "b_h")
STEPS = 6
# case in tests/make_golden_optim.py -> the same optimiser here
CASES = {
    "adam": lambda p: Adam(p),
    "adam_wd": lambda p: Adam(p, lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
    "adamw": lambda p: AdamW(p),
    "adamw_wd": lambda p: AdamW(p, lr=0.05, weight_decay=0.3),
    "rmsprop": lambda p: RMSprop(p),
    "rmsprop_momentum": lambda p: RMSprop(p, lr=0.02, alpha=0.9, momentum=0.5,
                                          weight_decay=0.1),
    "adagrad": lambda p: Adagrad(p),
    "adagrad_wd": lambda p: Adagrad(p, lr=0.1, weight_decay=0.1, eps=1e-6),
}


def params():
    return {n: GOLDEN[f"param/{n}"].copy() for n in NAMES}


def grads(k):
    """Step k's gradients; the embedding's as the RowGrad of the rows it reads."""
    g = {n: GOLDEN[f"grad/{k}/{n}"].copy() for n in NAMES}
    dense = g["W_emb"]
    rows = np.flatnonzero(np.abs(dense).sum(axis=1))
    g["W_emb"] = RowGrad(rows, dense[rows].copy(), dense.shape)
    return g


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_torch_optim_step_by_step(case):
    p = params()
    opt = CASES[case](p)
    for k in range(STEPS):
        opt.step(grads(k))
        for n in NAMES:
            np.testing.assert_allclose(p[n], GOLDEN[f"{case}/step/{k}/{n}"], rtol=1e-12,
                                       atol=1e-12, err_msg=f"{case} step {k + 1} {n}")


@pytest.mark.parametrize("cls, factor", [(Adam, 1.0), (Adagrad, 1.0), (RMSprop, 10.0)])
def test_the_first_step_moves_each_weight_by_lr_times_the_sign(cls, factor):
    # Adam: m / sqrt(v) after bias correction is g / |g|; Adagrad: g / sqrt(g^2);
    # RMSprop: g / sqrt((1 - alpha) g^2) = g / (0.1 |g|)
    p = params()
    before = {n: w.copy() for n, w in p.items()}
    g = {n: GOLDEN[f"grad/0/{n}"] for n in ("W_hh", "b_h")}
    opt = cls({n: p[n] for n in g}, lr=0.01)
    opt.step(g)
    for n in g:
        np.testing.assert_allclose(before[n] - p[n], 0.01 * factor * np.sign(g[n]), rtol=1e-4)


def test_adamw_decays_the_weights_apart_from_the_gradient_and_adam_through_it():
    zero = {"W_hh": np.zeros((4, 4))}
    a = {"W_hh": GOLDEN["param/W_hh"].copy()}
    opt = AdamW(a, lr=0.1, weight_decay=0.5)
    for _ in range(3):
        opt.step(zero)  # no gradient: only p = p * (1 - lr * wd)
    np.testing.assert_allclose(a["W_hh"], GOLDEN["param/W_hh"] * 0.95 ** 3, rtol=1e-12)
    b = {"W_hh": GOLDEN["param/W_hh"].copy()}
    Adam(b, lr=0.1, weight_decay=0.5).step(zero)  # g = wd * p: Adam's step is lr * sign(p)
    np.testing.assert_allclose(b["W_hh"], GOLDEN["param/W_hh"] * (1 - 0.1 / np.abs(
        GOLDEN["param/W_hh"])), rtol=1e-4)  # up to eps


@pytest.mark.parametrize("case", ["adam", "rmsprop_momentum", "adagrad"])
def test_state_round_trip_continues_identically(case):
    a, b = params(), params()
    opt_a, opt_b = CASES[case](a), CASES[case](b)
    for k in range(3):
        opt_a.step(grads(k))
        opt_b.step(grads(k))
    lr, steps, buffers = get_state(opt_a)
    fresh = params()
    for n in NAMES:
        fresh[n][...] = a[n]
    opt_c = CASES[case](fresh)
    set_state(opt_c, lr, steps, buffers)
    for k in range(3, STEPS):
        opt_b.step(grads(k))
        opt_c.step(grads(k))
    for n in NAMES:
        np.testing.assert_array_equal(fresh[n], b[n])
    with pytest.raises(ValueError, match="does not fit"):
        set_state(opt_c, lr, steps, {"exp_avg_sq/W_nope": np.zeros(1)})


def test_null_settings_take_each_optimisers_defaults(tiny_config):
    t = load_config(tiny_config, ["train.optimizer=adamw", "train.lr=null"]).train
    assert (t.lr, t.eps, t.weight_decay) == (1e-3, 1e-8, 1e-2)
    t = load_config(tiny_config, ["train.optimizer=adagrad", "train.lr=null"]).train
    assert (t.lr, t.eps, t.weight_decay) == (1e-2, 1e-10, 0.0)
    assert load_config(None).train.optimizer == "sgd"  # plain SGD stays the default
