"""The training config: dataclasses are the schema, YAML the values, `--set` the last word.

Precedence: built-in defaults < the YAML file < `--set key.path=value` (parsed as a YAML scalar).
Paths in a file resolve against the file's folder; paths given on the command line against the
working directory. Every problem raises `ConfigError` naming the source and the key path.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnncli.config.checks import (  # noqa: F401  (checkpoint_interval, duration: re-exported)
    SOFTMAXES,
    checkpoint_interval,
    duration,
    refuse_contradictions,
    resolve_defaults,
    validate,
)
from rnncli.config.reader import Schema, check_path, kind
from rnncli.errors import ConfigError
from rnncli.text.tokenize import VERSION

DEMO_DIR = Path(__file__).resolve().parents[1] / "demo"

PATH = {"path": True}  # field metadata: a path, resolved against the folder of whoever gave it


@dataclass
class DataConfig:
    """`data:`: the corpus files and how their text becomes tokens and a vocabulary."""
    # corpus file(s), or fetched corpora's (corpus:wikitext-2/train); the default is the
    # bundled demo's
    train: list[str] = field(default_factory=lambda: [str(DEMO_DIR / "cuisine.txt")],
                             metadata=PATH)
    # validation file (or corpus:NAME/PART); None -> hold out valid_fraction of the lines
    valid: str | None = field(default=None, metadata=PATH)
    valid_fraction: float = 0.1  # share of lines held out when valid is None
    tokenizer: str = "word"  # word | char | whitespace (pre-tokenised text: line.split())
    # the word tokeniser's rules: 2 keeps numbers, URLs, elisions whole and records spacing;
    # 1 those of models saved before versions were recorded (docs/text.md)
    tokenizer_version: int = VERSION
    unk_token: str = "<unk>"  # the corpus's spelling of the unknown word: one token, <unk>
    lowercase: bool = False  # fold case before building the vocabulary
    min_count: int = 1  # words seen fewer times become <unk>
    max_vocab: int | None = None  # keep only this many most frequent words (specials included)
    max_line_bytes: int = 1 << 20  # a longer line is refused (memory stays bounded): 1 MiB


@dataclass
class ModelConfig:
    """`model:`: the network's shape (rnncli.nn.model.RNNLM is built from it)."""
    cell: str = "rnn"  # a name in rnncli.nn.cells.CELLS (gate order and equations as PyTorch's)
    embedding: int = 32  # size of the word vectors x_t
    hidden: int = 64  # size of the hidden state h_t
    layers: int = 1  # stacked recurrent layers
    dropout: float = 0.0  # inverted dropout on the embeddings, between layers, before the output
    tie_weights: bool = False  # the output matrix is the embedding matrix (embedding == hidden)
    init: float | None = None  # uniform(-init, init) for every weight; None: per-matrix defaults
    forget_bias: float | None = None  # LSTM: the forget gate's initial bias (1.0 keeps memories)
    softmax: str = "full"  # full | adaptive (Grave et al. 2017: a head and tail clusters)
    # adaptive: word ids where the head ends and each tail cluster begins (ids are by frequency)
    cutoffs: list[int] = field(default_factory=lambda: [2000, 10000])
    div_value: float = 4.0  # adaptive: tail cluster i projects h to hidden / div_value^(i+1)


@dataclass
class TrainConfig:
    """`train:`: the optimiser, the windows it steps on, when to stop and what to record."""
    epochs: int = 90  # passes over the training corpus
    max_tokens: int | None = None  # a budget: stop after this many training targets, then
    # validate (mid-epoch too); null: all the epochs
    batch_size: int = 8  # parallel streams
    bptt: int = 64  # steps per truncated-BPTT window
    optimizer: str = "sgd"  # a name in rnncli.train.optimizers.OPTIMIZERS (torch.optim's
    # semantics)
    lr: float | None = None  # step size; null: the optimiser's default (its registry line)
    lr_decay: float = 0.5  # lr *= lr_decay when validation perplexity stops improving
    average: str = "none"  # none | nt: NT-ASGD, average SGD's weights once validation stalls
    nonmono: int = 5  # nt: stall = no better than the best of the checks over nonmono ago
    clip: float = 1.0  # global gradient-norm clip; 0 turns clipping off
    momentum: float = 0.0  # sgd and rmsprop momentum; 0 is the lesson's plain SGD
    nesterov: bool = False  # Nesterov's momentum instead of the classical one (sgd)
    weight_decay: float | None = None  # L2 penalty dW += weight_decay * W (adamw: decoupled);
    # null: the optimiser's default (0.01 for adamw, as PyTorch, else 0)
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])  # adam(w) moment decays
    eps: float | None = None  # added to the root; null: the optimiser's default
    alpha: float = 0.99  # rmsprop's smoothing constant for the squared gradients
    reset_at_eos: bool = True  # lines are independent: h restarts from zero after each <eos>
    seed: int = 0  # initial weights and held-out lines
    checkpoint_every: int | str | None = None  # a resumable checkpoint every N steps, or every
    # "10m" / "30s" / "1h" of training; null: only when interrupted
    patience: int | None = None  # stop after this many epochs without a better valid ppl
    min_lr: float = 0.0  # stop once lr_decay takes lr below this
    max_time: str | None = None  # a budget such as "15m", "2h", "90s": stop at the first
    # window past it, keeping the best weights
    log_every: int = 50  # a line in metrics.jsonl every this many steps
    sample_prompts: list[str] = field(default_factory=list)  # completed after every epoch
    threads: int | str | None = "auto"  # BLAS and row-block threads; auto (or null): the
    # count measured fastest as training goes (rnncli.nn.threads); a number fixes it


