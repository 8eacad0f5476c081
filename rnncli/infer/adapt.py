"""Evaluation with the model's cheap extras: the continuous cache (rnncli.infer.cache), dynamic
evaluation (rnncli.infer.dynamic) and, given by the caller, an n-gram model's probabilities.

One pass over a text gives, per target token, ln p_net(target) and p_cache(target) for a few
cache sharpness values theta. The parts are then mixed linearly,

    p(w) = a_net p_net(w) + a_cache p_cache(w) + a_kn p_kn(w),    a >= 0, sum a = 1,

with the weights that give the model's validation text the highest likelihood (found by EM,
which converges to that maximum since the log-likelihood is concave in the weights), and theta
the best of its grid. Settings a user gives are used as they are.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from rnncli.infer.cache import Cache
from rnncli.infer.dynamic import DynamicEval, DynamicParams, mean_squares
from rnncli.infer.evaluate import EXP_MAX, TargetScorer
from rnncli.infer.passes import forward_pass, n_targets
from rnncli.nn.model import RNNLM

THETAS = (0.1, 0.2, 0.4, 0.7, 1.2, 2.0)  # cache sharpness values tried on held-out text
DYNAMIC_GRID = ((1e-4, 0.01), (3e-4, 0.01), (1e-3, 0.01), (3e-3, 0.01), (1e-3, 0.001))
TUNE_TOKENS = 20_000  # the validation tokens dynamic evaluation's settings are tuned on

Say = Callable[[str], None]


@dataclass
class TokenProbs:
    """What one pass gives per target token, in corpus order (N tokens).

    net: (N,) ln p_net(target); cache: (K, N) p_cache(target) for each of `thetas`, NaN where
    the cache held nothing yet; unk: (N,) True where the target is <unk>.
    """

    net: np.ndarray
    cache: np.ndarray | None
    thetas: tuple[float, ...]
    unk: np.ndarray


@dataclass
class Dynamic:
    """Dynamic evaluation's settings and the training-text statistic it scales steps by."""

    params: DynamicParams
    ms: dict[str, np.ndarray] = field(repr=False)


def token_probs(model: RNNLM, ids: np.ndarray, eos: int, unk: int, reset_at_eos: bool, *,
                cache_size: int = 0, thetas: Sequence[float] = (),
                dynamic: Dynamic | None = None, n_streams: int = 32,
                bptt: int = 32) -> TokenProbs:
    """One pass over `ids`: every target's ln p under the network (adapting as it reads with
    `dynamic`), and p_cache(target) for each theta with a cache of `cache_size` states."""
    runner = None
    if dynamic is not None:
        bptt = dynamic.params.segment
        if dynamic.params.lr > 0 or dynamic.params.decay > 0:
            runner = DynamicEval(model, dynamic.ms, dynamic.params)
    m = runner.model if runner is not None else model
    N = n_targets(ids, eos, n_streams)
    net = np.zeros(N)
    cache_p = np.full((len(thetas), N), np.nan) if cache_size else None
    targets_all = np.zeros(N, dtype=np.int64)
    cache, scorer = None, TargetScorer(m)

    def adapt(p) -> None:
        runner.update(p.window.inputs, p.window.targets, p.state0, p.keep)

    for p in forward_pass(m, ids, eos, reset_at_eos, n_streams, bptt,
                          after=adapt if runner is not None else None):
        T, S, H = p.hs.shape
        real = p.real.reshape(-1)
        place = p.place.reshape(-1)[real]
        targets = p.targets.reshape(-1)[real]
        if runner is not None:
            scorer = TargetScorer(m)  # the weights moved since the last window
        logp, _ = scorer(p.hs.reshape(T * S, H)[real], targets)
        net[place] = logp
        targets_all[place] = targets
        if cache_p is not None:
            if cache is None:
                cache = Cache(cache_size, S, H, m.dtype)
            probs = cache.window_probs(p.hs, p.targets, p.real, list(thetas))  # (K, T, S)
            cache_p[:, place] = probs.reshape(len(thetas), -1)[:, real]
    return TokenProbs(net, cache_p, tuple(thetas), targets_all == unk)


def em_weights(P: np.ndarray, iters: int = 200, tol: float = 1e-10) -> np.ndarray:
    """The mixture weights a (C,) that maximise mean ln(a . P[:, i]) over tokens, for the
    components' probabilities P (C, N) of each target (EM: each step can only raise it)."""
    C = P.shape[0]
    a = np.full(C, 1.0 / C)
    last = -np.inf
    for _ in range(iters):
        mixed = a @ P  # (N,)
        ll = float(np.log(mixed).mean())
        if ll - last < tol:
            break
        last = ll
        a = (a[:, None] * P / mixed).mean(axis=1)  # each part's share of every token
    return a


