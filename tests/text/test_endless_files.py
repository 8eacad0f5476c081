"""Files that never end: a named pipe or a link to /dev/zero where a model folder, a checkpoint
or a corpus should have a regular file is refused before a byte of it is read. Each case runs
in a real process with a timeout, so a regression fails instead of hanging the suite."""

import os
import shutil
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo") or not os.path.exists("/dev/zero"),
                                reason="needs named pipes and /dev/zero")


def rnncli(*args, timeout=60):
    try:
        return subprocess.run([sys.executable, "-m", "rnncli", *map(str, args)],
                              capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail(f"rnncli {' '.join(map(str, args))} still running after {timeout} s")


def endless(path, kind):
    """Make `path` a named pipe nobody writes to, or a link to /dev/zero."""
    path.unlink(missing_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")


@pytest.mark.parametrize("name, kind, says", [
    ("model.safetensors", "fifo", "model.safetensors: unreadable weights: not a regular file "
                                  "(a named pipe)"),
    ("model.safetensors", "zero", "model.safetensors: unreadable weights: not a regular file "
                                  "(a character device)"),
    ("model.json", "fifo", "model.json: unreadable: not a regular file (a named pipe)"),
])
def test_a_model_folder_that_never_ends_is_refused(tiny_model, tmp_path, name, kind, says):
    folder = shutil.copytree(tiny_model, tmp_path / "model")
    endless(folder / name, kind)
    result = rnncli("complete", "the cat", "-m", folder)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("Error: ") and result.stderr.rstrip().endswith(says)
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("kind", ["fifo", "zero"])
def test_a_checkpoint_that_never_ends_is_refused(tmp_path, kind):
    folder = tmp_path / "run.checkpoint"
    folder.mkdir()
    (folder / "checkpoint.json").write_text('{"format": "rnncli-checkpoint", "version": 1}')
    endless(folder / "checkpoint.safetensors", kind)
    result = rnncli("train", "--resume", folder)
    assert result.returncode == 1
    assert "unreadable checkpoint: not a regular file" in result.stderr
    endless(folder / "checkpoint.json", "fifo")
    result = rnncli("train", "--resume", folder)
    assert result.returncode == 1 and "not a regular file (a named pipe)" in result.stderr


def test_a_corpus_that_never_ends_is_refused_but_stdin_is_read(tiny_model, tmp_path):
    endless(tmp_path / "pipe.txt", "fifo")
    endless(tmp_path / "zero.txt", "zero")
    for corpus in ("pipe.txt", "zero.txt"):
        result = rnncli("eval", tmp_path / corpus, "-m", tiny_model)
        assert result.returncode == 1
        assert result.stderr.startswith(f"Error: {tmp_path / corpus}: not a regular file (a ")
        assert result.stderr.rstrip().endswith("give a text file, or `-` for standard input")
    config = tmp_path / "c.yaml"
    config.write_text("data:\n  train: pipe.txt\n")
    result = rnncli("train", config)
    assert result.returncode == 1 and "pipe.txt: not a regular file (a named pipe)" in result.stderr
    piped = subprocess.run([sys.executable, "-m", "rnncli", "eval", "-", "-m", str(tiny_model),
                            "--json"], input="the cat sat on the mat .\n", capture_output=True,
                           text=True, timeout=60)
    assert piped.returncode == 0, piped.stderr
    assert '"tokens": 8' in piped.stdout  # 7 words and the line's end
