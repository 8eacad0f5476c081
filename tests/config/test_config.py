from pathlib import Path

import pytest

from rnncli.config.schema import Config, load_config
from rnncli.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path, text, name="c.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_defaults_are_the_bundled_demo():
    """`rnncli train` without a config trains what configs/cuisine.yaml describes."""
    default = load_config(None)
    demo = load_config(ROOT / "configs" / "cuisine.yaml")
    assert Path(default.data.train[0]).resolve() == Path(demo.data.train[0]).resolve()
    assert Path(default.data.train[0]).exists()
    for section in ("model", "train"):
        assert getattr(default, section) == getattr(demo, section)
    assert {k: v for k, v in vars(default.data).items() if k != "train"} == \
           {k: v for k, v in vars(demo.data).items() if k != "train"}


def test_file_values_and_path_resolution(tmp_path, monkeypatch):
    sub = tmp_path / "cfg"
    sub.mkdir()
    path = write(sub, "data:\n  train: [a.txt, ../b.txt]\n  valid: v.txt\n"
                      "model:\n  hidden: 7\noutput: out/m\n")
    monkeypatch.chdir(tmp_path)
    cfg = load_config(path)
    assert cfg.data.train == [str(sub / "a.txt"), str(sub / "../b.txt")]
    assert cfg.data.valid == str(sub / "v.txt")
    assert cfg.output == str(sub / "out/m")
    assert cfg.model.hidden == 7
    assert cfg.model.embedding == Config().model.embedding  # untouched keys keep defaults


def test_single_train_path_becomes_a_list(tmp_path):
    cfg = load_config(write(tmp_path, "data:\n  train: corpus.txt\n"))
    assert cfg.data.train == [str(tmp_path / "corpus.txt")]


def test_set_overrides_win_and_resolve_against_the_working_directory(tmp_path, monkeypatch):
    path = write(tmp_path, "train:\n  lr: 0.1\n  epochs: 3\ndata:\n  train: x.txt\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cfg = load_config(path, ["train.lr=2", "train.reset_at_eos=false", "data.train=y.txt",
                             "data.max_vocab=null"], out="models/m")
    assert cfg.train.lr == 2.0 and isinstance(cfg.train.lr, float)
    assert cfg.train.epochs == 3
    assert cfg.train.reset_at_eos is False
    assert cfg.data.train == [str(elsewhere / "y.txt")]
    assert cfg.output == str(elsewhere / "models/m")
    assert load_config(None, ["train.weight_decay=1e-4"]).train.weight_decay == 1e-4


