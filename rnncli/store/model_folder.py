"""The model folder: everything `complete` and `eval` need, and nothing that runs code.

    DIR/model.safetensors   the weights, float32, named as in rnncli.nn.model (W_emb, W_hh, ...)
    DIR/model.json          format and version, config, vocabulary, training history, the run
                            ("run": why it stopped, tokens seen, the model it was fine-tuned
                            from), and the weights file's SHA-256 and size ("weights": {"file",
                            "sha256", "bytes"})
    DIR/metrics.jsonl       the run log (rnncli.store.metrics): a line every train.log_every steps
                            and one per epoch

The weights file's header metadata records the SHA-256 of model.json's other contents, so a
weights file that fails its checksum can be told apart: truncated (shorter than recorded),
swapped (saved with another model.json) or corrupted (anything else). model.json files from
before the checksum was recorded still load, unchecked.

A folder is written under a temporary name beside its destination and renamed into place
(rnncli.store.atomic), so it is either complete or absent; a failed write leaves an existing
model at the destination as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rnncli.config.schema import Config, config_from_dict
from rnncli.errors import ConfigError, ModelError
from rnncli.nn.model import RNNLM, output_clusters, param_shapes
from rnncli.store import atomic, metrics
from rnncli.text import files
from rnncli.text.files import open_regular
from rnncli.text.vocab import Vocab

FORMAT = "rnncli-model"
VERSION = 1
WEIGHTS = "model.safetensors"
META = "model.json"
MAX_HEADER = 100_000_000  # safetensors' own limit on a header's length, in bytes
METRICS = metrics.FILE  # the run log, when training wrote one


@dataclass
class SavedModel:
    model: RNNLM
    vocab: Vocab
    config: Config
    history: list[dict[str, Any]] = field(default_factory=list)
    path: Path | None = None
    metrics: list[dict[str, Any]] = field(default_factory=list)  # metrics.jsonl's lines
    run: dict[str, Any] | None = None  # why training stopped, tokens seen, fine-tuned from


def check_output(path: str | Path) -> None:
    """Refuse, before any training, an output folder that could not be written: one that
    exists and is something else, or one whose parent cannot be written (as `store.save` would
    find out only at the end)."""
    path = Path(path)
    try:
        if path.exists() and not (path / META).exists() and (
                not path.is_dir() or any(path.iterdir())):
            raise ModelError(f"{path}: exists and is not an rnncli model folder; "
                             "choose another output")
        parent = path.parent  # the nearest folder that exists: save creates the rest
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
    except OSError as e:
        raise ModelError(f"{path}: cannot write the model folder: {e.strerror}") from None
    if not parent.is_dir():
        raise ModelError(f"{path}: cannot write the model folder: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ModelError(f"{path}: cannot write the model folder: {parent} is not writable")


def save(saved: SavedModel, path: str | Path) -> Path:
    """Write a model folder atomically; an existing model folder at `path` is replaced.

    1) serialise the weights to bytes and hash them, 2) write both files into a temporary folder
    beside `path` and fsync them, 3) rename the temporary folder into place. Any OSError (disk
    full, permission denied) leaves `path` as it was and no temporary folder behind.
    """
    from safetensors.numpy import save as save_bytes

    path = Path(path).resolve()
    check_output(path)
    meta: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "config": saved.config.to_dict(),
        "vocab": saved.vocab.itos,
        "history": saved.history,
    }
    if saved.run is not None:
        meta["run"] = saved.run
    tensors = {n: np.ascontiguousarray(a, dtype=np.float32)
               for n, a in saved.model.params.items()}
    try:
        # 1) the weights, tied to this model.json by its digest in their header metadata
        weights = save_bytes(tensors, metadata={"format": FORMAT, "version": str(VERSION),
                                                "meta_sha256": _meta_digest(meta)})
    except OSError as e:
        raise ModelError(f"{path}: cannot write the model folder: {e.strerror or e}") from None
    meta["weights"] = {"file": WEIGHTS, "sha256": hashlib.sha256(weights).hexdigest(),
                       "bytes": len(weights)}
    # 2) both files, each fsynced, 3) into place (putting an old model back if that fails)
    meta_bytes = (json.dumps(meta, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    written = {WEIGHTS: weights, META: meta_bytes}
    if saved.metrics:
        written[METRICS] = metrics.dumps(saved.metrics)
    try:
        return atomic.write_folder(path, written)
    except OSError as e:
        raise ModelError(f"{path}: cannot write the model folder: {e.strerror or e}") from None


def load(path: str | Path) -> SavedModel:
    """Read a model folder, checking that it is one and that its parts fit together."""
    from safetensors import SafetensorError
    from safetensors.numpy import load as load_bytes

    path = Path(path)
    if not path.exists():
        raise ModelError(f"{path}: no such model folder")
    if not path.is_dir():
        raise ModelError(f"{path}: is a file, not a model folder")
    if not (path / META).exists():
        raise ModelError(f"{path}: not an rnncli model folder (no {META})")
    try:
        with open_regular(path / META) as f:
            meta = json.loads(f.read().decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelError(f"{path / META}: unreadable: {e}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelError(f"{path}: not an rnncli model folder ({META} is something else)")
    if meta.get("version") != VERSION:
        raise ModelError(f"{path}: model format version {meta.get('version')!r} is not "
                         f"supported (this rnncli reads version {VERSION})")
    try:
        config = config_from_dict(meta["config"], source=str(path / META))
        vocab = Vocab(meta["vocab"])
        recorded = _recorded_weights(meta)
    except (KeyError, TypeError, ValueError, ConfigError) as e:
        raise ModelError(f"{path / META}: damaged: {e}") from None
    if not (path / WEIGHTS).exists():
        raise ModelError(f"{path}: the weights file {WEIGHTS} is missing")
    try:
        # a regular file of the recorded size, or not a byte of it is read but its header's
        with open_regular(path / WEIGHTS) as f:
            if recorded is not None and files.size(f) != recorded[1]:
                _refuse_size(path / WEIGHTS, f, recorded[1], meta)
            data = f.read()  # read once: hashed, then parsed
    except OSError as e:
        raise ModelError(f"{path / WEIGHTS}: unreadable weights: {e.strerror or e}") from None
    if recorded is not None:
        _check_weights(path / WEIGHTS, data, recorded, meta)
    try:
        tensors = load_bytes(data)
    except (SafetensorError, ValueError) as e:
        raise ModelError(f"{path / WEIGHTS}: unreadable weights: {e}") from None
    m = config.model
    try:
        softmax = output_clusters(m, len(vocab))
    except ValueError as e:
        raise ModelError(f"{path / META}: damaged: model.cutoffs: {e}") from None
    expected = param_shapes(len(vocab), m.embedding, m.hidden, m.cell, m.layers, m.tie_weights,
                            softmax)
    for name, shape in expected.items():
        if name not in tensors:
            raise ModelError(f"{path / WEIGHTS}: no tensor {name!r}")
        if tensors[name].shape != shape:
            raise ModelError(f"{path / WEIGHTS}: {name} has shape {tensors[name].shape}, "
                             f"the config and vocabulary need {shape}")
    params = {n: tensors[n].astype(np.float32, copy=False) for n in expected}  # own, writable
    history = meta.get("history") or []
    run = meta.get("run") if isinstance(meta.get("run"), dict) else None
    model = RNNLM.from_config(config.model, len(vocab), params=params)
    return SavedModel(model, vocab, config, history, path.resolve(), run=run)


def _recorded_weights(meta: dict[str, Any]) -> tuple[str, int] | None:
    """model.json's record of the weights file as (sha256, bytes); None in files from before
    it was recorded. Raises ValueError or KeyError if the record is malformed."""
    if "weights" not in meta:
        return None
    w = meta["weights"]
    if not isinstance(w, dict) or w.get("file") != WEIGHTS:
        raise ValueError(f'"weights" must record the file {WEIGHTS!r}')
    sha, size = w["sha256"], w["bytes"]
    if not isinstance(sha, str) or len(sha) != 64 or not isinstance(size, int) or size < 0:
        raise ValueError('"weights" must record a 64-digit "sha256" and a byte count "bytes"')
    return sha.lower(), size


def _refuse_size(file: Path, f, size: int, meta: dict[str, Any]) -> None:
    """Refuse weights whose size is not the one model.json records, reading at most their
    header: swapped (saved with another model.json), truncated, or grown."""
    actual = files.size(f)
    head = f.read(8)
    if len(head) == 8 and 0 < int.from_bytes(head, "little") <= min(actual - 8, MAX_HEADER):
        head += f.read(int.from_bytes(head, "little"))
    _refuse_swapped(file, head, meta)
    if actual < size:
        raise ModelError(f"{file}: unreadable weights: truncated to {actual} bytes, "
                         f"{META} expects {size}")
    raise ModelError(f"{file}: unreadable weights: size {actual} bytes, {META} expects {size}")


def _refuse_swapped(file: Path, head: bytes, meta: dict[str, Any]) -> None:
    """Refuse weights whose rnncli header names another model.json."""
    saved_with = _header_metadata(head).get("meta_sha256")
    if saved_with is not None and saved_with != _meta_digest(meta):
        raise ModelError(f"{file}: checksum mismatch: the weights file does not belong to this "
                         f"{META} (swapped: it was saved with another model)")


def _check_weights(file: Path, data: bytes, recorded: tuple[str, int],
                   meta: dict[str, Any]) -> None:
    """Refuse weights whose SHA-256 is not the one model.json records, saying why if we can."""
    sha, size = recorded
    if hashlib.sha256(data).hexdigest() == sha and len(data) == size:
        return
    # 1) swapped: a readable rnncli header that names another model.json
    _refuse_swapped(file, data, meta)
    # 2) truncated or grown (while it was read): the size alone says so
    if len(data) != size:
        raise ModelError(f"{file}: unreadable weights: size {len(data)} bytes, "
                         f"{META} expects {size}")
    # 3) same size, other bytes
    actual = hashlib.sha256(data).hexdigest()
    raise ModelError(f"{file}: corrupted: checksum mismatch (sha256 {actual[:12]}..., "
                     f"{META} records {sha[:12]}...)")


def _header_metadata(data: bytes) -> dict[str, Any]:
    """The `__metadata__` of a safetensors header (8-byte little-endian length, then JSON), or
    {} if there is no readable header. Parses JSON only; runs nothing."""
    if len(data) < 8:
        return {}
    n = int.from_bytes(data[:8], "little")
    if not 0 < n <= len(data) - 8:
        return {}
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    return metadata if isinstance(metadata, dict) else {}


def _meta_digest(meta: dict[str, Any]) -> str:
    """SHA-256 of model.json's contents other than the weights record, in a canonical form."""
    rest = json.loads(json.dumps({k: v for k, v in meta.items() if k != "weights"}))
    # the round trip above gives what a later load sees (tuples as lists, keys as strings)
    text = json.dumps(rest, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
