#!/usr/bin/env python3
"""Write tests/golden/optim.npz: torch.optim's parameters after each of several steps.

Needs PyTorch (as tests/make_golden.py; rnncli never imports torch):

    ~/torchvenv/bin/python tests/make_golden_optim.py

Float64 parameters (an embedding, a matrix, a bias), seeded random gradients for STEPS steps
(the embedding's with rows no step reads, as rnncli's RowGrad leaves them: zero), and for each
case below the parameters after every step: `CASE/step/K/NAME`. The inputs are `param/NAME` and
`grad/K/NAME`.
"""

import sys
from pathlib import Path

import numpy as np
import torch

STEPS = 6
SHAPES = {"W_emb": (7, 3), "W_hh": (4, 4), "b_h": (4,)}
OUT = Path(__file__).resolve().parent / "golden" / "optim.npz"
# case -> (torch class, keyword arguments); the first of each is PyTorch's defaults
CASES = {
    "adam": (torch.optim.Adam, {}),
    "adam_wd": (torch.optim.Adam, {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6,
                                   "weight_decay": 0.1}),
    "adamw": (torch.optim.AdamW, {}),
    "adamw_wd": (torch.optim.AdamW, {"lr": 0.05, "weight_decay": 0.3}),
    "rmsprop": (torch.optim.RMSprop, {}),
    "rmsprop_momentum": (torch.optim.RMSprop, {"lr": 0.02, "alpha": 0.9, "momentum": 0.5,
                                               "weight_decay": 0.1}),
    "adagrad": (torch.optim.Adagrad, {}),
    "adagrad_wd": (torch.optim.Adagrad, {"lr": 0.1, "weight_decay": 0.1, "eps": 1e-6}),
}


def main() -> None:
    rng = np.random.default_rng(14)
    data = {f"param/{n}": rng.normal(size=s) for n, s in SHAPES.items()}
    for k in range(STEPS):
        for n, s in SHAPES.items():
            g = rng.normal(size=s)
            if n == "W_emb":  # only a few rows read, never the last two
                g[~np.isin(np.arange(s[0]), rng.choice(5, size=1 + k % 3, replace=False))] = 0
            data[f"grad/{k}/{n}"] = g
    for case, (cls, kwargs) in CASES.items():
        params = {n: torch.tensor(data[f"param/{n}"], requires_grad=True) for n in SHAPES}
        opt = cls(params.values(), foreach=False, **kwargs)
        for k in range(STEPS):
            for n, p in params.items():
                p.grad = torch.tensor(data[f"grad/{k}/{n}"])
            opt.step()
            for n, p in params.items():
                data[f"{case}/step/{k}/{n}"] = p.detach().numpy().copy()
    np.savez_compressed(OUT, **data)
    print(f"wrote {OUT.name} (torch {torch.__version__})", file=sys.stderr)


if __name__ == "__main__":
    main()
