"""The config's checks: every value in its range, the names the registries know, and settings
that contradict each other refused before any work starts, naming both keys; and the units a
config writes (durations, checkpoint intervals).

Kept apart from the schema (rnncli.config.schema), so that the dataclasses read in one sitting;
the schema calls `validate` after every load. `config` below is a schema Config, `t` its
TrainConfig (not imported here: the schema imports this module).
"""

from __future__ import annotations

import re

from rnncli.errors import ConfigError, DataError
from rnncli.nn import threads
from rnncli.nn.cells import CELLS
from rnncli.text.corpora import is_reference, parse_reference
from rnncli.text.tokenize import EOS, TOKENIZERS, VERSIONS
from rnncli.train.optimizers import OPTIMIZERS

SOFTMAXES = ("full", "adaptive")


def resolve_defaults(t) -> None:
    """Fill the optimiser's null settings with its defaults (once the optimiser is known)."""
    if t.optimizer in OPTIMIZERS:
        defaults = OPTIMIZERS[t.optimizer].defaults()
        for key in ("lr", "eps", "weight_decay"):
            if getattr(t, key) is None:
                setattr(t, key, defaults[key])


def validate(config, sources: dict[str, str] | None = None,
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


def refuse_contradictions(config, sources: dict[str, str],
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


def _validate_optimizer(t, fail) -> None:
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


def _validate_average(t, fail) -> None:
    if t.average not in AVERAGES:
        fail("train.average", f"must be one of {', '.join(AVERAGES)}, got {t.average!r}")
    if t.average == "nt" and t.optimizer != "sgd":
        fail("train.average", f"nt averages SGD's weights, but train.optimizer is "
                              f"{t.optimizer!r}: set train.optimizer: sgd or train.average: none")
    if t.nonmono < 0:
        fail("train.nonmono", f"must be >= 0, got {t.nonmono}")


def _validate_stopping(t, fail) -> None:
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


