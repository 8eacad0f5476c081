#!/usr/bin/env python3
"""Write tests/fixtures/demo-model: the bundled demo, trained once, as a model folder.

Tests that need one fixed, well-trained model read this folder instead of training the demo on
the fly: training in float32 gives weights that differ in their last bits from one BLAS kernel
to another (OpenBLAS's Haswell and SkylakeX kernels, say), and a test of what one particular
model says must not depend on the machine it runs on. It is also a model folder written by an
earlier rnncli, which later ones must go on reading.

    .venv/bin/python tests/make_demo_model.py

The config's paths are recorded relative to the repository (they are only a record: a model
folder needs nothing outside itself).
"""

import dataclasses
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rnncli.config.schema import load_config  # noqa: E402
from rnncli.store import model_folder  # noqa: E402
from rnncli.train.loop import train  # noqa: E402

OUT = REPO / "tests" / "fixtures" / "demo-model"


def main() -> None:
    saved = train(load_config(REPO / "configs" / "cuisine.yaml"))
    config = saved.config
    config.data = dataclasses.replace(
        config.data, train=[str(Path(p).relative_to(REPO)) for p in config.data.train])
    config.output = "runs/cuisine"
    for record in saved.history:
        record["seconds"] = round(record["seconds"], 1)
        record["tokens_per_s"] = round(record["tokens_per_s"])
    print(model_folder.save(saved, OUT))


if __name__ == "__main__":
    main()
