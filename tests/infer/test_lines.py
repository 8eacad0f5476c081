"""Completions across line ends (--lines N), and output that keeps multi-line answers apart."""

import json

import pytest
from clirun import run

from rnncli.errors import PromptError
from rnncli.infer.decode import Decoding
from rnncli.infer.predict import complete
from rnncli.store import model_folder

# a play in miniature: each line is followed by one and the same next line
PLAY = "ROMEO : speak\nJULIET : no\nNURSE : why\nFRIAR : dawn\n" * 30


@pytest.fixture(scope="module")
def play_model(make_model):
    return make_model(PLAY.splitlines(), **{
        "data.tokenizer": "whitespace", "model.cell": "lstm", "train.epochs": 40,
        "train.bptt": 16, "train.lr": 4.0, "train.reset_at_eos": False})


def test_greedy_goes_on_for_n_lines(play_model):
    saved = model_folder.load(play_model)
    (one,) = complete(saved, ["ROMEO : speak"], Decoding(lines=1))
    assert one.completion == ""  # the line is over: --lines 1 ends at its <eos>
    (three,) = complete(saved, ["ROMEO : speak"], Decoding(lines=3))
    assert three.completion == "\nJULIET : no\nNURSE : why"
    (beam,) = complete(saved, ["ROMEO : speak"], Decoding(lines=3, beam=2))
    assert beam.completion == three.completion
    (cut,) = complete(saved, ["ROMEO : speak"], Decoding(lines=3, words=4))
    assert cut.completion == "\nJULIET : no"  # <eos>, JULIET, :, no


@pytest.mark.parametrize("beam", [0, 2])
def test_lines_cap_the_tokens_of_each_line_not_of_all(play_model, monkeypatch, beam):
    import rnncli.infer.decode as decode

    monkeypatch.setattr(decode, "MAX_WORDS", 2)  # a line holds at most 2 tokens
    saved = model_folder.load(play_model)
    (c,) = complete(saved, ["ROMEO : speak"], Decoding(lines=3, beam=beam))
    # every line is cut at two tokens, and all three lines are written (not 2 x 3 in total)
    lines = c.completion.split("\n")
    assert len(lines) == 3 and [len(line.split()) for line in lines] == [0, 2, 2]
    if not beam:
        assert c.completion == "\nJULIET :\nNURSE :"


def test_plain_json_and_nul_output(play_model):
    args = ("complete", "NURSE : why", "JULIET : no", "-m", play_model, "--lines", "2")
    result = run(*args, "-z")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.split("\0") == ["\nFRIAR : dawn", "\nNURSE : why", ""]
    result = run(*args, "--json")
    answers = [json.loads(x) for x in result.stdout.splitlines()]
    assert [a["completion"] for a in answers] == ["\nFRIAR : dawn", "\nNURSE : why"]
    # one line per prompt, as before, without --lines
    result = run("complete", "-", "-m", play_model, "--until", "eos", input="ROMEO :\nJULIET :\n")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "speak\nno\n"


def test_lines_options_checked():
    with pytest.raises(PromptError, match="lines must be 1 or more"):
        Decoding(lines=0)
    with pytest.raises(PromptError, match="choose one"):
        Decoding(lines=2, until="sentence")
