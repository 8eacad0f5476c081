#!/usr/bin/env python3
"""The PyTorch reference trainer that bench/bench_train.py measures rnncli against.

A measuring instrument, never a dependency of rnncli: it runs under a Python that has torch
(`make torch-venv` builds one in bench/.torchvenv). It trains a word-level language model the
standard way, the recipe of PyTorch's word_language_model example (Zaremba et al. 2014):

1) whitespace tokens (`line.split()`) with `<eos>` after every line; the vocabulary is the
   training file's types, by frequency, capped at --max-vocab (`<eos>` and `<unk>` counted in
   the cap; the rest becomes `<unk>`);
2) the token stream cut into --batch parallel streams, walked --bptt steps at a time, the hidden
   state carried from window to window (detached: truncated BPTT);
3) embedding -> --layers of nn.RNN (tanh) | nn.LSTM | nn.GRU -> a linear decoder and the full
   softmax, or nn.AdaptiveLogSoftmaxWithLoss with --adaptive cutoffs (div_value 4); --dropout on
   the embeddings, between layers and before the decoder; --tied shares the embedding matrix
   with the decoder;
4) plain SGD, gradient-norm clipping at --clip, float32; with --anneal, lr / 4 after an epoch
   that does not improve validation perplexity;
5) with --test, the test perplexity of the weights with the best validation perplexity (the
   last weights when nothing was validated).

Only the training steps are timed (forward, backward, clipping, update), after --warmup untimed
windows, until --max-tokens timed target tokens (0: all --epochs). The last line on stdout is
JSON: tokens_per_s, train_tokens, seconds, valid_ppl, torch, threads, flops_per_token, gflops,
...; with --test also test_ppl, best_valid_ppl, valid_ppls, epochs, total_train_seconds.

    python bench/torch_rnnlm.py --train TRAIN --valid VALID --max-vocab 10000 --emb 200 \\
        --hidden 200 --batch 20 --bptt 35 --cell rnn --lr 1 --clip 0.25 --max-tokens 200000 \\
        --warmup 5 --threads 2
"""

import argparse
import copy
import json
import math
import sys
import time
from collections import Counter

EOS, UNK = "<eos>", "<unk>"


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--train", required=True, help="training text")
    ap.add_argument("--valid", default=None, help="validation text")
    ap.add_argument("--test", default=None, help="test text: its perplexity after training")
    ap.add_argument("--max-vocab", type=int, default=0, help="vocabulary cap; 0: none")
    ap.add_argument("--emb", type=int, default=200, help="embedding size E")
    ap.add_argument("--hidden", type=int, default=200, help="hidden size H")
    ap.add_argument("--layers", type=int, default=1, help="stacked recurrent layers")
    ap.add_argument("--cell", choices=["rnn", "lstm", "gru"], default="rnn")
    ap.add_argument("--dropout", type=float, default=0.0,
                    help="on the embeddings, between layers and before the decoder")
    ap.add_argument("--tied", action="store_true",
                    help="the decoder's weights are the embedding's (needs --emb == --hidden)")
    ap.add_argument("--adaptive", default="",
                    help="cutoffs such as 2000,10000: nn.AdaptiveLogSoftmaxWithLoss "
                         "(div_value 4) instead of the full softmax")
    ap.add_argument("--batch", type=int, default=20, help="parallel streams")
    ap.add_argument("--bptt", type=int, default=35, help="steps per window")
    ap.add_argument("--lr", type=float, default=1.0, help="SGD step size")
    ap.add_argument("--clip", type=float, default=5.0, help="gradient-norm clip; <= 0: none")
    ap.add_argument("--init", type=float, default=0.1, help="uniform(-init, init) weights")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--anneal", action="store_true",
                    help="lr / 4 after an epoch that does not improve validation perplexity")
    ap.add_argument("--max-tokens", type=int, default=0,
                    help="stop after this many timed target tokens; 0: all the epochs")
    ap.add_argument("--warmup", type=int, default=5, help="untimed windows first")
    ap.add_argument("--threads", type=int, default=0, help="torch threads; 0: torch's default")
    ap.add_argument("--seed", type=int, default=1111)
    ap.add_argument("--eval-batch", type=int, default=10, help="streams when scoring")
    ap.add_argument("--no-valid", action="store_true", help="do not score --valid")
    ap.add_argument("--log-interval", type=int, default=0,
                    help="a progress line on stderr every this many windows; 0: none")
    ap.add_argument("--dump-steps", default=None,
                    help="write the seconds of every timed step to this file, one a line")
    a = ap.parse_args(argv)
    if a.tied and a.emb != a.hidden:
        ap.error("--tied needs --emb == --hidden")
    if a.tied and a.adaptive:
        ap.error("--tied does not combine with --adaptive")
    return a


