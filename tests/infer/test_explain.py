"""Looking inside: gradients of a prediction through time, attributions, the hidden-state trace."""

import json

import numpy as np
import pytest
from clirun import run

from rnncli.infer import explain as why
from rnncli.infer.predict import complete
from rnncli.nn.layers import log_softmax
from rnncli.nn.model import RNNLM

SEED_PROMPT = "My favourite dish is sushi. So, my favourite cuisine is"


def log_p(model, x, keep, target):
    """log p(target) after reading the embedded inputs x (T, B, E), forward only."""
    h = x
    for k, st in enumerate(model.zero_state(x.shape[1])):
        h, _, _ = model.cell.forward(h, st, keep.astype(model.dtype), model.layer(k))
    return log_softmax(model.logits(h[-1]))[np.arange(x.shape[1]), target]


@pytest.mark.parametrize("cell, layers", [("rnn", 1), ("rnn", 2), ("lstm", 1), ("gru", 2)])
def test_log_prob_gradients_match_finite_differences(cell, layers):
    """d log p(y) / d x_t, backpropagated through time, against centred differences, float64,
    with a reset inside the window (row 1 starts afresh at step 2)."""
    rng = np.random.default_rng(0)
    V, E, H, T, B = 7, 4, 5, 6, 2
    model = RNNLM.init(V, E, H, seed=1, dtype=np.float64, cell=cell, n_layers=layers, init=0.5)
    x = rng.normal(size=(T, B, E))
    keep = np.ones((T, B), dtype=bool)
    keep[0] = False
    keep[2, 1] = False
    target = np.array([3, 5])
    logp, dx = why.log_prob_gradients(model, x, keep, target)
    assert logp == pytest.approx(log_p(model, x, keep, target))
    eps = 1e-6
    numeric = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[idx] += eps
        minus[idx] -= eps
        b = idx[1]
        numeric[idx] = (log_p(model, plus, keep, target)[b]
                        - log_p(model, minus, keep, target)[b]) / (2 * eps)
    assert np.abs(dx - numeric).max() / np.abs(numeric).max() < 1e-6
    assert np.abs(dx[:2, 1]).max() == 0  # nothing flows back through the reset


def test_the_share_is_the_change_from_the_expected_word():
    """Integrated gradients are complete: word t's share is log p(y) minus log p(y) with x_t
    replaced by the expected embedding b_t (up to the path's discretisation)."""
    model = RNNLM.init(9, 6, 8, seed=3, dtype=np.float64, init=0.6)
    ids = np.array([4, 2, 7, 5, 3])
    target, eos = 6, 1
    rows = why.explain(model, ids, target, eos, [str(i) for i in range(9)])
    x = model.params["W_emb"][ids][:, None]  # (T, 1, E)
    keep = np.ones((len(ids), 1), dtype=bool)
    keep[0] = False
    base = why.expected_inputs(model, ids, eos)
    full = log_p(model, x, keep, [target])[0]
    for t, row in enumerate(rows):
        swapped = x.copy()
        swapped[t, 0] = base[t]
        assert row.share == pytest.approx(full - log_p(model, swapped, keep, [target])[0],
                                          rel=0.02, abs=1e-3)
        assert row.word == str(ids[t]) and row.grad_norm > 0


def test_drop_and_score_are_log_p_against_its_average_over_the_models_guesses():
    """An independent oracle: every replacement run on its own, averaged by hand; the drop
    weighs each guess by q, the score by q times the probability of the words after it."""
    model = RNNLM.init(9, 6, 8, seed=4, dtype=np.float64, init=0.6, cell="gru")
    ids = np.array([4, 2, 7, 5])
    target, eos = 3, 1
    q = why.expected_words(model, ids, eos)
    assert np.allclose(q.sum(axis=1), 1)
    keep = np.ones((len(ids), 1), dtype=bool)
    keep[0] = False

    def log_p_of(seq, after=None):
        """log p(target | seq), or with `after` log p(seq[after + 1:] | seq[:after + 1])."""
        hs, _ = model.run(np.array(seq)[:, None], model.zero_state(1), keep)
        logp = log_softmax(model.logits(hs[:, 0]))  # (T, V)
        if after is None:
            return float(logp[-1, target])
        return float(sum(logp[j, seq[j + 1]] for j in range(after, len(seq) - 1)))

    drop, score = why.counterfactuals(model, ids, target, q)
    for t in range(len(ids)):  # 9 words < 20 guesses: every word is a replacement
        swapped = [[*ids[:t], w, *ids[t + 1:]] for w in range(9)]
        p = sum(q[t, w] * np.exp(log_p_of(s)) for w, s in enumerate(swapped))
        assert drop[t] == pytest.approx(log_p_of(ids) - np.log(p), abs=1e-9)
        weights = np.array([q[t, w] * np.exp(log_p_of(s, after=t)) for w, s in enumerate(swapped)])
        p = sum(weights[w] * np.exp(log_p_of(s)) for w, s in enumerate(swapped)) / weights.sum()
        assert score[t] == pytest.approx(log_p_of(ids) - np.log(p), abs=1e-9)
    assert score[-1] == pytest.approx(drop[-1])  # nothing after the last word to weigh by