def components(tp: TokenProbs, theta_index: int | None,
               kn_logp: np.ndarray | None) -> np.ndarray:
    """The parts' probabilities of each target (C, N): the network, then the cache (the
    network's own where the cache was empty), then the n-gram model."""
    p_net = np.exp(tp.net)
    parts = [p_net]
    if theta_index is not None:
        pc = tp.cache[theta_index]
        parts.append(np.where(np.isnan(pc), p_net, pc))
    if kn_logp is not None:
        parts.append(np.exp(kn_logp))
    return np.stack(parts)


@dataclass
class Mix:
    """The chosen mix: the cache's theta (None without the cache) and the parts' weights in the
    order network, cache, n-gram (those present)."""

    theta: float | None
    weights: np.ndarray

    def to_dict(self, names: Sequence[str]) -> dict:
        out = {f"weight_{n}": float(w) for n, w in zip(names, self.weights)}
        if self.theta is not None:
            out["theta"] = self.theta
        return out


def choose_mix(held: TokenProbs, kn_logp: np.ndarray | None, lam: float | None = None,
               theta: float | None = None) -> Mix:
    """The mix that fits held-out text best: each theta of the pass tried, its weights by EM.
    A given cache lambda (with the n-gram model, the n-gram part's weight is still found)
    or theta is kept as given."""
    if held.cache is None:
        return Mix(None, em_weights(components(held, None, kn_logp)))
    best = None
    for k, th in enumerate(held.thetas):
        if theta is not None and th != theta:
            continue
        P = components(held, k, kn_logp)
        a = em_weights(P) if lam is None else _with_cache_weight(P, lam)
        ll = float(np.log(a @ P).mean())
        if best is None or ll > best[0]:
            best = (ll, Mix(th, a))
    return best[1]


def _with_cache_weight(P: np.ndarray, lam: float) -> np.ndarray:
    """Weights with the cache's share fixed at lam: the rest split between the network and the
    n-gram model (if any) by EM on their own mix."""
    if P.shape[0] == 2:
        return np.array([1.0 - lam, lam])
    rest = em_weights(P[[0, 2]])
    return np.array([(1.0 - lam) * rest[0], lam, (1.0 - lam) * rest[1]])


def mixed_logp(tp: TokenProbs, mix: Mix, kn_logp: np.ndarray | None) -> np.ndarray:
    """ln p of each target under the mix: (N,)."""
    k = None if mix.theta is None else tp.thetas.index(mix.theta)
    with np.errstate(divide="ignore"):
        return np.log(mix.weights @ components(tp, k, kn_logp))


def perplexity(logp: np.ndarray, unk: np.ndarray | None = None) -> dict:
    """Cross-entropy (nats per token) and perplexity of per-token ln p; with `unk`, also the
    perplexity over the targets that are not <unk>."""
    ce = float(-logp.mean()) if len(logp) else 0.0
    out = {"tokens": len(logp), "cross_entropy": ce, "perplexity": math.exp(min(ce, EXP_MAX))}
    if unk is not None and (~unk).any():
        out["perplexity_without_unk"] = math.exp(min(float(-logp[~unk].mean()), EXP_MAX))
    return out


def tune_dynamic(model: RNNLM, valid_ids: np.ndarray, eos: int, unk: int, reset_at_eos: bool,
                 ms: dict[str, np.ndarray], segment: int, n_streams: int,
                 say: Say = lambda _: None) -> DynamicParams:
    """The (lr, decay) of DYNAMIC_GRID that scores the first TUNE_TOKENS of the validation text
    best (ends of lines kept whole)."""
    ids = valid_ids
    if len(ids) > TUNE_TOKENS:
        ends = np.flatnonzero(ids[:TUNE_TOKENS] == eos)
        ids = ids[: ends[-1] + 1] if len(ends) else ids[:TUNE_TOKENS]
    best = None
    for lr, decay in DYNAMIC_GRID:
        params = DynamicParams(lr, decay, segment)
        tp = token_probs(model, ids, eos, unk, reset_at_eos, dynamic=Dynamic(params, ms),
                         n_streams=n_streams)
        ppl = perplexity(tp.net)["perplexity"]
        say(f"dynamic evaluation: lr {lr:g}, decay {decay:g}: validation perplexity {ppl:.2f}")
        if best is None or ppl < best[0]:
            best = (ppl, params)
    return best[1]


__all__ = ["THETAS", "Dynamic", "Mix", "TokenProbs", "choose_mix", "em_weights", "mean_squares",
           "mixed_logp", "perplexity", "token_probs", "tune_dynamic"]
