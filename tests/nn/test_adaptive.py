"""The adaptive softmax: finite-difference gradients in float64, PyTorch's golden vectors
(tests/make_golden.py, no torch needed here), the scores eval uses against the whole
distribution, and a model that trains and completes with it."""

import json
from pathlib import Path

import numpy as np
import pytest
from test_gradients import carried_state, check_model_gradients, numeric_grad, rel_error, window

from rnncli.infer.evaluate import target_scores
from rnncli.nn import adaptive_softmax
from rnncli.nn.model import RNNLM
from rnncli.store.export import from_torch, to_torch

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "adaptive.npz"


def random_layer(V=13, H=5, cutoffs=(4, 8), div=2.0, seed=0):
    c = adaptive_softmax.clusters(V, H, cutoffs, div)
    rng = np.random.default_rng(seed)
    p = {n: rng.normal(0, 0.7, s) for n, s in adaptive_softmax.shapes(c, H).items()}
    return c, p


def test_clusters_follow_pytorchs_sizes_and_refuse_bad_cutoffs():
    c = adaptive_softmax.clusters(33278, 200, [2000, 10000], 4.0)
    assert c.bounds == (2000, 10000, 33278) and c.dims == (50, 12)
    shapes = adaptive_softmax.shapes(c, 200)
    assert shapes["W_head"] == (200, 2002) and shapes["W_tail.1"] == (12, 23278)
    for bad in ([10, 5], [0, 5], [5, 13], []):
        with pytest.raises(ValueError):
            adaptive_softmax.clusters(13, 8, bad, 2.0)
    with pytest.raises(ValueError, match="no dimensions"):
        adaptive_softmax.clusters(13, 3, [4, 8], 2.0)


@pytest.mark.parametrize("targets", [[0, 3, 4, 7, 8, 12, 5], [1, 2], [9]],
                         ids=["every cluster", "head only", "one row"])
def test_layer_gradients_match_finite_differences(targets):
    c, p = random_layer()
    targets = np.array(targets)
    h = np.random.default_rng(1).normal(0, 1, (len(targets), 5))
    dnll = np.random.default_rng(2).normal(0, 1, len(targets))  # a different weight per row
    f = lambda: float(dnll @ adaptive_softmax.adaptive_forward(h, targets, p, c)[0])  # noqa: E731
    nll, cache = adaptive_softmax.adaptive_forward(h, targets, p, c)
    dh, grads = adaptive_softmax.adaptive_backward(dnll, cache)
    assert set(grads) == set(p)
    assert rel_error(numeric_grad(f, h), dh) < 1e-7
    for name, W in p.items():
        assert grads[name].shape == W.shape
        assert rel_error(numeric_grad(f, W), grads[name]) < 1e-7, name


def test_whole_model_gradients_with_the_adaptive_softmax():
    inputs, targets, prev = window(V=11)
    c = adaptive_softmax.clusters(11, 4, [3, 7], 2.0)
    model = RNNLM.init(11, 3, 4, seed=1, dtype=np.float64, cell="lstm", n_layers=2,
                       dropout=0.3, softmax=c)
    rng = np.random.default_rng(2)
    for W in model.params.values():
        W += rng.normal(0, 0.2, W.shape)
    check_model_gradients(model, inputs, targets, carried_state(model, 3), prev != 1)


def test_log_prob_is_normalised_and_agrees_with_the_training_loss():
    c, p = random_layer(seed=3)
    h = np.random.default_rng(4).normal(0, 1, (6, 5))
    targets = np.array([0, 4, 12, 7, 9, 2])
    logp = adaptive_softmax.log_prob(h, p, c)  # (6, 13)
    np.testing.assert_allclose(np.exp(logp).sum(axis=1), 1.0, rtol=1e-12)
    nll, _ = adaptive_softmax.adaptive_forward(h, targets, p, c)
    np.testing.assert_allclose(-logp[np.arange(6), targets], nll, rtol=1e-12)


def golden():
    with np.load(GOLDEN, allow_pickle=False) as f:
        return dict(f)


def test_forward_loss_and_gradients_match_pytorch():
    g = golden()
    H, V = g["input"].shape[1], g["log_prob"].shape[1]
    c = adaptive_softmax.clusters(V, H, g["cutoffs"].tolist(), float(g["div_value"]))
    state = {"encoder.weight": np.zeros((V, 1))} | {
        f"decoder.{k}": v for k, v in g.items() if k.startswith(("head.", "tail."))}
    p = from_torch(state, "rnn", 0)
    del p["W_emb"]
    assert set(p) == set(adaptive_softmax.shapes(c, H))
    h, targets = g["input"], g["targets"]
    np.testing.assert_allclose(adaptive_softmax.log_prob(h, p, c), g["log_prob"], rtol=1e-10)
    nll, cache = adaptive_softmax.adaptive_forward(h, targets, p, c)
    np.testing.assert_allclose(-nll, g["output"], rtol=1e-10)
    assert nll.mean() == pytest.approx(float(g["loss"]), rel=1e-12)
    dh, grads = adaptive_softmax.adaptive_backward(1.0 / len(targets), cache)
    np.testing.assert_allclose(dh, g["grad.input"], rtol=1e-9, atol=1e-14)
    model = RNNLM({"W_emb": np.zeros((V, 1)), "W_xh": np.zeros((1, H)), "W_hh": np.zeros((H, H)),
                   "b_h": np.zeros(H)} | grads, softmax=c)
    as_torch = to_torch(model, np.float64)  # the gradients, renamed as the weights
    for name in [k for k in g if k.startswith(("head.", "tail."))]:
        np.testing.assert_allclose(as_torch[f"decoder.{name}"], g[f"grad.{name}"], rtol=1e-9,
                                   atol=1e-14, err_msg=name)


