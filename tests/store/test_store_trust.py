"""Model files you can trust: checksummed weights, and saving that fails cleanly."""

import errno
import hashlib
import json
import os

import numpy as np
import pytest

from rnncli.config.schema import load_config
from rnncli.errors import ModelError
from rnncli.store import model_folder
from rnncli.train.loop import train


def _train(tmp, seed=0, hidden=16):
    (tmp / "c.txt").write_text("the cat sat on the mat .\nthe dog sat on the log .\n" * 10)
    (tmp / f"c{seed}-{hidden}.yaml").write_text(
        "data: {train: c.txt, valid_fraction: 0}\n"
        f"model: {{embedding: 8, hidden: {hidden}}}\n"
        f"train: {{epochs: 1, batch_size: 2, bptt: 5, seed: {seed}}}\n")
    return train(load_config(tmp / f"c{seed}-{hidden}.yaml"))


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Two models of the same shape (other seed) and one of another shape."""
    tmp = tmp_path_factory.mktemp("m")
    return _train(tmp), _train(tmp, seed=1), _train(tmp, hidden=17)


@pytest.fixture
def saved(models, tmp_path):
    return model_folder.save(models[0], tmp_path / "model")


def _weights(path):
    return path / "model.safetensors"


def test_model_json_records_the_weights_checksum_and_size(saved):
    meta = json.loads((saved / "model.json").read_text())
    data = _weights(saved).read_bytes()
    assert meta["format"] == "rnncli-model" and meta["version"] == 1
    assert meta["weights"] == {"file": "model.safetensors",
                               "sha256": hashlib.sha256(data).hexdigest(),
                               "bytes": len(data)}


def test_a_model_json_without_a_checksum_still_loads(models, saved):
    meta = json.loads((saved / "model.json").read_text())
    del meta["weights"]
    (saved / "model.json").write_text(json.dumps(meta))
    loaded = model_folder.load(saved)
    for name, W in models[0].model.params.items():
        np.testing.assert_array_equal(loaded.model.params[name], W)


def test_truncated_weights_are_refused(saved):
    data = _weights(saved).read_bytes()
    _weights(saved).write_bytes(data[:len(data) // 2])
    with pytest.raises(ModelError, match=rf"model\.safetensors: .*truncated to {len(data) // 2} "
                                         rf"bytes, model\.json expects {len(data)}"):
        model_folder.load(saved)


def test_weights_with_bytes_added_are_refused(saved):
    data = _weights(saved).read_bytes()
    _weights(saved).write_bytes(data + b"\0")
    with pytest.raises(ModelError, match=f"size {len(data) + 1} bytes, model.json expects "
                                         f"{len(data)}"):
        model_folder.load(saved)


def test_corrupted_weights_are_refused(saved):
    data = bytearray(_weights(saved).read_bytes())
    data[-3] ^= 0x01  # one flipped bit in the last tensor: still a valid safetensors file
    _weights(saved).write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"model\.safetensors: corrupted: checksum mismatch"):
        model_folder.load(saved)


def test_corrupted_header_is_refused_as_corrupted(saved):
    data = bytearray(_weights(saved).read_bytes())
    data[9] = ord("#")  # inside the header's JSON
    _weights(saved).write_bytes(bytes(data))
    with pytest.raises(ModelError, match="corrupted: checksum mismatch"):
        model_folder.load(saved)


@pytest.mark.parametrize("other", [1, 2], ids=["same-size", "other-size"])
def test_weights_swapped_in_from_another_model_are_refused(models, saved, tmp_path, other):
    theirs = model_folder.save(models[other], tmp_path / "other")
    data = _weights(theirs).read_bytes()
    same_size = len(data) == _weights(saved).stat().st_size
    assert same_size == (other == 1)
    _weights(saved).write_bytes(data)
    with pytest.raises(ModelError, match=r"model\.safetensors: checksum mismatch: the weights "
                                         r"file does not belong to this model\.json \(swapped"):
        model_folder.load(saved)
    model_folder.load(theirs)  # the other folder itself is fine


def test_the_weights_record_in_model_json_must_make_sense(saved):
    meta = json.loads((saved / "model.json").read_text())
    meta["weights"] = {"file": "model.safetensors", "sha256": "abc", "bytes": 1}
    (saved / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match=r"model\.json: damaged: .*sha256"):
        model_folder.load(saved)


def test_a_missing_weights_file_is_named(saved):
    _weights(saved).unlink()
    with pytest.raises(ModelError, match="the weights file model.safetensors is missing"):
        model_folder.load(saved)


def _disk_full_after(n_bytes, monkeypatch):
    """Let os.write write `n_bytes` in all, then fail as a full disk does."""
    real_write, left = os.write, [n_bytes]

    def write(fd, data):
        if left[0] <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        n = real_write(fd, bytes(data[:left[0]]))
        left[0] -= n
        return n

    monkeypatch.setattr(os, "write", write)


@pytest.mark.parametrize("where", [0.0, 0.5, 1.01], ids=["weights", "mid-weights", "json"])
def test_a_full_disk_leaves_the_old_model_intact(models, saved, tmp_path, monkeypatch, where):
    before = {p.name: p.read_bytes() for p in saved.iterdir()}
    # the new weights are as long as the old (same shapes): fail before, inside or after them
    _disk_full_after(int(where * len(before["model.safetensors"])), monkeypatch)
    with pytest.raises(ModelError, match="cannot write the model folder: No space left on "
                                         "device"):
        model_folder.save(models[1], saved)
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # no .tmp or .old left
    assert {p.name: p.read_bytes() for p in saved.iterdir()} == before
    loaded = model_folder.load(saved)
    np.testing.assert_array_equal(loaded.model.params["W_hh"], models[0].model.params["W_hh"])


def test_a_full_disk_while_serialising_leaves_nothing_behind(models, tmp_path, monkeypatch):
    import safetensors.numpy

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(safetensors.numpy, "save", full)
    with pytest.raises(ModelError, match="cannot write the model folder: No space left"):
        model_folder.save(models[0], tmp_path / "model")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_final_rename_puts_the_old_model_back(models, saved, tmp_path, monkeypatch):
    before = {p.name: p.read_bytes() for p in saved.iterdir()}
    real_rename, calls = os.rename, []

    def rename(src, dst, *args, **kwargs):
        calls.append((src, dst))
        if len(calls) == 2:  # the old model moved aside; now the new one into place
            raise OSError(errno.EIO, "Input/output error")
        return real_rename(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(ModelError, match="cannot write the model folder: Input/output error"):
        model_folder.save(models[1], saved)
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
    assert {p.name: p.read_bytes() for p in saved.iterdir()} == before


def test_an_unwritable_destination_is_refused_and_nothing_is_created(models, tmp_path):
    parent = tmp_path / "locked"
    parent.mkdir()
    parent.chmod(0o500)
    try:
        try:  # root (and some file systems) ignore the mode: then there is nothing to test
            (parent / "probe").touch()
        except PermissionError:
            pass
        else:
            (parent / "probe").unlink()
            pytest.skip("permissions are not enforced here (running as root?)")
        with pytest.raises(ModelError, match="cannot write the model folder: Permission denied"):
            model_folder.save(models[0], parent / "model")
        assert list(parent.iterdir()) == []
    finally:
        parent.chmod(0o700)


def test_a_10_mb_model_is_read_and_checked_quickly(tmp_path):
    import time
    from dataclasses import replace

    from rnncli.config.schema import Config
    from rnncli.nn.model import RNNLM
    from rnncli.text.vocab import Vocab

    cfg = Config()
    cfg = replace(cfg, model=replace(cfg.model, embedding=256, hidden=512))
    vocab = Vocab(["<unk>", "<eos>"] + [f"w{i}" for i in range(4000)])
    big = model_folder.SavedModel(RNNLM.from_config(cfg.model, len(vocab)), vocab, cfg)
    path = model_folder.save(big, tmp_path / "big")
    assert _weights(path).stat().st_size > 10_000_000
    t = time.perf_counter()
    model_folder.load(path)
    assert time.perf_counter() - t < 2.0  # about 0.05 s: one read, one SHA-256, one parse
