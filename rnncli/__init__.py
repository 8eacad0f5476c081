"""rnncli: a recurrent neural network language model in plain NumPy, trained from a YAML config.

The Python API (rnncli.api), loaded on first use so that `import rnncli` stays cheap:

    >>> import rnncli
    >>> model = rnncli.load("runs/cuisine")
    >>> model.complete("My favourite dish is sushi. So it is", until="sentence").completion
    'Japanese.'

`rnncli.train(config, on_epoch=...)` trains a model; rnncli.train is also the package of the
training code (rnncli.train.loop, ...), made callable (see rnncli/train/__init__.py).
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["Attribution", "Completion", "Config", "ConfigError", "DataError", "Decoding",
           "Epoch", "EvalTotals", "Explanation", "Model", "ModelError", "NextWord",
           "OptionError", "PromptError", "RnncliError", "SentenceScore", "TokenScore",
           "TraceStep", "load", "train"]

_ERRORS = {"ConfigError", "DataError", "ModelError", "OptionError", "PromptError", "RnncliError"}


def __getattr__(name: str):
    """The API's names, imported when first asked for (PEP 562): NumPy loads then, not before."""
    if name == "train":  # the package, callable (importing it sets the attribute too)
        import importlib

        return importlib.import_module("rnncli.train")
    if name in _ERRORS:
        from rnncli import errors

        return getattr(errors, name)
    if name in __all__:
        from rnncli import api

        value = getattr(api, name)
        globals()[name] = value  # asked once: later lookups find it here
        return value
    raise AttributeError(f"module 'rnncli' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
