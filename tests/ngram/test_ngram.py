"""The Kneser-Ney n-gram model: counts and discounts by hand, distributions that sum to one,
and agreement with KenLM's lmplz (tests/golden/kn3.arpa, written by tests/make_kn_golden.py)."""

import io
import math
from pathlib import Path

import numpy as np
import pytest
from kn_text import kn_lines

from rnncli.ngram.arpa import write_arpa
from rnncli.ngram.counts import count_ngrams
from rnncli.ngram.kn import FALLBACK, discounts, estimate, score
from rnncli.ngram.mix import choose_lambda, mix_logp
from rnncli.text.tokenize import tokenize_lines
from rnncli.text.vocab import Vocab

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "kn3.arpa"

# "a b", "b a", "a b" with <unk> = 0, <eos> = 1, a = 2, b = 3; <s> is 4
HAND = np.array([2, 3, 1, 3, 2, 1, 2, 3, 1])


def test_discounts_follow_chen_and_goodman_equation_26():
    # n_1..n_4 = 4, 2, 1, 1: Y = 4 / (4 + 2*2) = 1/2
    counts = np.array([1, 1, 1, 1, 2, 2, 3, 4, 7])
    got = discounts(counts, 2, warnings := [])
    assert got == pytest.approx((1 - 2 * 0.5 * 2 / 4, 2 - 3 * 0.5 * 1 / 2, 3 - 4 * 0.5 * 1 / 1))
    assert warnings == []


def test_discounts_fall_back_when_a_count_of_counts_is_zero():
    assert discounts(np.array([1, 1, 2, 4]), 3, warnings := []) == FALLBACK  # no n_3
    assert "order 3" in warnings[0]


def test_continuation_counts_by_hand():
    uni, bi = count_ngrams(HAND, V=4, eos=1, order=2)
    # unigrams count the distinct words before them: a after <s> and b, b after a and <s>,
    # </s> after b and a; <unk> and <s> are never seen after anything
    assert uni.count.tolist() == [0, 2, 2, 2, 0]
    # the highest order keeps raw counts: <s> a: 2, a b: 2, b </s>: 2, <s> b, b a, a </s>: 1
    grams = {(int(k // 5), int(k % 5)): int(c) for k, c in zip(bi.keys, bi.count)}
    assert grams == {(4, 2): 2, (2, 3): 2, (3, 1): 2, (4, 3): 1, (3, 2): 1, (2, 1): 1}


def test_a_probability_by_hand():
    kn = estimate(HAND, V=4, eos=1, order=2)
    assert kn.discounts == [FALLBACK, FALLBACK]  # n_1 = 0 for the unigrams, n_3 = 0 for bigrams
    # unigrams: a(w) = 2 for a, b, </s>, S = 6, D(2) = 1, gamma = 3 * 1 / 6, uniform over 4 words
    p_a = (2 - 1) / 6 + 0.5 / 4
    assert math.exp(kn.logp[0][2]) == pytest.approx(p_a, rel=1e-6)
    # after a: a b twice, a </s> once: S = 3, gamma = (D(2) + D(1)) / 3 = 0.5
    p_b_after_a = (2 - 1) / 3 + 0.5 * p_a
    got = score(kn, np.array([2, 3, 1]))  # "a b": p(a | <s>), p(b | a), p(</s> | b)
    assert math.exp(got[1]) == pytest.approx(p_b_after_a, rel=1e-6)


def test_every_context_distribution_sums_to_one():
    lines = kn_lines(60)
    vocab = Vocab.build(tokenize_lines(lines))
    ids = vocab.encode(tokenize_lines(lines))
    V = len(vocab)
    for order in (1, 2, 3, 5):
        kn = estimate(ids, V, vocab.eos, order)
        line = vocab.encode(lines[7].split())
        for i in range(len(line) + 1):
            context = list(line[max(0, i - order + 1): i]) if i >= order - 1 else list(line[:i])
            # one line per word w: the context, then w (and its <eos>, unless w is <eos>)
            stream = [t for w in range(V) for t in [*context, w] + ([vocab.eos] * (w != 1))]
            logp = score(kn, np.array(stream))
            at_w = np.cumsum([len(context) + 1 + (w != 1) for w in range(V)]) - 1 \
                - (np.arange(V) != 1)
            assert np.exp(logp[at_w]).sum() == pytest.approx(1.0, abs=1e-5)


def parse_arpa(text: str) -> dict[str, tuple[float, float]]:
    grams, order = {}, 0
    for line in text.splitlines():
        if line.startswith("\\") and line.endswith("-grams:"):
            order = int(line[1:line.index("-")])
        elif order and line.strip() and not line.startswith("\\"):
            parts = line.split("\t")
            grams[parts[1]] = (float(parts[0]), float(parts[2]) if len(parts) > 2 else 0.0)
    return grams


def kn3():
    lines = kn_lines()
    vocab = Vocab.build(tokenize_lines(lines))
    return estimate(vocab.encode(tokenize_lines(lines)), len(vocab), vocab.eos, 3), vocab


def test_agrees_with_lmplz_ngram_by_ngram():
    kn, vocab = kn3()
    assert kn.warnings == []
    out = io.StringIO()
    write_arpa(kn, vocab, out)
    ours, theirs = parse_arpa(out.getvalue()), parse_arpa(GOLDEN.read_text())
    assert ours.keys() == theirs.keys()
    del ours["<s>"], theirs["<s>"]  # never predicted: lmplz writes 0, we -99; backoffs below
    for gram, (p, b) in theirs.items():
        assert ours[gram] == pytest.approx((p, b), abs=2e-6), gram
    assert parse_arpa(out.getvalue())["<s>"][1] == pytest.approx(
        parse_arpa(GOLDEN.read_text())["<s>"][1], abs=2e-6)


def arpa_logp10(grams, context: list[str], w: str) -> float:
    """ARPA backoff: the longest n-gram found, plus the backoffs of the contexts passed."""
    for k in range(len(context) + 1):
        gram = " ".join([*context[k:], w])
        if gram in grams:
            return grams[gram][0] + sum(grams.get(" ".join(context[j:]), (0, 0))[1]
                                        for j in range(k))
    raise AssertionError(w)


def test_scoring_backs_off_as_an_arpa_query_does():
    kn, vocab = kn3()
    grams = parse_arpa(GOLDEN.read_text())
    test = ["the cat w3 sat on w169 the mat .", "w5 w5 w5", "dog"]  # w169: never seen
    ids = vocab.encode(tokenize_lines(test))
    ours = score(kn, ids) / math.log(10)
    theirs = []
    for line in test:
        words = ["<unk>" if w not in vocab else w for w in line.split()] + ["</s>"]
        theirs += [arpa_logp10(grams, (["<s>"] + words[:i])[-2:], w)
                   for i, w in enumerate(words)]
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_the_mix_weight_maximises_held_out_likelihood():
    rng = np.random.default_rng(0)
    a, b = np.log(rng.uniform(0.01, 1, 500)), np.log(rng.uniform(0.01, 1, 500))
    lam = choose_lambda(a, b)
    best = max(np.linspace(0, 1, 1001), key=lambda x: mix_logp(a, b, x).mean())
    assert lam == pytest.approx(best, abs=2e-3)
    assert choose_lambda(a, a - 1.0) > 0.99  # one model always likelier: all weight on it
