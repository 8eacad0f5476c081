"""Interpolated modified Kneser-Ney (Chen & Goodman 1998), estimated and scored in NumPy.

With a(cw) the adjusted count of the n-gram cw (rnncli.ngram.counts) and D(a) its discount,

    p(w | c) = (a(cw) - D(a(cw))) / S(c) + gamma(c) * p(w | c')      S(c) = sum_w a(cw)
    gamma(c) = (D_1 N_1(c) + D_2 N_2(c) + D_3 N_3+(c)) / S(c)

where c' is c without its first word and N_k(c) counts the words after c with a(cw) = k (3 or
more for N_3+). Unigrams interpolate with the uniform distribution over the V words (`<s>`
excluded). The three discounts of each order come from its count-of-counts n_1..n_4:

    Y = n_1 / (n_1 + 2 n_2),     D_k = k - (k + 1) Y n_{k+1} / n_k      (k = 1, 2, 3)

(Chen & Goodman, equation 26). Where an n_k is 0 or a D_k falls outside [0, k], the order takes
lmplz's fallback discounts (0.5, 1, 1.5), and says so.

The model keeps what KenLM's ARPA files keep: for each n-gram its interpolated log p(w | c) and,
for one that is a context, its backoff log gamma(c); a query backs off from the longest n-gram
found, adding the backoffs of the longer contexts it passed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rnncli.ngram.counts import count_ngrams, pad_lines

MAX_ORDER = 5
FALLBACK = (0.5, 1.0, 1.5)  # lmplz's --discount_fallback default


@dataclass
class KNModel:
    """An n-gram model over the vocabulary ids 0..V-1; id V is `<s>`."""
    V: int
    eos: int
    keys: list[np.ndarray]  # per order n: (M_n,) int64 sorted keys ctx * (V + 1) + w
    logp: list[np.ndarray]  # per order n: (M_n,) float32 ln p(w | c)
    backoff: list[np.ndarray]  # per order n < N: (M_n,) float32 ln gamma, 0 where no context
    discounts: list[tuple[float, float, float]]  # per order: D_1, D_2, D_3+
    warnings: list[str] = field(default_factory=list)

    @property
    def order(self) -> int:
        return len(self.keys)


def discounts(counts: np.ndarray, n: int, warnings: list[str]) -> tuple[float, float, float]:
    """D_1, D_2, D_3+ of order `n` from its adjusted counts (Chen & Goodman, equation 26)."""
    t = np.bincount(np.minimum(counts, 5), minlength=6)[1:5].astype(np.float64)  # n_1..n_4
    if (t > 0).all():
        Y = t[0] / (t[0] + 2 * t[1])
        D = [k - (k + 1) * Y * t[k] / t[k - 1] for k in (1, 2, 3)]
        if all(0 <= d <= k for d, k in zip(D, (1, 2, 3))):
            return D[0], D[1], D[2]
    warnings.append(f"order {n}: count-of-counts n_1..n_4 = {t.astype(int).tolist()} give no "
                    f"valid discounts; using the fallback {FALLBACK}")
    return FALLBACK


def estimate(ids: np.ndarray, V: int, eos: int, order: int) -> KNModel:
    """Build an interpolated modified Kneser-Ney model of `order` from a stream of ids.

    1) adjusted counts of every order, 2) per order: discounts, the context sums S(c) and
    gammas, the discounted estimates, 3) interpolate from the unigrams up.
    """
    if not 1 <= order <= MAX_ORDER:
        raise ValueError(f"order must be 1 to {MAX_ORDER}, got {order}")
    orders = count_ngrams(ids, V, eos, order)
    warnings: list[str] = []
    Ds, logp, backoff = [], [], []
    p_lower = None
    for n, o in enumerate(orders, 1):
        D = np.array([0.0, *discounts(o.count[o.count > 0], n, warnings)])  # D(0) = 0
        Ds.append(tuple(float(d) for d in D[1:]))
        d = D[np.minimum(o.count, 3)]  # (M,) D(a)
        if n == 1:
            S = float(o.count.sum())
            gamma = float(d.sum()) / S
            p = (o.count - d) / S + gamma / V  # (V + 1,) the uniform over V words
            p[V] = 0.0  # <s>
        else:
            n_ctx = len(orders[n - 2].keys)
            S_c = np.bincount(o.ctx, weights=o.count, minlength=n_ctx)  # (M_{n-1},)
            gamma_c = np.divide(np.bincount(o.ctx, weights=d, minlength=n_ctx), S_c,
                                out=np.zeros(n_ctx), where=S_c > 0)
            p = (o.count - d) / S_c[o.ctx] + gamma_c[o.ctx] * p_lower[o.suffix]  # (M,)
            backoff.append(np.log(np.where(S_c > 0, gamma_c, 1.0)).astype(np.float32))
        with np.errstate(divide="ignore"):
            logp.append(np.log(p).astype(np.float32))
        p_lower = p
    return KNModel(V, eos, [o.keys for o in orders], logp, backoff, Ds, warnings)


def _lookup(keys: np.ndarray, key: np.ndarray) -> np.ndarray:
    """np.searchsorted(keys, key), with the queries sorted first: a search that starts from the
    last one's answer stays in cache (ten times faster over millions of keys)."""
    order = np.argsort(key)  # (K,)
    j = np.empty(len(key), dtype=np.int64)
    j[order] = np.searchsorted(keys, key[order])
    return j


def score(model: KNModel, ids: np.ndarray) -> np.ndarray:
    """ln p of every token of a stream of ids, each line read from `<s>`: (N,) -> (N,) float64.

    For each order n, the n-gram ending at each place is found by its key (the id of the
    (n-1)-gram ending one place before, and the word); the longest one found gives p, times
    the backoffs of the longer contexts that exist (ARPA's backoff rule).
    """
    V, B = model.V, model.V + 1
    s = pad_lines(ids, model.eos, V)  # (L,)
    L = len(s)
    here = s  # (L,) id of the n-gram of order n ending at each place, -1 if none
    logp = model.logp[0][s].astype(np.float64)  # (L,) the longest match so far
    passed = np.zeros(L)  # (L,) summed backoffs of contexts longer than that match
    for n in range(2, model.order + 1):
        live = np.flatnonzero(here[:-1] >= 0) + 1  # places whose n-1 words before exist
        ctx = here[live - 1]  # (K,)
        passed[live] += model.backoff[n - 2][ctx]
        keys = model.keys[n - 1]
        key = ctx * B + s[live]  # (K,)
        j = _lookup(keys, key)  # (K,)
        hit = j < len(keys)
        hit[hit] = keys[j[hit]] == key[hit]
        at, j = live[hit], j[hit]
        logp[at] = model.logp[n - 1][j]
        passed[at] = 0.0
        here = np.full(L, -1, dtype=np.int64)
        here[at] = j
    return (logp + passed)[s != V]
