"""Weights in the layout of PyTorch's word_language_model, and back.

PyTorch's model is nn.Embedding -> nn.RNN / nn.LSTM / nn.GRU -> nn.Linear, with column vectors:
its weight_ih_l{k} is our W_xh transposed, and so on. The gate order is already PyTorch's
(i, f, g, o for the LSTM; r, z, n for the GRU). The vanilla RNN's and the LSTM's single bias b_h
goes to bias_ih, with bias_hh zero; the GRU keeps both.

    encoder.weight          (V, E)        W_emb
    rnn.weight_ih_l{k}      (G*H, In)     W_xh.T
    rnn.weight_hh_l{k}      (G*H, H)      W_hh.T
    rnn.bias_ih_l{k}        (G*H,)        b_h  (gru: b_xh)
    rnn.bias_hh_l{k}        (G*H,)        0    (gru: b_hh)
    decoder.weight          (V, H)        W_hy.T (the embedding itself when the weights are tied)
    decoder.bias            (V,)          b_y

With the adaptive softmax the decoder is nn.AdaptiveLogSoftmaxWithLoss(H, V, cutoffs, div_value,
head_bias=True), in its state-dict layout:

    decoder.head.weight         (C_0 + K, H)  W_head.T
    decoder.head.bias           (C_0 + K,)    b_head
    decoder.tail.{i}.0.weight   (d_i, H)      W_proj.i.T
    decoder.tail.{i}.1.weight   (V_i, d_i)    W_tail.i.T
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rnncli.errors import ModelError
from rnncli.nn.model import RNNLM, layer_name
from rnncli.store import folder
from rnncli.store.model_folder import SavedModel

FORMATS = ("torch",)


def to_torch(model: RNNLM, dtype=np.float32) -> dict[str, np.ndarray]:
    """rnncli parameters -> a state dict of word_language_model's names (copies)."""
    p = model.params
    out = {"encoder.weight": p["W_emb"]}
    for k in range(model.n_layers):
        layer = model.layer(k)
        out[f"rnn.weight_ih_l{k}"] = layer["W_xh"].T
        out[f"rnn.weight_hh_l{k}"] = layer["W_hh"].T
        if model.cell.name == "gru":
            out[f"rnn.bias_ih_l{k}"] = layer["b_xh"]
            out[f"rnn.bias_hh_l{k}"] = layer["b_hh"]
        else:
            out[f"rnn.bias_ih_l{k}"] = layer["b_h"]
            out[f"rnn.bias_hh_l{k}"] = np.zeros_like(layer["b_h"])
    if model.softmax is not None:
        out["decoder.head.weight"] = p["W_head"].T
        out["decoder.head.bias"] = p["b_head"]
        for i in range(len(model.softmax.dims)):
            out[f"decoder.tail.{i}.0.weight"] = p[f"W_proj.{i}"].T
            out[f"decoder.tail.{i}.1.weight"] = p[f"W_tail.{i}"].T
    else:
        out["decoder.weight"] = p["W_emb"] if model.tie_weights else p["W_hy"].T
        out["decoder.bias"] = p["b_y"]
    return {n: np.ascontiguousarray(a, dtype=dtype) for n, a in out.items()}


def from_torch(state: dict[str, np.ndarray], cell: str, n_layers: int,
               tie_weights: bool = False) -> dict[str, np.ndarray]:
    """A word_language_model state dict -> rnncli parameters (same dtype as given); an adaptive
    decoder's (decoder.head.*, decoder.tail.*) when the state has one."""
    p = {"W_emb": state["encoder.weight"]}
    for k in range(n_layers):
        p[layer_name("W_xh", k)] = state[f"rnn.weight_ih_l{k}"].T.copy()
        p[layer_name("W_hh", k)] = state[f"rnn.weight_hh_l{k}"].T.copy()
        b_ih, b_hh = state[f"rnn.bias_ih_l{k}"], state[f"rnn.bias_hh_l{k}"]
        if cell == "gru":
            p[layer_name("b_xh", k)], p[layer_name("b_hh", k)] = b_ih, b_hh
        else:
            p[layer_name("b_h", k)] = b_ih + b_hh  # they are only ever added
    if "decoder.head.weight" in state:
        p["W_head"] = state["decoder.head.weight"].T.copy()
        p["b_head"] = state["decoder.head.bias"]
        i = 0
        while f"decoder.tail.{i}.0.weight" in state:
            p[f"W_proj.{i}"] = state[f"decoder.tail.{i}.0.weight"].T.copy()
            p[f"W_tail.{i}"] = state[f"decoder.tail.{i}.1.weight"].T.copy()
            i += 1
        return p
    p["b_y"] = state["decoder.bias"]
    if not tie_weights:
        p["W_hy"] = state["decoder.weight"].T.copy()
    return p


def export(saved: SavedModel, out: str | Path, fmt: str = "torch") -> Path:
    """Write `export_bytes` as the file `out`, atomically."""
    return folder.write_file(out, export_bytes(saved, fmt))


def export_bytes(saved: SavedModel, fmt: str = "torch") -> bytes:
    """A single safetensors file for another framework; the vocabulary, in index order, goes
    into the file's metadata under `vocab` (a JSON list), the model's shape under `rnncli`."""
    from safetensors.numpy import save

    if fmt not in FORMATS:
        raise ModelError(f"unknown export format {fmt!r}; choose from {', '.join(FORMATS)}")
    m = saved.config.model
    metadata = {
        "vocab": json.dumps(saved.vocab.itos, ensure_ascii=False),
        "rnncli": json.dumps({"cell": m.cell, "embedding": m.embedding, "hidden": m.hidden,
                              "layers": m.layers, "tie_weights": m.tie_weights,
                              "softmax": m.softmax, "cutoffs": m.cutoffs,
                              "div_value": m.div_value,
                              "reset_at_eos": saved.config.train.reset_at_eos}),
    }
    return save(to_torch(saved.model), metadata=metadata)
