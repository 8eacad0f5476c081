#!/usr/bin/env python3
"""Data-parallel training on MPI ranks: what it costs on one machine.

Three ways to train the same model on the same windows, alternated --runs times, each a fresh
job:
    1 rank     one process, 1 BLAS thread
    2 ranks    mpiexec -n 2, 1 BLAS thread each: the streams dealt out, one all-reduce a window
    1 proc     one process, 2 BLAS threads (and 2 row-block threads)

For each: training tokens/s (the windows after the first few, timed on rank 0), and for 2 ranks
the time per window spent in the all-reduce as training sees it (waiting for the other rank
included), and the all-reduce alone (the same buffer summed 20 times with the ranks in step).
The buffer's size and the compute per window are what the scaling estimate (docs/distributed.md)
starts from.

    python bench/bench_mpi.py                 # small config (V 10,000, E = H = 200), 3 runs
    python bench/bench_mpi.py --runs 1 --windows 10
"""

import argparse
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

HERE = Path(__file__).resolve()
MPIEXEC = Path(sys.executable).parent / "mpiexec"
WARMUP = 3  # windows not timed
ARMS = {"1 rank, 1 thread": (1, 1), "2 ranks, 1 thread each": (2, 1), "1 proc, 2 threads": (1, 2)}


def worker(corpus: str, windows: int) -> None:
    """One job's training, timed; rank 0 prints one JSON line."""
    import numpy as np

    from rnncli.config.schema import config_from_dict
    from rnncli.train import distributed
    from rnncli.train.loop import Silent, train

    comm = distributed.world()
    B, T = 20, 35
    config = config_from_dict({
        "data": {"train": [corpus], "valid_fraction": 0.002, "max_vocab": 10000},
        "model": {"cell": "rnn", "embedding": 200, "hidden": 200},
        "train": {"epochs": 1, "batch_size": B, "bptt": T, "lr": 1.0, "clip": 0.25}})
    steps: list[tuple[float, float]] = []  # (time, seconds waited in collectives so far)

    class Clock(Silent):
        def step(self, epoch, window, loss, tokens):
            steps.append((time.perf_counter(), getattr(comm, "seconds", 0.0)))

    saved = train(config, Clock(), comm=comm)
    n_params = sum(p.size for p in saved.model.params.values())
    timed = steps[WARMUP: WARMUP + windows + 1]
    seconds = timed[-1][0] - timed[0][0]
    result = {"ranks": comm.size, "windows": len(timed) - 1, "V": saved.model.V,
              "params": n_params, "bytes_per_allreduce": 4 * (n_params + 3),
              "tokens_per_s": (len(timed) - 1) * B * T / seconds,
              "seconds_per_window": seconds / (len(timed) - 1),
              "wait_per_window_s": (timed[-1][1] - timed[0][1]) / (len(timed) - 1)}
    if comm.size > 1:  # the all-reduce alone, the ranks in step
        buf = np.ones(n_params + 3, dtype=np.float32)
        alone = []
        for _ in range(20):
            comm.allreduce(np.zeros(1))  # line the ranks up
            start = time.perf_counter()
            comm.allreduce(buf)
            alone.append(time.perf_counter() - start)
        result["allreduce_alone_s"] = statistics.median(alone)
    if comm.rank == 0:
        print(json.dumps(result), flush=True)


# --- what it would give on a cluster: a model, not a measurement -------------------------------
NETWORKS = {"10 Gbit/s": (10e9 / 8, 50e-6), "100 Gbit/s": (100e9 / 8, 2e-6)}  # bytes/s, latency
CLUSTER_B, CLUSTER_T = 64, 35  # a global batch that 64 ranks can share


