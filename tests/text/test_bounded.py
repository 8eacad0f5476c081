"""Bounded memory on any corpus: a line longer than data.max_line_bytes is refused after that
many bytes, with one `Error:` line that names the file, the line and the limit; a larger
limit reads it whole; train.max_tokens reads only as much of the corpus as its pass needs."""

import gzip
import os
import subprocess
import sys

import numpy as np
import pytest

from rnncli.config.schema import load_config
from rnncli.errors import DataError
from rnncli.text.corpus import MAX_LINE_BYTES, read_lines
from rnncli.train.loop import prepare, reading_budget

LIMIT_SAYS = "is longer than 1,048,576 bytes, the limit data.max_line_bytes sets"
SENTENCES = ["the cat sat on the mat .", "the dog sat on the log .", "a bird sang ."]


def child(cmd: list[str], stdin=None, cwd=None) -> tuple[int, str, float]:
    """Run cmd in a process of its own: exit status, stderr, peak RSS in MB (os.wait4)."""
    with open(os.devnull, "wb") as out:
        p = subprocess.Popen(cmd, stdin=stdin, stdout=out, stderr=subprocess.PIPE, cwd=cwd)
        err = p.stderr.read().decode()
        _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, err, usage.ru_maxrss / 1024


def test_a_10mb_line_is_refused_by_default_and_read_with_a_larger_limit(tmp_path):
    path = tmp_path / "long.txt"
    path.write_bytes(b"x" * 10_000_000 + b"\nthe cat\n")
    with pytest.raises(DataError) as e:
        read_lines(path)
    assert str(e.value) == f"{path}: line 1 {LIMIT_SAYS} (raise it, or break the text into lines)"
    lines = read_lines(path, max_line_bytes=16 << 20)
    assert [len(x) for x in lines] == [10_000_000, 7]
    # the limit counts the line's bytes, not its break: a line of exactly the limit is read
    assert read_lines(path, max_line_bytes=10_000_000)[1] == "the cat"
    with pytest.raises(DataError, match="line 1 is longer than 9,999,999 bytes"):
        read_lines(path, max_line_bytes=9_999_999)


def test_a_last_line_without_a_break_is_held_to_the_limit_too(tmp_path):
    path = tmp_path / "tail.txt"
    path.write_bytes(b"the cat\n" + b"y" * (MAX_LINE_BYTES + 1))
    with pytest.raises(DataError, match=f"{path}: line 2 is longer than 1,048,576 bytes"):
        read_lines(path)
    path.write_bytes(b"the cat\n" + b"y" * MAX_LINE_BYTES)
    assert len(read_lines(path)[1]) == MAX_LINE_BYTES


def nul_gz(path, gib: int = 2):
    """A .gz of `gib` GiB of NUL bytes and no line break, about 2 MB on disk: one 1 MiB member
    compressed once and repeated (gzip reads concatenated members as one stream)."""
    member = gzip.compress(b"\0" * (1 << 20), 9)
    with open(path, "wb") as f:
        for _ in range(gib << 10):
            f.write(member)


def test_2gib_of_nul_bytes_in_a_gz_is_one_error_line_in_bounded_memory(tmp_path):
    nul_gz(tmp_path / "nul.gz")
    (tmp_path / "nul.yaml").write_text("data: {train: nul.gz}\noutput: out\n")
    rc, err, peak_mb = child([sys.executable, "-m", "rnncli", "train", "nul.yaml"], cwd=tmp_path)
    assert rc == 1, err
    assert err == f"Error: {tmp_path / 'nul.gz'}: line 1 {LIMIT_SAYS} (raise it, or break the " \
                  "text into lines)\n"
    assert peak_mb < 400  # the interpreter and NumPy, and 1 MiB of the line: not 2 GiB
    assert not (tmp_path / "out").exists()


def test_an_endless_line_on_stdin_is_one_error_line_in_bounded_memory(tiny_model):
    """`rnncli eval -` reading from a process that writes 2 GiB of NUL bytes and no break."""
    writer = subprocess.Popen(
        [sys.executable, "-c", "import sys\nfor _ in range(2048):\n"
         "    sys.stdout.buffer.write(bytes(1 << 20))"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        rc, err, peak_mb = child([sys.executable, "-m", "rnncli", "eval", "-", "-m",
                                  str(tiny_model)], stdin=writer.stdout)
    finally:
        writer.stdout.close()
        writer.kill()
        writer.wait()
    assert rc == 1 and err == f"Error: -: line 1 {LIMIT_SAYS} (raise it, or break the text " \
                              "into lines)\n"
    assert peak_mb < 400


def corpus_with_a_bad_end(path, n_lines=3000):
    """Good lines, then one longer than the default limit: read to the end, it is an error."""
    text = "\n".join(SENTENCES[i % 3] for i in range(n_lines)) + "\n"
    path.write_bytes(text.encode() + b"z" * (MAX_LINE_BYTES + 10) + b"\n")


@pytest.mark.parametrize("held", ["fraction", "none", "file"])
def test_max_tokens_reads_only_what_its_pass_needs(tmp_path, monkeypatch, held):
    corpus_with_a_bad_end(tmp_path / "big.txt")
    (tmp_path / "valid.txt").write_text("the cat sat on the log .\n")
    valid = {"fraction": ["data.valid_fraction=0.2"], "none": ["data.valid_fraction=0"],
             "file": ["data.valid=valid.txt"]}[held]
    common = ["data.train=[big.txt]", "train.batch_size=4", "train.bptt=5", *valid]
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match="line 3001 is longer than"):
        prepare(load_config(None, common))  # no budget: the whole file is read
    config = load_config(None, [*common, "train.max_tokens=600"])
    corpus = prepare(config)  # stops before the long line
    budget = reading_budget(config.train)
    assert budget == 600 + 4 * 6
    assert budget <= len(corpus.train_ids) < 2 * budget  # the pass is covered, little more
    assert (len(corpus.valid_ids) > 0) == (held != "none")
    if held == "none":  # the first lines, to the one that covers the budget
        assert budget <= len(corpus.train_ids) < budget + 10
        np.testing.assert_array_equal(corpus.train_ids[:9], corpus.vocab.encode(
            "the cat sat on the mat . <eos> the".split()))
