"""eval's figures for n-gram users: log10 probability, bits per token, and perplexity with and
without the <unk> targets, checked against score's per-token surprisals."""

import json
import math

import pytest
from clirun import run


def test_eval_figures_agree_with_per_token_scores(tiny_model, tmp_path):
    lines = ["the zebra sat on the mat .", "the cat saw the okapi ."]
    text = tmp_path / "t.txt"
    text.write_text("\n".join(lines) + "\n")
    result = run("eval", text, "-m", tiny_model, "--json")
    assert result.exit_code == 0, result.stderr
    e = json.loads(result.stdout)

    result = run("score", *lines, "-m", tiny_model, "--json")  # each line from a zero state
    assert result.exit_code == 0, result.stderr
    tokens = [t for line in result.stdout.splitlines() for t in json.loads(line)["tokens"]]
    bits = [t["surprisal_bits"] for t in tokens]
    unknown = [t["token"] in ("zebra", "okapi") for t in tokens]
    known_bits = [b for b, u in zip(bits, unknown) if not u]

    assert e["tokens"] == len(tokens) == 15 and e["unk_targets"] == sum(unknown) == 2
    assert e["bits_per_token"] == pytest.approx(sum(bits) / len(bits), rel=1e-4)
    assert e["log10_prob"] == pytest.approx(-sum(bits) * math.log10(2), rel=1e-4)
    assert e["perplexity"] == pytest.approx(2 ** (sum(bits) / len(bits)), rel=1e-4)
    assert e["perplexity_without_unk"] == pytest.approx(2 ** (sum(known_bits) / 13), rel=1e-4)

    result = run("eval", text, "-m", tiny_model)
    assert result.exit_code == 0, result.stderr
    assert f"{e['bits_per_token']:.4f} bits/token" in result.stdout
    assert f"log10 prob     {e['log10_prob']:,.2f}" in result.stdout
    assert (f"perplexity     {e['perplexity']:.2f} with <unk> targets, "
            f"{e['perplexity_without_unk']:.2f} without") in result.stdout
