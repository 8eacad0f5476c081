"""Folders written by an earlier rnncli still load (tests/fixtures/formats, written by
tests/make_format_fixtures.py), and every folder format goes through rnncli.store.folder: the
same checks, the same atomic write, for the model folder, the checkpoint and the n-gram folder.

The weights are compared with the safetensors files read directly, not through rnncli."""

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from rnncli.errors import ModelError
from rnncli.infer.evaluate import evaluate
from rnncli.ngram import folder as ngram_folder
from rnncli.ngram.kn import score
from rnncli.store import folder, model_folder
from rnncli.text.corpus import encode_lines
from rnncli.train.checkpoint import load_checkpoint, save_checkpoint

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "formats"


def corpus_lines() -> list[str]:
    return (FIXTURES / "corpus.txt").read_text(encoding="utf-8").splitlines()


def corpus_words() -> set[str]:
    return {w for line in corpus_lines() for w in line.split()}


@pytest.mark.parametrize("name, cell, softmax", [("model-full", "lstm", "full"),
                                                 ("model-adaptive", "gru", "adaptive")])
def test_a_version_1_model_folder_loads(name, cell, softmax):
    path = FIXTURES / name
    meta = json.loads((path / "model.json").read_text(encoding="utf-8"))
    assert (meta["format"], meta["version"]) == ("rnncli-model", 1)
    data = (path / "model.safetensors").read_bytes()
    assert meta["weights"]["sha256"] == hashlib.sha256(data).hexdigest()
    saved = model_folder.load(path)
    # weights: every tensor of the file, under its own name, no more
    on_disk = load_file(path / "model.safetensors")
    assert set(saved.model.params) == set(on_disk)
    for n, W in on_disk.items():
        np.testing.assert_array_equal(saved.model.params[n], W, err_msg=n)
    # vocabulary: the corpus's words and the special tokens, in the order recorded
    assert saved.vocab.itos == meta["vocab"]
    assert corpus_words() <= set(saved.vocab.itos)
    # config and history
    m = saved.config.model
    assert (m.cell, m.embedding, m.hidden, m.softmax) == (cell, 4, 5, softmax)
    assert saved.config.train.epochs == len(saved.history) == 2
    assert saved.history == meta["history"]
    # and the model works: a finite perplexity on its own corpus
    ids = encode_lines(corpus_lines(), saved.vocab, "word", False, "<unk>")
    scores = evaluate(saved.model, np.asarray(ids), saved.vocab.eos, saved.vocab.unk, True)
    assert 1.0 < scores.to_dict()["perplexity"] < len(saved.vocab) * 10


def test_a_version_1_checkpoint_loads():
    path = FIXTURES / "checkpoint"
    ck = load_checkpoint(path)
    on_disk = load_file(path / "checkpoint.safetensors")
    params = {n.removeprefix("param/"): a for n, a in on_disk.items() if n.startswith("param/")}
    assert set(ck.params) == set(params) == set(model_folder.load(FIXTURES / "model-full")
                                                 .model.params)
    for n, W in params.items():
        np.testing.assert_array_equal(ck.params[n], W, err_msg=n)
    for k, a in ck.optimizer.items():
        np.testing.assert_array_equal(a, on_disk[f"optim/{k}"], err_msg=k)
    # interrupted after the first window of the first epoch, streams of batch_size 2
    assert (ck.position.epoch, ck.position.window) == (1, 1)
    assert ck.best is None and ck.position.best_ppl == float("inf")
    assert ck.config.model.cell == "lstm" and ck.config.train.batch_size == 2
    assert [a.shape for a in ck.state[0]] == [(2, 5), (2, 5)]  # LSTM: h and c
    assert ck.vocab.itos == model_folder.load(FIXTURES / "model-full").vocab.itos


def test_a_version_1_checkpoint_resumes_to_the_uninterrupted_model(tmp_path, monkeypatch):
    from rnncli.train.loop import train

    monkeypatch.chdir(REPO)  # the checkpoint names its corpus relative to the repository
    ck = load_checkpoint(FIXTURES / "checkpoint")
    saved = train(ck.config, resume=ck)
    whole = model_folder.load(FIXTURES / "model-full")
    for n, W in whole.model.params.items():  # the same run; up to the BLAS kernel's last bits
        np.testing.assert_allclose(saved.model.params[n], W, rtol=1e-4, atol=1e-6, err_msg=n)


def test_a_version_1_ngram_folder_loads():
    path = FIXTURES / "ngram"
    kn, vocab, meta = ngram_folder.load(path)
    on_disk = load_file(path / "kn.safetensors")
    assert kn.order == meta["order"] == 3
    for n in range(1, 4):
        np.testing.assert_array_equal(kn.keys[n - 1], on_disk[f"keys_{n}"])
        np.testing.assert_array_equal(kn.logp[n - 1], on_disk[f"logp_{n}"])
    for n in range(1, 3):
        np.testing.assert_array_equal(kn.backoff[n - 1], on_disk[f"backoff_{n}"])
    assert [len(k) for k in kn.keys] == meta["ngrams"]
    assert vocab.itos == model_folder.load(FIXTURES / "model-full").vocab.itos
    ids = encode_lines(corpus_lines(), vocab, "word", False, "<unk>")
    logp = score(kn, np.asarray(ids))
    assert np.isfinite(logp).all() and (logp < 0).all()


