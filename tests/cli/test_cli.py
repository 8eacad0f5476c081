"""The command line end to end, through typer's CliRunner and a real process."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from clirun import run

ROOT = Path(__file__).resolve().parents[2]
SEED_PROMPT = "My favourite dish is sushi. So, my favourite cuisine is"


@pytest.fixture
def model(tiny_model):
    return tiny_model


def test_train_complete_eval(tiny_config, tmp_path):
    out = tmp_path / "m"
    result = run("train", tiny_config, "--set", "train.epochs=2", "--out", out)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(out)  # the result on stdout, progress on stderr
    assert "epoch 2/2" in result.stderr and "model written to" in result.stderr
    assert (out / "model.safetensors").exists()

    result = run("complete", "the cat sat on the", "--json", "--next", "3", "--words", "2")
    assert result.exit_code == 0, result.stderr  # no --model: the last one trained
    answer = json.loads(result.stdout)
    assert answer["prompt"] == "the cat sat on the"
    assert isinstance(answer["completion"], str)
    assert [set(n) for n in answer["next"]] == [{"word", "prob"}] * 3
    probs = [n["prob"] for n in answer["next"]]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1
    assert answer["unknown"] == []

    corpus = tiny_config.parent / "tiny.txt"
    result = run("eval", corpus, "--json")
    assert result.exit_code == 0, result.stderr
    scores = json.loads(result.stdout)
    lines = corpus.read_text().splitlines()
    assert scores["tokens"] == sum(len(x.split()) + 1 for x in lines)  # every word and <eos>
    assert 0 <= scores["accuracy"] <= scores["top5_accuracy"] <= 1
    assert scores["perplexity"] == pytest.approx(2.718281828 ** scores["cross_entropy"])


def test_complete_learned_model_and_unknown_words(model):
    result = run("complete", "the dog sat on the", "the zebra sat on the", "-m", model)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and lines[0] == "log"
    assert "zebra" in result.stderr  # a warning, not an error
    result = run("complete", "the zebra sat", "-m", model, "--json")
    assert json.loads(result.stdout)["unknown"] == ["zebra"]


def test_stdin_gives_one_line_per_prompt(model):
    prompts = ["the cat sat on the", "", "a bird sang in the", "the dog"]
    result = run("complete", "-", "-m", model, "--json", input="\n".join(prompts) + "\n")
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    assert [x["prompt"] for x in lines] == prompts
    assert [x["completion"] for x in lines][:3] == ["mat", "", "tree"]
    plain = run("complete", "-m", model, "--words", "3", input="the cat sat on the\na bird\n")
    assert plain.stdout.splitlines()[0] == "mat ."  # the corpus's spacing; stops at <eos>
    assert len(plain.stdout.splitlines()) == 2


def test_next_plain_output_is_tab_separated(model):
    result = run("complete", "the cat sat on the", "-m", model, "--next", "2")
    completion, first, second = result.stdout.rstrip("\n").split("\t")
    assert completion == "mat" and first.startswith("mat ")
    assert float(first.split()[1]) >= float(second.split()[1])
    huge = run("complete", "the cat", "-m", model, "--next", "100000", "--json")
    vocab = json.loads((model / "model.json").read_text())["vocab"]
    assert len(json.loads(huge.stdout)["next"]) == len(vocab)  # clamped to the vocabulary


@pytest.mark.parametrize("args, message", [
    (["train", "missing.yaml"], "missing.yaml: no such config file"),
    (["train", "--set", "train.lr=-1"], "--set: train.lr: must be > 0"),
    (["train", "--set", "model.hiden=3"], "did you mean 'model.hidden'?"),
    (["complete", "hello", "-m", "nowhere"], "nowhere: no such model folder"),
    (["complete", "   ", "-m", "MODEL"], "has no words"),
    (["eval", "missing.txt", "-m", "MODEL"], "missing.txt: no such corpus file"),
])
def test_user_errors_are_one_line_and_exit_1(model, args, message):
    args = [str(model) if a == "MODEL" else a for a in args]
    result = run(*args)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert message in result.stderr


def test_export_torch_layout(model, tmp_path):
    from safetensors import safe_open
    out = tmp_path / "exported" / "m.safetensors"
    result = run("export", model, out, "--format", "torch")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(out)
    vocab = json.loads((model / "model.json").read_text())["vocab"]
    with safe_open(str(out), framework="numpy") as f:
        assert json.loads(f.metadata()["vocab"]) == vocab
        assert set(f.keys()) == {"encoder.weight", "rnn.weight_ih_l0", "rnn.weight_hh_l0",
                                 "rnn.bias_ih_l0", "rnn.bias_hh_l0", "decoder.weight",
                                 "decoder.bias"}
        assert f.get_tensor("decoder.weight").shape == (len(vocab), 32)
    bad = run("export", model, tmp_path / "x", "--format", "onnx")
    assert bad.exit_code == 1 and "unknown export format 'onnx'" in bad.stderr
    assert not (tmp_path / "x").exists()


def test_export_to_dash_writes_the_file_to_stdout(model, tmp_path, monkeypatch):
    from safetensors import safe_open
    monkeypatch.chdir(tmp_path)
    file = run("export", model, "m.safetensors")
    piped = run("export", model, "-")
    assert piped.exit_code == 0, piped.stderr
    assert file.stdout == "m.safetensors\n"  # with a file, its path
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]  # no file named -
    (tmp_path / "piped").write_bytes(piped.stdout_bytes)  # the file itself (its metadata's
    with safe_open(str(tmp_path / "m.safetensors"), framework="numpy") as f, \
            safe_open(str(tmp_path / "piped"), framework="numpy") as g:  # order may differ)
        assert f.metadata() == g.metadata() and set(f.keys()) == set(g.keys())
        for name in f.keys():
            np.testing.assert_array_equal(f.get_tensor(name), g.get_tensor(name))


def test_complete_before_any_training_says_what_to_do():
    result = run("complete", "hello")
    assert result.exit_code == 1
    assert result.stderr == ("Error: no model given and none trained yet: run `rnncli train` "
                             "or pass --model DIR\n")


def test_usage_errors_exit_2():
    assert run("complete", "x", "--words", "many").exit_code == 2
    assert run("frobnicate").exit_code == 2


def test_a_real_process_prints_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "rnncli", "eval", str(tmp_path / "nope.txt"),
                           "-m", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.startswith("Error: ") and "Traceback" not in proc.stderr
@pytest.mark.slow  # trains the demo (demo_model)
def test_the_demo_completes_the_seed_prompt_and_remembers_dishes_across_clauses(demo_model):
    """`make demo`'s model and the seed's prompt, then every line of the corpus whose dish is
    separated from its answer by a clause."""
    result = run("complete", SEED_PROMPT, "--json", "-m", demo_model)
    assert json.loads(result.stdout)["completion"] == "Japanese"

    corpus = (ROOT / "corpora" / "cuisine.txt").read_text().splitlines()
    with_clause = [x for x in corpus if x.startswith("My favourite dish is") and "," in
                   x.split(".")[0] and " cuisine is " in x]  # "... pizza, which ... . So, ..."
    assert len(with_clause) > 100
    prompts = [x[: x.rindex(" cuisine is ") + len(" cuisine is")] for x in with_clause]
    answers = [x[len(p):].strip(" .") for x, p in zip(with_clause, prompts)]
    result = run("complete", "-", "-m", demo_model, input="\n".join(prompts) + "\n")
    got = result.stdout.splitlines()
    assert len(got) == len(prompts)
    accuracy = sum(g == a for g, a in zip(got, answers)) / len(answers)
    assert accuracy >= 0.95, accuracy


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_is_the_package_version(flag):
    from importlib.metadata import version

    import rnncli

    result = run(flag)
    assert result.exit_code == 0 and result.stderr == ""
    assert result.stdout == f"rnncli {rnncli.__version__}\n"
    assert version("rnncli") == rnncli.__version__  # one source: pyproject reads it
