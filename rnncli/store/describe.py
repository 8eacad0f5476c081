"""What a model folder holds and how it was trained, as data: `describe(folder) -> dict`.

The CLI's `rnncli show` draws it; anything else (a server's model endpoint) can return it as
JSON. Everything comes from the folder itself: model.json, the weights file's size and
metrics.jsonl (the run log; folders written before it existed have only the per-epoch history).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rnncli.store import metrics, model_folder


def describe(folder: str | Path) -> dict[str, Any]:
    """The model in `folder`: architecture, parameters, size, training and its curves.

    Returns a JSON-ready dict:
        path, cell, embedding, hidden, layers, tie_weights, dropout, tokenizer, tokenizer_version,
        vocab_size,
        parameters ({name: {"shape", "count"}}), parameters_total, bytes ({file: size, "total"}),
        corpus, optimizer, epochs, partial_epoch (the last one cut short by a budget),
        log_every, best ({"epoch", "valid_ppl"}, or "train_ppl" where nothing
        was held out), tokens_seen, steps, seconds,
        stopped ({"reason", "epoch", "message"} or None), fine_tuned_from (or None),
        curves ({"steps": [{"tokens", "loss", "grad_norm", "clipped"}],
                 "epochs": [{"epoch", "tokens", "valid_ppl", "train_ppl", "train_loss"}]})
    Raises ModelError when `folder` is not a readable model folder.
    """
    saved = model_folder.load(folder)  # checks the folder, its checksum and shapes
    path = Path(saved.path)
    c, m = saved.config, saved.config.model
    params = {n: {"shape": list(W.shape), "count": int(W.size)}
              for n, W in saved.model.params.items()}
    sizes = {f.name: f.stat().st_size for f in sorted(path.iterdir()) if f.is_file()}
    log = (metrics.read((path / metrics.FILE).read_text(encoding="utf-8"))
           if (path / metrics.FILE).is_file() else [])
    run = saved.run or {}
    history = saved.history
    best = min(history, key=metrics.perplexity) if history else None
    return {
        "path": str(path), "cell": m.cell, "embedding": m.embedding, "hidden": m.hidden,
        "layers": m.layers, "tie_weights": m.tie_weights, "dropout": m.dropout,
        "tokenizer": c.data.tokenizer, "tokenizer_version": c.data.tokenizer_version,
        "vocab_size": len(saved.vocab),
        "parameters": params, "parameters_total": sum(p["count"] for p in params.values()),
        "bytes": {**sizes, "total": sum(sizes.values())},
        "corpus": c.data.train, "optimizer": c.train.optimizer, "epochs": len(history),
        "partial_epoch": bool(history and history[-1].get("partial")),
        "log_every": c.train.log_every,
        "best": None if best is None else {"epoch": best["epoch"],
                                           metrics.PPL[metrics.of(best)]:
                                               metrics.perplexity(best)},
        "tokens_seen": run.get("tokens_seen"), "steps": run.get("steps"),
        "seconds": run.get("seconds", sum(r.get("seconds", 0.0) for r in history)),
        "stopped": run.get("stopped"), "fine_tuned_from": run.get("fine_tuned_from"),
        "curves": _curves(log, history),
    }


def _curves(log: list[dict], history: list[dict]) -> dict[str, list[dict]]:
    steps = [{k: x.get(k) for k in ("tokens", "loss", "grad_norm", "clipped")}
             for x in log if x.get("kind") == "step"]
    keys = ("epoch", "tokens", "valid_ppl", "train_ppl", "train_loss")
    epochs = [{k: x.get(k) for k in keys} for x in log if x.get("kind") == "epoch"]
    if not epochs:  # a folder from before metrics.jsonl: the history, without tokens
        epochs = [{**{k: r.get(k) for k in keys}, "tokens": None} for r in history]
    return {"steps": steps, "epochs": epochs}