# --- every format through the one helper --------------------------------------------------

def _flip_a_bit(file: Path) -> None:
    data = bytearray(file.read_bytes())
    data[-3] ^= 0x01  # inside the last tensor: still a valid safetensors file
    file.write_bytes(bytes(data))


def test_a_checkpoint_written_now_records_its_checksum(tmp_path):
    ck = load_checkpoint(FIXTURES / "checkpoint")
    path = save_checkpoint(tmp_path / "ck", ck)
    meta = json.loads((path / "checkpoint.json").read_text(encoding="utf-8"))
    data = (path / "checkpoint.safetensors").read_bytes()
    assert meta["tensors"] == {"file": "checkpoint.safetensors", "bytes": len(data),
                               "sha256": hashlib.sha256(data).hexdigest()}
    again = load_checkpoint(path)
    for n, W in ck.params.items():
        np.testing.assert_array_equal(again.params[n], W)
    assert again.position == ck.position and again.vocab.itos == ck.vocab.itos
    _flip_a_bit(path / "checkpoint.safetensors")
    with pytest.raises(ModelError, match=r"checkpoint\.safetensors: corrupted: checksum"):
        load_checkpoint(path)


@pytest.mark.parametrize("name, load, tensors", [
    ("model-full", model_folder.load, "model.safetensors"),
    ("checkpoint", load_checkpoint, "checkpoint.safetensors"),
    ("ngram", ngram_folder.load, "kn.safetensors"),
])
def test_every_format_refuses_the_same_damage(tmp_path, name, load, tensors):
    path = shutil.copytree(FIXTURES / name, tmp_path / name)
    meta_file = next(p for p in path.glob("*.json"))
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    meta["version"] = 99
    meta_file.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelError, match="format version 99 is not supported"):
        load(path)
    meta_file.write_text("{", encoding="utf-8")
    with pytest.raises(ModelError, match=f"{meta_file.name}: damaged"):
        load(path)
    shutil.copy(FIXTURES / name / meta_file.name, meta_file)
    data = (path / tensors).read_bytes()
    (path / tensors).write_bytes(data[:len(data) // 2])
    if name == "checkpoint":  # version 1 checkpoints carry no checksum: the parse fails
        with pytest.raises(ModelError, match=f"{tensors}: unreadable checkpoint"):
            load(path)
    else:
        with pytest.raises(ModelError, match=f"{tensors}: corrupted: truncated to "
                                             f"{len(data) // 2} bytes"):
            load(path)
    (path / tensors).unlink()
    with pytest.raises(ModelError, match=f"{tensors} is missing"):
        load(path)


def test_a_folder_of_one_format_is_not_taken_for_another(tmp_path):
    with pytest.raises(ModelError, match="not an rnncli model folder"):
        model_folder.load(FIXTURES / "ngram")
    with pytest.raises(ModelError, match="not an rnncli checkpoint folder"):
        load_checkpoint(FIXTURES / "model-full")
    with pytest.raises(ModelError, match="exists and is not an rnncli n-gram folder"):
        ngram_folder.check_output(FIXTURES / "model-full")


def test_tensors_saved_with_another_json_are_refused_in_any_format(tmp_path):
    fmt = folder.Format("rnncli-test", 1, "t.json", "t.safetensors", noun="test folder",
                        contents="test tensors")
    a = folder.save(tmp_path / "a", fmt, {"x": 1}, {"w": np.arange(3, dtype=np.float32)})
    b = folder.save(tmp_path / "b", fmt, {"x": 2}, {"w": np.arange(3, dtype=np.float32)})
    loaded = folder.load(a, fmt)
    assert loaded.meta["x"] == 1 and loaded.path == a
    np.testing.assert_array_equal(loaded.tensors["w"], np.arange(3))
    shutil.copy(b / "t.safetensors", a / "t.safetensors")
    with pytest.raises(ModelError, match="does not belong to this t.json"):
        folder.load(a, fmt)


def test_a_written_file_is_complete_or_absent(tmp_path):
    out = tmp_path / "sub" / "a.txt"
    with folder.writing(out) as f:
        f.write("één\n")
    assert out.read_text(encoding="utf-8") == "één\n"
    with pytest.raises(ZeroDivisionError):
        with folder.writing(out) as f:
            f.write("half")
            raise ZeroDivisionError
    assert out.read_text(encoding="utf-8") == "één\n"  # the old file, no temporary beside it
    assert [p.name for p in out.parent.iterdir()] == ["a.txt"]
    (tmp_path / "file").write_text("")
    with pytest.raises(ModelError, match="cannot write"):
        folder.write_file(tmp_path / "file" / "b", b"x")  # under a file, not a folder


def test_no_format_writes_over_a_folder_of_another_kind(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("precious")
    ck = load_checkpoint(FIXTURES / "checkpoint")
    with pytest.raises(ModelError, match="exists and is not an rnncli checkpoint folder"):
        save_checkpoint(tmp_path / "mine", ck)
    with pytest.raises(ModelError, match="exists and is not an rnncli checkpoint folder"):
        save_checkpoint(FIXTURES / "model-full", ck)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]
