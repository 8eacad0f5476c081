#!/usr/bin/env python3
"""rnncli's side of the training benchmark: the worker that mirrors bench/torch_rnnlm.py.

It takes the same command line (the subset that applies to rnncli: one vanilla tanh RNN layer)
and follows the same data recipe: whitespace tokens (`line.split()`), `<eos>` after every line,
a vocabulary from the training file capped at --max-vocab types (specials included, the rest
`<unk>`), --batch parallel streams, truncated BPTT windows of --bptt steps with the hidden state
carried from window to window and across lines (no reset at `<eos>`), one pass over the data.

The training step is rnncli's own: `RNNLM.loss_and_grads` + `clip_global_norm` + `sgd_step`.
Only that step is timed, after --warmup untimed windows, until --max-tokens timed target tokens
(0: the whole pass). The last line on stdout is JSON, with the same core fields as the
reference's (`tokens_per_s`, `train_tokens`, `seconds`, `flops_per_token`, `gflops`, ...).
`--adaptive 2000,10000` trains with rnncli's adaptive softmax (div_value 4), as the reference's
flag does with PyTorch's. With --valid, the validation text is then scored by
`rnncli.infer.evaluate.evaluate` exactly as `rnncli eval` scores it (32 streams, 32 steps), timed:
`valid_ppl`, `eval_tokens_per_s`, and `eval_speedup` (eval over training tokens/s).

    python bench/rnncli_rnnlm.py --train TRAIN --max-vocab 10000 --emb 200 --hidden 200 \\
        --batch 20 --bptt 35 --lr 1 --clip 0.25 --max-tokens 60000 --warmup 5 --threads 2
"""

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

THREAD_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--train", required=True)
    ap.add_argument("--valid", default=None, help="report valid ppl after training (untimed)")
    ap.add_argument("--max-vocab", type=int, default=0, help="0 = no cap")
    ap.add_argument("--emb", type=int, default=200)
    ap.add_argument("--hidden", type=int, default=200)
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--bptt", type=int, default=35)
    ap.add_argument("--lr", type=float, default=1.0)
    ap.add_argument("--clip", type=float, default=5.0, help="<=0: no clipping")
    ap.add_argument("--max-tokens", type=int, default=0,
                    help="stop after this many TIMED training tokens (0 = one full pass)")
    ap.add_argument("--warmup", type=int, default=5, help="untimed warm-up windows")
    ap.add_argument("--threads", type=int, default=0, help="BLAS threads; 0 = BLAS default")
    ap.add_argument("--seed", type=int, default=1111)
    ap.add_argument("--cell", choices=["rnn", "lstm", "gru"], default="rnn")
    ap.add_argument("--adaptive", default="", help="cutoffs, e.g. 2000,10000: adaptive softmax")
    ap.add_argument("--eval-tokens", type=int, default=0,
                    help="score only the first this many validation tokens (0: all)")
    ap.add_argument("--eval-accuracy", choices=["auto", "on", "off"], default="auto",
                    help="count top-1/top-5 as `rnncli eval` does by default (auto: with the "
                    "full softmax only), always, or never")
    return ap.parse_args(argv)


def read_tokens(path):
    """Whitespace tokens with <eos> after every line, exactly as the reference reads them."""
    toks = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            toks.extend(line.split())
            toks.append("<eos>")
    return toks


