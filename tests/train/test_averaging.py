"""train.average: nt (NT-ASGD): the trigger rule, the running mean, what a run validates and
keeps, and resuming with the averaging under way."""


import numpy as np
import pytest
from training import CopyMidRun

from rnncli.config.schema import load_config
from rnncli.errors import ConfigError
from rnncli.train import loop
from rnncli.train.averaging import Average, nonmonotone
from rnncli.train.checkpoint import load_checkpoint

NT = ["train.average=nt", "data.valid_fraction=0.25", "train.epochs=4"]


@pytest.mark.parametrize("valid, nonmono, fires", [
    ([300.0], 0, False),  # nothing to compare with
    ([300.0, 250.0], 0, False),  # better than every earlier check
    ([300.0, 310.0], 0, True),  # worse than the best so far
    ([300.0, 310.0], 1, False),  # the only earlier check is within nonmono
    ([300.0, 200.0, 250.0], 1, False),  # worse than 200, but 200 is within nonmono
    ([300.0, 200.0, 350.0], 1, True),  # worse than 300, the check more than 1 ago
    ([100.0, 90, 80, 70, 60, 95], 5, False),  # only 5 earlier checks: none more than 5 ago
    ([100.0, 90, 80, 70, 60, 50, 95], 5, False),  # 95 < 100, the one check over 5 ago
    ([100.0, 90, 80, 70, 60, 50, 101], 5, True),
    ([100.0, 90, 80, 70, 60, 50, 100], 5, False),  # equal is no worse
])
def test_the_trigger_fires_when_validation_is_worse_than_the_best_over_nonmono_ago(
        valid, nonmono, fires):
    assert nonmonotone(valid, nonmono) is fires


def test_the_average_is_the_mean_of_the_iterates_since_the_start():
    rng = np.random.default_rng(0)
    params = {"W": rng.standard_normal((3, 4)).astype(np.float32),
              "b": rng.standard_normal(4).astype(np.float32)}
    average = Average(params)
    average.step()  # before the trigger: nothing
    assert not average.active and average.count == 0
    average.start()
    iterates = []
    for _ in range(7):
        for p in params.values():
            p += rng.standard_normal(p.shape).astype(np.float32)
        average.step()
        iterates.append({n: p.copy() for n, p in params.items()})
    assert average.count == 7
    for name in params:
        mean = np.mean([it[name] for it in iterates], axis=0)
        np.testing.assert_allclose(average.avg[name], mean, rtol=1e-5, atol=1e-6)

    now = {n: p.copy() for n, p in params.items()}
    average.swap()  # the parameters hold the average
    for name in params:
        np.testing.assert_allclose(params[name], np.mean([it[name] for it in iterates], axis=0),
                                   rtol=1e-5, atol=1e-6)
    average.swap()  # and back, bit for bit
    for name in params:
        np.testing.assert_array_equal(params[name], now[name])


def test_the_state_round_trips_and_refuses_what_does_not_fit():
    params = {"W": np.ones((2, 3), np.float32)}
    average = Average(params)
    assert average.state() == (None, {})
    average.start()
    average.step()
    params["W"] += 2
    average.step()
    count, avg = average.state()
    again = Average(params)
    again.set_state(count, avg)
    assert again.count == 2
    np.testing.assert_array_equal(again.avg["W"], np.full((2, 3), 2, np.float32))
    with pytest.raises(ValueError, match="does not fit"):
        again.set_state(2, {"W": np.ones((3, 3), np.float32)})


def test_average_nt_needs_sgd_and_names_both_keys(tiny_config):
    with pytest.raises(ConfigError) as e:
        load_config(tiny_config, ["train.average=nt", "train.optimizer=adam"])
    assert "train.average" in str(e.value) and "train.optimizer" in str(e.value)
    with pytest.raises(ConfigError, match="train.average: must be one of none, nt"):
        load_config(tiny_config, ["train.average=mean"])
    with pytest.raises(ConfigError, match="train.nonmono: must be >= 0"):
        load_config(tiny_config, ["train.average=nt", "train.nonmono=-1"])


@pytest.fixture
def trigger_after_epoch_1(monkeypatch):
    """The trigger, fired by the first check (its rule has its own test above): a tiny run's
    validation need not stall when a test wants it to."""
    monkeypatch.setattr(loop, "nonmonotone", lambda valid, nonmono: True)