@pytest.mark.parametrize("seed", range(4))
def test_eval_scores_equal_the_whole_distributions(seed):
    """Target log p and rank (exact below 5) as the whole distribution gives them, with ranks
    from every part: a model with near-uniform clusters makes many ties of rank above 5."""
    V, H = 40, 6
    c = adaptive_softmax.clusters(V, H, [6, 15, 28], 1.5)
    rng = np.random.default_rng(seed)
    params = {n: rng.normal(0, 1.5, s).astype(np.float32) for n, s in
              adaptive_softmax.shapes(c, H).items()}
    h = rng.normal(0, 1, (50, H)).astype(np.float32)
    targets = rng.integers(0, V, 50)
    logp, rank = adaptive_softmax.target_scores(h, targets, params, c)
    full = adaptive_softmax.log_prob(h, params, c)
    want = full[np.arange(50), targets]
    np.testing.assert_allclose(logp, want, rtol=1e-5)
    truth = (full > want[:, None] + 1e-5).sum(axis=1)  # clear of rounding either way
    loose = (full > want[:, None] - 1e-5).sum(axis=1) - 1
    got = np.minimum(rank, 5)
    assert np.all((np.minimum(truth, 5) <= got) & (got <= np.minimum(loose, 5)))
    assert (rank < 5).any() and (rank >= 5).any()
    fast, no_rank = adaptive_softmax.target_scores(h, targets, params, c, k=0)
    np.testing.assert_allclose(fast, logp, rtol=1e-6)  # without ranks: the same log p
    assert not no_rank.any()


def test_without_ranks_only_the_head_and_the_targets_cluster_are_read(monkeypatch):
    V, H = 40, 8
    c = adaptive_softmax.clusters(V, H, [2, 15, 28], 2.0)  # a head of 2 words: ranks below 5
    rng = np.random.default_rng(5)
    params = {n: rng.normal(0, 1.5, s).astype(np.float32) for n, s in
              adaptive_softmax.shapes(c, H).items()}
    h = rng.normal(0, 1, (30, H)).astype(np.float32)
    targets = np.full(30, 20)  # every target in cluster 1
    read = []

    class Watched(dict):
        def __getitem__(self, name):
            read.append(name)
            return super().__getitem__(name)

    adaptive_softmax.target_scores(h, targets, Watched(params), c, k=0)
    assert set(read) == {"W_head", "b_head", "W_proj.1", "W_tail.1"}
    read.clear()
    adaptive_softmax.target_scores(h, targets, Watched(params), c, k=5)
    assert "W_tail.0" in read or "W_tail.2" in read  # ranks look into the other clusters