def main(argv=None):
    a = parse_args(argv)
    if a.threads > 0:  # BLAS reads these once, when numpy loads it
        for k in THREAD_ENV:
            os.environ[k] = str(a.threads)
    # this checkout's rnncli, whatever is installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from rnncli.nn.blas import short_spin
    short_spin()  # as the command line does, before NumPy loads OpenBLAS
    import numpy as np

    from rnncli.nn.model import RNNLM
    from rnncli.text.corpus import batchify, windows
    from rnncli.text.vocab import Vocab
    from rnncli.train.sgd import clip_global_norm, sgd_step

    # ---- data (not timed)
    t0 = time.perf_counter()
    tokens = read_tokens(a.train)
    vocab = Vocab.build(tokens, min_count=1, max_vocab=a.max_vocab or None)
    V = len(vocab)
    train = batchify(vocab.encode(tokens), a.batch)  # (L, B)
    print(f"# data: {len(tokens)} train tokens, V={V}, train stream len {train.shape[0]} x "
          f"{a.batch}, load {time.perf_counter() - t0:.1f}s", file=sys.stderr)

    E, H = a.emb, a.hidden
    softmax = None
    if a.adaptive:
        from rnncli.nn.adaptive_softmax import clusters
        softmax = clusters(V, H, [int(c) for c in a.adaptive.split(",")], 4.0)
    model = RNNLM.init(V, E, H, seed=a.seed, cell=a.cell, softmax=softmax)
    h = model.zero_state(a.batch)

    timed_tokens, timed_s, nbatches = 0, 0.0, 0
    step_times = []  # seconds per token of each timed step
    for win in windows(train, a.bptt, vocab.eos):
        ts = time.perf_counter()
        loss, grads, h = model.loss_and_grads(win.inputs, win.targets, h, None)
        clip_global_norm(grads, a.clip)
        sgd_step(model.params, grads, a.lr)
        te = time.perf_counter()
        nbatches += 1
        n = win.targets.size
        if nbatches > a.warmup:
            timed_s += te - ts
            timed_tokens += n
            step_times.append((te - ts) / n)
        if a.max_tokens and timed_tokens >= a.max_tokens:
            break

    tps = timed_tokens / timed_s if timed_s > 0 else float("nan")
    valid_ppl = eval_tps = None
    if a.valid:
        from rnncli.infer.evaluate import evaluate
        valid_ids = vocab.encode(read_tokens(a.valid))[: a.eval_tokens or None]
        ts = time.perf_counter()
        ranks = {"on": True, "off": False, "auto": softmax is None}[a.eval_accuracy]
        scores = evaluate(model, valid_ids, vocab.eos, vocab.unk, reset_at_eos=False,
                          ranks=ranks)
        eval_tps = scores.tokens / (time.perf_counter() - ts)
        valid_ppl = scores.perplexity
        print(f"# valid ppl {valid_ppl:.2f}, eval {eval_tps:,.0f} tokens/s", file=sys.stderr)

    gates = {"rnn": 1, "gru": 3, "lstm": 4}[a.cell]
    flops_tok = 3 * 2 * (gates * (E * H + H * H) + H * V)  # as the reference counts
    if a.adaptive:  # that count is the full softmax's: not comparable (the reference says null)
        flops_tok = None
    step_times.sort()
    med = step_times[len(step_times) // 2] if step_times else float("nan")
    res = {
        "tokens_per_s": round(tps, 1),
        "train_tokens": timed_tokens,
        "seconds": round(timed_s, 3),
        "valid_ppl": None if valid_ppl is None else round(valid_ppl, 3),
        "eval_tokens_per_s": None if eval_tps is None else round(eval_tps, 1),
        "eval_speedup": None if eval_tps is None else round(eval_tps / tps, 2),
        "last_loss": round(float(loss), 4) if nbatches else None,
        "numpy": np.__version__,
        "threads": a.threads,
        "cell": a.cell, "V": V, "E": E, "H": H, "batch": a.batch, "bptt": a.bptt,
        "params": sum(int(p.size) for p in model.params.values()),
        "flops_per_token": flops_tok,
        "gflops": round(tps * flops_tok / 1e9, 2) if flops_tok else None,
        "tokens_per_s_median_step": round(1.0 / med, 1) if med == med else None,
        "warmup_batches": a.warmup,
        "timed_batches": len(step_times),
        "adaptive": a.adaptive or None,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(res))


if __name__ == "__main__":
    main()
