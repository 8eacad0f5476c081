"""The model folder: everything `complete` and `eval` need, and nothing that runs code.

    DIR/model.safetensors   the weights, float32, named as in rnncli.nn.model (W_emb, W_hh, ...)
    DIR/model.json          format and version, config, vocabulary, training history, the run
                            ("run": why it stopped, tokens seen, the model it was fine-tuned
                            from), and the weights file's SHA-256 and size ("weights": {"file",
                            "sha256", "bytes"})
    DIR/metrics.jsonl       the run log (rnncli.store.metrics): a line every train.log_every steps
                            and one per epoch

Written and read as every rnncli folder is (rnncli.store.folder): atomically, so a folder is
complete or absent, and checked on loading. The weights file's header metadata records the
SHA-256 of model.json's other contents, so a weights file that fails its checksum can be told
apart: truncated (shorter than recorded), swapped (saved with another model.json) or corrupted
(anything else). A version 1 model.json without the "weights" record loads unchecked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rnncli.config.schema import Config, config_from_dict
from rnncli.errors import ConfigError, ModelError
from rnncli.nn.model import RNNLM, output_clusters, param_shapes
from rnncli.store import folder, metrics
from rnncli.text.vocab import Vocab

WEIGHTS = "model.safetensors"
META = "model.json"
METRICS = metrics.FILE  # the run log, when training wrote one
# version 1: a model.json without the "weights" record loads unchecked
FORMAT = folder.Format("rnncli-model", 1, META, WEIGHTS, noun="model folder",
                       contents="weights", record="weights", unrecorded=True)


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
    exists and is something else, or one whose parent cannot be written (as `save` would find
    out only at the end)."""
    folder.check_output(path, FORMAT)


def save(saved: SavedModel, path: str | Path) -> Path:
    """Write a model folder atomically (rnncli.store.folder.save); an existing model folder at
    `path` is replaced, anything else there is refused."""
    meta: dict[str, Any] = {
        "config": saved.config.to_dict(),
        "vocab": saved.vocab.itos,
        "history": saved.history,
    }
    if saved.run is not None:
        meta["run"] = saved.run
    tensors = {n: np.asarray(a, dtype=np.float32) for n, a in saved.model.params.items()}
    extra = {METRICS: metrics.dumps(saved.metrics)} if saved.metrics else {}
    return folder.save(path, FORMAT, meta, tensors, extra)


def load(path: str | Path) -> SavedModel:
    """Read a model folder, checking that it is one and that its parts fit together."""
    read = folder.load(path, FORMAT)
    meta, tensors = read.meta, read.tensors
    try:
        config = config_from_dict(meta["config"], source=str(read.path / META))
        vocab = Vocab(meta["vocab"])
    except (KeyError, TypeError, ValueError, ConfigError) as e:
        raise ModelError(f"{Path(path) / META}: damaged: {e}") from None
    m = config.model
    try:
        softmax = output_clusters(m, len(vocab))
    except ValueError as e:
        raise ModelError(f"{Path(path) / META}: damaged: model.cutoffs: {e}") from None
    expected = param_shapes(len(vocab), m.embedding, m.hidden, m.cell, m.layers, m.tie_weights,
                            softmax)
    for name, shape in expected.items():
        if name not in tensors:
            raise ModelError(f"{Path(path) / WEIGHTS}: no tensor {name!r}")
        if tensors[name].shape != shape:
            raise ModelError(f"{Path(path) / WEIGHTS}: {name} has shape {tensors[name].shape}, "
                             f"the config and vocabulary need {shape}")
    params = {n: tensors[n].astype(np.float32, copy=False) for n in expected}  # own, writable
    history = meta.get("history") or []
    run = meta.get("run") if isinstance(meta.get("run"), dict) else None
    model = RNNLM.from_config(config.model, len(vocab), params=params)
    return SavedModel(model, vocab, config, history, read.path, run=run)
