"""eval says what it is doing: each file's scores and then their total, and progress as it
goes."""

import json

import pytest
from clirun import run

from rnncli.infer.evaluate import evaluate
from rnncli.store import model_folder
from rnncli.text.corpus import encode_lines


def test_several_files_are_reported_one_by_one_then_together(tiny_model, tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("the cat sat on the mat .\nthe dog sat on the log .\n")
    b.write_text("a bird sang in the tree .\n")
    result = run("eval", a, b, "-m", tiny_model, "--json")
    assert result.exit_code == 0, result.stderr
    first, second, total = map(json.loads, result.stdout.splitlines())
    assert (first["file"], second["file"], total["files"]) == (str(a), str(b), [str(a), str(b)])
    for one, path in ((first, a), (second, b)):  # each file as if scored alone
        alone = json.loads(run("eval", path, "-m", tiny_model, "--json").stdout)
        assert alone == {k: v for k, v in one.items() if k != "file"}
    assert total["tokens"] == first["tokens"] + second["tokens"] == 16 + 8
    assert total["log10_prob"] == pytest.approx(first["log10_prob"] + second["log10_prob"])
    plain = run("eval", a, b, "-m", tiny_model).stdout
    assert plain.startswith(f"{a}\ntokens ") and f"\n\n{b}\ntokens " in plain
    assert "\n\ntotal of 2 files\ntokens         24\n" in plain


def test_one_file_reads_as_before(tiny_model, tmp_path):
    (tmp_path / "a.txt").write_text("the cat sat on the mat .\n")
    scores = json.loads(run("eval", tmp_path / "a.txt", "-m", tiny_model, "--json").stdout)
    assert "file" not in scores and scores["tokens"] == 8


def test_progress_counts_the_windows(tiny_model):
    saved = model_folder.load(tiny_model)
    ids = encode_lines(["the cat sat on the mat ."] * 40, saved.vocab, "word", False)
    calls = []
    evaluate(saved.model, ids, saved.vocab.eos, saved.vocab.unk, True, n_streams=4, bptt=8,
             progress=lambda done, total: calls.append((done, total)))
    total = calls[0][1]
    assert total > 1 and calls == [(i, total) for i in range(1, total + 1)]
