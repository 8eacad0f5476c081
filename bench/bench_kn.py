#!/usr/bin/env python3
"""rnncli's Kneser-Ney n-gram model against KenLM's lmplz: agreement, build time, memory, speed.

For each corpus: the training and test lines are tokenised (WikiText-2: split at whitespace,
its `<unk>` kept as our <unk>; Tiny Shakespeare: rnncli's word tokeniser, its first 90% of
lines for training, the rest for testing), a vocabulary is built from the training tokens and
both texts are encoded with it (test words outside it become <unk>). Then, each in a fresh
process (peak RSS from wait4):

    rnncli   estimate() of the given order, then score() of the test tokens
    lmplz    -o ORDER --discount_fallback on the same tokens (our <unk> written UNKWORD, as
             lmplz refuses a literal <unk>), then `query` on the test text
    query    on rnncli's own ARPA export, per token, against rnncli's log-probabilities

KenLM is looked for in $KENLM_BIN or ~/kenlm/bin (built from https://github.com/kpu/kenlm as
its README says); without it only rnncli's figures are taken. The corpora are the ones
`rnncli corpus get` fetches (from the user's cache, fetched first if missing: from the mirror
in $RNNCLI_CORPUS_MIRROR if set, else from their public sources).

    python bench/bench_kn.py                        # both corpora, order 5
    python bench/bench_kn.py --corpus shakespeare --order 3
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from resultfile import write_results

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CHILD = """
import sys, time, json
import numpy as np
sys.path.insert(0, sys.argv[1])
from rnncli.ngram.kn import estimate, score
from rnncli.ngram.arpa import write_arpa
from rnncli.text.vocab import Vocab
d = np.load(sys.argv[2])
vocab = Vocab(json.load(open(sys.argv[3])))
start = time.perf_counter()
kn = estimate(d["train"], len(vocab), vocab.eos, int(sys.argv[4]))
built = time.perf_counter() - start
score(kn, d["test"][:1000])  # warm
start = time.perf_counter()
logp = score(kn, d["test"])
scored = time.perf_counter() - start
np.save(sys.argv[5] + ".npy", logp)
with open(sys.argv[5], "w") as f:
    write_arpa(kn, vocab, f)
print(json.dumps({"build_s": built, "score_s": scored, "ngrams": [len(k) for k in kn.keys],
                  "discounts": kn.discounts, "perplexity": float(np.exp(-logp.mean()))}))
"""


def texts(corpus: str):
    """Training and test lines of a corpus and the tokeniser to read them with."""
    from rnncli.text.fetch import fetch
    from rnncli.text.tokenize import split_words
    if corpus == "wikitext-2":
        files = {f.path.stem: f.path for f in fetch("wikitext-2")}
        train, test = ([x for x in files[p].read_text(encoding="utf-8").splitlines()
                        if x.strip()] for p in ("train", "test"))
        return train, test, str.split
    lines = [x for x in fetch("tinyshakespeare")[0].path.read_text(
        encoding="utf-8").splitlines() if x.strip()]
    cut = int(len(lines) * 0.9)
    return lines[:cut], lines[cut:], split_words


def encode(corpus: str):
    import numpy as np

    from rnncli.text.tokenize import EOS
    from rnncli.text.vocab import Vocab
    train, test, split = texts(corpus)
    train_tok = [[*split(x), EOS] for x in train]
    test_tok = [[*split(x), EOS] for x in test]
    vocab = Vocab.build(t for line in train_tok for t in line)
    ids = {k: vocab.encode([t for line in v for t in line])
           for k, v in (("train", train_tok), ("test", test_tok))}
    return vocab, ids, np


def write_text(vocab, ids, path: Path) -> None:
    """Lines of words as lmplz and query read them; our <unk> written UNKWORD."""
    words = ["UNKWORD" if w == "<unk>" else w for w in vocab.itos]
    lines, cur = [], []
    for i in ids.tolist():
        if i == vocab.eos:
            lines.append(" ".join(cur))
            cur = []
        else:
            cur.append(words[i])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def timed_child(cmd, stdin=None, stdout=None):
    """Run a command, returning (wall s, stdout, stderr, peak RSS MiB) via wait4."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=stdin, stdout=stdout or subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    out = proc.stdout.read() if stdout is None else ""
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        sys.exit(f"Error: {cmd[0]} failed (status {status}): {err[-500:]}")
    return wall, out, err, usage.ru_maxrss / 1024


def query_ppl(query: Path, arpa: Path, test: Path) -> float:
    with open(test) as f:
        _, out, _, _ = timed_child([str(query), str(arpa)], stdin=f)
    return float(re.search(r"Perplexity including OOVs:\s*([\d.]+)", out).group(1))