# ----------------------------------------------------------------- data
def read_tokens(path):
    """Whitespace tokens, `<eos>` after every line (blank lines too)."""
    tokens = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            tokens += line.split()
            tokens.append(EOS)
    return tokens


def build_vocab(tokens, max_vocab):
    """Word -> id, most frequent first (ties: first seen first); `<unk>` takes the place of
    the types past the cap, with their counts."""
    counts = Counter(tokens)
    unk_count = counts.pop(UNK, 0)
    ranked = counts.most_common()
    if max_vocab:
        ranked, dropped = ranked[:max_vocab - 1], ranked[max_vocab - 1:]
        unk_count += sum(c for _, c in dropped)
    ranked.append((UNK, unk_count))
    ranked.sort(key=lambda wc: -wc[1])  # stable: ties keep their order
    return {w: i for i, (w, _) in enumerate(ranked)}


def encode(torch, tokens, stoi):
    unk = stoi[UNK]
    return torch.tensor([stoi.get(t, unk) for t in tokens], dtype=torch.long)


def batchify(ids, n_streams):
    """(N,) ids -> (L, n_streams): stream b is column b, one contiguous piece of the text."""
    L = ids.numel() // n_streams
    return ids[:L * n_streams].view(n_streams, L).t().contiguous()  # (L, B)


def windows(data, bptt):
    """(inputs, targets) of at most bptt steps each: (T, B) and (T, B), targets one step on."""
    for i in range(0, data.size(0) - 1, bptt):
        T = min(bptt, data.size(0) - 1 - i)
        yield data[i:i + T], data[i + 1:i + 1 + T]


# ----------------------------------------------------------------- model
def make_model(torch, a, V):
    nn = torch.nn

    class RNNLM(nn.Module):
        """x -> embedding -> recurrent layers -> decoder: log p(next word)."""

        def __init__(self):
            super().__init__()
            E, H = a.emb, a.hidden
            self.drop = nn.Dropout(a.dropout)
            self.embedding = nn.Embedding(V, E)
            between = a.dropout if a.layers > 1 else 0.0
            if a.cell == "rnn":
                self.rnn = nn.RNN(E, H, a.layers, nonlinearity="tanh", dropout=between)
            else:
                cell = nn.LSTM if a.cell == "lstm" else nn.GRU
                self.rnn = cell(E, H, a.layers, dropout=between)
            self.adaptive = None
            if a.adaptive:
                cutoffs = [int(c) for c in a.adaptive.split(",")]
                self.adaptive = nn.AdaptiveLogSoftmaxWithLoss(H, V, cutoffs, div_value=4.0)
            else:
                self.decoder = nn.Linear(H, V)
                if a.tied:
                    self.decoder.weight = self.embedding.weight
            for name, p in self.named_parameters():
                if name == "decoder.bias":
                    nn.init.zeros_(p)
                else:
                    nn.init.uniform_(p, -a.init, a.init)

        def zero_state(self, B):
            h = torch.zeros(a.layers, B, a.hidden)
            return (h, torch.zeros_like(h)) if a.cell == "lstm" else h

        def forward(self, x, targets, state):
            """Mean cross-entropy (nats) of the targets (T, B), and the next state."""
            out, state = self.rnn(self.drop(self.embedding(x)), state)  # (T, B, H)
            out = self.drop(out).reshape(-1, a.hidden)  # (T*B, H)
            if self.adaptive is not None:
                loss = self.adaptive(out, targets.reshape(-1)).loss
            else:
                logits = self.decoder(out)  # (T*B, V)
                loss = torch.nn.functional.cross_entropy(logits, targets.reshape(-1))
            return loss, state

    return RNNLM()


def detach(state):
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def perplexity(torch, model, ids, a):
    """exp(mean cross-entropy) over every target of the text, the state carried throughout."""
    data = batchify(ids, a.eval_batch)
    model.eval()
    total, n = 0.0, 0
    state = model.zero_state(a.eval_batch)
    with torch.no_grad():
        for x, y in windows(data, a.bptt):
            loss, state = model(x, y, state)
            total += float(loss) * y.numel()
            n += y.numel()
    model.train()
    return math.exp(total / n) if n else float("nan")


def flops_per_token(a, V):
    """Multiply-adds x 2 of a forward pass, x 3 with backward: the count the rnncli worker uses
    (for one layer); None with the adaptive softmax (its cost is not the full softmax's)."""
    if a.adaptive:
        return None
    gates = {"rnn": 1, "gru": 3, "lstm": 4}[a.cell]
    E, H = a.emb, a.hidden
    recurrent = gates * (E * H + H * H) + (a.layers - 1) * gates * 2 * H * H
    return 3 * 2 * (recurrent + H * V)


