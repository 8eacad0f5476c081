"""The n-gram folder: a Kneser-Ney model kept beside the network it is a baseline for.

    DIR/kn.safetensors   per order n: keys_n (int64), logp_n (float32, nats), backoff_n
                         (float32, nats; orders below the highest)
    DIR/kn.json          format and version, order, discounts, the vocabulary, what it was
                         built from, and the tensors file's SHA-256 and size ("tensors":
                         {"file", "sha256", "bytes"})

Written and read as every rnncli folder is (rnncli.store.folder): atomically, never over a
folder that is something else, and checked against the recorded checksum; arrays that do not
fit together are refused on loading.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rnncli.errors import ModelError
from rnncli.ngram.kn import MAX_ORDER, KNModel
from rnncli.store import folder
from rnncli.text.vocab import Vocab

TENSORS = "kn.safetensors"
META = "kn.json"
FORMAT = folder.Format("rnncli-ngram", 1, META, TENSORS, noun="n-gram folder",
                       contents="n-gram")


def check_output(path: str | Path) -> None:
    """Refuse an output that exists and is something other than an n-gram folder, or that
    could not be written."""
    folder.check_output(path, FORMAT)


def save(kn: KNModel, vocab: Vocab, path: str | Path, source: dict[str, Any]) -> Path:
    """Write a KN model and the vocabulary it speaks as the folder `path`, atomically."""
    tensors = {}
    for n in range(1, kn.order + 1):
        tensors[f"keys_{n}"] = kn.keys[n - 1]
        tensors[f"logp_{n}"] = kn.logp[n - 1]
        if n < kn.order:
            tensors[f"backoff_{n}"] = kn.backoff[n - 1]
    meta = {"order": kn.order, "discounts": [list(d) for d in kn.discounts],
            "ngrams": [len(k) for k in kn.keys], "source": source, "vocab": vocab.itos}
    return folder.save(path, FORMAT, meta, tensors)


def load(path: str | Path) -> tuple[KNModel, Vocab, dict[str, Any]]:
    """Read an n-gram folder: the model, its vocabulary, and kn.json's other contents."""
    read = folder.load(path, FORMAT)
    meta, t = read.meta, read.tensors
    try:
        order, vocab = meta["order"], Vocab(meta["vocab"])
        if not isinstance(order, int) or not 1 <= order <= MAX_ORDER:
            raise ValueError(f"order must be 1 to {MAX_ORDER}, got {order!r}")
    except (KeyError, TypeError, ValueError) as e:
        raise ModelError(f"{Path(path) / META}: damaged: {e}") from None
    try:
        keys = [t[f"keys_{n}"] for n in range(1, order + 1)]
        logp = [t[f"logp_{n}"] for n in range(1, order + 1)]
        backoff = [t[f"backoff_{n}"] for n in range(1, order)]
    except KeyError as e:
        raise ModelError(f"{Path(path) / TENSORS}: damaged: {e}") from None
    V = len(vocab)
    fits = (len(keys[0]) == V + 1 and all(len(k) == len(p) for k, p in zip(keys, logp))
            and all(len(b) == len(k) for b, k in zip(backoff, keys))
            and all(k.dtype == np.int64 and (np.diff(k) > 0).all() for k in keys))
    if not fits:
        raise ModelError(f"{Path(path) / TENSORS}: damaged: its arrays do not fit together or "
                         f"the vocabulary of {V} words")
    kn = KNModel(V, vocab.eos, keys, logp, backoff,
                 [tuple(d) for d in meta.get("discounts", [])])
    return kn, vocab, meta
