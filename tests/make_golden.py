#!/usr/bin/env python3
"""Write the golden vectors that tests/test_golden.py checks rnncli against.

Needs PyTorch (run once, in a venv of its own; rnncli never imports torch):

    python -m venv ~/torchvenv && ~/torchvenv/bin/pip install torch==2.13.0 numpy
    ~/torchvenv/bin/python tests/make_golden.py

For each cell (rnn, lstm, gru) it builds PyTorch's word_language_model in float64 (nn.Embedding
-> 2-layer nn.RNN / nn.LSTM / nn.GRU -> nn.Linear), with seeded random weights and a random
non-zero initial state, runs one window forward and backward, and saves to tests/golden/CELL.npz:
the weights under PyTorch's names, the inputs, targets and initial state, and PyTorch's logits,
mean cross-entropy loss and the gradient of every parameter (`grad.` + name).

For the adaptive softmax it builds nn.AdaptiveLogSoftmaxWithLoss in float64 (head bias on, two
tail clusters), runs random hidden states and targets from every cluster through it, and saves
to tests/golden/adaptive.npz: the weights under PyTorch's names, the inputs, the per-row
log-probability of each target (`output`), the mean loss, the whole distribution (`log_prob`)
and the gradients of the input (`grad.input`) and of every weight.

    ~/torchvenv/bin/python tests/make_golden.py adaptive    # only the named files
"""

import sys
from pathlib import Path

import numpy as np
import torch

V, E, H, LAYERS, T, B = 11, 5, 4, 2, 6, 3
OUT = Path(__file__).resolve().parent / "golden"


def make(cell: str, seed: int) -> dict[str, np.ndarray]:
    torch.manual_seed(seed)
    rnn_class = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    encoder = torch.nn.Embedding(V, E).double()
    rnn = rnn_class(E, H, num_layers=LAYERS).double()
    decoder = torch.nn.Linear(H, V).double()
    modules = {"encoder": encoder, "rnn": rnn, "decoder": decoder}
    with torch.no_grad():
        for m in modules.values():
            for p in m.parameters():
                p.uniform_(-0.6, 0.6)
    inputs = torch.randint(0, V, (T, B))
    targets = torch.randint(0, V, (T, B))
    h0 = torch.rand(LAYERS, B, H, dtype=torch.float64) * 1.6 - 0.8
    c0 = torch.rand(LAYERS, B, H, dtype=torch.float64) * 1.6 - 0.8
    state = (h0, c0) if cell == "lstm" else h0

    out, _ = rnn(encoder(inputs), state)  # (T, B, H)
    logits = decoder(out.reshape(T * B, H))  # (T*B, V)
    loss = torch.nn.functional.cross_entropy(logits, targets.reshape(-1))
    loss.backward()

    data = {"inputs": inputs.numpy(), "targets": targets.numpy(), "h0": h0.numpy(),
            "logits": logits.detach().numpy(), "loss": np.array(loss.item())}
    if cell == "lstm":
        data["c0"] = c0.numpy()
    for prefix, m in modules.items():
        for name, p in m.named_parameters():
            data[f"{prefix}.{name}"] = p.detach().numpy()
            data[f"grad.{prefix}.{name}"] = p.grad.numpy()
    return data


AD_H, AD_V, AD_N, AD_CUTOFFS, AD_DIV = 8, 23, 12, [5, 12], 2.0


def make_adaptive(seed: int) -> dict[str, np.ndarray]:
    torch.manual_seed(seed)
    layer = torch.nn.AdaptiveLogSoftmaxWithLoss(AD_H, AD_V, AD_CUTOFFS, div_value=AD_DIV,
                                                head_bias=True).double()
    with torch.no_grad():
        for p in layer.parameters():
            p.uniform_(-0.8, 0.8)
    h = (torch.rand(AD_N, AD_H, dtype=torch.float64) * 2 - 1).requires_grad_()
    targets = torch.tensor([0, 3, 4, 5, 7, 11, 12, 15, 22, 1, 9, 20])  # head and both clusters
    out = layer(h, targets)
    out.loss.backward()
    data = {"input": h.detach().numpy(), "targets": targets.numpy(),
            "output": out.output.detach().numpy(), "loss": np.array(out.loss.item()),
            "log_prob": layer.log_prob(h).detach().numpy(), "grad.input": h.grad.numpy(),
            "cutoffs": np.array(AD_CUTOFFS), "div_value": np.array(AD_DIV)}
    for name, p in layer.named_parameters():
        data[name] = p.detach().numpy()
        data[f"grad.{name}"] = p.grad.numpy()
    return data


def main() -> None:
    OUT.mkdir(exist_ok=True)
    names = sys.argv[1:] or ["rnn", "lstm", "gru", "adaptive"]
    for seed, name in enumerate(("rnn", "lstm", "gru", "adaptive")):
        if name not in names:
            continue
        path = OUT / f"{name}.npz"
        np.savez(path, **(make_adaptive(seed) if name == "adaptive" else make(name, seed)))
        print(f"wrote {path.name} (torch {torch.__version__})", file=sys.stderr)


if __name__ == "__main__":
    main()
