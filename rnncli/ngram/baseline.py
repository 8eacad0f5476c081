"""A model's n-gram baseline: built once from its training text, kept, scored beside it.

`knN` (N = 1..5) names the Kneser-Ney model of order N built from the model's own training
text, kept in the folder MODEL.knN beside the model folder (built on first use); any other
name is taken as an n-gram folder's path. A kept folder is used only if it speaks the model's
vocabulary.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from rnncli.errors import ModelError, UsageError
from rnncli.infer.evaluate import evaluate, perplexity
from rnncli.ngram import folder
from rnncli.ngram.arpa import unwritable
from rnncli.ngram.corpus import model_texts
from rnncli.ngram.kn import MAX_ORDER, KNModel, estimate, score
from rnncli.ngram.mix import choose_lambda, mix_logp
from rnncli.store.model_folder import SavedModel

Say = Callable[[str], None]


def parse_order(name: str) -> int | None:
    """N for `knN`, None for anything else (a folder's path); a UsageError for `kn0`, `kn7`."""
    m = re.fullmatch(r"kn(\d+)", name)
    if m is None:
        return None
    order = int(m.group(1))
    if not 1 <= order <= MAX_ORDER:
        raise UsageError(f"--baseline {name}: the n-gram order must be 1 to {MAX_ORDER}, "
                          f"got {order}")
    return order


def check_order(order: int) -> int:
    if not 1 <= order <= MAX_ORDER:
        raise UsageError(f"the n-gram order must be 1 to {MAX_ORDER}, got {order}")
    return order


def build(saved: SavedModel, order: int, say: Say = lambda _: None) -> KNModel:
    """Estimate the KN model of `order` from the model's training text."""
    check_order(order)
    start = time.perf_counter()
    train_ids, _ = model_texts(saved)
    kn = estimate(train_ids, len(saved.vocab), saved.vocab.eos, order)
    for w in kn.warnings:
        say(f"warning: {w}")
    say(f"kn{order}: {len(train_ids):,} training tokens, "
        f"{', '.join(f'{len(k):,}' for k in kn.keys)} n-grams of orders 1..{order}, "
        f"built in {time.perf_counter() - start:.1f}s")
    return kn


def build_and_save(saved: SavedModel, order: int, out: Path, say: Say) -> Path:
    """Build and write the n-gram folder; where ARPA cannot hold the vocabulary (a character
    model's space), say so now: `eval --baseline` can use the folder, `kn arpa` cannot."""
    folder.check_output(out)  # before the work, not after
    why = unwritable(saved.vocab)
    if why is not None:
        say(f"warning: `rnncli kn arpa` will not write this n-gram model: {why}; "
            "`rnncli eval --baseline` uses it as it is")
    kn = build(saved, order, say)
    source = {"model": str(saved.path) if saved.path else None,
              "train": saved.config.data.train, "tokenizer": saved.config.data.tokenizer}
    return folder.save(kn, saved.vocab, out, source)


def default_folder(saved: SavedModel, order: int) -> Path:
    if saved.path is None:
        raise ModelError("the model has no folder to keep its n-gram model beside")
    return saved.path.with_name(f"{saved.path.name}.kn{order}")


def baseline(saved: SavedModel, name: str, say: Say) -> tuple[KNModel, Path]:
    """The n-gram model `name` names for this model, built and kept if it is `knN` and new."""
    order = parse_order(name)
    path = Path(name) if order is None else default_folder(saved, order)
    if order is not None and not path.exists():
        say(f"building the kn{order} baseline from the model's training text")
        build_and_save(saved, order, path, say)
        say(f"kept in {path}")
    kn, vocab, meta = folder.load(path)
    if vocab.itos != saved.vocab.itos:
        raise ModelError(f"{path}: built for another vocabulary ({len(vocab):,} words) than "
                         f"the model's ({len(saved.vocab):,}); rebuild it with `rnncli kn "
                         f"build`")
    if order is not None and kn.order != order:
        raise ModelError(f"{path}: holds an order-{kn.order} model, not kn{order}")
    return kn, path


def _ppl(logp: np.ndarray) -> dict:
    ce = float(-logp.mean()) if len(logp) else 0.0
    return {"cross_entropy": ce, "perplexity": perplexity(ce)}


def compare(saved: SavedModel, kn: KNModel, ids: np.ndarray, name: str) -> dict:
    """The network, the n-gram model and their mix on `ids`; lambda is chosen on the model's
    validation text (a ModelError if it has none)."""
    vocab, reset = saved.vocab, saved.config.train.reset_at_eos
    _, valid_ids = model_texts(saved)
    if len(valid_ids) == 0:
        raise ModelError("the model was trained with no validation text, so the mix has no "
                         "held-out text to choose lambda on")
    held = evaluate(saved.model, valid_ids, vocab.eos, vocab.unk, reset, per_token=True)
    lam = choose_lambda(held.logp, score(kn, valid_ids))
    net = evaluate(saved.model, ids, vocab.eos, vocab.unk, reset, per_token=True)
    kn_logp = score(kn, ids)
    return {"network": net.to_dict(), "baseline": {"name": name, "order": kn.order,
                                                   **_ppl(kn_logp)},
            "mix": {"lambda": lam, **_ppl(mix_logp(net.logp, kn_logp, lam))}}
