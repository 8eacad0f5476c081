"""The training config: dataclasses are the schema, YAML the values, `--set` the last word.

Precedence: built-in defaults < the YAML file < `--set key.path=value` (parsed as a YAML scalar).
Paths in a file resolve against the file's folder; paths given on the command line against the
working directory. Every problem raises `ConfigError` naming the source and the key path.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnncli.config.reader import Schema, check_path, kind
from rnncli.errors import ConfigError, DataError
from rnncli.nn import threads
from rnncli.nn.cells import CELLS
from rnncli.text.corpora import is_reference, parse_reference
from rnncli.text.tokenize import EOS, TOKENIZERS, VERSION, VERSIONS
from rnncli.train.optimizers import OPTIMIZERS

DEMO_DIR = Path(__file__).resolve().parents[1] / "demo"

PATH = {"path": True}  # field metadata: a path, resolved against the folder of whoever gave it
SOFTMAXES = ("full", "adaptive")


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


def resolve_defaults(t: TrainConfig) -> None:
    """Fill the optimiser's null settings with its defaults (once the optimiser is known)."""
    if t.optimizer in OPTIMIZERS:
        defaults = OPTIMIZERS[t.optimizer].defaults()
        for key in ("lr", "eps", "weight_decay"):
            if getattr(t, key) is None:
                setattr(t, key, defaults[key])


def validate(config: Config, sources: dict[str, str] | None = None,
             default_source: str = "defaults") -> None:
    """Refuse values that have the right type but make no sense."""
    sources = sources or {}

    def fail(key: str, message: str) -> None:
        raise ConfigError(f"{sources.get(key, default_source)}: {key}: {message}")

    d, m, t = config.data, config.model, config.train
    if t.optimizer not in OPTIMIZERS:
        fail("train.optimizer", f"must be one of {', '.join(OPTIMIZERS)}, got {t.optimizer!r}")
    resolve_defaults(t)
    if not d.train:
        fail("data.train", "needs at least one corpus file")
    for key, value in [("data.train", v) for v in d.train] + [("data.valid", d.valid)]:
        if is_reference(value):
            try:
                parse_reference(value)
            except DataError as e:
                fail(key, str(e))
    if not 0.0 <= d.valid_fraction < 1.0:
        fail("data.valid_fraction", f"must be in [0, 1), got {d.valid_fraction}")
    if d.tokenizer not in TOKENIZERS:
        fail("data.tokenizer", f"must be one of {', '.join(TOKENIZERS)}, got {d.tokenizer!r}")
    if d.tokenizer_version not in VERSIONS:
        fail("data.tokenizer_version", f"must be one of {', '.join(map(str, VERSIONS))}, "
             f"got {d.tokenizer_version!r}")
    if not d.unk_token or any(c.isspace() for c in d.unk_token) or d.unk_token == EOS:
        fail("data.unk_token", f"must be one token, without spaces and not {EOS}, "
                               f"got {d.unk_token!r}")
    if d.min_count < 1:
        fail("data.min_count", f"must be at least 1, got {d.min_count}")
    if d.max_line_bytes < 1:
        fail("data.max_line_bytes", f"must be at least 1, got {d.max_line_bytes}")
    if d.max_vocab is not None and d.max_vocab < 3:
        fail("data.max_vocab", f"must be at least 3 (<unk>, <eos> and one word), got {d.max_vocab}")
    if m.cell not in CELLS:
        fail("model.cell", f"must be one of {', '.join(CELLS)}, got {m.cell!r}")
    for key, value in (("model.embedding", m.embedding), ("model.hidden", m.hidden),
                       ("model.layers", m.layers), ("train.epochs", t.epochs),
                       ("train.batch_size", t.batch_size), ("train.bptt", t.bptt)):
        if value < 1:
            fail(key, f"must be at least 1, got {value}")
    if not 0.0 <= m.dropout < 1.0:
        fail("model.dropout", f"must be in [0, 1), got {m.dropout}")
    if m.tie_weights and m.embedding != m.hidden:
        fail("model.tie_weights", f"needs model.embedding == model.hidden, got "
                                  f"{m.embedding} and {m.hidden}")
    if m.softmax not in SOFTMAXES:
        fail("model.softmax", f"must be one of {', '.join(SOFTMAXES)}, got {m.softmax!r}")
    if not m.cutoffs or any(c < 1 for c in m.cutoffs) or m.cutoffs != sorted(set(m.cutoffs)):
        fail("model.cutoffs", f"must be word ids above 0 in increasing order, got {m.cutoffs}")
    if not m.div_value > 0:
        fail("model.div_value", f"must be > 0, got {m.div_value}")
    if m.softmax == "adaptive":
        if m.tie_weights:
            fail("model.tie_weights", "does not combine with model.softmax: adaptive")
        if m.hidden // m.div_value ** len(m.cutoffs) < 1:
            fail("model.div_value", f"leaves the last tail cluster no dimensions: hidden "
                                    f"{m.hidden} / {m.div_value}^{len(m.cutoffs)} < 1")
    if m.init is not None and not m.init > 0:
        fail("model.init", f"must be > 0 (or null for the defaults), got {m.init}")
    if not 0.0 <= t.momentum < 1.0:
        fail("train.momentum", f"must be in [0, 1), got {t.momentum}")
    if t.nesterov and t.momentum == 0:
        fail("train.nesterov", "needs train.momentum > 0")
    if not t.weight_decay >= 0:
        fail("train.weight_decay", f"must be >= 0, got {t.weight_decay}")
    if not t.lr > 0:
        fail("train.lr", f"must be > 0, got {t.lr}")
    _validate_optimizer(t, fail)
    _validate_average(t, fail)
    _validate_stopping(t, fail)
    if not 0.0 < t.lr_decay <= 1.0:
        fail("train.lr_decay", f"must be in (0, 1], got {t.lr_decay}")
    if not t.clip >= 0:
        fail("train.clip", f"must be >= 0 (0 turns clipping off), got {t.clip}")
    if t.checkpoint_every is not None:
        try:
            checkpoint_interval(t.checkpoint_every)
        except ValueError as e:
            fail("train.checkpoint_every", str(e))
    if t.max_tokens is not None and t.max_tokens < 1:
        fail("train.max_tokens", f"must be at least 1 (or null: all epochs), got {t.max_tokens}")
    if t.seed < 0:
        fail("train.seed", f"must be >= 0, got {t.seed}")
    try:
        threads.parse(t.threads)
    except ValueError:
        fail("train.threads", f"must be a number of threads (at least 1) or auto, "
                              f"got {t.threads!r}")


