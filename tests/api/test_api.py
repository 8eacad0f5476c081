"""The Python API (rnncli.api): each call against the command line's answer or the rule it
keeps, on the demo model shipped with the tests and the tiny corpus."""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import yaml
from clirun import run

import rnncli
from rnncli.errors import ConfigError, DataError, ModelError, OptionError

PROMPTS = ["My favourite dish is sushi. So, my favourite cuisine is", "Moussaka is",
           "My favourite dish is ramen. It is"]


@pytest.fixture(scope="module")
def model(fixed_demo_model):
    return rnncli.load(fixed_demo_model)


def cli_json(*args):
    result = run(*args)
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def run_python(code: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, check=True).stdout.strip()


# --- importing ---------------------------------------------------------------------------------

def test_import_rnncli_loads_no_numpy_and_the_api_asks_for_a_short_spin_first():
    code = ("import importlib.abc, os, sys\n"
            "seen = []\n"
            "class Watch(importlib.abc.MetaPathFinder):\n"
            "    def find_spec(self, name, path, target=None):\n"
            "        if name == 'numpy': seen.append(os.environ.get('OPENBLAS_THREAD_TIMEOUT'))\n"
            "sys.meta_path.insert(0, Watch())\n"
            "import rnncli\n"
            "print('numpy' in sys.modules, end=' ')\n"
            "rnncli.load\n"
            "print('numpy' in sys.modules, seen[0])\n")
    assert run_python(code) == "False True 4"  # set before NumPy loaded OpenBLAS


def test_help_loads_no_numpy():
    code = ("import atexit, sys\n"
            "atexit.register(lambda: print('numpy' in sys.modules))\n"
            "sys.argv = ['rnncli', '--help']\n"
            "from rnncli.cli import main\n"
            "main()\n")
    assert run_python(code).splitlines()[-1] == "False"


def test_the_public_names_are_listed_and_documented():
    for name in rnncli.__all__:
        doc = getattr(rnncli, name).__doc__ or ""
        assert doc and not doc.startswith(f"{name}("), name  # written, not the dataclass's own
    assert set(rnncli.__all__) <= set(dir(rnncli))
    with pytest.raises(AttributeError):
        rnncli.no_such_name  # noqa: B018


def test_train_is_the_api_call_and_still_the_package_of_the_training_code():
    import rnncli.train.loop

    assert callable(rnncli.train) and rnncli.train.loop.train is not None
    from rnncli.train import stopping  # its modules import as before

    assert stopping.__name__ == "rnncli.train.stopping"


# --- loading -----------------------------------------------------------------------------------

def test_load_reads_the_folder_and_refuses_what_is_not_one(model, fixed_demo_model, tmp_path):
    assert model.path == fixed_demo_model.resolve()
    assert model.vocab[:2] == ["<eos>", "<unk>"] or {"<eos>", "<unk>"} <= set(model.vocab)
    assert model.config.model.cell in repr(model) and len(model.history) > 0
    with pytest.raises(ModelError, match="no such model folder"):
        rnncli.load(tmp_path / "nothing")


def test_load_without_a_path_takes_the_last_model_trained(tiny_config, tmp_path):
    assert run("train", tiny_config, "--set", "train.epochs=1", "--out",
               tmp_path / "m").exit_code == 0
    assert rnncli.load().path == (tmp_path / "m").resolve()


# --- completing --------------------------------------------------------------------------------

def test_greedy_completions_are_the_command_lines(model, fixed_demo_model):
    got = model.complete_all(PROMPTS, words=6)
    want = cli_json("complete", *PROMPTS, "-m", fixed_demo_model, "--words", "6", "--json")
    assert [c.to_dict() for c in got] == want
    assert model.complete(PROMPTS[1], words=6).completion == want[1]["completion"]


def test_seeded_samples_are_the_command_lines_and_repeat(model, fixed_demo_model):
    options = dict(sample=True, temperature=1.5, top_k=20, top_p=0.9, seed=7, words=8)
    got = [c.completion for c in model.complete_all(PROMPTS, **options)]
    want = cli_json("complete", *PROMPTS, "-m", fixed_demo_model, "--json", "--sample",
                    "-t", "1.5", "--top-k", "20", "--top-p", "0.9", "--seed", "7", "-n", "8")
    assert got == [w["completion"] for w in want]
    assert got == [c.completion for c in model.complete_all(PROMPTS, **options)]
    # prompt i is drawn by (seed, first + i): the second prompt alone, as the second
    alone = model.complete_all(PROMPTS[1:2], first=1, **options)
    assert alone[0].completion == got[1]


def test_beam_search_lists_its_beams_best_first(model, fixed_demo_model):
    c = model.complete(PROMPTS[0], beam=4, until="sentence")
    scores = [b["score"] for b in c.beams]
    assert len(c.beams) == 4 and scores == sorted(scores, reverse=True)
    assert c.completion == c.beams[0]["completion"]
    (want,) = cli_json("complete", PROMPTS[0], "-m", fixed_demo_model, "--beam", "4",
                       "--until", "sentence", "--json")
    assert c.beams == want["beams"]


