#!/usr/bin/env python3
"""How far each cell carries the dish: accuracy of the demo's answer against the distance.

Trains the demo (configs/cuisine.yaml) once per cell (rnn, lstm, gru; --set overrides apply to
all), then completes "My favourite dish is DISH<clauses>. So, my favourite cuisine is" for every
dish, with the corpus's clauses chained to reach distances well beyond the ones it was trained on
(up to about 50 words between the dish and "cuisine is"). Prints accuracy per distance band and
writes the figures as JSON.

    python bench/demo_distance.py                       # all three cells (a few minutes)
    python bench/demo_distance.py --cells lstm --set train.epochs=40
"""

import argparse
import collections
import datetime
import random
import sys
import tempfile
import time
from pathlib import Path

from resultfile import write_results

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rnncli.config.schema import load_config  # noqa: E402
from rnncli.demo.make_cuisine import CLAUSES, CUISINES  # noqa: E402
from rnncli.infer.decode import Decoding  # noqa: E402
from rnncli.infer.predict import complete  # noqa: E402
from rnncli.train.loop import train  # noqa: E402

BANDS = [(0, 5), (6, 11), (12, 17), (18, 23), (24, 29), (30, 99)]


def prompts(rng, per_dish=40):
    """(prompt, answer, words between dish and 'cuisine is') with chained clauses."""
    clauses = [c for c in CLAUSES if c]
    out = []
    for cuisine, dishes in CUISINES.items():
        for dish in dishes:
            for _ in range(per_dish):
                chain = "".join(rng.sample(clauses, rng.randint(0, 5)))
                prompt = f"My favourite dish is {dish}{chain}. So, my favourite cuisine is"
                gap = len(prompt.split(dish, 1)[1].replace(",", " ").replace(".", " ").split())
                out.append((prompt, cuisine, gap - 2))  # "cuisine is" itself not counted
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cells", default="rnn,lstm,gru")
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    cases = prompts(random.Random(0))
    report = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "cells": {}}
    for cell in a.cells.split(","):
        cfg = load_config(REPO / "configs" / "cuisine.yaml", [f"model.cell={cell}", *a.overrides],
                          out=tempfile.mkdtemp())
        start = time.perf_counter()
        saved = train(cfg)
        seconds = time.perf_counter() - start
        got = complete(saved, [p for p, _, _ in cases], Decoding(words=1))
        right = collections.Counter()
        total = collections.Counter()
        for (_, answer, gap), c in zip(cases, got):
            band = next(b for b in BANDS if b[0] <= gap <= b[1])
            total[band] += 1
            right[band] += c.completion == answer
        by_band = {f"{lo}-{hi}": right[(lo, hi)] / total[(lo, hi)] for lo, hi in BANDS
                   if total[(lo, hi)]}
        report["cells"][cell] = {"train_seconds": round(seconds, 1), "accuracy": by_band,
                                 "valid_ppl": min(r["valid_ppl"] for r in saved.history)}
        print(f"{cell:5} trained in {seconds:5.1f}s  " + "  ".join(
            f"{k} words: {v:6.1%}" for k, v in by_band.items()), flush=True)
    write_results(report, "distance", a.out)


if __name__ == "__main__":
    main()
