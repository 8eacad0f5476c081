#!/usr/bin/env python3
"""Side-by-side training benchmark: rnncli against the PyTorch reference trainer.

For each config (tiny, small, medium, small-lstm on a generated Zipfian corpus of 10,000 words;
wt2-small and wt2-adaptive on WikiText-2, full softmax and adaptive softmax with cutoffs
2000,10000, div 4; big-vocab-adaptive, 267,735 words of a synthetic corpus) it runs rnncli's
worker (bench/rnncli_rnnlm.py) and, when RNNCLI_TORCH_PYTHON names a Python that has torch
(`make bench TORCH=1` builds one in bench/.torchvenv and sets it), the reference
bench/torch_rnnlm.py, alternating them (rnncli, torch, rnncli, torch, ...)
--runs times. Every run is a fresh subprocess; the parent takes each child's peak RSS from
os.wait4, the same measure for both. Once per invocation it also measures numpy's float32
matrix-multiply peak on 2 threads (best of several 2048^3 sgemm), to say how much of the machine
rnncli uses. After training, each rnncli run also scores --eval-tokens tokens of the validation
text forward-only, as `rnncli eval` does, and reports that speed against its training speed.
WikiText-2 is the one `rnncli corpus get wikitext-2` fetches (into the user's cache; fetched
here if missing, from $RNNCLI_CORPUS_MIRROR when set, else from its public source).

Progress goes to stderr, a table of medians over runs to stdout, and everything (every run's
raw result too) to --out, by default bench/results/train-YYYYmmdd-HHMMSS.json.

    python bench/bench_train.py                       # all configs, 3 runs each
    python bench/bench_train.py --configs tiny --runs 1 --max-tokens 20000
    python bench/bench_train.py --smoke               # seconds, rnncli only (for CI)
    python bench/bench_train.py --configs wt2-small,wt2-adaptive   # the output layers
"""

import argparse
import datetime
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from resultfile import results_path

