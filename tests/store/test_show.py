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
    assert [e["valid_ppl"] for e in epochs] == [r["valid_ppl"] for r in saved.history]
    assert json.loads(json.dumps(info)) == info  # JSON-ready as it is


def test_show_prints_the_facts_and_draws_the_curves(tiny_model):
    result = run("show", tiny_model)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert f"parameters  {describe(tiny_model)['parameters_total']:,}" in out
    assert "stopped     ran all 40 epochs" in out
    for title in ("training loss", "validation perplexity", "gradient norm"):
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
