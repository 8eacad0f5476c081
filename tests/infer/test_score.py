"""rnncli score: log-probabilities of whole sentences, token by token."""

import json
import math

import numpy as np
import pytest
from clirun import run

from rnncli.infer.evaluate import evaluate
from rnncli.infer.score import score
from rnncli.store import model_folder


@pytest.fixture
def model(tiny_model):
    return model_folder.load(tiny_model)


def test_a_sentence_scores_as_eval_scores_its_line(model):
    sentence = "the cat sat on the mat ."
    (s,) = score(model, [sentence])
    ids = model.vocab.encode(sentence.split() + ["<eos>"])
    scores = evaluate(model.model, ids, model.vocab.eos, model.vocab.unk, True)
    assert s.logprob == pytest.approx(-scores.nll, rel=1e-5)
    assert len(s.tokens) == 8  # seven tokens and the line's end
    bits = sum(t.surprisal_bits for t in s.tokens)
    assert bits == pytest.approx(-s.logprob / math.log(2), rel=1e-6)
    assert s.perplexity == pytest.approx(math.exp(-s.logprob / 8))


def test_a_seen_sentence_beats_a_scrambled_one_and_batching_changes_nothing(model):
    seen, scrambled = "the dog sat on the log .", "log the on . sat dog the"
    alone = [score(model, [x])[0].logprob for x in (seen, scrambled)]
    together = [s.logprob for s in score(model, [seen, "a bird", scrambled])][::2]
    assert alone[0] > alone[1] + 5
    np.testing.assert_allclose(together, alone, rtol=1e-5)


def test_cli_plain_json_and_stdin(model):
    path = model.path
    plain = run("score", "the cat sat on the mat .", "the mat", "-m", path)
    assert plain.exit_code == 0, plain.stderr
    rows = [line.split("\t") for line in plain.stdout.splitlines()]
    assert [r[2] for r in rows] == ["the cat sat on the mat .", "the mat"]
    assert float(rows[0][0]) < 0 and float(rows[0][1]) >= 1
    piped = run("score", "-m", path, "--json", input="the cat sat on the mat .\n\nthe dog\n")
    lines = [json.loads(x) for x in piped.stdout.splitlines()]
    assert [x["sentence"] for x in lines] == ["the cat sat on the mat .", "", "the dog"]
    assert lines[0]["tokens"][2] == {**lines[0]["tokens"][2], "token": "sat"}
    assert set(lines[0]["tokens"][0]) == {"token", "surprisal_bits", "best", "best_prob"}
    bad = run("score", "   ", "-m", path)
    assert bad.exit_code == 1 and bad.stderr.startswith("Error: ")


@pytest.mark.parametrize("softmax", ["full", "adaptive"])
def test_scorer_best_equals_the_whole_distribution(softmax, monkeypatch):
    """The target's log p, the likeliest word and its log p, in blocks of rows (a few rows
    each, to cross block edges), against model.log_probs; the full softmax's logits far from
    zero too (its exp is shifted by the row's max)."""
    import rnncli.infer.evaluate as evaluate
    from rnncli.nn import adaptive_softmax, rowblocks
    from rnncli.nn.model import RNNLM
    c = adaptive_softmax.clusters(30, 6, [5, 12], 2.0) if softmax == "adaptive" else None
    m = RNNLM.init(30, 4, 6, seed=3, softmax=c)
    rng = np.random.default_rng(3)
    h = rng.normal(0, 2, (23, 6)).astype(np.float32)
    h[0] *= 300
    targets = rng.integers(0, 30, 23)
    monkeypatch.setattr(evaluate, "BLOCK", 30 * 5)
    monkeypatch.setattr(rowblocks, "CACHE_BLOCK", 30 * 2)
    got, best, best_logp = evaluate.TargetScorer(m).best(h, targets)
    full = m.log_probs(h).astype(np.float64)
    idx = np.arange(23)
    np.testing.assert_allclose(got, full[idx, targets], rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(best, full.argmax(axis=1))
    np.testing.assert_allclose(best_logp, full.max(axis=1), rtol=1e-4, atol=1e-4)
