"""`rnncli complete` in every mode: output shapes, pipelines, colour, the interactive session."""

import io
import json
import os
import select
import subprocess
import sys
import time

import pytest
from clirun import run
from rich.console import Console

from rnncli.cli.interactive import session
from rnncli.infer.decode import Decoding
from rnncli.infer.predict import complete

PROMPTS = ["the cat sat on the", "a bird", "the dog"]


@pytest.fixture(scope="module")
def model(make_model):
    lines = ["the cat sat on the mat .", "the dog sat on the log .", "a bird sang in the tree .",
             "the cat saw the bird !", "the dog saw a cat ."] * 6
    return make_model(lines, **{"train.epochs": 25})


@pytest.mark.parametrize("mode", [[], ["--sample", "--seed", "1"], ["--beam", "3"],
                                  ["--sample", "--top-p", "0.9", "--top-k", "3", "-t", "0.7"],
                                  ["--until", "sentence"], ["--beam", "2", "--until", "eos"]])
def test_one_plain_line_and_one_json_object_per_prompt(model, mode):
    stdin = "\n".join(PROMPTS) + "\n"
    plain = run("complete", "-", "-m", model, "-n", "4", *mode, input=stdin)
    assert plain.exit_code == 0, plain.stderr
    assert len(plain.stdout.splitlines()) == len(PROMPTS)
    objs = [json.loads(x) for x in run("complete", "-", "-m", model, "-n", "4", "--json", *mode,
                                       input=stdin).stdout.splitlines()]
    assert [o["prompt"] for o in objs] == PROMPTS
    for o, line in zip(objs, plain.stdout.splitlines()):
        assert {"prompt", "completion", "logprob", "next", "unknown"} <= set(o)
        assert o["logprob"] <= 0 and "<eos>" not in o["completion"]
        if "--beam" in mode:
            width = int(mode[mode.index("--beam") + 1])
            assert 1 <= len(o["beams"]) <= width
            assert o["beams"][0]["completion"] == o["completion"]
            assert set(o["beams"][0]) == {"completion", "logprob", "score", "ended"}
        else:
            assert "beams" not in o
        if "--seed" in mode or "--sample" not in mode:
            assert line == o["completion"]  # greedy, beam and seeded sampling: repeatable


def test_seeded_sampling_is_repeatable_from_the_command_line(model):
    args = ["complete", "-", "-m", model, "--sample", "--seed", "5", "-n", "6", "-t", "2"]
    stdin = "\n".join(PROMPTS * 4) + "\n"
    first, second = run(*args, input=stdin), run(*args, input=stdin)
    assert first.stdout == second.stdout and first.exit_code == 0
    assert run(*args[:-4], "6", "-n", "6", "-t", "2", input=stdin).stdout != first.stdout
    warned = run("complete", "the cat", "-m", model, "--seed", "5")
    assert warned.exit_code == 0 and warned.stderr == "warning: --seed only matters with --sample\n"


def test_explain_and_trace_in_json_are_in_prompt_order(model):
    result = run("complete", "the dog sat", "-m", model, "--explain", "--trace", "--json")
    o = json.loads(result.stdout)
    assert [a["word"] for a in o["explain"]] == ["the", "dog", "sat"]
    assert set(o["explain"][0]) == {"word", "score", "grad_norm", "drop", "share"}
    assert [t["token"] for t in o["trace"]] == ["the", "dog", "sat"]


def test_colour_only_on_a_terminal_and_never_with_no_color(model):
    args = ["complete", "the cat sat", "-m", model, "--explain", "--trace", "--next", "2"]
    piped = run(*args)
    assert "\x1b[" not in piped.stdout  # not a terminal: plain characters
    forced = run(*args, env={"FORCE_COLOR": "1", "NO_COLOR": None, "TERM": "xterm-256color"})
    assert "\x1b[" in forced.stdout  # a terminal: the heat map's colours
    no_color = run(*args, env={"FORCE_COLOR": "1", "NO_COLOR": "1", "TERM": "xterm-256color"})
    assert "\x1b[" not in no_color.stdout
    assert no_color.stdout == piped.stdout  # the same characters, only without colour


def test_session_answers_each_line_with_completion_and_next_words(model, capsys):
    from rnncli.store import model_folder

    saved = model_folder.load(model)
    lines = iter(["a bird sang in the", "", "   ", "a bird"])

    def read(prompt):
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    out = io.StringIO()
    console = Console(file=out, width=100, highlight=False)
    n = session(saved, lambda texts, first: complete(saved, texts, Decoding(), next_k=3,
                                                     first=first), read, console)
    assert n == 2  # blank lines are skipped
    text = out.getvalue().splitlines()
    assert text[0] == "tree" and text[1].split()[0] == "tree" and len(text) == 8
    assert "Ctrl-D" in capsys.readouterr().err


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_a_terminal_with_no_prompt_starts_an_interactive_session(model, tmp_path):
    """A real process on a pseudo-terminal: type a line, get the completion and the top next
    words on stdout, the prompt on stderr; Ctrl-D ends it with status 0."""
    main, child = os.openpty()
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path), "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "rnncli", "complete", "-m", str(model)],
                            stdin=child, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env)
    os.close(child)
    try:
        os.write(main, b"a bird sang in the\n")
        deadline = time.monotonic() + 60
        out = b""
        while b"\n" not in out and time.monotonic() < deadline:  # wait for the answer
            if select.select([proc.stdout], [], [], 0.5)[0]:
                out += os.read(proc.stdout.fileno(), 4096)
        os.write(main, b"\x04")  # Ctrl-D on an empty line: end of input
        rest, err = proc.communicate(timeout=60)
    finally:
        os.close(main)
        proc.kill()
    lines = (out + rest).decode().splitlines()
    assert proc.returncode == 0, err
    assert lines[0] == "tree" and lines[1].split()[0] == "tree" and len(lines) == 6
    assert b"> " in err and b"Ctrl-D" in err


@pytest.mark.parametrize("mode", [[], ["--beam", "3"], ["--sample", "--seed", "2"]])
def test_each_stdin_line_is_answered_before_the_next_arrives(model, tmp_path, mode):
    """A pipeline that feeds prompts one at a time (a chat, `tail -f`) gets each answer at once:
    the batches are what is already waiting, and each is flushed when ready."""
    proc = subprocess.Popen([sys.executable, "-m", "rnncli", "complete", "-", "-m", str(model),
                             "--json", *mode], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ,
                                                         "XDG_STATE_HOME": str(tmp_path)})
    try:
        for prompt in ["a bird sang in the", "the dog", "the cat saw the"]:
            proc.stdin.write(prompt.encode() + b"\n")
            proc.stdin.flush()
            ready = select.select([proc.stdout], [], [], 60)[0]
            assert ready, "no answer while stdin stays open"
            assert json.loads(proc.stdout.readline())["prompt"] == prompt
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0 and proc.stdout.read() == b""
    finally:
        proc.kill()


def test_explain_names_what_it_explains_and_refuses_huge_prompts(model):
    zero = json.loads(run("complete", "a bird sang in the", "-m", model, "--words", "0",
                          "--explain", "--json").stdout)
    assert zero["completion"] == "" and zero["explained"] == "tree"  # the likeliest next word
    huge = run("complete", "the cat " * 600, "-m", model, "--explain")
    assert huge.exit_code == 2 and huge.stdout == ""  # an option's limit: a usage error
    assert huge.stderr.startswith("Error: --explain takes prompts of up to 1,000 tokens")