def test_words_until_and_lines_say_where_a_completion_ends(model):
    greedy = model.complete("My favourite dish is", words=5).tokens
    assert len(greedy) == 5 and greedy.index(".") < 4  # the line goes on past a sentence
    assert model.complete("My favourite dish is", words=3).tokens == greedy[:3]
    to_sentence = model.complete("My favourite dish is", until="sentence").tokens
    assert to_sentence == greedy[: greedy.index(".") + 1]
    two = model.complete(PROMPTS[1], lines=2)
    assert two.completion.count("\n") == 1 and two.tokens.count("<eos>") == 1
    with pytest.raises(OptionError, match="top_k applies only to sampling"):
        model.complete(PROMPTS[1], top_k=3)


def test_next_words_are_sorted_probabilities_as_the_command_line_lists_them(model,
                                                                            fixed_demo_model):
    nexts = model.next_words(PROMPTS[0], k=10)
    probs = [n.prob for n in nexts]
    assert len(nexts) == 10 and probs == sorted(probs, reverse=True)
    assert 0 < sum(probs) <= 1 + 1e-6
    (want,) = cli_json("complete", PROMPTS[0], "-m", fixed_demo_model, "--next", "10",
                       "--json")
    assert [(n.word, n.prob) for n in nexts] == [(n["word"], n["prob"]) for n in want["next"]]
    everything = model.next_words(PROMPTS[0], k=10**6)  # clamped to the vocabulary
    assert len(everything) == len(model.vocab)
    assert sum(n.prob for n in everything) == pytest.approx(1, abs=1e-4)


def test_explain_explains_the_greedy_word_and_trace_follows_the_prompt(model):
    prompt = "My favourite dish is sushi. So it is"
    why = model.explain(prompt)
    tokens = [s.token for s in model.trace(prompt)]
    assert why.word == model.complete(prompt).tokens[0]
    assert [a.word for a in why.attributions] == tokens  # one per prompt token
    steps = model.trace(prompt)
    assert steps[-1].guess == why.word  # the likeliest after the last token: the greedy word
    assert all(s.h.shape == (model.config.model.hidden,) for s in steps)
    assert all(s.norm == pytest.approx(float(np.linalg.norm(s.h)), rel=1e-5) for s in steps)


# --- scoring -----------------------------------------------------------------------------------

def test_scores_are_the_command_lines(model, fixed_demo_model):
    sentences = ["My favourite dish is sushi. So it is Japanese.", "Moussaka is Greek."]
    got = model.score_all(sentences)
    want = cli_json("score", *sentences, "-m", fixed_demo_model, "--json")
    assert [s.to_dict() for s in got] == want
    one = model.score(sentences[1])
    assert one.tokens[-1].token == "<eos>"
    assert one.logprob == pytest.approx(got[1].logprob, rel=1e-5)
    bits = sum(t.surprisal_bits for t in one.tokens)
    assert bits == pytest.approx(-one.logprob / math.log(2), rel=1e-6)


def test_evaluate_is_eval_for_a_path_and_for_text(model, fixed_demo_model, tmp_path):
    text = "My favourite dish is sushi. So it is Japanese.\n\nMoussaka is Greek.\n"
    path = tmp_path / "t.txt"
    path.write_text(text)
    (want,) = cli_json("eval", path, "-m", fixed_demo_model, "--json")
    assert model.evaluate(path).to_dict() == want
    assert model.evaluate(text=text).to_dict() == want
    assert model.evaluate(path, text=text).tokens == 2 * want["tokens"]
    with pytest.raises(DataError):
        model.evaluate()


# --- training ----------------------------------------------------------------------------------

TINY = {"data": {"train": "tiny.txt", "valid_fraction": 0},
        "model": {"embedding": 16, "hidden": 32},
        "train": {"epochs": 2, "batch_size": 4, "bptt": 8, "lr": 0.5}}


def test_train_from_a_dict_a_path_or_a_config_gives_the_same_model(tiny_corpus, tmp_path,
                                                                   monkeypatch):
    from rnncli.config.schema import load_config

    monkeypatch.chdir(tmp_path)
    epochs = []
    from_dict = rnncli.train(TINY, on_epoch=epochs.append, out="a")
    assert [e.epoch for e in epochs] == [1, 2] and isinstance(epochs[0], rnncli.Epoch)
    # nothing held out: the training text's perplexity, named as such
    assert all(e.valid_ppl is None and e.train_ppl > 0 and e.seconds > 0 for e in epochs)
    assert from_dict.path == (tmp_path / "a").resolve()
    assert [r["train_ppl"] for r in from_dict.history] == [e.train_ppl for e in epochs]

    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    from_path = rnncli.train(tmp_path / "tiny.yaml", out="b")
    from_config = rnncli.train(load_config(tmp_path / "tiny.yaml"), out="c")
    assert from_path.config == from_dict.config.__class__(**{
        **from_dict.config.__dict__, "output": str(tmp_path / "b")})
    for other in (from_path, from_config, rnncli.load(tmp_path / "a")):
        for name, w in from_dict.saved.model.params.items():
            np.testing.assert_array_equal(other.saved.model.params[name], w)


def test_train_overrides_and_the_errors_of_a_config(tiny_corpus, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    one = rnncli.train(TINY, overrides=["train.epochs=1"], out="o")
    assert len(one.history) == 1
    with pytest.raises(ConfigError, match="unknown key 'model.hiden'.*'model.hidden'"):
        rnncli.train({"model": {"hiden": 8}})
    with pytest.raises(ConfigError, match="no such config file"):
        rnncli.train(tmp_path / "missing.yaml")
    with pytest.raises(DataError, match="no such corpus file"):
        rnncli.train({"data": {"train": "missing.txt"}}, out="x")
    assert not (tmp_path / "x").exists()
