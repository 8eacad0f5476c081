#!/usr/bin/env python3
"""How fast `rnncli complete` answers, as a pipeline sees it.

1) latency: one prompt, the whole process (Python start-up, imports, loading the model),
   wall-clock, median of --runs;
2) throughput: --prompts prompts piped on stdin, one per line, the whole process; prompts/s,
   for each decoding strategy (greedy, sampling, beam search with 4 beams), completing one
   word (the default) and completing to the end of the line (--until eos);
3) memory on a long stream: the peak resident memory of `rnncli complete -` answering
   --prompts and 10 x --prompts prompts, streamed in and read out as it goes: it should not
   grow with the length of the input.

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
import threading
import time
from pathlib import Path

from resultfile import write_results

REPO = Path(__file__).resolve().parents[1]
SEED_PROMPT = "My favourite dish is sushi. So, my favourite cuisine is"
MODES = {  # strategy: its arguments to `rnncli complete -`
    "greedy": [],
    "sampling": ["--sample", "--seed", "1"],
    "beam 4": ["--beam", "4"],
    "greedy, to eos": ["--until", "eos"],
    "sampling, to eos": ["--until", "eos", "--sample", "--seed", "1"],
    "beam 4, to eos": ["--until", "eos", "--beam", "4"],
}


def rnncli(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "rnncli", *map(str, args)], check=True,
                          **kwargs)


def timed(args, stdin_text=None):
    start = time.perf_counter()
    proc = rnncli(*args, input=stdin_text, capture_output=True, text=True)
    return time.perf_counter() - start, proc.stdout


def peak_rss_mb(args, prompts, repeat):
    """Stream `prompts` `repeat` times into `rnncli complete -`, read its answers as they come,
    and return its peak resident memory (MiB) and how many lines it answered."""
    proc = subprocess.Popen([sys.executable, "-m", "rnncli", *map(str, args)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    answered = 0

    def reader():
        nonlocal answered
        for _ in proc.stdout:
            answered += 1

    thread = threading.Thread(target=reader)
    thread.start()
    block = ("\n".join(prompts) + "\n").encode()
    for _ in range(repeat):
        proc.stdin.write(block)
    proc.stdin.close()
    thread.join()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0
    return usage.ru_maxrss / 1024, answered


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

        latency = []
        throughput: dict[str, list[float]] = {name: [] for name in MODES}
        for _ in range(a.runs):  # alternate, so drifts of the machine touch all alike
            seconds, out = timed(["complete", SEED_PROMPT, "--model", model])
            assert out.strip() == "Japanese", out
            latency.append(seconds)
            for name, args in MODES.items():
                seconds, out = timed(["complete", "-", "--model", model, *args], stdin_text)
                assert len(out.splitlines()) == len(prompts)
                throughput[name].append(len(prompts) / seconds)

        rss = {}
        for repeat in (1, 10):
            mb, answered = peak_rss_mb(["complete", "-", "--model", model], prompts, repeat)
            assert answered == repeat * len(prompts)
            rss[answered] = mb

    report = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "latency_s": {"median": statistics.median(latency), "runs": latency},
        "prompts": len(prompts),
        "prompts_per_s": {name: {"args": " ".join(MODES[name]),
                                 "median": statistics.median(runs), "runs": runs}
                          for name, runs in throughput.items()},
        "peak_rss_mb_by_prompts": rss,
    }
    print(f"one prompt, whole process: {report['latency_s']['median']:.3f} s wall (median of "
          f"{a.runs})")
    print(f"{len(prompts):,} prompts on stdin, whole process, prompts/s (median of {a.runs}):")
    for name, r in report["prompts_per_s"].items():
        print(f"  {name:<18} {r['median']:>8,.0f}   rnncli complete - {r['args']}".rstrip())
    print("peak memory of a stream, greedy: " + ", ".join(
        f"{n:,} prompts {mb:.0f} MiB" for n, mb in rss.items()))
    write_results(report, "complete", a.out)


if __name__ == "__main__":
    main()