def _taking(option: str) -> str:
    """The optimisers that take train.<option>, in words: "sgd and rmsprop"."""
    names = [name for name, o in OPTIMIZERS.items() if option in o.options]
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]


UNUSED_UNLESS_TAKEN = ("betas", "alpha", "eps")  # optimiser settings only some optimisers take
IGNORED_UNLESS = {"model.cutoffs": ("model.softmax", "adaptive"),  # a setting that only counts
                  "model.div_value": ("model.softmax", "adaptive"),  # when another says so
                  "model.forget_bias": ("model.cell", "lstm")}


def refuse_contradictions(config: Config, sources: dict[str, str],
                          default_source: str = "defaults") -> None:
    """Refuse settings that are each valid but contradict each other, before any work starts,
    naming both keys. A setting given explicitly (in `sources`) that the others make pointless
    is refused too; defaults never are. (Only for a new run: a trained model's saved config is
    not checked again.)"""

    def fail(key: str, message: str) -> None:
        raise ConfigError(f"{sources.get(key, default_source)}: {key}: {message}")

    d, m, t = config.data, config.model, config.train
    if t.min_lr > t.lr:
        fail("train.min_lr", f"{t.min_lr:g} is above train.lr {t.lr:g}: training would stop "
                             "after its first epoch; lower train.min_lr or raise train.lr")
    if t.min_lr > 0 and t.lr_decay == 1:
        fail("train.min_lr", "can never be reached: train.lr_decay is 1, so lr never falls")
    no_valid = d.valid is None and d.valid_fraction == 0
    if t.patience is not None and no_valid:
        fail("train.patience", "needs validation text, and there is none: set data.valid or "
                               "data.valid_fraction above 0 (data.valid_fraction is 0)")
    window = t.batch_size * (t.bptt + 1)
    if t.max_tokens is not None and t.max_tokens < window:
        fail("train.max_tokens", f"{t.max_tokens} is less than one window of train.batch_size "
                                 f"{t.batch_size} x (train.bptt {t.bptt} + 1) = {window} tokens")
    if d.valid is not None and "data.valid_fraction" in sources and d.valid_fraction > 0:
        fail("data.valid_fraction", f"{d.valid_fraction} of the lines would be held out, but "
                                    "data.valid names the validation file; remove one of them")
    for option in UNUSED_UNLESS_TAKEN:
        if f"train.{option}" in sources and option not in OPTIMIZERS[t.optimizer].options:
            fail(f"train.{option}", f"is not used by train.optimizer {t.optimizer} (only by "
                                    f"{_taking(option)})")
    for key, (other, value) in IGNORED_UNLESS.items():
        section, name = key.split(".")
        given = getattr(getattr(config, section), name)
        if key in sources and given is not None and getattr(m, other.split(".")[1]) != value:
            fail(key, f"counts only with {other}: {value}, and {other} is "
                      f"{getattr(m, other.split('.')[1])}")


