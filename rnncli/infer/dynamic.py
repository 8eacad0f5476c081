"""Dynamic evaluation (Krause, Kahembwe, Murray and Renals 2018, "Dynamic Evaluation of Neural
Sequence Models"): while a text is scored, the model keeps learning from it.

Each segment is scored first, with the weights as they are; then one gradient step on that
segment's loss moves the weights towards the text being read, so the next segment is scored by
a model that has seen the document so far. Their RMS-normalised rule with a decay back towards
the trained weights theta_0:

    theta <- theta - eta * g / (sqrt(MS) + eps) + lambda * r * (theta_0 - theta)

with g the segment's gradient, MS the mean square of each weight's gradient over training text
(measured once, with the trained weights), and r = sqrt(MS) / mean(sqrt(MS)) (at most
1 / lambda): weights that training moved much are free to move, the others are held near
theta_0. eta = 0 is plain evaluation.

The adapted weights are a copy: the model (and its folder) are never changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnncli.nn.model import RNNLM
from rnncli.text.corpus import batchify, windows

EPS = 2e-5  # added to sqrt(MS): a weight training never moved still takes bounded steps


@dataclass(frozen=True)
class DynamicParams:
    """eta (the step size, in units of each weight's RMS gradient), lambda (the decay towards
    the trained weights per segment), and the segment length in tokens."""

    lr: float
    decay: float
    segment: int = 20

    def to_dict(self) -> dict:
        return {"lr": self.lr, "decay": self.decay, "segment": self.segment}


def copy_model(model: RNNLM) -> RNNLM:
    """The same network with weights of its own."""
    params = {n: a.copy() for n, a in model.params.items()}
    return RNNLM(params, model.cell.name, model.n_layers, model.tie_weights, 0.0, model.softmax)


def _dense(g) -> np.ndarray:
    return g.dense() if hasattr(g, "dense") else g


def mean_squares(model: RNNLM, train_ids: np.ndarray, eos: int, reset_at_eos: bool,
                 segment: int = 20, batch: int = 32,
                 max_windows: int = 50) -> dict[str, np.ndarray]:
    """MS: each weight's mean squared gradient over up to `max_windows` windows of training
    text (the trained weights, no dropout)."""
    data = batchify(train_ids, batch)  # (L, B)
    if data.shape[0] < 2:
        raise ValueError("dynamic evaluation needs some training text to measure MS on")
    state = model.zero_state(data.shape[1])
    ms: dict[str, np.ndarray] = {}
    n = 0
    for win in windows(data, segment, eos):
        keep = (win.prev != eos) if reset_at_eos else None
        _, grads, state = model.loss_and_grads(win.inputs, win.targets, state, keep)
        for name, g in grads.items():
            g2 = np.square(_dense(g), dtype=np.float64)
            ms[name] = ms[name] + g2 if name in ms else g2
        n += 1
        if n == max_windows:
            break
    return {name: (s / n).astype(model.dtype) for name, s in ms.items()}


class DynamicEval:
    """The update rule above, for one copy of the model: call `update(...)` after each segment
    has been scored."""

    def __init__(self, model: RNNLM, ms: dict[str, np.ndarray], params: DynamicParams):
        self.model = copy_model(model)  # the weights that adapt
        self.theta0 = model.params  # the trained weights, read only
        self.p = params
        self.inv_rms = {}  # 1 / (sqrt(MS) + eps) per weight
        self.decay = {}  # lambda * r per weight
        rms = {n: np.sqrt(ms[n]) for n in self.model.params}
        mean_rms = float(np.mean([r.mean() for r in rms.values()]))
        for name, r in rms.items():
            self.inv_rms[name] = 1.0 / (r + EPS)
            scale = r / max(mean_rms, 1e-30)
            if params.decay > 0:
                scale = np.minimum(scale, 1.0 / params.decay)
            self.decay[name] = (params.decay * scale).astype(self.model.dtype)

    def update(self, inputs: np.ndarray, targets: np.ndarray, state0: list, keep) -> None:
        """One step on the segment just scored: inputs, targets (T, B), the state it began in."""
        if self.p.lr == 0 and self.p.decay == 0:
            return  # plain evaluation: the weights stay the trained ones, bit for bit
        _, grads, _ = self.model.loss_and_grads(inputs, targets, state0, keep)
        for name, theta in self.model.params.items():
            g = _dense(grads[name])
            theta -= self.p.lr * g * self.inv_rms[name]  # the RMS-normalised gradient step
            theta += self.decay[name] * (self.theta0[name] - theta)  # back towards theta_0
