"""Typed errors for everything a user can cause.

The CLI turns each of these into one line `Error: ...` on stderr and exit status 1; anything
else is a bug and is allowed to show its traceback.
"""


class RnncliError(Exception):
    """Base class: a problem with the user's input, not with rnncli."""


class ConfigError(RnncliError):
    """A config file or `--set` override that cannot be used."""


class DataError(RnncliError):
    """A corpus that cannot be read or is too small."""


class ModelError(RnncliError):
    """A model folder that is missing, incomplete or not a model."""


class PromptError(RnncliError):
    """A prompt or completion option that cannot be answered."""
