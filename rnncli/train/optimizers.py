"""The optimisers beside plain SGD, as torch.optim writes them: Adam, AdamW, RMSprop, Adagrad.

For each parameter p with gradient g (dense: an embedding's RowGrad is scattered into zeros, as
PyTorch's dense nn.Embedding gives), at step t = 1, 2, ...:

    Adam      g = g + weight_decay * p                       (L2 penalty in the gradient)
              m = beta1 * m + (1 - beta1) * g                (first moment)
              v = beta2 * v + (1 - beta2) * g^2              (second moment)
              p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
    AdamW     p = p * (1 - lr * weight_decay)                (decoupled: not in m or v)
              then Adam's step with weight_decay 0
    RMSprop   g = g + weight_decay * p
              v = alpha * v + (1 - alpha) * g^2
              buf = momentum * buf + g / (sqrt(v) + eps);  p = p - lr * buf   (momentum > 0)
              p = p - lr * g / (sqrt(v) + eps)                                (otherwise)
    Adagrad   g = g + weight_decay * p
              s = s + g^2
              p = p - lr * g / (sqrt(s) + eps)

eps is added after the square root, and Adam's bias corrections divide the step and the root,
exactly where torch.optim puts them (PyTorch 2.x, `foreach=False`). `make_optimizer` builds the
one a config names; SGD (rnncli.train.sgd) stays the default, the lesson's W <- W - lr * dW.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import numpy as np

from rnncli.nn.layers import RowGrad
from rnncli.train.sgd import SGD


def _dense(g) -> np.ndarray:
    return g.dense() if isinstance(g, RowGrad) else g


class BufferedOptimizer:
    """What Adam, AdamW, RMSprop and Adagrad share: per-parameter buffers named in BUFFERS,
    a step count, and an `lr` the training loop may change between steps."""

    BUFFERS: tuple[str, ...] = ()

    def __init__(self, params: dict[str, np.ndarray], lr: float, weight_decay: float = 0.0,
                 eps: float = 1e-8):
        if not lr >= 0:
            raise ValueError(f"lr must be >= 0, got {lr}")
        if not weight_decay >= 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        self.params = params
        self.lr, self.weight_decay, self.eps = float(lr), float(weight_decay), float(eps)
        self.t = 0  # steps taken
        self.buffers: dict[str, dict[str, np.ndarray]] = {b: {} for b in self.BUFFERS}

    def _buffer(self, kind: str, name: str, W: np.ndarray) -> np.ndarray:
        buf = self.buffers[kind].get(name)
        if buf is None:
            buf = self.buffers[kind][name] = np.zeros_like(W)
        return buf

    def step(self, grads: dict) -> None:
        """Update every parameter that has a gradient, in place; absent ones are skipped."""
        self.t += 1
        for name, W in self.params.items():
            g = grads.get(name)
            if g is not None:
                self._update(name, W, _dense(g).astype(W.dtype, copy=True))  # ours to scale

    def _update(self, name: str, W: np.ndarray, g: np.ndarray) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict:
        """{"lr", "step", "buffers": {"KIND/NAME": array}}: copies, enough to resume."""
        return {"lr": float(self.lr), "step": self.t,
                "buffers": {f"{kind}/{n}": b.copy() for kind, bufs in self.buffers.items()
                            for n, b in bufs.items()}}

    def load_state_dict(self, state: dict) -> None:
        buffers: dict[str, dict[str, np.ndarray]] = {b: {} for b in self.BUFFERS}
        for key, b in state["buffers"].items():
            kind, _, name = key.partition("/")
            W = self.params.get(name)
            if kind not in buffers or W is None or np.shape(b) != W.shape:
                raise ValueError(f"optimiser state {key!r} does not fit this model")
            buffers[kind][name] = np.array(b, dtype=W.dtype)
        self.lr, self.t, self.buffers = float(state["lr"]), int(state["step"]), buffers


class Adam(BufferedOptimizer):
    """Adam (Kingma & Ba 2015) as torch.optim.Adam: the L2 penalty in the gradient, bias-
    corrected first and second moments (the module's equations)."""
    BUFFERS = ("exp_avg", "exp_avg_sq")
    decoupled = False  # AdamW: weight decay shrinks p directly

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr, weight_decay, eps)
        self.beta1, self.beta2 = map(float, betas)

    def _update(self, name, W, g):
        lr, b1, b2 = self.lr, self.beta1, self.beta2
        if self.weight_decay != 0:
            if self.decoupled:
                W *= 1 - lr * self.weight_decay  # p = p * (1 - lr * wd)
            else:
                g += self.weight_decay * W  # g = g + wd * p
        m = self._buffer("exp_avg", name, W)
        v = self._buffer("exp_avg_sq", name, W)
        m *= b1  # m = beta1 * m + (1 - beta1) * g
        m += (1 - b1) * g
        v *= b2  # v = beta2 * v + (1 - beta2) * g^2
        v += (1 - b2) * g * g
        step_size = lr / (1 - b1 ** self.t)
        denom = np.sqrt(v) / np.sqrt(1 - b2 ** self.t) + self.eps
        W -= step_size * (m / denom)


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter 2019) as torch.optim.AdamW: weight decay shrinks p directly,
    outside the moments."""
    decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr, betas, eps, weight_decay)


class RMSprop(BufferedOptimizer):
    """RMSprop as torch.optim.RMSprop: steps scaled by a running root-mean-square of the
    gradients, with optional momentum."""
    BUFFERS = ("square_avg", "momentum")

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0,
                 momentum=0.0):
        super().__init__(params, lr, weight_decay, eps)
        self.alpha, self.momentum = float(alpha), float(momentum)

    def _update(self, name, W, g):
        if self.weight_decay != 0:
            g += self.weight_decay * W
        v = self._buffer("square_avg", name, W)
        v *= self.alpha  # v = alpha * v + (1 - alpha) * g^2
        v += (1 - self.alpha) * g * g
        avg = np.sqrt(v) + self.eps
        if self.momentum > 0:
            buf = self._buffer("momentum", name, W)
            buf *= self.momentum  # buf = momentum * buf + g / avg
            buf += g / avg
            W -= self.lr * buf
        else:
            W -= self.lr * (g / avg)


class Adagrad(BufferedOptimizer):
    """Adagrad as torch.optim.Adagrad: steps scaled by the root of the summed squared
    gradients."""
    BUFFERS = ("sum",)

    def __init__(self, params, lr=1e-2, eps=1e-10, weight_decay=0.0):
        super().__init__(params, lr, weight_decay, eps)

    def _update(self, name, W, g):
        if self.weight_decay != 0:
            g += self.weight_decay * W
        s = self._buffer("sum", name, W)
        s += g * g  # s = s + g^2
        W -= self.lr * (g / (np.sqrt(s) + self.eps))


@dataclass(frozen=True)
class Registered:
    """One optimiser as `train.optimizer` names it: its class, the train config's fields it
    takes beside lr (by keyword), and what a null train.lr / eps / weight_decay means for it.

    The defaults are the class's own keyword defaults (torch.optim's), so they live in one
    place; `lr` overrides the class's where rnncli has its own (sgd). An optimiser without eps
    still gets one in the config, never read (EPS_UNUSED)."""

    cls: type
    options: tuple[str, ...]  # TrainConfig fields passed as keywords of the same name
    lr: float | None = None  # a null train.lr; None: the class's default

    def defaults(self) -> dict[str, float]:
        """{"lr", "eps", "weight_decay"}: what the config's nulls become."""
        keywords = inspect.signature(self.cls).parameters
        own = {name: p.default for name, p in keywords.items()
               if p.default is not inspect.Parameter.empty}
        return {"lr": self.lr if self.lr is not None else own["lr"],
                "eps": own.get("eps", EPS_UNUSED), "weight_decay": own["weight_decay"]}

    def build(self, params: dict[str, np.ndarray], t):
        """The optimiser over `params` with train config `t`'s settings (nulls resolved)."""
        return self.cls(params, lr=t.lr, **{name: getattr(t, name) for name in self.options})