def test_explain_finds_the_dish_behind_the_cuisine(fixed_demo_model):
    """The demo's lesson: "sushi", seven tokens back, is what makes the model say Japanese:
    its score is the highest, and its share is for Japanese, not against.

    One fixed model (shipped with the tests): a demo trained on another BLAS kernel has other
    last bits in its weights, and which word its integrated-gradient share ranks first varies
    from one such model to another (for this one it is "."; bench/demo_explain.py counts how
    often the share names the dish over the whole corpus)."""
    demo_model = fixed_demo_model
    result = run("complete", SEED_PROMPT, "--explain", "--json", "-m", demo_model)
    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["completion"] == "Japanese"
    words = [a["word"] for a in answer["explain"]]
    assert words == ["My", "favourite", "dish", "is", "sushi", ".", "So", ",", "my",
                     "favourite", "cuisine", "is"]  # in prompt order
    assert answer["explained"] == "Japanese"
    assert max(answer["explain"], key=lambda a: a["score"])["word"] == "sushi"
    assert set(answer["explain"][0]) == {"word", "score", "grad_norm", "drop", "share"}
    sushi = answer["explain"][words.index("sushi")]
    assert sushi["share"] > 0 and sushi["drop"] > 1.0
    plain = run("complete", SEED_PROMPT, "--explain", "-m", demo_model)
    lines = plain.stdout.splitlines()
    assert lines[0] == "Japanese" and lines[1].startswith("why 'Japanese'")
    assert lines[2].split() == ["score", "|grad|"]
    assert len(lines) == 3 + len(words)
    for line, a in zip(lines[3:], answer["explain"]):  # word, score, |grad|, as in JSON
        values = [x for x in line.split() if x[0] in "+-"]
        assert line.split()[0] == a["word"]
        assert values == [f"{a['score']:+.3f}"] and line.endswith(f"{a['grad_norm']:.4f}")
    assert "█" * 12 in lines[3 + words.index("sushi")]  # the longest score bar
    assert "\x1b[" not in plain.stdout  # no colour into a pipe


def test_trace_shows_the_hidden_state_at_every_prompt_token(tiny_config, tmp_path):
    from rnncli.config.schema import load_config
    from rnncli.store import model_folder
    from rnncli.train.loop import train

    saved = train(load_config(tiny_config))
    prompt = "the cat sat on the"
    (c,) = complete(saved, [prompt], trace=True)
    assert [s.token for s in c.trace] == prompt.split()
    hs, _ = saved.model.run(saved.vocab.encode(prompt.split())[:, None],
                            saved.model.zero_state(1), None)
    for s, h in zip(c.trace, hs[:, 0]):
        assert np.allclose(s.h, h) and s.norm == pytest.approx(float(np.linalg.norm(h)))
    assert c.trace[-1].guess == c.tokens[0]  # the last guess is the (greedy) completion

    path = model_folder.save(saved, tmp_path / "m")
    result = run("complete", prompt, "--trace", "--json", "-m", path)
    rows = json.loads(result.stdout)["trace"]
    assert [r["token"] for r in rows] == prompt.split()
    assert all(len(r["h"]) == saved.model.H and set(r) == {"token", "norm", "guess", "prob", "h"}
               for r in rows)
    plain = run("complete", prompt, "--trace", "-m", path)
    lines = plain.stdout.splitlines()
    assert len(lines) == 2 + len(rows) and lines[0] == c.completion
    assert all(line.split()[0] == r["token"] and line.split()[-2] == r["guess"]
               for line, r in zip(lines[2:], rows))
