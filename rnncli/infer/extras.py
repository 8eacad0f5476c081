"""What `rnncli eval --cache N --dynamic --baseline kn5` does: the network alone, then with each
extra the user asked for, then with all of them, on the same tokens.

Settings not given are chosen on the model's own validation text (rnncli.ngram.corpus): the
cache's theta and the parts' weights by rnncli.infer.adapt.choose_mix, dynamic evaluation's
step and decay by a small grid on the first part of it. The model's weights are never changed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rnncli.errors import ModelError
from rnncli.infer import adapt
from rnncli.infer.dynamic import DynamicParams, mean_squares
from rnncli.store.model_folder import SavedModel

Say = Callable[[str], None]
STREAMS = 32  # the parallel streams a text is cut into, as plain eval cuts it


@dataclass
class Extras:
    """What the user asked for; None where a setting is to be chosen on validation text."""

    cache: int = 0  # N states kept (0: no cache)
    lam: float | None = None  # the cache's weight in the mix
    theta: float | None = None  # the cache's sharpness
    dynamic: bool = False
    lr: float | None = None  # dynamic evaluation's step
    decay: float | None = None  # and its decay towards the trained weights
    segment: int = 20  # dynamic evaluation's segment, tokens
    streams: int = STREAMS  # the text in this many parallel streams (each step learns from all)


def _needs_valid(x: Extras, kn) -> bool:
    return (x.cache > 0 and (x.lam is None or x.theta is None)) or kn is not None or \
        (x.dynamic and (x.lr is None or x.decay is None))


def evaluate_extras(saved: SavedModel, ids: np.ndarray, x: Extras, kn=None, kn_name: str = "kn",
                    say: Say = lambda _: None) -> dict:
    """The rows of the comparison on `ids`: {"tokens", "rows": [{"name", "cross_entropy",
    "perplexity", ...settings}], "cache": {...}, "dynamic": {...}} (the settings used)."""
    from rnncli.ngram.corpus import model_texts
    from rnncli.ngram.kn import score as kn_score

    model, vocab, reset = saved.model, saved.vocab, saved.config.train.reset_at_eos
    eos, unk = vocab.eos, vocab.unk
    train_ids = valid_ids = None
    if _needs_valid(x, kn) or x.dynamic:
        train_ids, valid_ids = model_texts(saved)
    if _needs_valid(x, kn) and len(valid_ids) == 0:
        raise ModelError("the model was trained with no validation text to choose the mix on; "
                         "give --cache-lambda, --cache-theta, --dynamic-lr and --dynamic-decay, "
                         "and leave out --baseline")
    out: dict = {"tokens": 0, "rows": []}
    thetas = adapt.THETAS if x.theta is None else (x.theta,)
    dyn = None
    if x.dynamic:
        ms = mean_squares(model, train_ids, eos, reset, x.segment)
        if x.lr is None or x.decay is None:
            params = adapt.tune_dynamic(model, valid_ids, eos, unk, reset, ms, x.segment,
                                        x.streams, say)
            params = DynamicParams(params.lr if x.lr is None else x.lr,
                                   params.decay if x.decay is None else x.decay, x.segment)
        else:
            params = DynamicParams(x.lr, x.decay, x.segment)
        dyn = adapt.Dynamic(params, ms)
        out["dynamic"] = params.to_dict()
        say(f"dynamic evaluation: lr {params.lr:g}, decay {params.decay:g}, segments of "
            f"{params.segment} tokens")

    def one_pass(text, dynamic, what):
        start = time.perf_counter()
        tp = adapt.token_probs(model, text, eos, unk, reset, cache_size=x.cache, thetas=thetas,
                               dynamic=dynamic,
                               n_streams=x.streams)
        seconds = time.perf_counter() - start
        say(f"{what}: {len(tp.net):,} tokens in {seconds:.1f}s "
            f"({len(tp.net) / max(seconds, 1e-9):,.0f} tokens/s)")
        return tp

    passes = {"plain": (one_pass(ids, None, "network" + (" + cache" if x.cache else "")),
                        one_pass(valid_ids, None, "validation") if _needs_valid(x, kn) else None)}
    if dyn is not None:
        passes["dynamic"] = (one_pass(ids, dyn, "dynamic evaluation"),
                             one_pass(valid_ids, dyn, "dynamic evaluation, validation")
                             if _needs_valid(x, kn) else None)
    kn_test = kn_score(kn, ids) if kn is not None else None
    kn_held = kn_score(kn, valid_ids) if kn is not None else None
    test_plain = passes["plain"][0]
    out["tokens"] = len(test_plain.net)

    def row(name: str, which: str, cache: bool, with_kn: bool) -> dict:
        test, held = passes[which]
        tp = test if cache else adapt.TokenProbs(test.net, None, (), test.unk)
        k_test = kn_test if with_kn else None
        if not cache and not with_kn:
            return {"name": name, **adapt.perplexity(test.net, test.unk)}
        if held is not None:
            held_tp = held if cache else adapt.TokenProbs(held.net, None, (), held.unk)
            mix = adapt.choose_mix(held_tp, kn_held if with_kn else None,
                                   lam=x.lam if cache else None,
                                   theta=x.theta if cache else None)
        else:  # every setting given
            mix = adapt.Mix(x.theta, np.array([1.0 - x.lam, x.lam]))
        names = ["network"] + (["cache"] if cache else []) + ([kn_name] if with_kn else [])
        logp = adapt.mixed_logp(tp, mix, k_test)
        return {"name": name, **adapt.perplexity(logp, test.unk), **mix.to_dict(names)}

    rows = [row("network", "plain", False, False)]
    if x.cache:
        rows.append(row("+ cache", "plain", True, False))
    if dyn is not None:
        rows.append(row("+ dynamic", "dynamic", False, False))
    if kn is not None:
        rows.append(row(f"+ {kn_name}", "plain", False, True))
    if sum([x.cache > 0, dyn is not None, kn is not None]) > 1:
        rows.append(row("all", "dynamic" if dyn is not None else "plain", x.cache > 0,
                        kn is not None))
    out["rows"] = rows
    if x.cache:
        best = next(r for r in reversed(rows) if "theta" in r)
        out["cache"] = {"size": x.cache, "theta": best["theta"],
                        "lambda": best["weight_cache"]}
    return out
