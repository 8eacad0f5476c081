"""Decoding strategies: the sampling filters, seeded draws, greedy, beam search, stopping rules."""

import math

import numpy as np
import pytest
from clirun import run
from hypothesis import given, settings
from hypothesis import strategies as st

from rnncli.errors import OptionError, PromptError
from rnncli.infer.decode import Decoding, draw, prompt_rngs, top_k_filter, top_p_filter
from rnncli.infer.predict import align, complete, split_texts
from rnncli.nn.layers import log_softmax
from rnncli.store import model_folder

PROMPTS = ["the cat", "a bird sang", "the dog sat on the", "the cat saw"]


@pytest.fixture(scope="module")
def saved(make_model):
    """A small model whose next-word distributions are not one-hot (several lines share
    beginnings), with rare words left out of the vocabulary so <unk> is a likely guess."""
    lines = ["the cat sat on the mat .", "the dog sat on the log .", "a bird sang in the tree .",
             "the cat saw the bird !", "the dog saw a cat .", "a bird sat on the dog ."] * 8
    lines += [f"the cat saw a {w} ." for w in ["yak", "gnu", "emu", "owl", "elk", "ant", "bee"]]
    return model_folder.load(make_model(lines, **{"data.min_count": 2, "train.epochs": 30}))


def logp_of(probs):
    with np.errstate(divide="ignore"):  # log 0 = -inf: a token that cannot come
        return np.log(np.asarray(probs, dtype=np.float64))[None, :]


# --- filters ------------------------------------------------------------------------------

@pytest.mark.parametrize("p, kept", [(0.4, {0}), (0.5, {0}), (0.75, {0, 1}), (0.81, {0, 1, 2}),
                                     (0.99, {0, 1, 2, 3}), (1.0, {0, 1, 2, 3})])
def test_top_p_keeps_the_smallest_set_reaching_p(p, kept):
    probs = np.array([0.5, 0.3, 0.15, 0.05])
    perm = np.array([2, 0, 3, 1])  # the same distribution in another order
    out = top_p_filter(logp_of(probs[perm]), p)[0]
    assert {int(perm[i]) for i in np.flatnonzero(np.isfinite(out))} == kept
    assert np.array_equal(out[np.isfinite(out)], np.log(probs[perm])[np.isfinite(out)])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0.001, 1.0), min_size=1, max_size=30), st.floats(0.01, 1.0))
def test_top_p_property(weights, p):
    probs = np.array(weights) / sum(weights)
    out = top_p_filter(logp_of(probs), p)[0]
    kept = np.isfinite(out)
    total = probs[kept].sum()
    assert total >= p - 1e-9  # reaches p
    assert probs[kept].min() >= probs[~kept].max(initial=0.0) - 1e-12  # the likeliest ones
    # (1e-12: two weights a rounding apart may be ranked either way)
    smallest = probs[kept].min()
    assert total - smallest < p + 1e-9  # and no smaller set of them would


def test_top_k_keeps_k():
    logp = logp_of([0.1, 0.4, 0.2, 0.3])
    assert np.isfinite(top_k_filter(logp, 2)[0]).tolist() == [False, True, False, True]
    assert np.array_equal(top_k_filter(logp, 0), logp)
    assert np.array_equal(top_k_filter(logp, 10), logp)


def test_draw_follows_the_distribution_and_never_picks_a_cut_token():
    probs = [0.5, 0.3, 0.2, 0.0]
    logp = np.repeat(logp_of(probs), 20_000, axis=0)  # 20,000 rows, one draw each
    choice = draw(logp, prompt_rngs(7, 0, 20_000))
    freq = np.bincount(choice, minlength=4) / len(choice)
    assert np.abs(freq - probs).max() < 0.015 and freq[3] == 0
    again = draw(logp, prompt_rngs(7, 0, 20_000))
    assert np.array_equal(choice, again)  # the same seed, the same draws


# --- strategies ---------------------------------------------------------------------------

def texts(results):
    return [c.completion for c in results]


def test_greedy_and_beam_are_deterministic(saved):
    for d in (Decoding(words=6), Decoding(words=6, beam=3), Decoding(until="eos", beam=4)):
        assert texts(complete(saved, PROMPTS, d)) == texts(complete(saved, PROMPTS, d))


@pytest.mark.parametrize("words, until", [(1, None), (4, None), (None, "eos"),
                                          (None, "sentence"), (0, None)])
def test_beam_of_width_1_is_greedy(saved, words, until):
    greedy = complete(saved, PROMPTS, Decoding(words=words, until=until))
    beam = complete(saved, PROMPTS, Decoding(words=words, until=until, beam=1))
    assert texts(beam) == texts(greedy)
    assert [c.logprob for c in beam] == pytest.approx([c.logprob for c in greedy], abs=1e-5)


def completion_logprob(saved, prompt, tokens, ended):
    """log p(tokens [+ <eos>] | prompt), recomputed independently, one token at a time."""
    model, vocab = saved.model, saved.vocab
    inputs, keep = align(saved, split_texts(saved, [prompt], "prompt"))
    hs, state = model.run(inputs, model.zero_state(1), keep)
    h, total = hs[-1], 0.0
    for tok in [*vocab.encode(tokens), *([vocab.eos] if ended else [])]:
        total += float(log_softmax(model.logits(h))[0, tok])
        h, state = model.step(np.array([tok]), state)
    return total


