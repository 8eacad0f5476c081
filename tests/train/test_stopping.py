"""rnncli.train.stopping's rules on synthetic histories: the decision reads a list of epoch
records and a time, so no model is trained here (the loop's use of them: test_steering.py)."""

import pytest

from rnncli.config.schema import TrainConfig
from rnncli.train.stopping import REASONS, Budget, after_epoch, stop


def history(*ppls: float) -> list[dict]:
    return [{"epoch": i + 1, "valid_ppl": p} for i, p in enumerate(ppls)]


def config(**settings) -> TrainConfig:
    return TrainConfig(**{"epochs": 100, **settings})


@pytest.mark.parametrize("ppls, patience, stops", [
    ((50, 40, 41, 42), 2, True),  # two epochs since the best one (epoch 2)
    ((50, 40, 41), 2, False),  # one so far
    ((50, 40, 41, 39), 2, False),  # a new best resets the count
    ((50, 50), 1, True),  # equal is not better
    ((50,), 1, False),
    ((50, 60, 70, 80), None, False),  # no patience: never stops for it
])
def test_patience_counts_the_epochs_since_the_best(ppls, patience, stops):
    got = after_epoch(config(patience=patience), history(*ppls), lr=1.0)
    assert (got is not None and got.reason == "patience") == stops
    if stops:
        assert got.epoch == len(ppls)
        assert got.message == f"no better validation perplexity for {patience} epochs (patience)"


def test_min_lr_stops_once_the_next_epoch_s_lr_is_below_it():
    t = config(min_lr=0.01)
    assert after_epoch(t, history(50, 40), lr=0.01) is None  # at the floor: goes on
    got = after_epoch(t, history(50, 40), lr=0.009)
    assert (got.reason, got.epoch, got.message) == ("min_lr", 2,
                                                    "lr 0.009 fell below min_lr 0.01")


def test_the_epochs_run_out():
    t = config(epochs=3)
    assert after_epoch(t, history(50, 40), lr=1.0) is None
    got = after_epoch(t, history(50, 40, 30), lr=1.0)
    assert (got.reason, got.epoch, got.message) == ("epochs", 3, "ran all 3 epochs")


def test_patience_is_named_before_min_lr_and_min_lr_before_the_last_epoch():
    ppls = (50, 60, 70)  # patience 2 spent, lr under the floor, and the last epoch: all three
    assert after_epoch(config(epochs=3, patience=2, min_lr=1.0), history(*ppls),
                       lr=0.5).reason == "patience"
    assert after_epoch(config(epochs=3, min_lr=1.0), history(*ppls), lr=0.5).reason == "min_lr"


def test_the_time_budget_counts_every_second_so_far():
    budget = Budget(config(max_time="1.5m"))
    assert not budget.spent(89.9)
    assert budget.spent(90.0) and budget.spent(1e6)
    assert not Budget(config(max_time=None)).spent(1e9)


def test_every_reason_has_its_message():
    t = config(epochs=7, patience=3, min_lr=1e-4, max_time="2h", max_tokens=12345)
    messages = {reason: stop(reason, 4, t, lr=5e-5).message for reason in REASONS}
    assert messages["max_time"] == "the time budget max_time 2h was spent"
    assert messages["max_tokens"] == "the token budget max_tokens 12,345 was spent"
    assert messages["diverged"] == "the loss stopped being finite"
    assert stop("max_tokens", 4, config(), 0.0).epoch == 4