def test_full_softmax_scores_equal_the_log_softmax():
    rng = np.random.default_rng(0)
    model = RNNLM.init(30, 4, 6, seed=0)
    h = rng.normal(0, 2, (40, 6)).astype(np.float32)
    targets = rng.integers(0, 30, 40)
    h[0] *= 300  # logits far apart: exp overflows without the max shift
    logp, rank = target_scores(model, h, targets)
    full = model.log_probs(h).astype(np.float64)
    want = full[np.arange(40), targets]
    np.testing.assert_allclose(logp, want, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(rank, (full > want[:, None]).sum(axis=1))
    fast, no_rank = target_scores(model, h, targets, k=0)
    np.testing.assert_array_equal(fast, logp)  # the same passes, less the count
    assert not no_rank.any()


@pytest.mark.parametrize("shift", [-120.0, 120.0])  # every exp underflows / some overflow
def test_full_softmax_scores_hold_for_logits_beyond_float32_exp(shift):
    model = RNNLM.init(30, 4, 6, seed=1)
    h = np.random.default_rng(1).normal(0, 2, (40, 6)).astype(np.float32)
    targets = np.arange(40) % 30
    full = model.log_probs(h).astype(np.float64)
    want = full[np.arange(40), targets]
    model.params["b_y"] += np.float32(shift)  # the same distributions, out of exp's range
    logp, rank = target_scores(model, h, targets)
    np.testing.assert_allclose(logp, want, rtol=1e-4, atol=1e-4)
    # shifted logits round on a coarser grid: ranks hold up to words within that of the target
    truth = (full > want[:, None] + 1e-4).sum(axis=1)
    loose = (full > want[:, None] - 1e-4).sum(axis=1) - 1
    assert np.all((truth <= rank) & (rank <= loose))


def test_full_softmax_scores_in_many_blocks_equal_one_block(monkeypatch):
    import rnncli.infer.evaluate as evaluate
    from rnncli.nn import rowblocks
    model = RNNLM.init(30, 4, 6, seed=2)
    h = np.random.default_rng(2).normal(0, 2, (41, 6)).astype(np.float32)
    targets = np.arange(41) % 30
    whole = target_scores(model, h, targets)
    monkeypatch.setattr(evaluate, "BLOCK", 30 * 4)  # blocks of 4 rows, the last of 1
    monkeypatch.setattr(rowblocks, "CACHE_BLOCK", 30 * 3)
    parts = target_scores(model, h, targets)
    np.testing.assert_allclose(parts[0], whole[0], rtol=1e-6)  # other product shapes: BLAS
    np.testing.assert_array_equal(parts[1], whole[1])  # may sum them in another order

ADAPTIVE = {"model.softmax": "adaptive", "model.cutoffs": [4, 9], "model.div_value": 2,
            "train.epochs": 40}  # on the tiny corpus and settings (conftest.make_model)


@pytest.fixture(scope="module")
def adaptive_model(make_model):
    return make_model(**ADAPTIVE)


def test_an_adaptive_model_learns_and_answers_every_command(adaptive_model, tmp_path):
    from clirun import run

    r = run("complete", "-m", adaptive_model, "--json", "--next", "3", "--explain", "--trace",
            "the cat sat on the")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["completion"] == "mat" and out["next"][0]["word"] == "mat"
    assert out["next"][0]["prob"] > 0.5 and len(out["explain"]) == 5 and len(out["trace"]) == 5
    for flags in (["--beam", "3"], ["--sample", "--seed", "1"]):
        r = run("complete", "-m", str(adaptive_model), "--json", *flags, "the dog sat on")
        assert r.exit_code == 0, r.output
    r = run("score", "-m", str(adaptive_model), "--json", "the cat sat on the mat .")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["perplexity"] < 3
    (tmp_path / "t.txt").write_text("the cat sat on the mat .\n")
    r = run("eval", "-m", str(adaptive_model), "--json", "--accuracy", str(tmp_path / "t.txt"))
    assert r.exit_code == 0, r.output
    scores = json.loads(r.stdout)
    assert scores["perplexity"] < 3 and scores["accuracy"] > 0.6
    r = run("eval", "-m", str(adaptive_model), "--json", str(tmp_path / "t.txt"))
    fast = json.loads(r.stdout)  # the adaptive softmax counts no ranks unless asked
    assert fast["accuracy"] is None and fast["top5_accuracy"] is None
    assert fast["perplexity"] == pytest.approx(scores["perplexity"], rel=1e-6)


def test_cutoffs_beyond_the_vocabulary_are_one_line_errors(tmp_path, tiny_config):
    from clirun import run

    r = run("train", tiny_config, "--set", "model.softmax=adaptive", "--set",
            "model.cutoffs=[4, 90]", "--set", "model.div_value=2")
    assert r.exit_code == 1 and "model.cutoffs" in r.stderr and "Traceback" not in r.output


def test_exported_adaptive_model_gives_pytorchs_probabilities_live(adaptive_model, tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.numpy import load_file

    from rnncli.store import model_folder
    from rnncli.store.export import export

    saved = model_folder.load(adaptive_model)
    state = {k: torch.from_numpy(v) for k, v in
             load_file(str(export(saved, tmp_path / "m.safetensors"))).items()}
    V, m = len(saved.vocab), saved.config.model
    decoder = torch.nn.AdaptiveLogSoftmaxWithLoss(m.hidden, V, m.cutoffs,
                                                  div_value=m.div_value, head_bias=True)
    decoder.load_state_dict({k.split(".", 1)[1]: v for k, v in state.items()
                             if k.startswith("decoder.")})
    encoder, rnn = torch.nn.Embedding(V, m.embedding), torch.nn.RNN(m.embedding, m.hidden)
    encoder.load_state_dict({"weight": state["encoder.weight"]})
    rnn.load_state_dict({k.split(".", 1)[1]: v for k, v in state.items()
                         if k.startswith("rnn.")})
    ids = saved.vocab.encode("the cat sat on the".split())
    with torch.no_grad():
        out, _ = rnn(encoder(torch.from_numpy(ids.astype(np.int64))[:, None]))
        torch_logp = decoder.log_prob(out[:, 0]).numpy()
    hs, _ = saved.model.run(ids[:, None], saved.model.zero_state(1), None)
    np.testing.assert_allclose(np.exp(saved.model.log_probs(hs[:, 0])), np.exp(torch_logp),
                               rtol=1e-4, atol=1e-6)
