"""Resumable checkpoints: everything a training run needs to go on exactly where it stopped.

    DIR/checkpoint.safetensors   param/NAME       the weights at the checkpoint
                                 best/NAME        the weights of the best epoch so far
                                 optim/KIND/NAME  the optimiser's buffers (momentum/NAME,
                                                  exp_avg/NAME, ...); a version 1
                                                  checkpoint of SGD may hold momentum/NAME
                                                  instead, read as optim/momentum/NAME
                                 average/NAME     train.average: nt: the running mean of the
                                                  weights since the trigger
                                 state/K/J        the hidden state carried into the next window
    DIR/metrics.jsonl            the run log so far (rnncli.store.metrics)
    DIR/checkpoint.json          format, config, vocabulary, the position in the data (epoch,
                                 windows done), lr, best perplexity, history, the epoch's running
                                 loss, the training ids' digest, the optimiser's step count, the
                                 run log so far (metrics), the model fine-tuning started from
                                 and the steps NT-ASGD has averaged (null: not triggered)
                                 (dropout masks need no state: rnncli.nn.dropout draws them per
                                 stream and window), and the tensors file's SHA-256 and size
                                 ("tensors": {"file", "sha256", "bytes"})

Written and read as every rnncli folder is (rnncli.store.folder): atomically, and checked
against the recorded checksum on loading (a version 1 checkpoint.json without the "tensors"
record loads unchecked).
A run resumed from a checkpoint ends with the same weights, bit for bit, as one never interrupted.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rnncli.config.schema import Config, config_from_dict
from rnncli.errors import ConfigError, ModelError
from rnncli.store import folder, metrics
from rnncli.text.vocab import Vocab

TENSORS = "checkpoint.safetensors"
META = "checkpoint.json"
# version 1: a checkpoint.json without the "tensors" record loads unchecked
FORMAT = folder.Format("rnncli-checkpoint", 1, META, TENSORS, noun="checkpoint folder",
                       contents="checkpoint", unrecorded=True)


@dataclass
class Position:
    """Where the loop stands: the epoch under way and how far into it."""
    epoch: int = 1  # the epoch under way (1-based)
    window: int = 0  # windows of it already trained
    loss_sum: float = 0.0  # the epoch's running sum of loss * tokens
    n_tokens: int = 0
    seconds: float = 0.0  # time spent in the epoch so far
    lr: float = 0.0
    best_ppl: float = float("inf")
    history: list[dict] = field(default_factory=list)
    opt_step: int = 0  # the optimiser's steps (Adam's bias correction counts them)
    averaged: int | None = None  # train.average: nt: steps averaged; None: not triggered


@dataclass
class Checkpoint:
    config: Config
    vocab: Vocab
    params: dict[str, np.ndarray]
    best: dict[str, np.ndarray] | None
    optimizer: dict[str, np.ndarray]  # "KIND/NAME" -> buffer (rnncli.train.optimizers.get_state)
    state: list[tuple[np.ndarray, ...]]
    rng_state: dict[str, Any]
    position: Position
    ids_sha256: str
    metrics: dict[str, Any] = field(default_factory=dict)  # rnncli.store.metrics.MetricsLog.state()
    origin: dict[str, Any] | None = None  # fine-tuning: the model it started from
    average: dict[str, np.ndarray] | None = None  # NT-ASGD's running mean (averaging.Average)


def ids_digest(ids: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(ids, dtype=np.int32).tobytes()).hexdigest()


def save_checkpoint(path: str | Path, ck: Checkpoint) -> Path:
    """Write `ck` as the checkpoint folder `path`, atomically (rnncli.store.folder.save)."""
    tensors = {f"param/{n}": a for n, a in ck.params.items()}
    tensors.update({f"best/{n}": a for n, a in (ck.best or {}).items()})
    tensors.update({f"optim/{k}": a for k, a in ck.optimizer.items()})
    tensors.update({f"average/{n}": a for n, a in (ck.average or {}).items()})
    for k, layer in enumerate(ck.state):
        for j, a in enumerate(layer):
            tensors[f"state/{k}/{j}"] = a
    p = ck.position
    meta = {
        "config": ck.config.to_dict(), "vocab": ck.vocab.itos, "ids_sha256": ck.ids_sha256,
        "rng_state": ck.rng_state,
        "position": {"epoch": p.epoch, "window": p.window, "loss_sum": p.loss_sum,
                     "n_tokens": p.n_tokens, "seconds": p.seconds, "lr": p.lr,
                     "best_ppl": None if p.best_ppl == float("inf") else p.best_ppl,
                     "history": p.history, "opt_step": p.opt_step, "averaged": p.averaged},
        "metrics": {k: v for k, v in ck.metrics.items() if k != "lines"}, "origin": ck.origin,
        "layers": len(ck.state), "has_best": ck.best is not None,
    }
    return folder.save(path, FORMAT, meta, tensors,
                       {metrics.FILE: metrics.dumps(ck.metrics.get("lines", []))})


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read a checkpoint folder (rnncli.store.folder.load) into a Checkpoint."""
    read = folder.load(path, FORMAT)
    meta, tensors = read.meta, read.tensors
    try:
        log = ""
        if (read.path / metrics.FILE).exists():
            log = folder.read_file(read.path / metrics.FILE).decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ModelError(f"{path}: unreadable checkpoint: {e}") from None
    try:
        config = config_from_dict(meta["config"], source=str(read.path / META))
        p = meta["position"]
        position = Position(p["epoch"], p["window"], p["loss_sum"], p["n_tokens"],
                            p["seconds"], p["lr"],
                            float("inf") if p["best_ppl"] is None else p["best_ppl"],
                            p["history"], p.get("opt_step", 0), p.get("averaged"))
        part = lambda prefix: {n[len(prefix):]: np.array(a)  # noqa: E731 (writable copies)
                               for n, a in tensors.items() if n.startswith(prefix)}
        n_states = len(part("state/0/"))
        state = [tuple(np.array(tensors[f"state/{k}/{j}"]) for j in range(n_states))
                 for k in range(meta["layers"])]
        # version 1 checkpoints of SGD may keep its buffers as momentum/NAME
        optimizer = part("optim/") or {f"momentum/{n}": a
                                       for n, a in part("momentum/").items()}
        return Checkpoint(config, Vocab(meta["vocab"]), part("param/"),
                          part("best/") if meta["has_best"] else None, optimizer,
                          state, meta["rng_state"], position, meta["ids_sha256"],
                          {**(meta.get("metrics") or {}), "lines": metrics.read(log)},
                          meta.get("origin"), part("average/"))
    except (KeyError, TypeError, ValueError, ConfigError) as e:
        raise ModelError(f"{path}: damaged checkpoint: {e}") from None
