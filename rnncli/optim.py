"""Stochastic gradient descent with global-norm clipping: W <- W - lr * dL/dW.

A gradient is an array shaped like its parameter, or for the embedding a `RowGrad` that holds
only the rows a window read (every other row's gradient is zero).
"""

from __future__ import annotations

import numpy as np

from rnncli.layers import RowGrad


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


def sgd_step(params: dict[str, np.ndarray], grads: dict, lr: float) -> None:
    """W <- W - lr * dW, in place, for every parameter (the gradients are scaled in place)."""
    for name, W in params.items():
        g = grads[name]
        dW = _values(g)
        dW *= lr
        if isinstance(g, RowGrad):
            W[g.rows] -= dW  # rows are distinct, so this is a plain update of R rows
        else:
            W -= dW
