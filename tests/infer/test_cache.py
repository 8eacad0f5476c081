"""The continuous cache, dynamic evaluation and their mix (rnncli.infer.cache, .dynamic, .adapt):
distributions that sum to 1, equivalence with plain evaluation where they are switched off, and
the cache doing what it is for."""

import numpy as np
import pytest

from rnncli.infer import adapt
from rnncli.infer.cache import Cache, mix
from rnncli.infer.dynamic import DynamicEval, DynamicParams, mean_squares
from rnncli.infer.evaluate import evaluate
from rnncli.nn.model import RNNLM

EOS, UNK = 0, 1


@pytest.fixture(params=["rnn", "lstm"])
def model(request):
    return RNNLM.init(V=12, E=8, H=16, seed=3, cell=request.param)


def corpus(n_lines=40, seed=0):
    rng = np.random.default_rng(seed)
    lines = [np.append(rng.integers(2, 12, rng.integers(3, 9)), EOS) for _ in range(n_lines)]
    return np.concatenate(lines).astype(np.int32)


def test_cache_distribution_sums_to_one():
    rng = np.random.default_rng(0)
    S, H, V = 3, 5, 9
    c = Cache(4, S, H)
    assert np.all(c.distribution(rng.normal(size=(S, H)), V, 0.5) == 0)  # empty: nothing yet
    for _ in range(6):  # more steps than slots: the ring wraps
        c.add(rng.normal(size=(S, H)).astype(np.float32), rng.integers(0, V, S))
        p = c.distribution(rng.normal(size=(S, H)).astype(np.float32), V, 0.7)
        assert p.shape == (S, V)
        np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
        assert (p >= 0).all()


def test_window_reads_what_steps_read():
    """A window scored at once gives each step what the step-by-step cache gives."""
    rng = np.random.default_rng(1)
    T, S, H, V, N = 7, 2, 4, 6, 3
    hs = rng.normal(size=(T, S, H)).astype(np.float32)
    targets = rng.integers(0, V, (T, S))
    real = np.ones((T, S), dtype=bool)
    whole = Cache(N, S, H).window_probs(hs, targets, real, [0.3, 1.0])  # (2, T, S)
    steps = Cache(N, S, H)
    for t in range(T):
        for k, theta in enumerate([0.3, 1.0]):
            p = steps.distribution(hs[t], V, theta)  # (S, V)
            want = p[np.arange(S), targets[t]]
            if t == 0:
                assert np.isnan(whole[k, t]).all()  # nothing kept before the first step
            else:
                np.testing.assert_allclose(whole[k, t], want, rtol=1e-5)
        steps.add(hs[t], targets[t])


def test_cache_off_is_plain_eval(model):
    ids = corpus()
    plain = evaluate(model, ids, EOS, UNK, reset_at_eos=True)
    tp = adapt.token_probs(model, ids, EOS, UNK, True, cache_size=50, thetas=[0.3])
    np.testing.assert_allclose(-tp.net.sum(), plain.nll, rtol=1e-9)
    m = adapt.Mix(0.3, np.array([1.0, 0.0]))  # lambda 0
    got = adapt.perplexity(adapt.mixed_logp(tp, m, None))["perplexity"]
    assert f"{got:.2f}" == f"{plain.perplexity:.2f}"
    np.testing.assert_allclose(got, plain.perplexity, rtol=1e-9)


def test_cache_raises_a_repeated_rare_word():
    """With the state reset at each line end, two identical lines get the same network
    probabilities; the cache has seen the rare word by the second, so it gives it more."""
    model = RNNLM.init(V=12, E=8, H=16, seed=5)
    line = [2, 3, 11, 4, EOS]  # 11: the rare word
    ids = np.array([2, 5, 6, EOS] + line + [7, 8, EOS] + line, dtype=np.int32)
    tp = adapt.token_probs(model, ids, EOS, UNK, True, cache_size=100, thetas=[0.5],
                           n_streams=1)
    first, second = np.flatnonzero(ids == 11)  # one stream: target j is ids[j]
    assert tp.net[first] == pytest.approx(tp.net[second], rel=1e-6)
    p_cache = tp.cache[0]
    assert p_cache[first] == 0.0  # not seen yet
    assert p_cache[second] > 0.0
    mixed = mix(np.exp(tp.net), p_cache, 0.2)
    assert mixed[second] > mixed[first]