def _validate_optimizer(t: TrainConfig, fail) -> None:
    options = OPTIMIZERS[t.optimizer].options
    if t.momentum != 0 and "momentum" not in options:
        fail("train.momentum", f"{t.optimizer} has no momentum (only {_taking('momentum')}); "
                               f"{_taking('betas')} have train.betas")
    if t.nesterov and "nesterov" not in options:
        fail("train.nesterov", f"only {_taking('nesterov')} has Nesterov's momentum, "
                               f"not {t.optimizer}")
    if len(t.betas) != 2 or not all(0.0 <= b < 1.0 for b in t.betas):
        fail("train.betas", f"must be two numbers in [0, 1), got {t.betas}")
    if not t.eps > 0:
        fail("train.eps", f"must be > 0, got {t.eps}")
    if not 0.0 <= t.alpha < 1.0:
        fail("train.alpha", f"must be in [0, 1), got {t.alpha}")


AVERAGES = ("none", "nt")  # train.average: rnncli.train.averaging


def _validate_average(t: TrainConfig, fail) -> None:
    if t.average not in AVERAGES:
        fail("train.average", f"must be one of {', '.join(AVERAGES)}, got {t.average!r}")
    if t.average == "nt" and t.optimizer != "sgd":
        fail("train.average", f"nt averages SGD's weights, but train.optimizer is "
                              f"{t.optimizer!r}: set train.optimizer: sgd or train.average: none")
    if t.nonmono < 0:
        fail("train.nonmono", f"must be >= 0, got {t.nonmono}")


def _validate_stopping(t: TrainConfig, fail) -> None:
    if t.patience is not None and t.patience < 1:
        fail("train.patience", f"must be at least 1 epoch (or null), got {t.patience}")
    if not t.min_lr >= 0:
        fail("train.min_lr", f"must be >= 0, got {t.min_lr}")
    if t.max_time is not None:
        try:
            duration(t.max_time)
        except ValueError as e:
            fail("train.max_time", str(e))
    if t.log_every < 1:
        fail("train.log_every", f"must be at least 1 step, got {t.log_every}")
    for prompt in t.sample_prompts:
        if not prompt.strip():
            fail("train.sample_prompts", "a prompt is empty")


def duration(text: str) -> float:
    """"30s" / "10m" / "1.5h" -> seconds; ValueError for anything else."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|m|h)\s*", str(text))
    if not match or float(match[1]) <= 0:
        raise ValueError(f"expected a time such as 30s, 10m, 1h, got {text!r}")
    return float(match[1]) * {"s": 1, "m": 60, "h": 3600}[match[2]]


def checkpoint_interval(every: int | str) -> tuple[int | None, float | None]:
    """train.checkpoint_every -> (steps, seconds), one of them None: 500 -> (500, None),
    "10m" -> (None, 600.0). ValueError when it is neither."""
    if isinstance(every, int):
        if every < 1:
            raise ValueError(f"must be at least 1 step, got {every}")
        return every, None
    try:
        return None, duration(every)
    except ValueError:
        raise ValueError(f"expected steps (500) or a time (30s, 10m, 1h), got {every!r}") from None


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