# ----------------------------------------------------------------- training
def main(argv=None):
    a = parse_args(argv)
    import torch

    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    t0 = time.perf_counter()  # data: not timed
    tokens = read_tokens(a.train)
    stoi = build_vocab(tokens, a.max_vocab)
    V = len(stoi)
    train = batchify(encode(torch, tokens, stoi), a.batch)  # (L, B)
    valid = (encode(torch, read_tokens(a.valid), stoi)
             if a.valid and not a.no_valid else None)
    print(f"# data: {len(tokens):,} training tokens, V={V:,}, {train.shape[0]:,} x {a.batch} "
          f"streams, read in {time.perf_counter() - t0:.1f} s", file=sys.stderr)

    model = make_model(torch, a, V)
    optimizer = torch.optim.SGD(model.parameters(), lr=a.lr)
    lr = a.lr
    step_s = []  # seconds of each timed step
    timed_tokens, windows_done, loss = 0, 0, None
    valid_ppls, best_ppl, best_state = [], None, None
    epochs_run, done = 0, False
    loop_start = time.perf_counter()
    for _ in range(a.epochs):
        epochs_run += 1
        state = model.zero_state(a.batch)
        for x, y in windows(train, a.bptt):
            ts = time.perf_counter()
            state = detach(state)  # truncated BPTT: the state carries on, its gradient stops
            optimizer.zero_grad(set_to_none=True)
            loss, state = model(x, y, state)
            loss.backward()
            if a.clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
            optimizer.step()  # W <- W - lr * dW
            te = time.perf_counter()
            windows_done += 1
            if windows_done > a.warmup:
                step_s.append(te - ts)
                timed_tokens += y.numel()
            if a.log_interval and windows_done % a.log_interval == 0:
                print(f"# window {windows_done}: loss {loss.item():.3f}, lr {lr:g}",
                      file=sys.stderr)
            if a.max_tokens and timed_tokens >= a.max_tokens:
                done = True
                break
        if valid is not None:
            ppl = perplexity(torch, model, valid, a)
            valid_ppls.append(ppl)
            print(f"# epoch {epochs_run}: valid ppl {ppl:.2f}, lr {lr:g}", file=sys.stderr)
            if best_ppl is None or ppl < best_ppl:
                best_ppl, best_state = ppl, copy.deepcopy(model.state_dict())
            elif a.anneal:
                lr /= 4.0
                for group in optimizer.param_groups:
                    group["lr"] = lr
        if done:
            break
    total_train_s = time.perf_counter() - loop_start

    seconds = sum(step_s)
    tps = timed_tokens / seconds if seconds > 0 else float("nan")
    median_step = sorted(step_s)[len(step_s) // 2] if step_s else float("nan")
    per_step_tokens = a.batch * a.bptt
    flops = flops_per_token(a, V)
    if a.dump_steps:
        with open(a.dump_steps, "w") as f:
            f.writelines(f"{s:.6f}\n" for s in step_s)
    result = {
        "tokens_per_s": round(tps, 1),
        "train_tokens": timed_tokens,
        "seconds": round(seconds, 3),
        "valid_ppl": round(valid_ppls[-1], 3) if valid_ppls else None,
        "last_loss": None if loss is None else round(loss.item(), 4),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cell": a.cell, "V": V, "E": a.emb, "H": a.hidden, "batch": a.batch, "bptt": a.bptt,
        "layers": a.layers, "dropout": a.dropout, "tied": a.tied, "adaptive": a.adaptive or None,
        "params": sum(p.numel() for p in model.parameters()),
        "flops_per_token": flops,
        "gflops": round(tps * flops / 1e9, 2) if flops else None,
        "tokens_per_s_median_step": (round(per_step_tokens / median_step, 1)
                                     if step_s else None),
        "warmup_batches": a.warmup,
        "timed_batches": len(step_s),
    }
    if a.test:
        if best_state is not None:
            model.load_state_dict(best_state)
        test_ppl = perplexity(torch, model, encode(torch, read_tokens(a.test), stoi), a)
        print(f"# test ppl {test_ppl:.2f}", file=sys.stderr)
        result.update({
            "test_ppl": round(test_ppl, 3),
            "best_valid_ppl": None if best_ppl is None else round(best_ppl, 3),
            "valid_ppls": [round(p, 3) for p in valid_ppls],
            "epochs": epochs_run,
            "total_train_seconds": round(total_train_s, 3),
        })
    print(json.dumps(result))


if __name__ == "__main__":
    main()
