"""A loss that becomes NaN or infinite: roll back, halve the lr, go on; give up after a few in
a row, keeping the best model."""

import numpy as np
import pytest
from typer.testing import CliRunner

from rnncli.cli import app
from rnncli.config.schema import load_config
from rnncli.nn.model import RNNLM
from rnncli.store import model_folder
from rnncli.store.metrics import perplexity
from rnncli.train.loop import MAX_ROLLBACKS, Diverged, prepare, train


def windows_per_epoch(cfg):
    L = len(prepare(cfg).train_ids) // cfg.train.batch_size
    return -(-(L - 1) // cfg.train.bptt)


REAL_LOSS_AND_GRADS = RNNLM.loss_and_grads


class Warnings:
    def __init__(self):
        self.messages = []

    def start(self, *args): pass
    def step(self, *args): pass
    def epoch(self, record): pass

    def warn(self, message):
        self.messages.append(message)


def poison(monkeypatch, bad_calls):
    """Make the given calls of loss_and_grads (0-based) report a NaN loss."""
    real = REAL_LOSS_AND_GRADS
    calls = {"n": 0}

    def fake(self, *args, **kwargs):
        loss, grads, state = real(self, *args, **kwargs)
        n = calls["n"]
        calls["n"] += 1
        return (float("nan") if bad_calls(n) else loss), grads, state

    monkeypatch.setattr(RNNLM, "loss_and_grads", fake)


def test_a_nan_step_is_rolled_back_and_the_lr_halved(tiny_config, monkeypatch):
    cfg = load_config(tiny_config, ["train.epochs=3"])
    clean = train(cfg)
    n = windows_per_epoch(cfg)
    poison(monkeypatch, lambda call: call in (n + 2, n + 3))  # two bad steps in epoch 2
    report = Warnings()
    saved = train(cfg, report)
    report.messages = [m for m in report.messages if not m.startswith("nothing is held out")]
    assert len(report.messages) == 2 and "lr halved to 0.25" in report.messages[0]
    assert "lr halved to 0.125" in report.messages[1]
    assert [r["lr"] for r in saved.history][:2] == [0.5, 0.125]
    for name, W in saved.model.params.items():
        assert np.isfinite(W).all(), name
    assert saved.history[-1]["train_loss"] < clean.history[0]["train_loss"]


def test_giving_up_keeps_the_best_model(tiny_config, monkeypatch, tmp_path):
    cfg = load_config(tiny_config, ["train.epochs=3"])
    n = windows_per_epoch(cfg)
    poison(monkeypatch, lambda call: call >= n + 2)  # fine for epoch 1, then NaN for good
    with pytest.raises(Diverged) as e:
        train(cfg)
    assert f"not finite {MAX_ROLLBACKS + 1} steps in a row" in str(e.value)
    best = e.value.saved
    assert best is not None and len(best.history) == 1

    poison(monkeypatch, lambda call: call >= n + 2)  # the same again, counted afresh
    result = CliRunner().invoke(app, ["train", str(tiny_config), "--set", "train.epochs=3",
                                      "--out", str(tmp_path / "m")])
    assert result.exit_code == 1
    last = result.stderr.splitlines()[-1]  # after the progress lines and the warnings
    assert last.startswith("Error: training diverged")
    assert last.endswith(f"the best model so far is kept in {tmp_path / 'm'}")
    kept = model_folder.load(tmp_path / "m")  # the best so far: epoch 1's model
    assert [perplexity(r) for r in kept.history] == [perplexity(r) for r in best.history]
    for name, W in best.model.params.items():
        np.testing.assert_array_equal(kept.model.params[name], W)
