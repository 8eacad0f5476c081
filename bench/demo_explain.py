#!/usr/bin/env python3
"""How often `complete --explain` names the dish as the reason for the demo's cuisine.

Completes every distinct corpus prompt "My favourite dish is DISH[, clause]. So, my favourite
cuisine is" with --explain and counts, for each measure (the integrated gradient x input share,
the replacement drop, and for comparison the plain gradient's norm), how often the word it ranks
first is the dish: for the prompts with no clause between the dish and the sentence's end, and
for those with one. Uses the demo model in --model, or trains it first.

    python bench/demo_explain.py --model runs/cuisine
"""

import argparse
import datetime
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from resultfile import write_results

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rnncli import store  # noqa: E402
from rnncli.config import load_config  # noqa: E402
from rnncli.demo.make_cuisine import CUISINES  # noqa: E402
from rnncli.predict import complete  # noqa: E402
from rnncli.train import train  # noqa: E402

MEASURES = ("score", "drop", "grad_norm")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None, help="model folder (default: train the demo)")
    ap.add_argument("--out", default=None, help="JSON results file")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        if a.model is None:
            print("[bench] training the demo model ...", file=sys.stderr, flush=True)
            saved = store.load(store.save(train(load_config(REPO / "configs" / "cuisine.yaml")),
                                          Path(tmp) / "demo"))
        else:
            saved = store.load(a.model)

    dishes = {d for ds in CUISINES.values() for d in ds}
    lines = (REPO / "corpora" / "cuisine.txt").read_text(encoding="utf-8").splitlines()
    prompts = sorted({x[: x.rindex(" cuisine is ") + len(" cuisine is")] for x in lines
                      if x.startswith("My favourite dish is") and " cuisine is " in x})
    start = time.perf_counter()
    results = complete(saved, prompts, explain=True)
    seconds = time.perf_counter() - start

    total, hits = Counter(), Counter()
    for prompt, c in zip(prompts, results):
        group = "clause" if "," in prompt.split(".")[0] else "no clause"
        total[group] += 1
        for m in MEASURES:
            first = max(c.explain, key=lambda x: getattr(x, m)).word
            hits[m, group] += first in dishes

    report = {"date": datetime.datetime.now().isoformat(timespec="seconds"),
              "prompts": dict(total), "seconds": seconds,
              "dish_ranked_first": {m: {g: hits[m, g] / total[g] for g in total}
                                    for m in MEASURES}}
    print(f"{len(prompts)} prompts explained in {seconds:.1f} s; the dish ranked first by")
    for m in MEASURES:
        figures = ", ".join(f"{g} {hits[m, g] / total[g]:.1%} of {total[g]}" for g in total)
        print(f"  {m:<10} {figures}")
    write_results(report, "explain", a.out)


if __name__ == "__main__":
    main()
