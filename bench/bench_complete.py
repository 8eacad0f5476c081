#!/usr/bin/env python3
"""How fast `rnncli complete` answers, as a pipeline sees it.

1) latency: one prompt, the whole process (Python start-up, imports, loading the model),
   wall-clock, median of --runs;
2) throughput: --prompts prompts piped on stdin, one per line, the whole process; prompts/s.

The model is the bundled demo's, trained first into a temporary folder unless --model names one.
Results go to stdout as a small table and to --out as JSON.

    python bench/bench_complete.py
    python bench/bench_complete.py --model runs/cuisine --prompts 10000 --runs 5
"""

import argparse
import datetime
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from resultfile import write_results

REPO = Path(__file__).resolve().parents[1]
SEED_PROMPT = "My favourite dish is sushi. So, my favourite cuisine is"


def rnncli(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "rnncli", *map(str, args)], check=True,
                          **kwargs)


def timed(args, stdin_text=None):
    start = time.perf_counter()
    proc = rnncli(*args, input=stdin_text, capture_output=True, text=True)
    return time.perf_counter() - start, proc.stdout


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None, help="model folder (default: train the demo)")
    ap.add_argument("--prompts", type=int, default=10_000, help="prompts piped on stdin")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", default=None, help="JSON results file")
    a = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["XDG_STATE_HOME"] = tmp  # keep the user's last-model pointer untouched
        model = a.model
        if model is None:
            print("[bench] training the demo model ...", file=sys.stderr, flush=True)
            model = Path(tmp) / "demo"
            rnncli("train", "--out", model, capture_output=True)

        corpus = (REPO / "corpora" / "cuisine.txt").read_text(encoding="utf-8").splitlines()
        pool = [x[: x.rindex(" cuisine is ") + len(" cuisine is")] for x in corpus
                if " cuisine is " in x]
        prompts = [pool[i % len(pool)] for i in range(a.prompts)]
        stdin_text = "\n".join(prompts) + "\n"

        latency, throughput = [], []
        for _ in range(a.runs):  # alternate, so drifts of the machine touch both alike
            seconds, out = timed(["complete", SEED_PROMPT, "--model", model])
            assert out.strip() == "Japanese", out
            latency.append(seconds)
            seconds, out = timed(["complete", "-", "--model", model], stdin_text)
            assert len(out.splitlines()) == len(prompts)
            throughput.append(len(prompts) / seconds)

    report = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "latency_s": {"median": statistics.median(latency), "runs": latency},
        "prompts": len(prompts),
        "prompts_per_s": {"median": statistics.median(throughput), "runs": throughput},
    }
    print(f"one prompt, whole process: {report['latency_s']['median']:.3f} s wall (median of "
          f"{a.runs})")
    print(f"{len(prompts):,} prompts on stdin: {report['prompts_per_s']['median']:,.0f} "
          f"prompts/s (median of {a.runs})")
    write_results(report, "complete", a.out)


if __name__ == "__main__":
    main()