def test_beams_are_ranked_and_their_log_probabilities_are_right(saved):
    (c,) = complete(saved, ["the dog"], Decoding(until="eos", beam=5))
    assert 1 <= len(c.beams) <= 5
    scores = [b["score"] for b in c.beams]
    assert scores == sorted(scores, reverse=True)
    assert c.completion == c.beams[0]["completion"]
    for b in c.beams:
        tokens = split_texts(saved, [b["completion"]], "x")[0] if b["completion"] else []
        want = completion_logprob(saved, "the dog", tokens, b["ended"])
        assert b["logprob"] == pytest.approx(want, abs=1e-4)
        assert b["score"] == pytest.approx(b["logprob"] / (len(tokens) + b["ended"]))


def test_sampling_with_a_seed_is_repeatable_however_prompts_are_batched(saved):
    d = Decoding(words=8, sample=True, seed=11, temperature=1.5)
    together = texts(complete(saved, PROMPTS * 3, d))
    one_by_one = [complete(saved, [p], d, first=i)[0].completion
                  for i, p in enumerate(PROMPTS * 3)]
    assert together == one_by_one
    assert together == texts(complete(saved, PROMPTS * 3, d))
    other = texts(complete(saved, PROMPTS * 3, Decoding(words=8, sample=True, seed=12,
                                                        temperature=1.5)))
    assert other != together  # 12 prompts x 8 words at T = 1.5: a different seed differs


def test_a_tiny_top_p_or_top_k_1_sampling_is_greedy(saved):
    greedy = texts(complete(saved, PROMPTS, Decoding(words=5)))
    assert texts(complete(saved, PROMPTS, Decoding(words=5, sample=True, top_p=1e-6,
                                                   seed=1))) == greedy
    assert texts(complete(saved, PROMPTS, Decoding(words=5, sample=True, top_k=1,
                                                   seed=2))) == greedy


def test_unk_is_never_chosen_unless_allowed(saved):
    assert "<unk>" not in saved.vocab.itos[2:]
    greedy = complete(saved, ["the cat saw a"], Decoding(words=1, allow_unk=True), next_k=1)
    assert greedy[0].next[0].word == "<unk>"  # the rare animals: the model's best guess
    assert greedy[0].completion == "<unk>"
    for d in (Decoding(words=3), Decoding(words=3, beam=3),
              Decoding(words=3, sample=True, seed=0, temperature=3.0)):
        for c in complete(saved, ["the cat saw a"] * 20, d):
            assert "<unk>" not in c.tokens and "<eos>" not in c.tokens


def test_stopping_rules(saved):
    (line,) = complete(saved, ["the dog sat on"], Decoding(until="eos"))
    assert line.completion == "the log ."  # to the end of the line; <eos> is not printed
    # (spaced as the corpus spaces it)
    assert math.isfinite(line.logprob) and line.logprob < 0
    (first,) = complete(saved, ["the cat saw the"], Decoding(until="sentence"))
    assert first.tokens[-1] in {".", "!", "?"}
    (capped,) = complete(saved, ["the dog sat on"], Decoding(words=2, until="eos"))
    assert capped.tokens == ["the", "log"]


def test_decoding_options_are_checked_in_the_librarys_own_terms():
    with pytest.raises(OptionError, match="^temperature and top_p apply only to sampling: "
                                          "add sample$") as e:
        Decoding(temperature=0.5, top_p=0.9)
    assert e.value.options == ("temperature", "top_p") and e.value.needs == "sample"
    with pytest.raises(PromptError, match="^until must be one of eos, sentence, got 'x'$") as e:
        Decoding(until="x")
    assert (e.value.options, e.value.value) == (("until",), "x")


@pytest.mark.parametrize("args, message", [
    (["-t", "0.5", "--top-p", "0.9"], "--temperature and --top-p apply only to sampling: add "
                                      "--sample (--next K lists the K likeliest next words)"),
    (["--until", "eos", "--top-k", "-2", "--sample"], "--top-k must be 0 or more, got -2"),
    (["--beam", "2", "--sample"], "--beam and --sample are two strategies: choose one"),
])
def test_the_command_line_names_the_options_by_their_flags(args, message):
    result = run("complete", "the cat", *args)
    assert result.exit_code == 2 and result.stderr == f"Error: {message}\n"  # usage errors
    assert Decoding().max_words == 1 and Decoding(until="eos").max_words == 100


def test_beam_search_in_slices_and_beyond_the_vocabulary(saved, monkeypatch):
    """Beams of many prompts are searched in slices that bound the (prompt, beam, word) scores;
    the slices change nothing, and more beams than words are as many as there are words."""
    import rnncli.infer.predict

    d = Decoding(until="eos", beam=3)
    whole = complete(saved, PROMPTS * 4, d)
    monkeypatch.setattr(rnncli.infer.predict, "BEAM_CELLS", 1)  # one prompt at a time
    sliced = complete(saved, PROMPTS * 4, d)
    assert [[b["completion"] for b in c.beams] for c in sliced] == \
        [[b["completion"] for b in c.beams] for c in whole]
    assert [b["logprob"] for c in sliced for b in c.beams] == \
        pytest.approx([b["logprob"] for c in whole for b in c.beams], abs=1e-5)  # BLAS order
    (wide,) = complete(saved, ["the dog"], Decoding(words=2, beam=10_000))
    assert 1 <= len(wide.beams) <= len(saved.vocab)


def test_a_negative_next_k_is_one_option_error_wherever_it_comes_from(saved):
    """The library, the command line (--next) and the server ('next') share one check."""
    with pytest.raises(OptionError, match="next_k must be 0 or more, got -1"):
        complete(saved, ["the cat"], next_k=-1)
    # the command line's wording: tests/cli/test_errors.py; the server's: tests/serve
