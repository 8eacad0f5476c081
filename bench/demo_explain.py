#!/usr/bin/env python3
"""How often `complete --explain` names the dish as the reason for the demo's cuisine.

Completes every distinct corpus prompt "My favourite dish is DISH[, clause]. So, my favourite
cuisine is" with --explain and counts, among the prompts the model completes correctly (with a
cuisine the corpus gives that prompt), how often each measure (the score, the plain replacement
drop, the integrated gradient x input share, and for comparison the plain gradient's norm) ranks
the dish first: for the prompts with no clause between the dish and the sentence's end, and for
those with one. Uses the demo model in --model, or trains it first.

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

from rnncli.config.schema import load_config  # noqa: E402
from rnncli.demo.make_cuisine import CUISINES  # noqa: E402
from rnncli.infer.predict import complete  # noqa: E402
from rnncli.store import model_folder  # noqa: E402
from rnncli.train.loop import train  # noqa: E402

MEASURES = ("score", "drop", "share", "grad_norm")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None, help="model folder (default: train the demo)")
    ap.add_argument("--out", default=None, help="JSON results file")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        if a.model is None:
            print("[bench] training the demo model ...", file=sys.stderr, flush=True)
            trained = train(load_config(REPO / "configs" / "cuisine.yaml"))
            saved = model_folder.load(model_folder.save(trained, Path(tmp) / "demo"))
        else:
            saved = model_folder.load(a.model)

    dishes = {d for ds in CUISINES.values() for d in ds}
    lines = (REPO / "corpora" / "cuisine.txt").read_text(encoding="utf-8").splitlines()
    answers: dict[str, set[str]] = {}  # prompt -> the cuisines the corpus completes it with
    for x in lines:
        if x.startswith("My favourite dish is") and " cuisine is " in x:
            cut = x.rindex(" cuisine is ") + len(" cuisine is")
            answers.setdefault(x[:cut], set()).add(x[cut:].split()[0].rstrip("."))
    prompts = sorted(answers)
    start = time.perf_counter()
    results = complete(saved, prompts, explain=True)
    seconds = time.perf_counter() - start

    total, hits, wrong = Counter(), Counter(), 0
    for prompt, c in zip(prompts, results):
        if c.explained not in answers[prompt]:
            wrong += 1  # nothing right to explain
            continue
        group = "clause" if "," in prompt.split(".")[0] else "no clause"
        total[group] += 1
        for m in MEASURES:
            first = max(c.explain, key=lambda x: getattr(x, m)).word
            hits[m, group] += first in dishes

    report = {"date": datetime.datetime.now().isoformat(timespec="seconds"),
              "prompts": dict(total), "completed_wrongly": wrong, "seconds": seconds,
              "dish_ranked_first": {m: {g: hits[m, g] / total[g] for g in total}
                                    for m in MEASURES}}
    print(f"{len(prompts)} prompts explained in {seconds:.1f} s, {wrong} completed wrongly; "
          "among the others the dish ranked first by")
    for m in MEASURES:
        figures = ", ".join(f"{g} {hits[m, g] / total[g]:.1%} of {total[g]}" for g in total)
        print(f"  {m:<10} {figures}")
    write_results(report, "explain", a.out)


if __name__ == "__main__":
    main()
