#!/usr/bin/env python3
"""Threads on a busy machine: `rnncli train` with train.threads auto (the default) against fixed
counts, alternating runs, the median of each.

Two trainings: the demo's (configs/cuisine.yaml, --epochs epochs) and a small vanilla RNN (V 2,000,
E = H = 64, batch 32 x bptt 20, 100,000 tokens of a generated Zipfian corpus, one epoch). Each is
run under two conditions:

    busy  --hogs CPU-bound processes (`python -c "while True: pass"`, default: as many as the
          cores) run beside it: auto is compared with 1 thread
    idle  nothing of the benchmark's runs beside it: auto is compared with every core

Every run is a fresh `rnncli train` process with RNNCLI_THREADS and the BLAS thread variables
removed from its environment; the figure is the training's own tokens/s (the model's history:
tokens over seconds of training, start-up and reading not counted) and the process's wall time.
The load average is printed beside every figure: on a machine that others use too, "idle" is
only as idle as they leave it, and the report says so.

    python bench/bench_threads.py                  # both trainings, busy and idle, 3 runs each
    python bench/bench_threads.py --only busy --runs 5 --trainings small
"""

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_train import machine_info, write_smoke_corpus
from resultfile import write_results

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "configs" / "cuisine.yaml"
SMALL = ("data: {{train: {corpus}, valid_fraction: 0, tokenizer: whitespace, max_vocab: 2000}}\n"
         "model: {{embedding: 64, hidden: 64}}\n"
         "train: {{epochs: 1, batch_size: 32, bptt: 20, lr: 1.0, clip: 0.25}}\n")
THREAD_ENV = ("RNNCLI_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="runs of each setting")
    ap.add_argument("--hogs", type=int, default=os.cpu_count() or 2,
                    help="CPU-bound processes beside the busy runs")
    ap.add_argument("--only", choices=["busy", "idle"], default=None)
    ap.add_argument("--trainings", default="demo,small", help="demo, small or both")
    ap.add_argument("--epochs", type=int, default=3, help="the demo's epochs")
    ap.add_argument("--out", default=None, help="JSON results file")
    a = ap.parse_args(argv)
    a.trainings = [t.strip() for t in a.trainings.split(",") if t.strip()]
    if not set(a.trainings) <= {"demo", "small"} or a.runs < 1:
        ap.error("--trainings takes demo and/or small; --runs at least 1")
    return a


def progress(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def train_once(config: Path, sets: list[str], threads: str, workdir: Path) -> dict:
    """One `rnncli train` in a fresh process: training tokens/s, wall seconds, the load."""
    env = {k: v for k, v in os.environ.items() if k not in THREAD_ENV}
    env["XDG_STATE_HOME"] = str(workdir / "state")  # not the user's last-model pointer
    out = workdir / "model"
    cmd = [sys.executable, "-m", "rnncli", "train", str(config), "--out", str(out),
           *[x for s in [*sets, f"train.threads={threads}"] for x in ("--set", s)]]
    before = os.getloadavg()[0]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, cwd=workdir, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{p.stderr[-2000:]}")
    history = json.loads((out / "model.json").read_text())["history"]
    seconds = sum(r["seconds"] for r in history)
    tokens = sum(r["tokens_per_s"] * r["seconds"] for r in history)
    return {"threads": threads, "chosen": [r.get("threads") for r in history],
            "tokens_per_s": round(tokens / seconds, 1),
            "train_s": round(seconds, 2), "wall_s": round(wall, 2),
            "load_before": round(before, 2), "load_after": round(os.getloadavg()[0], 2)}


def compare(name, config, sets, settings, runs, workdir) -> dict:
    """Alternating runs of each setting, the order turned round every other run (A B B A ...)
    so that a load that rises or falls through the runs favours neither; medians."""
    records = {s: [] for s in settings}
    for i in range(runs):
        for s in settings if i % 2 == 0 else settings[::-1]:
            r = train_once(config, sets, s, workdir)
            records[s].append(r)
            progress(f"{name} threads={s:4} run {i + 1}/{runs}: {r['tokens_per_s']:>10,.0f} "
                     f"tok/s, train {r['train_s']:.1f} s, wall {r['wall_s']:.1f} s, "
                     f"{load()}")
    return {s: {"tokens_per_s": statistics.median(r["tokens_per_s"] for r in rs),
                "train_s": statistics.median(r["train_s"] for r in rs),
                "wall_s": statistics.median(r["wall_s"] for r in rs),
                "load": statistics.median(r["load_before"] for r in rs), "runs": rs}
            for s, rs in records.items()}


def main(argv=None):
    a = parse_args(argv)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    report = {"date": datetime.datetime.now().isoformat(timespec="seconds"),
              "machine": machine_info(), "settings": vars(a), "results": {}}
    with tempfile.TemporaryDirectory(prefix="rnncli-threads-") as tmp:
        workdir = Path(tmp)
        corpus = workdir / "small.txt"
        write_smoke_corpus(corpus, n_tokens=100_000, n_words=2000)
        (workdir / "small.yaml").write_text(SMALL.format(corpus=corpus))
        trainings = {"demo": (DEMO, [f"train.epochs={a.epochs}"]),
                     "small": (workdir / "small.yaml", [])}
        for condition in ("busy", "idle"):
            if a.only and condition != a.only:
                continue
            hogs = []
            if condition == "busy":
                hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                        for _ in range(a.hogs)]
                time.sleep(1.0)
            try:
                settings = ["auto", "1"] if condition == "busy" else ["auto", str(cores)]
                for t in a.trainings:
                    config, sets = trainings[t]
                    report["results"][f"{t}/{condition}"] = compare(
                        f"{t}/{condition}", config, sets, settings, a.runs, workdir)
            finally:
                for h in hogs:
                    h.kill()
                    h.wait()
    print(f"# {report['date']}  {report['machine']['cpu']}, {cores} cores; busy: {a.hogs} "
          "CPU-bound processes beside each run")
    print(f"{'training/condition':20} {'threads':>8} {'tok/s':>10} {'train s':>8} "
          f"{'wall s':>7} {'load':>6} {'auto/fixed':>10}")
    for key, res in report["results"].items():
        auto = res["auto"]["tokens_per_s"]
        for s, r in res.items():
            ratio = "" if s == "auto" else f"{auto / r['tokens_per_s']:.2f}"
            print(f"{key:20} {s:>8} {r['tokens_per_s']:>10,.0f} {r['train_s']:>8.1f} "
                  f"{r['wall_s']:>7.1f} {r['load']:>6.2f} {ratio:>10}")
    write_results(report, "threads", a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
