"""`rnncli show` and the library function behind it, on a real model folder."""

import json

from clirun import run

from rnncli.cli.plot import chart
from rnncli.store import model_folder
from rnncli.store.describe import describe


def test_describe_reads_the_folder(tiny_model):
    info = describe(tiny_model)
    saved = model_folder.load(tiny_model)
    assert info["parameters_total"] == sum(W.size for W in saved.model.params.values())
    assert info["parameters"]["W_hh"] == {"shape": [32, 32], "count": 1024}
    assert info["bytes"]["model.safetensors"] == (tiny_model / "model.safetensors").stat().st_size
    assert info["bytes"]["total"] == sum(f.stat().st_size for f in tiny_model.iterdir())
    assert (info["cell"], info["hidden"], info["vocab_size"]) == ("rnn", 32, len(saved.vocab))
    assert info["epochs"] == 40 and info["stopped"]["reason"] == "epochs"
    epochs = info["curves"]["epochs"]
    assert [e["epoch"] for e in epochs] == list(range(1, 41))
    assert epochs[-1]["tokens"] == info["tokens_seen"] > 0
    # the tiny corpus holds nothing out: its perplexity is the training text's, called so
    assert [e["train_ppl"] for e in epochs] == [r["train_ppl"] for r in saved.history]
    assert all(e["valid_ppl"] is None for e in epochs) and "train_ppl" in info["best"]
    assert json.loads(json.dumps(info)) == info  # JSON-ready as it is


def test_show_prints_the_facts_and_draws_the_curves(tiny_model):
    result = run("show", tiny_model)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert f"parameters  {describe(tiny_model)['parameters_total']:,}" in out
    assert "stopped     ran all 40 epochs" in out
    for title in ("training loss", "training perplexity (nothing held out)", "gradient norm"):
        assert title in out
    assert sum(1 for ch in out if 0x2800 < ord(ch) <= 0x28FF) > 50  # dots were drawn
    as_json = json.loads(run("show", tiny_model, "--json").stdout)
    assert as_json["parameters_total"] == describe(tiny_model)["parameters_total"]


def test_show_refuses_a_folder_that_is_not_a_model(tmp_path):
    result = run("show", tmp_path)
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("Error: ") and "not an rnncli model folder" in line


def test_a_chart_puts_the_extremes_on_its_edges():
    lines = chart([0, 1, 2, 3], [5.0, 1.0, 3.0, 2.0], width=4, height=2)
    # the first point (x 0, y 5) is the top-left dot; the lowest (x 1, y 1) is in the bottom row
    assert lines[0].startswith("5 ┤") and ord(lines[0][3]) & 0x01
    assert lines[1].startswith("1 ┤") and ord(lines[1][4]) - 0x2800 != 0
    assert lines[-1].split() == ["0", "3"]


def test_a_chart_of_one_point_or_a_constant_says_so():
    assert chart([100], [2.5], title="validation perplexity", x_label="tokens seen") == [
        "validation perplexity: one point, 2.5 at 100 (tokens seen)"]
    assert chart([1, 2, 3], [4.0, 4.0, 4.0], title="loss", x_label="epoch") == [
        "loss: constant, 4 at all 3 points, from 1 to 3 (epoch)"]


def test_show_after_a_short_run_says_what_it_has(tiny_corpus, tmp_path):
    """A run cut by its token budget inside its first epoch, too short for one logged step."""
    (tmp_path / "short.yaml").write_text(
        "data:\n  train: tiny.txt\n  valid_fraction: 0.2\n"
        "model:\n  embedding: 8\n  hidden: 8\n"
        "train:\n  epochs: 3\n  batch_size: 2\n  bptt: 4\n  max_tokens: 20\n"
        "  log_every: 1000\noutput: short\n")
    assert run("train", tmp_path / "short.yaml").exit_code == 0
    info = describe(tmp_path / "short")
    assert info["epochs"] == 1 and info["partial_epoch"]
    out = run("show", tmp_path / "short").stdout
    assert "trained     part of an epoch, " in out
    assert f"training loss (nats/token): not logged: the run took {info['steps']:,} steps, " \
           "fewer than train.log_every (1,000)" in out
    assert "validation perplexity: one point, " in out
    assert not any(0x2800 < ord(ch) <= 0x28FF for ch in out)  # no empty frames drawn
