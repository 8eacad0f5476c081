"""Typed errors for everything a user can cause.

The CLI turns each of these into one line `Error: ...` on stderr and exit status 1 (2 for a
UsageError: the command line itself asks for what cannot be done); anything else is a bug and
is allowed to show its traceback.
"""


class RnncliError(Exception):
    """Base class: a problem with the user's input, not with rnncli."""


class UsageError(RnncliError):
    """A command line that cannot be run as given: an option's value out of its range, options
    that do not go together, a missing argument. Exit status 2, as Click's own usage errors."""


class ConfigError(RnncliError):
    """A config file or `--set` override that cannot be used."""


class DataError(RnncliError):
    """A corpus that cannot be read or is too small."""


class ModelError(RnncliError):
    """A model folder that is missing, incomplete or not a model."""


class PromptError(RnncliError):
    """A prompt or completion option that cannot be answered."""


class OptionError(PromptError, UsageError):
    """Completion options that cannot be used, in the library's own names (the fields of
    rnncli.infer.decode.Decoding, the keyword arguments of rnncli.infer.predict.complete); the
    command line words it with its flags.

    Attributes:
        options: the options at fault, e.g. ("top_k",) or ("beam", "sample")
        rule: what is wrong, e.g. "must be 0 or more", "are two strategies: choose one"
        value: the value given to the one option at fault (None: not part of the message)
        needs: the option the others only work with, e.g. "sample" (None: none)
    """

    def __init__(self, options: tuple[str, ...], rule: str, value: object = None,
                 needs: str | None = None):
        self.options, self.rule, self.value, self.needs = tuple(options), rule, value, needs
        super().__init__(self.worded(lambda name: name))

    def worded(self, name) -> str:
        """The message with each option called `name(option)`."""
        text = f"{' and '.join(map(name, self.options))} {self.rule}"
        if self.value is not None:
            text += f", got {self.value!r}"
        if self.needs is not None:
            text += f": add {name(self.needs)}"
        return text
