"""The model folder: everything `complete` and `eval` need, and nothing that runs code.

    DIR/model.safetensors   the weights, float32, named as in rnncli.model (W_emb, W_hh, ...)
    DIR/model.json          format and version, config, vocabulary, training history

A folder is written under a temporary name beside its destination and renamed into place, so it
is either complete or absent. The last folder `train` wrote is remembered in
$XDG_STATE_HOME/rnncli/last-model (~/.local/state/rnncli/last-model by default).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rnncli.config import Config, config_from_dict
from rnncli.errors import ConfigError, ModelError
from rnncli.model import RNNLM, param_shapes
from rnncli.vocab import Vocab

FORMAT = "rnncli-model"
VERSION = 1
WEIGHTS = "model.safetensors"
META = "model.json"


@dataclass
class SavedModel:
    model: RNNLM
    vocab: Vocab
    config: Config
    history: list[dict[str, Any]] = field(default_factory=list)
    path: Path | None = None


def save(saved: SavedModel, path: str | Path) -> Path:
    """Write a model folder atomically; an existing model folder at `path` is replaced."""
    from safetensors.numpy import save_file

    path = Path(path).resolve()
    if path.exists() and not (path / META).exists():
        if not path.is_dir() or any(path.iterdir()):
            raise ModelError(f"{path}: exists and is not an rnncli model folder; "
                             "choose another output")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    except OSError as e:
        raise ModelError(f"{path}: cannot write the model folder: {e.strerror}") from None
    try:
        tensors = {n: np.ascontiguousarray(a, dtype=np.float32)
                   for n, a in saved.model.params.items()}
        save_file(tensors, str(tmp / WEIGHTS), metadata={"format": FORMAT,
                                                         "version": str(VERSION)})
        meta = {
            "format": FORMAT,
            "version": VERSION,
            "config": saved.config.to_dict(),
            "vocab": saved.vocab.itos,
            "history": saved.history,
        }
        (tmp / META).write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n",
                                encoding="utf-8")
        for f in (WEIGHTS, META):
            _fsync(tmp / f)
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            path.rename(old)
        tmp.rename(path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ModelError(f"{path}: cannot write the model folder: {e.strerror or e}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def load(path: str | Path) -> SavedModel:
    """Read a model folder, checking that it is one and that its parts fit together."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    path = Path(path)
    if not path.exists():
        raise ModelError(f"{path}: no such model folder")
    if not path.is_dir():
        raise ModelError(f"{path}: is a file, not a model folder")
    if not (path / META).exists():
        raise ModelError(f"{path}: not an rnncli model folder (no {META})")
    try:
        meta = json.loads((path / META).read_text(encoding="utf-8"))
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
    except (KeyError, TypeError, ValueError, ConfigError) as e:
        raise ModelError(f"{path / META}: damaged: {e}") from None
    if not (path / WEIGHTS).exists():
        raise ModelError(f"{path}: the weights file {WEIGHTS} is missing")
    try:
        tensors = load_file(str(path / WEIGHTS))
    except (SafetensorError, OSError, ValueError) as e:
        raise ModelError(f"{path / WEIGHTS}: unreadable weights: {e}") from None
    m = config.model
    expected = param_shapes(len(vocab), m.embedding, m.hidden, m.cell, m.layers, m.tie_weights)
    for name, shape in expected.items():
        if name not in tensors:
            raise ModelError(f"{path / WEIGHTS}: no tensor {name!r}")
        if tensors[name].shape != shape:
            raise ModelError(f"{path / WEIGHTS}: {name} has shape {tensors[name].shape}, "
                             f"the config and vocabulary need {shape}")
    params = {n: tensors[n].astype(np.float32) for n in expected}
    history = meta.get("history") or []
    model = RNNLM.from_config(config.model, len(vocab), params=params)
    return SavedModel(model, vocab, config, history, path.resolve())


def _fsync(file: Path) -> None:
    fd = os.open(file, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- the last model `train` wrote ---------------------------------------------------------

def _pointer() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "rnncli" / "last-model"


def remember_last(path: Path) -> None:
    pointer = _pointer()
    try:
        pointer.parent.mkdir(parents=True, exist_ok=True)
        tmp = pointer.with_suffix(".tmp")
        tmp.write_text(str(Path(path).resolve()) + "\n", encoding="utf-8")
        tmp.replace(pointer)
    except OSError:
        pass  # remembering is a convenience; the model itself is safely written


def last_model() -> Path:
    """The folder the last `rnncli train` wrote, or a ModelError saying there is none."""
    pointer = _pointer()
    try:
        text = pointer.read_text(encoding="utf-8").strip()
    except OSError:
        text = ""
    if not text:
        raise ModelError("no model given and none trained yet: run `rnncli train` or pass "
                         "--model DIR")
    return Path(text)
