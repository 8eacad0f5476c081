"""The network and the n-gram model together: p = lambda p_rnn + (1 - lambda) p_kn.

lambda is the one that gives held-out text the highest likelihood, found by EM on the mixture
weight (Jelinek & Mercer 1980; the way Mikolov et al. 2011 mix an RNN with KN5): each step sets
lambda to the average share of p_rnn in the mixed probability of a held-out token. The
log-likelihood is concave in lambda, so EM climbs to its maximum.
"""

from __future__ import annotations

import numpy as np


def mix_logp(logp_rnn: np.ndarray, logp_kn: np.ndarray, lam: float) -> np.ndarray:
    """ln(lambda p_rnn + (1 - lambda) p_kn) per token, from the two ln p: (N,), (N,) -> (N,)."""
    with np.errstate(divide="ignore"):
        return np.logaddexp(np.log(lam) + logp_rnn, np.log1p(-lam) + logp_kn)


def choose_lambda(logp_rnn: np.ndarray, logp_kn: np.ndarray, steps: int = 200,
                  tol: float = 1e-7) -> float:
    """The lambda in [0, 1] that maximises the mean of mix_logp over held-out tokens (EM)."""
    if len(logp_rnn) == 0:
        raise ValueError("choosing lambda needs held-out tokens")
    lam = 0.5
    for _ in range(steps):
        share = np.exp(np.log(lam) + logp_rnn - mix_logp(logp_rnn, logp_kn, lam))  # (N,)
        new = float(share.mean())
        if abs(new - lam) < tol:
            return new
        lam = new
    return lam