REPO = Path(__file__).resolve().parents[1]
WORKER = REPO / "bench" / "rnncli_rnnlm.py"
REFERENCE = REPO / "bench" / "torch_rnnlm.py"
TORCH_ENV = "RNNCLI_TORCH_PYTHON"
THREADS = 2
COMMON = ["--lr", "1", "--clip", "0.25", "--threads", str(THREADS), "--warmup", "5"]
SMALL = dict(emb=200, hidden=200, batch=20, bptt=35, cell="rnn")
CONFIGS = {  # name: worker flags, default timed tokens, corpus (default: the generated one)
    "tiny": (dict(max_vocab=2000, emb=64, hidden=64, batch=32, bptt=20, cell="rnn"), 200_000),
    "small": (dict(max_vocab=10000, emb=200, hidden=200, batch=20, bptt=35, cell="rnn"),
              60_000),
    "medium": (dict(max_vocab=10000, emb=650, hidden=650, batch=20, bptt=35, cell="rnn"),
               20_000),
    "small-lstm": (dict(max_vocab=10000, emb=200, hidden=200, batch=20, bptt=35, cell="lstm"),
                   60_000),
    "wt2-small": (SMALL, 14_000, "wikitext-2"),  # V = 33,278
    "wt2-adaptive": (SMALL | dict(adaptive="2000,10000"), 70_000, "wikitext-2"),
    "big-vocab-adaptive": (SMALL | dict(adaptive="2000,10000"), 14_000, "big"),
}
BIG_VOCAB = 267735  # WikiText-103's vocabulary size
GEMM_N, GEMM_REPS = 2048, 5


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--configs", default=",".join(CONFIGS),
                    help=f"comma-separated, of {', '.join(CONFIGS)}")
    ap.add_argument("--runs", type=int, default=3, help="runs of each trainer per config")
    ap.add_argument("--max-tokens", type=int, default=None,
                    help="timed tokens per run, all configs (default: per config)")
    ap.add_argument("--corpus", default=None, help="training text (default: generated)")
    ap.add_argument("--valid", default=None, help="validation text (passed to torch, unused)")
    ap.add_argument("--out", default=None, help="JSON results file")
    ap.add_argument("--eval-tokens", type=int, default=30_000,
                    help="validation tokens rnncli scores after training (0: none)")
    ap.add_argument("--smoke", action="store_true",
                    help="tiny only, 2000 tokens, 1 run, no torch, small generated corpus")
    ap.add_argument("--gemm-child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    a.configs = [c.strip() for c in a.configs.split(",") if c.strip()]
    unknown = [c for c in a.configs if c not in CONFIGS]
    if unknown or not a.configs:
        ap.error(f"unknown config(s) {unknown}; choose from {', '.join(CONFIGS)}")
    if a.runs < 1:
        ap.error("--runs must be at least 1")
    if a.smoke:
        a.configs, a.runs, a.max_tokens = ["tiny"], 1, 2000
    return a


class BenchError(Exception):
    pass


# ----------------------------------------------------------------- measuring children
def gemm_child():
    """Runs in a fresh subprocess whose BLAS thread variables are set: sgemm peak + BLAS info."""
    import numpy as np
    rng = np.random.default_rng(0)
    a = rng.random((GEMM_N, GEMM_N), dtype=np.float32)
    b = rng.random((GEMM_N, GEMM_N), dtype=np.float32)
    c = np.empty_like(a)
    np.matmul(a, b, out=c)  # warm-up: threads started, pages touched
    best = float("inf")
    for _ in range(GEMM_REPS):
        t = time.perf_counter()
        np.matmul(a, b, out=c)
        best = min(best, time.perf_counter() - t)
    blas = None
    try:
        dep = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{dep.get('name')} {dep.get('version')}"
    except Exception:  # older numpy: no dict mode
        pass
    print(json.dumps({"gflops": round(2 * GEMM_N ** 3 / best / 1e9, 1), "n": GEMM_N,
                      "reps": GEMM_REPS, "threads": THREADS, "numpy": np.__version__,
                      "blas": blas}))


def thread_env():
    env = dict(os.environ)
    for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[k] = str(THREADS)
    return env


def run_measured(cmd, env=None):
    """Run cmd to the end; returns (exit code, stdout, stderr, peak RSS MB, wall seconds)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=REPO)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return p.returncode, out.read(), err.read(), usage.ru_maxrss / 1024, wall


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError("no JSON line in the output")


def measure_gemm():
    cmd = [sys.executable, str(Path(__file__).resolve()), "--gemm-child"]
    rc, out, err, _, _ = run_measured(cmd, env=thread_env())
    if rc != 0:
        raise BenchError(f"the sgemm peak measurement failed: {err.strip()[-500:]}")
    return last_json(out)


def train_run(impl, python, config, max_tokens, train, valid, eval_tokens=0):
    """One training run in a fresh process; the raw record for the JSON file."""
    flags = CONFIGS[config][0]
    script = WORKER if impl == "rnncli" else REFERENCE
    cmd = [python, str(script), "--train", str(train), "--max-tokens", str(max_tokens)]
    for k, v in flags.items():
        cmd += [f"--{k.replace('_', '-')}", str(v)]
    cmd += COMMON
    if impl == "torch":
        cmd += (["--valid", str(valid)] if valid else []) + ["--no-valid"]
    elif valid and eval_tokens:
        cmd += ["--valid", str(valid), "--eval-tokens", str(eval_tokens)]
    rc, out, err, rss, wall = run_measured(cmd)
    rec = {"config": config, "impl": impl, "rc": rc, "peak_rss_mb": round(rss, 1),
           "wall_s": round(wall, 2), "result": None}
    if rc == 0:
        try:
            rec["result"] = last_json(out)
        except ValueError as e:
            rec["error"] = str(e)
    else:
        rec["error"] = err.strip()[-2000:]
    return rec


# ----------------------------------------------------------------- corpora
def write_smoke_corpus(path, n_tokens=30_000, n_words=3000, seed=1234):
    """A seeded Zipfian corpus, small, for --smoke."""
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(n_words)]
    weights = [1.0 / (r + 1) for r in range(n_words)]
    lines, total = [], 0
    while total < n_tokens:
        n = rng.randint(5, 30)
        lines.append(" ".join(rng.choices(words, weights, k=n)))
        total += n
    Path(path).write_text("\n".join(lines) + "\n")


def write_zipf_corpus(train, valid, n_words, n_tokens, valid_tokens=50_000, seed=1234):
    """A seeded Zipfian corpus (p(word of rank r) ~ 1/r, as in natural text) over n_words words,
    each at least once (the last lines list them all), lines of 5 to 30 words, sampled in one
    vectorised draw. It has no structure beyond word frequency: for timing, where only the
    vocabulary, the token count and the line lengths matter."""
    import numpy as np
    rng = np.random.default_rng(seed)
    cdf = np.cumsum(1.0 / np.arange(1, n_words + 1))
    for path, n in ((train, n_tokens), (valid, valid_tokens)):
        ids = np.searchsorted(cdf, rng.random(n) * cdf[-1])
        if path == train:
            ids = np.concatenate([ids, rng.permutation(n_words)])
        cuts = np.cumsum(rng.integers(5, 31, size=len(ids) // 5 + 1))
        cuts = cuts[cuts < len(ids)]
        with open(path, "w") as f:
            for line in np.split(ids, cuts):
                f.write(" ".join(f"w{i}" for i in line) + "\n")


def default_corpus(folder, big=False):
    """The generated corpus: 1M tokens over 10,000 words; with `big`, 3M tokens over
    BIG_VOCAB words (and <unk>, <eos>)."""
    if big:
        train, valid = Path(folder) / "big.txt", Path(folder) / "big-valid.txt"
        progress(f"generating a synthetic corpus of {BIG_VOCAB:,} words")
        write_zipf_corpus(train, valid, BIG_VOCAB - 2, 3_000_000)
        return train, valid
    train, valid = Path(folder) / "train.txt", Path(folder) / "valid.txt"
    progress("generating the synthetic corpus (1M tokens over 10,000 words)")
    write_zipf_corpus(train, valid, 10_000, 1_000_000)
    return train, valid


def wikitext2():
    """WikiText-2's training and validation files in the user's cache, verified (fetched
    first if they are not there)."""
    from rnncli.errors import DataError
    from rnncli.text.fetch import fetch

    progress("WikiText-2: verifying (or fetching) `rnncli corpus get wikitext-2`'s files")
    try:
        files = {f.path.stem: f.path for f in fetch("wikitext-2")}
    except DataError as e:
        raise BenchError(f"WikiText-2: {e}") from None
    return files["train"], files["valid"]


def config_corpus(config, a, workdir, cache):
    """(train, valid) for a config: WikiText-2, the big-vocabulary corpus, or the default."""
    kind = CONFIGS[config][2] if len(CONFIGS[config]) > 2 else None
    if kind == "wikitext-2":
        if "wikitext-2" not in cache:
            cache["wikitext-2"] = wikitext2()
        return cache["wikitext-2"]
    if kind == "big":
        if "big" not in cache:
            cache["big"] = default_corpus(workdir, big=True)
        return cache["big"]
    return cache["default"]


# ----------------------------------------------------------------- report
def machine_info():
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version()}


def median_of(records, key):
    return statistics.median(r["result"][key] for r in records)


def summarize(runs, configs, peak):
    """Medians over the successful runs of each trainer, per config."""
    summary = {}
    for c in configs:
        s = {}
        for impl in ("rnncli", "torch"):
            ok = [r for r in runs if r["config"] == c and r["impl"] == impl and r["result"]]
            s[impl] = None if not ok else {
                "tokens_per_s": median_of(ok, "tokens_per_s"),
                "gflops": (median_of(ok, "gflops")
                           if all(r["result"].get("gflops") for r in ok) else None),
                "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in ok),
                "runs": len(ok)}
            if impl == "rnncli" and ok and all(r["result"].get("eval_speedup") for r in ok):
                s[impl]["eval_tokens_per_s"] = median_of(ok, "eval_tokens_per_s")
                s[impl]["eval_speedup"] = median_of(ok, "eval_speedup")
        ours, ref = s["rnncli"], s["torch"]
        s["ratio"] = (round(ours["tokens_per_s"] / ref["tokens_per_s"], 3)
                      if ours and ref and ref["tokens_per_s"] else None)
        # run i of each trainer ran back to back: the median of their ratios follows the
        # machine's drift from run to run, which the ratio of the medians does not
        mine, theirs = ([r["result"] for r in runs if r["config"] == c and r["impl"] == impl]
                        for impl in ("rnncli", "torch"))
        ratios = [a["tokens_per_s"] / b["tokens_per_s"] for a, b in zip(mine, theirs)
                  if a and b and b["tokens_per_s"]]
        s["pair_ratio"] = round(statistics.median(ratios), 3) if ratios else None
        s["peak_share_pct"] = (round(100 * ours["gflops"] / peak, 1)
                               if ours and ours["gflops"] and peak else None)
        summary[c] = s
    full, ada = summary.get("wt2-small"), summary.get("wt2-adaptive")
    if full and ada and full["rnncli"] and ada["rnncli"]:  # the factorised layer's gain
        ada["over_full_softmax"] = round(ada["rnncli"]["tokens_per_s"] /
                                         full["rnncli"]["tokens_per_s"], 2)
    return summary


def fmt(v, width, spec):
    return ("-" if v is None else format(v, spec)).rjust(width)


def print_table(report):
    m, g = report["machine"], report["gemm_peak"]
    print(f"# {report['date']}  {m['cpu']}, {m['cores']} cores  numpy {g['numpy']} "
          f"({g['blas'] or 'BLAS unknown'})  sgemm peak {g['gflops']:.1f} GFLOP/s "
          f"({THREADS} threads)  torch {report['torch'] or 'not run'}")
    print(f"{'config':18} {'rnncli tok/s':>13} {'torch tok/s':>12} {'ratio':>6} {'pairs':>6} "
          f"{'GFLOP/s':>8} {'% peak':>7} {'rnncli MB':>10} {'torch MB':>9} "
          f"{'eval tok/s':>11} {'eval/train':>10}")
    for c, s in report["summary"].items():
        ours, ref = s["rnncli"] or {}, s["torch"] or {}
        print(f"{c:18} {fmt(ours.get('tokens_per_s'), 13, ',.0f')} "
              f"{fmt(ref.get('tokens_per_s'), 12, ',.0f')} {fmt(s['ratio'], 6, '.2f')} "
              f"{fmt(s['pair_ratio'], 6, '.2f')} {fmt(ours.get('gflops'), 8, '.1f')} "
              f"{fmt(s['peak_share_pct'], 7, '.1f')} "
              f"{fmt(ours.get('peak_rss_mb'), 10, '.0f')} {fmt(ref.get('peak_rss_mb'), 9, '.0f')} "
              f"{fmt(ours.get('eval_tokens_per_s'), 11, ',.0f')} "
              f"{fmt(ours.get('eval_speedup'), 10, '.2f')}")
    if "over_full_softmax" in report["summary"].get("wt2-adaptive", {}):
        print(f"wt2-adaptive / wt2-small (rnncli, adaptive over full softmax): "
              f"{report['summary']['wt2-adaptive']['over_full_softmax']:.2f}x")


def progress(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------- main
def run_all(a, workdir):
    torch_python = os.environ.get(TORCH_ENV) or None
    if torch_python and a.smoke:
        progress(f"--smoke: running rnncli only ({TORCH_ENV} ignored)")
        torch_python = None
    elif not torch_python:
        progress(f"{TORCH_ENV} not set: running rnncli only")
    if torch_python:
        if not Path(torch_python).exists():
            raise BenchError(f"{TORCH_ENV}={torch_python}: no such file")

    if a.smoke:
        train, valid = Path(workdir) / "smoke.txt", None
        write_smoke_corpus(train)
        corpus_desc = "generated: 30k-token Zipfian smoke corpus"
    elif a.corpus:
        train, valid = Path(a.corpus), Path(a.valid) if a.valid else None
        if not train.exists():
            raise BenchError(f"{train}: no such corpus file")
        corpus_desc = str(a.corpus)
    elif any(len(CONFIGS[c]) < 3 for c in a.configs):
        train, valid = default_corpus(workdir)
        corpus_desc = "generated: Zipfian, 1M tokens over 10,000 words (50k validation)"
    else:
        train = valid = None
        corpus_desc = "per config"
    corpora = {"default": (train, valid)}

    progress(f"measuring the float32 sgemm peak ({GEMM_N}^3, {THREADS} threads)")
    peak = measure_gemm()
    progress(f"sgemm peak {peak['gflops']:.1f} GFLOP/s")

    runs = []
    impls = ["rnncli"] + (["torch"] if torch_python else [])
    for c in a.configs:
        max_tokens = a.max_tokens or CONFIGS[c][1]
        c_train, c_valid = (corpora["default"] if a.smoke or a.corpus
                            else config_corpus(c, a, workdir, corpora))
        for i in range(a.runs):
            for impl in impls:
                python = sys.executable if impl == "rnncli" else torch_python
                rec = train_run(impl, python, c, max_tokens, c_train, c_valid, a.eval_tokens)
                rec["run"] = i + 1
                runs.append(rec)
                r = rec["result"]
                if r:
                    ev = (f", eval {r['eval_tokens_per_s']:,.0f} tok/s"
                          if r.get("eval_tokens_per_s") else "")
                    progress(f"{c} run {i + 1}/{a.runs} {impl:6}: {r['tokens_per_s']:,.0f} "
                             f"tok/s, {r['seconds']:.1f} s timed, "
                             f"RSS {rec['peak_rss_mb']:.0f} MB{ev}")
                else:
                    progress(f"{c} run {i + 1}/{a.runs} {impl}: FAILED (exit {rec['rc']}): "
                             f"{rec.get('error', '')[-300:]}")

    torch_version = next((r["result"].get("torch") for r in runs
                          if r["impl"] == "torch" and r["result"]), None)
    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": machine_info(),
        "gemm_peak": peak,
        "torch": torch_version,
        "settings": {"configs": a.configs, "runs": a.runs, "max_tokens": a.max_tokens,
                     "corpus": corpus_desc, "smoke": a.smoke, "threads": THREADS,
                     "common_flags": COMMON,
                     "config_flags": {c: CONFIGS[c][0] for c in a.configs}},
        "summary": summarize(runs, a.configs, peak["gflops"]),
        "runs": runs,
    }


def main(argv=None):
    a = parse_args(argv)
    if a.gemm_child:
        gemm_child()
        return 0
    out = results_path("train", a.out)
    try:
        with tempfile.TemporaryDirectory(prefix="rnncli-bench-") as workdir:
            report = run_all(a, workdir)
    except (BenchError, subprocess.CalledProcessError) as e:
        print(f"Error: {e}", file=sys.stderr)
        return 1
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n")
    print_table(report)
    progress(f"results written to {out}")
    failed = [r for r in report["runs"] if not r["result"]]
    if failed:
        print(f"Error: {len(failed)} run(s) failed; see {out}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
