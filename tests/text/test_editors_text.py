"""Text as editors save it: a UTF-8 byte-order mark at the start of a corpus, of an eval text
or of stdin's prompts is dropped, not read as a character; \\r\\n line ends read as \\n."""

import json
import subprocess
import sys

import pytest
from clirun import run

from rnncli.config.schema import load_config
from rnncli.text.corpus import read_lines
from rnncli.train.loop import prepare

BOM = "\ufeff".encode()
TEXT = "dog runs fast .\nthe cat sat on the mat .\nthe dog sat on the log .\n" * 4


@pytest.mark.parametrize("crlf", [False, True])
def test_a_bom_is_not_part_of_the_first_line(tmp_path, crlf):
    plain = TEXT.replace("\n", "\r\n") if crlf else TEXT
    path = tmp_path / "bom.txt"
    path.write_bytes(BOM + plain.encode())
    assert read_lines(path) == TEXT.splitlines()
    assert read_lines(path, keep_blank=True) == TEXT.splitlines()


@pytest.mark.parametrize("tokenizer", ["word", "char", "whitespace"])
def test_a_corpus_with_a_bom_trains_on_the_same_tokens(tmp_path, monkeypatch, tokenizer):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plain.txt").write_text(TEXT)
    (tmp_path / "bom.txt").write_bytes(BOM + TEXT.replace("\n", "\r\n").encode())
    corpora = [prepare(load_config(None, [f"data.train=[{name}]", f"data.tokenizer={tokenizer}",
                                          "data.valid_fraction=0", "train.batch_size=2",
                                          "train.bptt=4"]))
               for name in ("plain.txt", "bom.txt")]
    assert "\ufeff" not in "".join(corpora[1].vocab.itos)
    assert corpora[0].vocab.itos == corpora[1].vocab.itos
    assert corpora[0].train_ids.tolist() == corpora[1].train_ids.tolist()


def test_eval_counts_no_more_unk_for_a_bom(tiny_model, tmp_path):
    (tmp_path / "plain.txt").write_text("the cat sat on the mat .\n")
    (tmp_path / "bom.txt").write_bytes(BOM + b"the cat sat on the mat .\r\n")
    plain, bom = (json.loads(run("eval", tmp_path / name, "-m", tiny_model, "--json").stdout)
                  for name in ("plain.txt", "bom.txt"))
    assert bom == plain and plain["unk_targets"] == 0


def test_prompts_on_stdin_lose_a_bom(tiny_model):
    """Through a real pipe (the select loop) and through CliRunner's stream."""
    lines = "the cat sat on the\r\nthe dog\n"
    want = run("score", "-m", tiny_model, "--json", input=lines).stdout
    assert len(want.splitlines()) == 2
    assert run("score", "-m", tiny_model, "--json", input="\ufeff" + lines).stdout == want
    piped = subprocess.run([sys.executable, "-m", "rnncli", "score", "-m", str(tiny_model),
                            "--json"], input=BOM + lines.encode(), capture_output=True)
    assert piped.returncode == 0 and piped.stdout.decode() == want
    completed = subprocess.run([sys.executable, "-m", "rnncli", "complete", "-m",
                                str(tiny_model)], input=BOM + b"the cat sat on the\n",
                               capture_output=True)
    assert completed.returncode == 0 and b"not in the vocabulary" not in completed.stderr
    assert completed.stdout == run("complete", "-m", tiny_model, "the cat sat on the").stdout \
        .encode()