def test_dynamic_with_lr_zero_is_plain_eval(model):
    ids = corpus()
    ms = mean_squares(model, corpus(60, seed=1), EOS, True, segment=5, batch=4)
    plain = adapt.token_probs(model, ids, EOS, UNK, True, n_streams=4, bptt=5)
    same = adapt.token_probs(model, ids, EOS, UNK, True, n_streams=4,
                             dynamic=adapt.Dynamic(DynamicParams(0.0, 0.0, 5), ms))
    np.testing.assert_array_equal(same.net, plain.net)


def test_dynamic_adapts_a_copy_and_learns_the_text(model):
    """On a text that repeats one line, adapting as it reads scores the text better; the
    model's own weights are untouched."""
    before = {n: a.copy() for n, a in model.params.items()}
    ids = np.tile(np.array([2, 9, 4, 7, 3, EOS], dtype=np.int32), 40)
    ms = mean_squares(model, corpus(60, seed=1), EOS, False, segment=5, batch=4)
    plain = adapt.token_probs(model, ids, EOS, UNK, False, n_streams=1, bptt=5)
    dyn = adapt.token_probs(model, ids, EOS, UNK, False, n_streams=1,
                            dynamic=adapt.Dynamic(DynamicParams(0.001, 0.0, 5), ms))
    assert dyn.net.mean() > plain.net.mean() + 0.1
    for n, a in model.params.items():
        np.testing.assert_array_equal(a, before[n])


def test_decay_pulls_back_towards_the_trained_weights(model):
    ms = {n: np.ones_like(a) for n, a in model.params.items()}
    run = DynamicEval(model, ms, DynamicParams(0.0, 0.5, 5))
    for a in run.model.params.values():
        a += 1.0  # as if far from theta_0
    inputs = np.full((5, 1), 2, dtype=np.int32)
    run.update(inputs, inputs, model.zero_state(1), None)
    for n, a in run.model.params.items():
        np.testing.assert_allclose(a - model.params[n], 0.5, rtol=1e-5)  # half the way back


def test_em_finds_the_better_part():
    rng = np.random.default_rng(2)
    p_good = rng.uniform(0.2, 0.9, 500)
    P = np.stack([p_good, p_good * 0.1])
    a = adapt.em_weights(P)
    assert a[0] > 0.99 and a.sum() == pytest.approx(1.0)
    # two parts each right half the time: the mix beats either alone
    P = np.stack([np.r_[np.full(250, 0.9), np.full(250, 0.01)],
                  np.r_[np.full(250, 0.01), np.full(250, 0.9)]])
    a = adapt.em_weights(P)
    np.testing.assert_allclose(a, [0.5, 0.5], atol=1e-6)
    assert np.log(a @ P).mean() > max(np.log(P[0]).mean(), np.log(P[1]).mean())


def test_choose_mix_fits_held_out_text(model):
    ids = corpus(80)
    tp = adapt.token_probs(model, ids, EOS, UNK, True, cache_size=200, thetas=adapt.THETAS)
    m = adapt.choose_mix(tp, None)
    assert m.theta in adapt.THETAS and m.weights.sum() == pytest.approx(1.0)
    best = adapt.mixed_logp(tp, m, None).mean()
    for lam in (0.0, 0.1, 0.5):
        for th in adapt.THETAS:
            other = adapt.Mix(th, np.array([1 - lam, lam]))
            assert best >= adapt.mixed_logp(tp, other, None).mean() - 1e-9


def demo_ids(saved, n_lines=300):
    from rnncli.text.corpus import encode_lines, read_lines

    d = saved.config.data
    lines = read_lines(saved.config.data.train[0])[:n_lines]
    return np.asarray(encode_lines(lines, saved.vocab, d.tokenizer, d.lowercase, d.unk_token))


def test_eval_extras_rows(fixed_demo_model):
    """The network's row is plain evaluation's; the cache's row, with its settings chosen on
    the validation text, is no worse there than the network alone; lambda 0 changes nothing."""
    from rnncli.infer.extras import Extras, evaluate_extras
    from rnncli.store import model_folder

    saved = model_folder.load(fixed_demo_model)
    ids = demo_ids(saved)
    plain = evaluate(saved.model, ids, saved.vocab.eos, saved.vocab.unk,
                     saved.config.train.reset_at_eos)
    got = evaluate_extras(saved, ids, Extras(cache=50))
    net, cached = got["rows"]
    assert (net["name"], cached["name"]) == ("network", "+ cache")
    assert net["perplexity"] == pytest.approx(plain.perplexity, rel=1e-9)
    assert got["cache"]["theta"] in adapt.THETAS and 0 <= got["cache"]["lambda"] <= 1
    off = evaluate_extras(saved, ids, Extras(cache=50, lam=0.0, theta=0.3))
    assert f"{off['rows'][1]['perplexity']:.2f}" == f"{plain.perplexity:.2f}"