def test_a_run_validates_and_keeps_the_mean_of_the_iterates_since_the_trigger(
        tiny_config, monkeypatch, trigger_after_epoch_1):
    iterates, validated = [], []  # the weights after each step; those validated each epoch
    make_optimizer, evaluate = loop.make_optimizer, loop.evaluate

    class Recording:
        def __init__(self, inner):
            self.inner = inner

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def __setattr__(self, name, value):
            if name == "inner":
                object.__setattr__(self, name, value)
            else:
                setattr(self.inner, name, value)

        def step(self, grads):
            self.inner.step(grads)
            iterates.append({n: p.copy() for n, p in self.inner.params.items()})

    def recording_evaluate(model, *args, **kwargs):
        validated.append({n: p.copy() for n, p in model.params.items()})
        return evaluate(model, *args, **kwargs)

    monkeypatch.setattr(loop, "make_optimizer", lambda params, t: Recording(
        make_optimizer(params, t)))
    monkeypatch.setattr(loop, "evaluate", recording_evaluate)
    saved = loop.train(load_config(tiny_config, NT))

    per_epoch = len(iterates) // 4
    assert len(validated) == 4 and per_epoch * 4 == len(iterates)
    assert "averaged_steps" not in saved.history[0]  # epoch 1: SGD's own weights
    for name, W in iterates[per_epoch - 1].items():
        np.testing.assert_array_equal(validated[0][name], W)
    for epoch in (2, 3, 4):
        since = iterates[per_epoch:epoch * per_epoch]  # every step since the trigger
        assert saved.history[epoch - 1]["averaged_steps"] == len(since)
        for name in iterates[0]:
            mean = np.mean([it[name] for it in since], axis=0)
            np.testing.assert_allclose(validated[epoch - 1][name], mean, rtol=1e-4, atol=1e-6)
        assert not all(np.array_equal(validated[epoch - 1][n], W)  # not SGD's last weights
                       for n, W in iterates[epoch * per_epoch - 1].items())
    best = min(range(4), key=lambda i: saved.history[i]["valid_ppl"])
    for name, W in saved.model.params.items():  # what is kept: the best epoch's weights
        np.testing.assert_array_equal(W, validated[best][name])


def test_resume_with_averaging_under_way_ends_with_the_same_weights(
        tiny_config, tmp_path, trigger_after_epoch_1):
    cfg = load_config(tiny_config, [*NT, "train.checkpoint_every=4", "train.momentum=0.5"])
    ckpt, copy = tmp_path / "ck", tmp_path / "crash"

    plain = loop.train(load_config(tiny_config, [*NT, "train.momentum=0.5"]))
    whole = loop.train(cfg, CopyMidRun(ckpt, copy), checkpoint_path=ckpt)
    checkpoint = load_checkpoint(copy)
    assert checkpoint.position.epoch >= 2 and checkpoint.position.averaged > 0
    assert set(checkpoint.average) == set(whole.model.params)
    resumed = loop.train(cfg, resume=checkpoint)
    for name, W in whole.model.params.items():
        np.testing.assert_array_equal(W, plain.model.params[name])  # checkpoints change nothing
        np.testing.assert_array_equal(resumed.model.params[name], W)
    assert [r["valid_ppl"] for r in resumed.history] == [r["valid_ppl"] for r in whole.history]
    assert [r.get("averaged_steps") for r in resumed.history][1:] == [
        r["averaged_steps"] for r in whole.history[1:]]


def test_a_rolled_back_step_takes_the_epochs_averaged_steps_back_too(
        tiny_config, monkeypatch, trigger_after_epoch_1):
    from test_diverge import Warnings, poison, windows_per_epoch

    cfg = load_config(tiny_config, NT)
    n = windows_per_epoch(cfg)
    poison(monkeypatch, lambda call: call == 2 * n + 2)  # epoch 3's third window
    report = Warnings()
    saved = loop.train(cfg, report)
    assert any("rolled back" in m for m in report.messages)
    # epoch 2's n steps, then epoch 3 from its first weights: windows 4..n, not 1, 2 as well
    assert [r.get("averaged_steps") for r in saved.history] == [None, n, 2 * n - 3, 3 * n - 3]


def test_a_checkpoint_whose_average_does_not_fit_is_refused_in_one_line(
        tiny_config, tmp_path, trigger_after_epoch_1):
    from rnncli.errors import ModelError

    cfg = load_config(tiny_config, [*NT, "train.checkpoint_every=4"])
    ckpt, copy = tmp_path / "ck", tmp_path / "crash"

    loop.train(cfg, CopyMidRun(ckpt, copy), checkpoint_path=ckpt)
    checkpoint = load_checkpoint(copy)
    name = next(iter(checkpoint.average))
    checkpoint.average[name] = checkpoint.average[name][:1]
    with pytest.raises(ModelError, match=f"does not fit its own model: average '{name}'"):
        loop.train(cfg, resume=checkpoint)
