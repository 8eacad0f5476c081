"""When training stops, and why: the epochs run out, validation stops improving (patience), the
learning rate decays below a floor (min_lr), the time budget is spent (max_time), or the
token budget (max_tokens).

The decision reads only the run's history (one record per epoch) and the time spent, both of
which a checkpoint keeps, so a resumed run stops where an uninterrupted one would have.
"""

from __future__ import annotations

from dataclasses import dataclass

from rnncli.config.schema import TrainConfig, duration
from rnncli.store import metrics

REASONS = {
    "epochs": "ran all {epochs} epochs",
    "patience": "no better validation perplexity for {patience} epochs (patience)",
    "min_lr": "lr {lr:.3g} fell below min_lr {min_lr:.3g}",
    "max_time": "the time budget max_time {max_time} was spent",
    "max_tokens": "the token budget max_tokens {max_tokens:,} was spent",
    "diverged": "the loss stopped being finite",
}


@dataclass
class Stop:
    """Why training stopped and after which epoch, in words for a person (`message`)."""
    reason: str  # one of REASONS
    epoch: int  # the last epoch trained (partly, for max_time)
    message: str

    def to_dict(self) -> dict:
        return {"reason": self.reason, "epoch": self.epoch, "message": self.message}


def stop(reason: str, epoch: int, t: TrainConfig, lr: float = 0.0) -> Stop:
    message = REASONS[reason].format(epochs=t.epochs, patience=t.patience, lr=lr,
                                     min_lr=t.min_lr, max_time=t.max_time,
                                     max_tokens=t.max_tokens or 0)
    return Stop(reason, epoch, message)


def after_epoch(t: TrainConfig, history: list[dict], lr: float) -> Stop | None:
    """Whether to stop after the epoch history[-1] (lr: the rate the next epoch would use)."""
    epoch = history[-1]["epoch"]
    if t.patience is not None:
        best = min(range(len(history)), key=lambda i: metrics.perplexity(history[i]))
        if len(history) - 1 - best >= t.patience:  # epochs since the best one
            return stop("patience", epoch, t, lr)
    if lr < t.min_lr:
        return stop("min_lr", epoch, t, lr)
    if epoch >= t.epochs:
        return stop("epochs", epoch, t, lr)
    return None


class Budget:
    """train.max_time: whether the run's seconds so far (earlier epochs included) exceed it."""

    def __init__(self, t: TrainConfig):
        self.limit = None if t.max_time is None else duration(t.max_time)

    def spent(self, seconds: float) -> bool:
        return self.limit is not None and seconds >= self.limit