@dataclass
class Config:
    """A whole training config: its three sections and the model folder it writes."""
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    output: str = field(default="runs/cuisine", metadata=PATH)  # the model folder `train` writes

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


SCHEMA = Schema(Config)  # the keys, sections and paths that YAML files and --set may give


def load_config(path: str | Path | dict[str, Any] | None = None,
                overrides: typing.Sequence[str] = (), out: str | None = None,
                init_from: Config | None = None) -> Config:
    """Build a Config from defaults, an optional YAML file and `--set` overrides.

    Args:
        path: YAML file, or None for the built-in defaults (the bundled demo), or a dict of
            the YAML's keys (the Python API's config; its paths read from the working folder).
        overrides: strings `key.path=value`; the value is read as a YAML scalar.
        out: the output folder from `--out`, which wins over everything.
        init_from: fine-tuning: the trained model's config, whose architecture and
            tokenisation are kept (a file or --set asking for others is a ConfigError).
    Returns:
        A validated Config whose paths are absolute.
    """
    raw: dict[str, Any] = {}
    sources: dict[str, str] = {}  # key path -> where its value came from
    default_source = "defaults"
    if isinstance(path, dict):
        default_source = "the config dict"
        raw, sources = SCHEMA.read_values(path, default_source)
        path = None  # otherwise as the defaults: the output goes under the working folder
    elif path is not None:
        path = Path(path)
        raw, sources = SCHEMA.read_file(path)
        default_source = str(path)
    for item in overrides:
        SCHEMA.override(raw, sources, item, "--set")
    if out is not None:
        check_path(out, "--out", "output")
        raw["output"] = str(Path(out).resolve())
        sources["output"] = "--out"

    if path is None:  # defaults name the demo corpus absolutely; the output goes under cwd
        raw.setdefault("output", str(Path.cwd() / Config.output))
    elif "output" not in raw:
        raw["output"] = str(Path.cwd() / "runs" / path.stem)
    if init_from is not None:
        _adopt(raw, sources, default_source, init_from)
    config = SCHEMA.build(raw, sources, default_source)
    validate(config, sources, default_source)
    refuse_contradictions(config, sources, default_source)
    return config


# what a fine-tuned model keeps
ARCHITECTURE = {"model": ("cell", "embedding", "hidden", "layers", "tie_weights"),
                "data": ("tokenizer", "tokenizer_version", "lowercase")}


def _adopt(raw: dict[str, Any], sources: dict[str, str], default_source: str,
           base: Config) -> None:
    """Fine-tuning: take the model's architecture and tokenisation into `raw`, refusing a
    value that asks for another; the model's dropout, init and forget_bias unless given."""
    for section, keys in ARCHITECTURE.items():
        given = raw.setdefault(section, {})
        if not isinstance(given, dict):
            return  # SCHEMA.build says what is wrong with it
        theirs = getattr(base, section)
        for key in keys:
            path, want = f"{section}.{key}", getattr(theirs, key)
            if key in given and given[key] != want:
                raise ConfigError(
                    f"{sources.get(path, default_source)}: {path}: {given[key]!r}, but the "
                    f"model to fine-tune has {want!r}; fine-tuning keeps the model's "
                    f"architecture and vocabulary (remove {path} or set it to {want!r})")
            given[key] = want
    for key in ("dropout", "init", "forget_bias"):
        raw["model"].setdefault(key, getattr(base.model, key))


def config_from_dict(raw: dict[str, Any], source: str = "model.json") -> Config:
    """Rebuild a Config saved with `Config.to_dict` (as in a model folder). One saved without
    data.tokenizer_version was made by the word tokeniser's version 1."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping of sections, got {kind(raw)}")
    if isinstance(raw.get("data"), dict) and "tokenizer_version" not in raw["data"]:
        raw = {**raw, "data": {**raw["data"], "tokenizer_version": 1}}
    SCHEMA.check_keys(raw, source)
    config = SCHEMA.build(raw, {}, source)
    validate(config, {}, source)
    return config
