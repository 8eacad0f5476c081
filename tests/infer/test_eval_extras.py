"""rnncli eval --cache / --dynamic from the command line: the rows, the settings used, and the
equivalences with plain eval where the extras are switched off."""

import json

from clirun import run


def eval_json(*args):
    result = run("eval", *args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_cache_and_dynamic_switched_off_give_plain_eval(tiny_model, tiny_corpus):
    plain = eval_json(tiny_corpus, "-m", tiny_model)
    got = eval_json(tiny_corpus, "-m", tiny_model, "--cache", "20", "--cache-lambda", "0",
                    "--cache-theta", "0.3", "--dynamic", "--dynamic-lr", "0",
                    "--dynamic-decay", "0")
    names = [r["name"] for r in got["rows"]]
    assert names == ["network", "+ cache", "+ dynamic", "all"]
    for row in got["rows"]:
        assert f"{row['perplexity']:.2f}" == f"{plain['perplexity']:.2f}", row
    assert got["cache"] == {"size": 20, "theta": 0.3, "lambda": 0.0}
    assert got["dynamic"] == {"lr": 0.0, "decay": 0.0, "segment": 20}


def test_cache_settings_are_chosen_and_said(fixed_demo_model, tmp_path):
    """The demo model has validation text: theta and lambda are chosen there."""
    text = tmp_path / "t.txt"
    text.write_text("My favourite dish is sushi. So, my favourite cuisine is Japanese.\n" * 3)
    result = run("eval", text, "-m", fixed_demo_model, "--cache", "20")
    assert result.exit_code == 0, result.stderr
    assert "+ cache" in result.stdout and "theta" in result.stdout
    assert "tokens/s" in result.stderr  # each pass says its speed


def test_bad_extras_are_usage_errors(tiny_model, tiny_corpus):
    for bad in (["--cache", "-1"], ["--cache", "5", "--cache-lambda", "1.5"]):
        result = run("eval", tiny_corpus, "-m", tiny_model, *bad)
        assert result.exit_code == 2, (bad, result.stderr)