def estimate(med: dict) -> list[str]:
    """Time per window on N ranks: compute / N + ring all-reduce, 2 (N - 1) / N * bytes /
    bandwidth + 2 (N - 1) * latency, from this machine's compute per token (1 rank, 1 thread)
    and the measured buffer; the window is CLUSTER_B x CLUSTER_T tokens."""
    one = med["1 rank, 1 thread"]
    per_token = one["seconds_per_window"] / (20 * 35)  # s of one core per token
    compute = per_token * CLUSTER_B * CLUSTER_T  # s per window on one rank
    nbytes = one["bytes_per_allreduce"]
    lines = [f"estimate: window {CLUSTER_B} x {CLUSTER_T}, compute {compute:.3f} s on one "
             f"rank, all-reduce {nbytes / 1e6:.1f} MB",
             "| network | N | compute / N | all-reduce | s / window | speed-up | efficiency |",
             "|---|---|---|---|---|---|---|"]
    stops = []
    for net, (bandwidth, latency) in NETWORKS.items():
        def ring(n, bandwidth=bandwidth, latency=latency):
            return 2 * (n - 1) / n * nbytes / bandwidth + 2 * (n - 1) * latency
        for n in (8, 64):
            t = compute / n + ring(n)
            lines.append(f"| {net} | {n} | {compute / n * 1e3:.1f} ms | {ring(n) * 1e3:.1f} ms "
                         f"| {t * 1e3:.1f} ms | {compute / t:.1f} | {compute / t / n:.0%} |")
        # past N = B a rank would hold less than one stream; the model ignores that a rank's
        # products get less efficient as its share of the streams shrinks
        half = next((n for n in range(2, 100_000) if compute / n < ring(n)), None)
        stops.append(f"{net}: the all-reduce outweighs the compute from N = {half} ranks "
                     "(efficiency below 50%)" + (f", beyond the {CLUSTER_B} ranks a window of "
                                                  f"{CLUSTER_B} streams allows"
                                                  if half > CLUSTER_B else ""))
    return lines + stops


def run_arm(ranks: int, threads: int, corpus: Path, windows: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads),
           "MKL_NUM_THREADS": str(threads), "RNNCLI_THREADS": str(threads)}
    cmd = [sys.executable, str(HERE), "--worker", str(corpus), "--windows", str(windows)]
    if ranks > 1:
        cmd = [str(MPIEXEC), "-n", str(ranks), *cmd]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"[bench] {' '.join(cmd)} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="runs of each arm, alternated")
    ap.add_argument("--windows", type=int, default=30, help="timed windows per run")
    ap.add_argument("--out", default=None, help="results file (default: bench/results/)")
    ap.add_argument("--estimate", metavar="RESULTS", help="only the cluster estimate, from "
                    "the results file of an earlier run")
    ap.add_argument("--worker", metavar="CORPUS", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        return worker(a.worker, a.windows)
    if a.estimate:
        print("\n".join(estimate(json.loads(Path(a.estimate).read_text())["medians"])))
        return
    if not MPIEXEC.exists():
        sys.exit("[bench] no mpiexec beside this Python: pip install '.[mpi]'")
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus.txt"
        n_tokens = (a.windows + WARMUP + 2) * 20 * 35
        write_smoke_corpus(corpus, n_tokens=n_tokens, n_words=10000)
        every = [f"w{i}" for i in range(10000)]  # each word once: the vocabulary is 10,000
        with corpus.open("a") as f:
            f.writelines(" ".join(every[i: i + 20]) + "\n" for i in range(0, 10000, 20))
        runs: dict[str, list[dict]] = {arm: [] for arm in ARMS}
        for r in range(a.runs):
            for arm, (ranks, threads) in ARMS.items():
                res = run_arm(ranks, threads, corpus, a.windows)
                runs[arm].append(res)
                print(f"[bench] run {r + 1}/{a.runs} {arm}: {res['tokens_per_s']:,.0f} tok/s",
                      file=sys.stderr)
    med = {arm: {k: statistics.median(x[k] for x in rs) for k in rs[0]}
           for arm, rs in runs.items()}
    first = next(iter(med.values()))
    print(f"V {int(first['V']):,}, {int(first['params']):,} parameters: "
          f"{first['bytes_per_allreduce'] / 2**20:.1f} MiB summed per window; "
          f"medians of {a.runs} alternating runs, {a.windows} windows of 20 x 35 each")
    print("| arm | tok/s | s / window | all-reduce wait / window | all-reduce alone |")
    print("|---|---|---|---|---|")
    for arm, m in med.items():
        wait = f"{m['wait_per_window_s'] * 1e3:.1f} ms" if m["ranks"] > 1 else "-"
        alone = f"{m['allreduce_alone_s'] * 1e3:.1f} ms" if "allreduce_alone_s" in m else "-"
        print(f"| {arm} | {m['tokens_per_s']:,.0f} | {m['seconds_per_window']:.3f} | {wait} "
              f"| {alone} |")
    for line in estimate(med):
        print(line)
    write_results({"machine": machine_info(), "medians": med, "runs": runs}, "mpi", a.out)


if __name__ == "__main__":
    main()
