import json

import numpy as np
import pytest

from rnncli.config.schema import load_config
from rnncli.errors import ModelError
from rnncli.infer.decode import Decoding
from rnncli.infer.predict import complete
from rnncli.store import model_folder, remembered
from rnncli.train.loop import train

PROMPTS = ["the cat sat on the", "a bird", "the zebra"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("m")
    (tmp / "c.txt").write_text("the cat sat on the mat .\nthe dog sat on the log .\n" * 10)
    (tmp / "c.yaml").write_text("data: {train: c.txt, valid_fraction: 0}\n"
                                "model: {embedding: 8, hidden: 16}\n"
                                "train: {epochs: 2, batch_size: 2, bptt: 5}\n")
    return train(load_config(tmp / "c.yaml"))


def test_save_and_load_give_identical_predictions(trained, tmp_path):
    path = model_folder.save(trained, tmp_path / "model")
    loaded = model_folder.load(path)
    assert sorted(p.name for p in path.iterdir()) == ["metrics.jsonl", "model.json",
                                                      "model.safetensors"]
    assert loaded.vocab.itos == trained.vocab.itos
    assert loaded.config == trained.config
    assert loaded.history == trained.history
    for name, W in trained.model.params.items():
        np.testing.assert_array_equal(loaded.model.params[name], W)
    a = complete(trained, PROMPTS, Decoding(words=3), next_k=5)
    b = complete(loaded, PROMPTS, Decoding(words=3), next_k=5)
    assert [x.to_dict() for x in a] == [x.to_dict() for x in b]


def test_weights_are_plain_safetensors(trained, tmp_path):
    from safetensors import safe_open
    path = model_folder.save(trained, tmp_path / "model")
    with safe_open(str(path / "model.safetensors"), framework="numpy") as f:
        assert set(f.keys()) == {"W_emb", "W_xh", "W_hh", "b_h", "W_hy", "b_y"}
        assert f.metadata()["format"] == "rnncli-model"
    meta = json.loads((path / "model.json").read_text())
    assert meta["format"] == "rnncli-model" and meta["version"] == 1
    assert meta["vocab"][:2] == ["<unk>", "<eos>"]


def test_saving_replaces_an_old_model_and_leaves_no_temporary_files(trained, tmp_path):
    model_folder.save(trained, tmp_path / "model")
    model_folder.save(trained, tmp_path / "model")
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_saving_refuses_to_overwrite_something_that_is_not_a_model(trained, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("precious")
    with pytest.raises(ModelError, match="not an rnncli model folder"):
        model_folder.save(trained, tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_folders_that_are_not_models_are_refused(trained, tmp_path):
    with pytest.raises(ModelError, match="no such model folder"):
        model_folder.load(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="not an rnncli model folder"):
        model_folder.load(tmp_path / "empty")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "model.json").write_text('{"name": "something else"}')
    with pytest.raises(ModelError, match="something else"):
        model_folder.load(tmp_path / "other")

    path = model_folder.save(trained, tmp_path / "model")
    (path / "model.safetensors").write_bytes(b"\x00" * 100)
    with pytest.raises(ModelError, match=r"model\.safetensors: corrupted: truncated to 100 bytes"):
        model_folder.load(path)
    (path / "model.safetensors").unlink()
    with pytest.raises(ModelError, match="missing"):
        model_folder.load(path)


def test_weights_of_the_wrong_shape_are_refused(trained, tmp_path):
    path = model_folder.save(trained, tmp_path / "model")
    meta = json.loads((path / "model.json").read_text())
    meta["config"]["model"]["hidden"] = 17
    (path / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="W_xh has shape"):
        model_folder.load(path)


def test_unknown_format_version_is_refused(trained, tmp_path):
    path = model_folder.save(trained, tmp_path / "model")
    meta = json.loads((path / "model.json").read_text())
    meta["version"] = 99
    (path / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="version 99 is not supported"):
        model_folder.load(path)


def test_last_model_is_remembered(trained, tmp_path):
    assert remembered.last_model() is None
    path = model_folder.save(trained, tmp_path / "model")
    remembered.remember_last(path)
    assert remembered.last_model() == path
