"""How a console block of the docs is read and matched (tests/docs_console.py)."""

import docs_console as console
import pytest


def test_a_block_is_commands_each_with_the_output_under_it():
    block = "$ echo a \\\n      b\na b\n$ true\n$ printf 'x\\ny\\n'\nx\ny"
    assert console.commands_and_outputs(block) == [
        ("echo a \\\n      b", "a b"), ("true", ""), ("printf 'x\\ny\\n'", "x\ny")]


def test_a_block_that_starts_with_output_is_refused():
    with pytest.raises(ValueError, match="starts with output"):
        console.commands_and_outputs("Japanese\n$ true")


@pytest.mark.parametrize("expected, output, loose, matches", [
    ("Japanese", "Japanese\n", False, True),
    ("Japanese", "Korean\n", False, False),
    ("Japanese", "Japanese\nmore\n", False, False),
    ("ppl 1.57", "ppl 1.58\n", False, False),
    ("ppl 1.57", "ppl 1.58\n", True, True),
    ("ppl 1.57", "loss 1.58\n", True, False),
    ("a\n...\nz", "a\nb\nc\nz\n", False, True),
    ("a\n...\nz", "a\nz\n", False, True),
    ("written to .../runs/quick", "written to /srv/x/runs/quick\n", False, True),
    ("written to .../runs/quick", "written to /srv/x/runs/slow\n", False, False),
    ("  sushi ████ +2.252", "  sushi ███▉  +2.25\n", True, True),
    ("  sushi ████ +2.252", "  sashimi ███▉  +2.25\n", True, False),
    ("1,234 tok/s", "98,765 tok/s\n", True, True),
])
def test_expected_output_matches(expected, output, loose, matches):
    assert bool(console.expected_pattern(expected, loose).fullmatch(output)) == matches
