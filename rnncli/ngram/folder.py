"""The n-gram folder: a Kneser-Ney model kept beside the network it is a baseline for.

    DIR/kn.safetensors   per order n: keys_n (int64), logp_n (float32, nats), backoff_n
                         (float32, nats; orders below the highest)
    DIR/kn.json          format and version, order, discounts, the vocabulary, what it was
                         built from, and the tensors file's SHA-256 and size

Written atomically (rnncli.store.atomic), never over a folder that is something else; a tensors file
that fails its checksum, or arrays that do not fit together, are refused on loading.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from rnncli.errors import ModelError
from rnncli.ngram.kn import MAX_ORDER, KNModel
from rnncli.text.vocab import Vocab

FORMAT = "rnncli-ngram"
VERSION = 1
TENSORS = "kn.safetensors"
META = "kn.json"


def check_output(path: str | Path) -> None:
    """Refuse an output that exists and is something other than an n-gram folder."""
    path = Path(path)
    if path.exists() and not (path / META).exists() and (
            not path.is_dir() or any(path.iterdir())):
        raise ModelError(f"{path}: exists and is not an n-gram folder; choose another output")


def save(kn: KNModel, vocab: Vocab, path: str | Path, source: dict[str, Any]) -> Path:
    """Write a KN model and the vocabulary it speaks as the folder `path`, atomically."""
    from safetensors.numpy import save as save_bytes

    from rnncli.store import atomic

    check_output(path)
    tensors = {}
    for n in range(1, kn.order + 1):
        tensors[f"keys_{n}"] = kn.keys[n - 1]
        tensors[f"logp_{n}"] = kn.logp[n - 1]
        if n < kn.order:
            tensors[f"backoff_{n}"] = kn.backoff[n - 1]
    data = save_bytes(tensors, metadata={"format": FORMAT, "version": str(VERSION)})
    meta = {"format": FORMAT, "version": VERSION, "order": kn.order,
            "discounts": [list(d) for d in kn.discounts], "ngrams": [len(k) for k in kn.keys],
            "source": source, "vocab": vocab.itos,
            "tensors": {"file": TENSORS, "sha256": hashlib.sha256(data).hexdigest(),
                        "bytes": len(data)}}
    text = (json.dumps(meta, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    try:
        return atomic.write_folder(path, {TENSORS: data, META: text})
    except OSError as e:
        raise ModelError(f"{path}: cannot write the n-gram folder: {e.strerror or e}") from None


def load(path: str | Path) -> tuple[KNModel, Vocab, dict[str, Any]]:
    """Read an n-gram folder: the model, its vocabulary, and kn.json's other contents."""
    from safetensors import SafetensorError
    from safetensors.numpy import load as load_bytes

    path = Path(path)
    if not (path / META).is_file():
        what = "no such folder" if not path.exists() else f"not an n-gram folder (no {META})"
        raise ModelError(f"{path}: {what}")
    try:
        meta = json.loads(_read(path / META).decode("utf-8"))
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ValueError(f"not an rnncli n-gram folder ({META} is something else)")
        if meta.get("version") != VERSION:
            raise ValueError(f"n-gram format version {meta.get('version')!r} is not supported")
        order, vocab = meta["order"], Vocab(meta["vocab"])
        sha, size = meta["tensors"]["sha256"], meta["tensors"]["bytes"]
        if not isinstance(order, int) or not 1 <= order <= MAX_ORDER:
            raise ValueError(f"order must be 1 to {MAX_ORDER}, got {order!r}")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError,
            ValueError) as e:
        raise ModelError(f"{path / META}: damaged: {e}") from None
    try:
        data = _read(path / TENSORS)
    except OSError as e:
        raise ModelError(f"{path / TENSORS}: unreadable: {e.strerror or e}") from None
    if len(data) != size or hashlib.sha256(data).hexdigest() != sha:
        why = f"truncated to {len(data)} bytes" if len(data) < size else "checksum mismatch"
        raise ModelError(f"{path / TENSORS}: corrupted: {why} ({META} records {size} bytes, "
                         f"sha256 {str(sha)[:12]}...)")
    try:
        t = load_bytes(data)
        keys = [t[f"keys_{n}"] for n in range(1, order + 1)]
        logp = [t[f"logp_{n}"] for n in range(1, order + 1)]
        backoff = [t[f"backoff_{n}"] for n in range(1, order)]
    except (SafetensorError, KeyError, ValueError) as e:
        raise ModelError(f"{path / TENSORS}: damaged: {e}") from None
    V = len(vocab)
    fits = (len(keys[0]) == V + 1 and all(len(k) == len(p) for k, p in zip(keys, logp))
            and all(len(b) == len(k) for b, k in zip(backoff, keys))
            and all(k.dtype == np.int64 and (np.diff(k) > 0).all() for k in keys))
    if not fits:
        raise ModelError(f"{path / TENSORS}: damaged: its arrays do not fit together or "
                         f"the vocabulary of {V} words")
    kn = KNModel(V, vocab.eos, keys, logp, backoff,
                 [tuple(d) for d in meta.get("discounts", [])])
    return kn, vocab, meta


def _read(file: Path) -> bytes:
    """The bytes of a regular file (a pipe or device is refused, not read)."""
    from rnncli.text.files import open_regular

    with open_regular(file) as f:
        return f.read()
