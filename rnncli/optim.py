"""Stochastic gradient descent with global-norm clipping: W <- W - lr * dL/dW."""

from __future__ import annotations

import numpy as np


def global_norm(grads: dict[str, np.ndarray]) -> float:
    """sqrt of the sum of squares of every gradient entry, all parameters together."""
    return float(np.sqrt(sum(float(np.vdot(g, g)) for g in grads.values())))


def clip_global_norm(grads: dict[str, np.ndarray], max_norm: float) -> float:
    """Scale all gradients down together when their global norm exceeds `max_norm` (the cure
    for exploding gradients); 0 turns clipping off. Returns the norm before clipping."""
    norm = global_norm(grads)
    if max_norm > 0 and norm > max_norm:
        scale = max_norm / (norm + 1e-6)
        for g in grads.values():
            g *= scale
    return norm


def sgd_step(params: dict[str, np.ndarray], grads: dict[str, np.ndarray], lr: float) -> None:
    """W <- W - lr * dW, in place, for every parameter (the gradients are scaled in place)."""
    for name, W in params.items():
        dW = grads[name]
        dW *= lr
        W -= dW
