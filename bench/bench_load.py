#!/usr/bin/env python3
"""How fast rnncli reads a large corpus, and in how much memory.

Writes a seeded synthetic corpus of --tokens words (Zipfian over 10,000 pseudo-words, 20 words a
line) into a temporary folder, then, in a fresh process, runs what `rnncli train` does before
the first step: prepare() (count lines, count tokens, encode them into int32 ids) and batchify().
Prints tokens/s of tokenising and loading and the child's peak RSS (from wait4), and writes JSON.

    python bench/bench_load.py                      # 100 million tokens (a few minutes)
    python bench/bench_load.py --tokens 5000000
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from resultfile import write_results

REPO = Path(__file__).resolve().parents[1]

CHILD = """
import sys, time, json
sys.path.insert(0, sys.argv[2])
from rnncli.config.schema import load_config
from rnncli.text.corpus import batchify
from rnncli.train.loop import prepare
start = time.perf_counter()
corpus = prepare(load_config(sys.argv[1]))
data = batchify(corpus.train_ids, 20)
print(json.dumps({"seconds": time.perf_counter() - start, "train_tokens": len(corpus.train_ids),
                  "valid_tokens": len(corpus.valid_ids), "vocab": len(corpus.vocab)}))
"""


def write_corpus(path: Path, n_tokens: int, seed: int = 1234, words_per_line: int = 20) -> None:
    import numpy as np
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    words = sorted({"".join(rng.choice(letters, 2 + rng.poisson(3))) for _ in range(12000)})
    words = np.array(words[:10000])
    p = 1.0 / np.arange(1, len(words) + 1)
    p /= p.sum()
    with open(path, "w", encoding="utf-8") as f:
        done = 0
        while done < n_tokens:
            n = min(10_000_000, n_tokens - done)
            n -= n % words_per_line or 0
            n = max(n, words_per_line)
            ids = rng.choice(len(words), size=n, p=p).reshape(-1, words_per_line)
            f.write("\n".join(" ".join(row) for row in words[ids]) + "\n")
            done += n


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tokens", type=int, default=100_000_000)
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        corpus, config = Path(tmp) / "corpus.txt", Path(tmp) / "c.yaml"
        print(f"[bench] writing {a.tokens:,} tokens ...", file=sys.stderr, flush=True)
        write_corpus(corpus, a.tokens)
        config.write_text("data: {train: corpus.txt, valid_fraction: 0.01}\n"
                          "train: {batch_size: 20, bptt: 35}\n")
        print("[bench] loading ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", CHILD, str(config), str(REPO)],
                                stdout=subprocess.PIPE, text=True)
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        if status != 0:
            sys.exit(f"Error: the loading process failed (status {status})")
        result = json.loads(out.splitlines()[-1])
        size = corpus.stat().st_size
    result.update({"date": datetime.datetime.now().isoformat(timespec="seconds"),
                   "corpus_bytes": size, "wall_s": wall,
                   "peak_rss_mb": usage.ru_maxrss / 1024,
                   "tokens_per_s": result["train_tokens"] / result["seconds"]})
    print(f"{result['train_tokens']:,} training tokens ({size / 2**20:,.0f} MiB of text): "
          f"{result['seconds']:.1f} s to tokenise and load, {result['tokens_per_s']:,.0f} "
          f"tokens/s, peak RSS {result['peak_rss_mb']:,.0f} MiB")
    write_results(result, "load", a.out)


if __name__ == "__main__":
    main()
