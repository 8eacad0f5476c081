"""Stochastic gradient descent with global-norm clipping: W <- W - lr * dW.

A gradient is an array shaped like its parameter, or for the embedding a `RowGrad` that holds
only the rows a window read (every other row's gradient is zero).
"""

from __future__ import annotations

import numpy as np

from rnncli.nn.layers import RowGrad


def _values(g) -> np.ndarray:
    return g.values if isinstance(g, RowGrad) else g


def global_norm(grads: dict) -> float:
    """sqrt of the sum of squares of every gradient entry, all parameters together."""
    return float(np.sqrt(sum(float(np.vdot(v, v)) for v in map(_values, grads.values()))))


def clip_global_norm(grads: dict, max_norm: float) -> float:
    """Scale all gradients down together when their global norm exceeds `max_norm` (the cure
    for exploding gradients); 0 turns clipping off. Returns the norm before clipping."""
    norm = global_norm(grads)
    if max_norm > 0 and norm > max_norm:
        scale = max_norm / (norm + 1e-6)
        for g in grads.values():
            _values(g)[...] *= scale
    return norm


def _plain_update(W: np.ndarray, g, lr: float) -> None:
    """W <- W - lr * dW for one parameter, in place (the gradient is scaled in place)."""
    dW = _values(g)
    dW *= lr
    if isinstance(g, RowGrad):
        W[g.rows] -= dW  # rows are distinct, so this is a plain update of R rows
    else:
        W -= dW


def sgd_step(params: dict[str, np.ndarray], grads: dict, lr: float) -> None:
    """W <- W - lr * dW, in place, for every parameter (the gradients are scaled in place)."""
    for name, W in params.items():
        _plain_update(W, grads[name], lr)



def scratch_like(scratch: dict, params: dict[str, np.ndarray], W: np.ndarray) -> np.ndarray:
    """A scratch array shaped like W: a view of one buffer per dtype in `scratch`, made as big
    as the biggest of `params`, so that a step over all parameters allocates nothing."""
    flat = scratch.get(W.dtype)
    if flat is None or flat.size < W.size:
        biggest = max(p.size for p in params.values() if p.dtype == W.dtype)
        flat = scratch[W.dtype] = np.empty(biggest, dtype=W.dtype)
    return flat[:W.size].reshape(W.shape)

class SGD:
    """SGD with optional momentum, Nesterov's momentum and weight decay, as torch.optim.SGD
    (dampening 0). For each parameter p with gradient g, one step is:

        d_p = g + weight_decay * p                     the L2 penalty's gradient added
        buf = d_p                    (first step)      the momentum buffer, a running sum
        buf = momentum * buf + d_p   (later steps)       of past steps' d_p
        d_p = d_p + momentum * buf   (nesterov)        look ahead along the buffer
        d_p = buf                    (otherwise)
        p   = p - lr * d_p

    With momentum 0 and weight_decay 0 this is `sgd_step`, W <- W - lr * dW, and a `RowGrad`
    moves only the rows it holds. Otherwise every row moves (decay and the buffer reach rows
    the window did not read), so a `RowGrad` is made dense, as PyTorch does for a dense
    embedding. Dense gradients are overwritten in place (as `sgd_step` does); the buffers and
    scratch arrays are allocated once, on the first step.

    Args:
        params: name -> parameter array, updated in place
        lr: the step size; an attribute the training loop may change between steps
        momentum: in [0, 1); 0 keeps no buffers
        nesterov: Nesterov's momentum instead of the classical one (needs momentum > 0)
        weight_decay: >= 0, the L2 penalty's coefficient
    """

    def __init__(self, params: dict[str, np.ndarray], lr: float, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0):
        if not lr >= 0:
            raise ValueError(f"lr must be >= 0, got {lr}")
        if not momentum >= 0:
            raise ValueError(f"momentum must be >= 0, got {momentum}")
        if not weight_decay >= 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        if nesterov and momentum == 0:
            raise ValueError("nesterov needs momentum > 0")
        self.params = params
        self.lr = float(lr)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.weight_decay = float(weight_decay)
        self.buf: dict[str, np.ndarray] = {}  # name -> momentum buffer, shaped like the param
        self._dense: dict[str, np.ndarray] = {}  # name -> a RowGrad made dense, (V, E)
        self._scratch: dict[np.dtype, np.ndarray] = {}  # dtype -> flat, the biggest param's size

    @property
    def plain(self) -> bool:
        """True when a step is the lesson's W <- W - lr * dW."""
        return self.momentum == 0 and self.weight_decay == 0

    def step(self, grads: dict) -> None:
        """Update every parameter in place from its gradient (an array or a RowGrad).

        A parameter without a gradient (absent or None) is skipped, buffer and all, as
        PyTorch skips a parameter whose .grad is None.
        """
        lr = float(self.lr)
        for name, W in self.params.items():
            g = grads.get(name)
            if g is None:
                continue
            if self.plain:
                _plain_update(W, g, lr)
            else:
                self._update(name, W, g, lr)

    def _update(self, name: str, W: np.ndarray, g, lr: float) -> None:
        # 1) d_p = g, dense: a RowGrad is scattered into an array kept for this parameter
        if isinstance(g, RowGrad):
            d_p = self._dense.get(name)
            if d_p is None:
                d_p = self._dense[name] = np.empty(g.shape, dtype=g.values.dtype)
            d_p.fill(0)
            d_p[g.rows] = g.values  # rows are distinct
        else:
            d_p = g
        tmp = self._tmp(W)
        # 2) d_p = g + weight_decay * p
        if self.weight_decay != 0:
            d_p += np.multiply(W, self.weight_decay, out=tmp)
        # 3) the momentum buffer, and the direction it gives
        if self.momentum != 0:
            buf = self.buf.get(name)
            if buf is None:
                buf = self.buf[name] = d_p.copy()  # first step: buf = d_p
            else:
                buf *= self.momentum  # buf = momentum * buf + d_p
                buf += d_p
            if self.nesterov:
                d_p += np.multiply(buf, self.momentum, out=tmp)  # d_p = d_p + momentum * buf
            else:
                d_p = buf
        # 4) p = p - lr * d_p
        W -= np.multiply(d_p, lr, out=tmp)

    def _tmp(self, W: np.ndarray) -> np.ndarray:
        """A scratch array shaped like W, a view of one buffer shared by all parameters."""
        return scratch_like(self._scratch, self.params, W)

    def state_dict(self) -> dict:
        """{"lr": float, "momentum_buffers": {name: array}}: copies, enough to resume."""
        return {"lr": float(self.lr),
                "momentum_buffers": {n: b.copy() for n, b in self.buf.items()}}

    def load_state_dict(self, state: dict) -> None:
        """Resume from `state_dict()`'s output; a parameter with no buffer starts afresh."""
        buffers = {}
        for name, b in state["momentum_buffers"].items():
            W = self.params.get(name)
            if W is None:
                raise ValueError(f"momentum buffer {name!r}: no such parameter")
            if np.shape(b) != W.shape:
                raise ValueError(f"momentum buffer {name!r}: shape {np.shape(b)}, "
                                 f"parameter {W.shape}")
            buffers[name] = np.array(b, dtype=W.dtype)  # a copy: ours to update in place
        self.lr = float(state["lr"])
        self.buf = buffers
