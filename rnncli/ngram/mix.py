"""The network and the n-gram model together: p = lambda p_rnn + (1 - lambda) p_kn.

lambda is the one that gives held-out text the highest likelihood (Jelinek & Mercer 1980; the
way Mikolov et al. 2011 mix an RNN with KN5). The mean log-likelihood is concave in lambda, so a
golden-section search on [0, 1] finds its maximum, ends included (one model may be better on
every token).
"""

from __future__ import annotations

import math

import numpy as np


def mix_logp(logp_rnn: np.ndarray, logp_kn: np.ndarray, lam: float) -> np.ndarray:
    """ln(lambda p_rnn + (1 - lambda) p_kn) per token, from the two ln p: (N,), (N,) -> (N,)."""
    with np.errstate(divide="ignore"):
        return np.logaddexp(np.log(lam) + logp_rnn, np.log1p(-lam) + logp_kn)


def choose_lambda(logp_rnn: np.ndarray, logp_kn: np.ndarray, steps: int = 60) -> float:
    """The lambda in [0, 1] that maximises the mean of mix_logp over held-out tokens."""
    if len(logp_rnn) == 0:
        raise ValueError("choosing lambda needs held-out tokens")

    def loglik(lam: float) -> float:
        return float(mix_logp(logp_rnn, logp_kn, lam).mean())

    g = (math.sqrt(5) - 1) / 2  # the golden section: each step keeps 0.618 of the interval
    lo, hi = 0.0, 1.0
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = loglik(a), loglik(b)
    for _ in range(steps):
        if fa < fb:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = loglik(b)
        else:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = loglik(a)
    return max((0.0, 1.0, (lo + hi) / 2), key=loglik)