def query_logp(query: Path, arpa: Path, test: Path):
    """log10 p of every token as `query -v word` prints them (words then </s>, per line)."""
    import numpy as np
    with open(test) as f:
        _, out, _, _ = timed_child([str(query), "-v", "word", str(arpa)], stdin=f)
    vals = re.findall(r"=\d+ \d+ (-?[\d.e+-]+)\t", out)
    return np.array([float(v) for v in vals])


def bench(corpus: str, order: int, kenlm: Path | None, tmp: Path) -> dict:
    vocab, ids, np = encode(corpus)
    data, vocab_file, arpa = tmp / "ids.npz", tmp / "vocab.json", tmp / "rnncli.arpa"
    np.savez(data, **ids)
    vocab_file.write_text(json.dumps(vocab.itos))
    wall, out, _, rss = timed_child([sys.executable, "-c", CHILD, str(REPO), str(data),
                                     str(vocab_file), str(order), str(arpa)])
    ours = json.loads(out.splitlines()[-1])
    r = {"corpus": corpus, "order": order, "vocab": len(vocab),
         "train_tokens": len(ids["train"]), "test_tokens": len(ids["test"]),
         "rnncli": {**ours, "peak_rss_mb": rss,
                    "score_tokens_per_s": len(ids["test"]) / ours["score_s"]}}
    o = r["rnncli"]
    print(f"[{corpus}] rnncli kn{order}: built in {o['build_s']:.1f} s (peak RSS {rss:,.0f} "
          f"MiB), test perplexity {o['perplexity']:.2f}, scoring "
          f"{o['score_tokens_per_s']:,.0f} tokens/s", file=sys.stderr)
    if kenlm is None:
        return r
    train_txt, test_txt, kl_arpa = tmp / "train.txt", tmp / "test.txt", tmp / "lmplz.arpa"
    write_text(vocab, ids["train"], train_txt)
    write_text(vocab, ids["test"], test_txt)
    with open(train_txt) as f, open(kl_arpa, "w") as g:
        wall, _, err, rss = timed_child([str(kenlm / "lmplz"), "-o", str(order),
                                         "--discount_fallback", "-T", str(tmp)],
                                        stdin=f, stdout=g)
    kl_ppl = query_ppl(kenlm / "query", kl_arpa, test_txt)
    ours_logp10 = np.load(str(arpa) + ".npy") / np.log(10)
    theirs = query_logp(kenlm / "query", arpa, test_txt)
    r["lmplz"] = {"build_s": wall, "peak_rss_mb": rss,
                  "perplexity": kl_ppl,
                  "fallback": "Substituting fallback" in err}
    r["perplexity_rel_diff"] = ours["perplexity"] / kl_ppl - 1
    r["query_on_rnncli_arpa"] = {
        "perplexity": query_ppl(kenlm / "query", arpa, test_txt),
        "tokens": len(theirs),
        "max_abs_log10_diff": float(np.abs(theirs - ours_logp10).max())
        if len(theirs) == len(ours_logp10) else None}
    q = r["query_on_rnncli_arpa"]
    print(f"[{corpus}] lmplz -o {order}: built in {wall:.1f} s (peak RSS {rss:,.0f} MiB), "
          f"test perplexity {kl_ppl:.2f} (rnncli {r['perplexity_rel_diff']:+.4%}); query on "
          f"rnncli's ARPA: perplexity {q['perplexity']:.2f}, {q['tokens']:,} tokens, largest "
          f"|log10 p difference| {q['max_abs_log10_diff']}", file=sys.stderr)
    return r


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", choices=["wikitext-2", "shakespeare", "all"], default="all")
    ap.add_argument("--order", type=int, default=5)
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    kenlm = Path(os.environ.get("KENLM_BIN", Path.home() / "kenlm" / "bin"))
    if not (kenlm / "lmplz").exists():
        print(f"[bench] no KenLM in {kenlm}: rnncli's figures only", file=sys.stderr)
        kenlm = None
    names = ["wikitext-2", "shakespeare"] if a.corpus == "all" else [a.corpus]
    results = []
    from rnncli.errors import DataError
    try:
        for name in names:
            with tempfile.TemporaryDirectory() as tmp:
                results.append(bench(name, a.order, kenlm, Path(tmp)))
    except DataError as e:  # a corpus that cannot be fetched
        print(f"Error: {e}", file=sys.stderr)
        return 1
    write_results({"date": time.strftime("%Y-%m-%dT%H:%M:%S"), "runs": results}, "kn", a.out)


if __name__ == "__main__":
    sys.exit(main())