@pytest.mark.parametrize("text, message", [
    ("model:\n  hiden: 5\n", "unknown key 'model.hiden' (did you mean 'model.hidden'?)"),
    ("trian:\n  lr: 1\n", "unknown key 'trian' (did you mean 'train'?)"),
    ("train:\n  lr: fast\n", "train.lr: expected float, got 'fast'"),
    ("train:\n  epochs: 2.5\n", "train.epochs: expected int, got 2.5"),
    ("train:\n  epochs: true\n", "train.epochs: expected int, got True"),
    ("train:\n  reset_at_eos: 1\n", "train.reset_at_eos: expected bool, got 1"),
    ("train:\n  lr: 0\n", "train.lr: must be > 0"),
    ("train:\n  bptt: 0\n", "train.bptt: must be at least 1"),
    ("model:\n  hidden: -3\n", "model.hidden: must be at least 1"),
    ("data:\n  valid_fraction: 1.5\n", "data.valid_fraction: must be in [0, 1)"),
    ("data:\n  tokenizer: bpe\n", "data.tokenizer: must be one of word, char"),
    ("model:\n  cell: transformer\n", "model.cell: must be one of rnn"),
    ("model:\n  tie_weights: true\n  embedding: 8\n  hidden: 16\n",
     "model.tie_weights: needs model.embedding == model.hidden, got 8 and 16"),
    ("model:\n  dropout: 1.0\n", "model.dropout: must be in [0, 1)"),
    ("model:\n  layers: 0\n", "model.layers: must be at least 1"),
    ("model:\n  init: -0.1\n", "model.init: must be > 0"),
    ("model:\n  softmax: hierarchical\n", "model.softmax: must be one of full, adaptive"),
    ("model:\n  cutoffs: [10, 5]\n", "model.cutoffs: must be word ids above 0 in increasing"),
    ("model:\n  cutoffs: []\n", "model.cutoffs: must be word ids"),
    ("model:\n  div_value: 0\n", "model.div_value: must be > 0"),
    ("model:\n  softmax: adaptive\n  tie_weights: true\n  embedding: 64\n",
     "model.tie_weights: does not combine with model.softmax: adaptive"),
    ("model:\n  softmax: adaptive\n  hidden: 8\n  div_value: 4\n",
     "model.div_value: leaves the last tail cluster no dimensions"),
    ("train:\n  nesterov: true\n", "train.nesterov: needs train.momentum > 0"),
    ("train:\n  momentum: 1.5\n", "train.momentum: must be in [0, 1)"),
    ("train:\n  weight_decay: -1\n", "train.weight_decay: must be >= 0"),
    ("train:\n  checkpoint_every: soon\n", "train.checkpoint_every: expected steps (500) or"),
    ("train:\n  checkpoint_every: 0\n", "train.checkpoint_every: must be at least 1 step"),
    ("train:\n  checkpoint_every: [1]\n", "train.checkpoint_every: expected int or str"),
    ("model: 5\n", "model: expected a mapping"),
    ("- a\n- b\n", "expected a mapping of sections, got list"),
    ("", "the file is empty"),
    ("train:\n  lr: [1\n", "invalid YAML (line"),
])
def test_errors_name_the_file_and_the_key(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert message in str(e.value)
    assert str(path) in str(e.value)


@pytest.mark.parametrize("override, message", [
    ("train.lr", "--set 'train.lr': expected key.path=value"),
    ("train.lrr=1", "--set: unknown key 'train.lrr' (did you mean 'train.lr'?)"),
    ("train.lr=-1", "--set: train.lr: must be > 0"),
    ("model.hidden=big", "--set: model.hidden: expected int, got 'big'"),
])
def test_set_errors(override, message):
    with pytest.raises(ConfigError) as e:
        load_config(None, [override])
    assert message in str(e.value)


def test_missing_and_directory_configs(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)


@pytest.mark.parametrize("optimizer, lr, eps, weight_decay", [
    ("sgd", 2.0, 1e-8, 0.0),  # rnncli's own lr, tuned for the demo
    ("adam", 1e-3, 1e-8, 0.0),  # the rest: torch.optim's defaults
    ("adamw", 1e-3, 1e-8, 1e-2),
    ("rmsprop", 1e-2, 1e-8, 0.0),
    ("adagrad", 1e-2, 1e-10, 0.0),
])
def test_null_optimizer_settings_become_the_registered_defaults(optimizer, lr, eps,
                                                                weight_decay):
    t = load_config(None, [f"train.optimizer={optimizer}"]).train
    assert (t.lr, t.eps, t.weight_decay) == (lr, eps, weight_decay)


def test_the_config_accepts_what_the_registries_hold(monkeypatch):
    """A new cell or optimiser is its module and one registry line: the config's choices, its
    defaults and which options it takes come from the registry."""
    from rnncli.nn.cells import CELLS
    from rnncli.train.optimizers import OPTIMIZERS, SGD, Registered

    with pytest.raises(ConfigError, match="train.optimizer: must be one of"):
        load_config(None, ["train.optimizer=heavyball"])
    with pytest.raises(ConfigError, match="model.cell: must be one of"):
        load_config(None, ["model.cell=elman"])
    monkeypatch.setitem(OPTIMIZERS, "heavyball", Registered(SGD, ("momentum",), lr=0.5))
    monkeypatch.setitem(CELLS, "elman", CELLS["rnn"])
    config = load_config(None, ["train.optimizer=heavyball", "train.momentum=0.9",
                                "model.cell=elman"])
    assert (config.train.lr, config.train.momentum, config.model.cell) == (0.5, 0.9, "elman")
    with pytest.raises(ConfigError, match=r"only sgd, rmsprop and heavyball\)"):
        load_config(None, ["train.optimizer=adam", "train.momentum=0.9"])