EPS_UNUSED = 1e-8  # the train.eps an optimiser without eps is given (it never reads it)

# A new optimiser is its class (a BufferedOptimizer) and one line here.
OPTIMIZERS: dict[str, Registered] = {
    "sgd": Registered(SGD, ("momentum", "nesterov", "weight_decay"), lr=2.0),  # tuned: demo
    "adam": Registered(Adam, ("betas", "eps", "weight_decay")),
    "adamw": Registered(AdamW, ("betas", "eps", "weight_decay")),
    "rmsprop": Registered(RMSprop, ("alpha", "eps", "weight_decay", "momentum")),
    "adagrad": Registered(Adagrad, ("eps", "weight_decay")),
}


def make_optimizer(params: dict[str, np.ndarray], t):
    """The optimiser train config `t` names (its lr, weight_decay and eps already resolved)."""
    if t.optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {t.optimizer!r}")
    return OPTIMIZERS[t.optimizer].build(params, t)


def get_state(opt) -> tuple[float, int, dict[str, np.ndarray]]:
    """(lr, steps, {"KIND/NAME": array}) for any optimiser, as a checkpoint keeps it."""
    if isinstance(opt, SGD):
        s = opt.state_dict()
        return s["lr"], 0, {f"momentum/{n}": b for n, b in s["momentum_buffers"].items()}
    s = opt.state_dict()
    return s["lr"], s["step"], s["buffers"]


def set_state(opt, lr: float, steps: int, buffers: dict[str, np.ndarray]) -> None:
    """Put `get_state`'s output back; ValueError when a buffer does not fit."""
    if isinstance(opt, SGD):
        momentum = {}
        for key, b in buffers.items():
            kind, _, name = key.partition("/")
            if kind != "momentum":
                raise ValueError(f"optimiser state {key!r} is not SGD's")
            momentum[name] = b
        opt.load_state_dict({"lr": lr, "momentum_buffers": momentum})
    else:
        opt.load_state_dict({"lr": lr, "step": steps, "buffers": buffers})
