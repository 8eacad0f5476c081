"""What every command shares: the app, its common options, and the mapping of errors to exits.

Results go to stdout, everything else (progress, warnings, errors) to stderr. A user's mistake
ends in one line `Error: ...` and exit status 1; usage errors exit 2 (Click's own, and the
library's UsageError: an option's value out of range, options that do not go together).
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from rnncli.errors import ModelError, OptionError, RnncliError, UsageError

# Shell completion (--install-completion, --show-completion) imports nothing more at start-up
# and its two options cost no measurable time (docs/performance.md gives the figures).
app = typer.Typer(
    add_completion=True, no_args_is_help=True, pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
    help="Train a recurrent neural network language model in plain NumPy, then complete "
         "prompts with it.")

# Paths are passed with `readable=False`: typer would otherwise refuse an unreadable file
# itself, as a usage error in a box; the library says what is wrong, in one `Error:` line.
ModelOpt = Annotated[Path | None, typer.Option(
    "--model", "-m", help="Model folder. Default: the one the last `rnncli train` wrote.",
    show_default=False, readable=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output (JSON Lines).")]


def _print_version(value: bool) -> None:
    if value:
        from rnncli import __version__

        print(f"rnncli {__version__}")
        raise typer.Exit()


@app.callback()
def _options(version: Annotated[bool, typer.Option(
        "--version", "-V", help="Print rnncli's version and exit.", is_eager=True,
        callback=_print_version)] = False) -> None:
    pass  # options of rnncli itself, before any command (no docstring: the app's help stays)
def _threads(value: str | None) -> str | None:
    from rnncli.nn.threads import parse

    try:
        parse(value, "--threads")
    except ValueError:
        raise typer.BadParameter(f"expected a number of threads (at least 1) or auto, got "
                                 f"{value!r}") from None
    return value


ThreadsOpt = Annotated[str | None, typer.Option(
    "--threads", help="Threads for BLAS and rnncli's own row blocks: a number, or auto "
    "(default: the cores free now, by the load average; eval measures each count as it "
    "goes). RNNCLI_THREADS sets the default.", show_default=False, callback=_threads)]

# The library's names for completion options (rnncli.errors.OptionError) -> their flags.
FLAGS = {"words": "--words", "until": "--until", "lines": "--lines", "sample": "--sample",
         "temperature": "--temperature", "top_k": "--top-k", "top_p": "--top-p",
         "seed": "--seed", "beam": "--beam", "allow_unk": "--allow-unk", "next_k": "--next",
         "explain": "--explain", "trace": "--trace"}


def message(e: RnncliError) -> str:
    """A library error as the command line words it: options named by their flags."""
    if not isinstance(e, OptionError):
        return str(e)
    text = e.worded(lambda name: FLAGS.get(name, name))
    if e.needs == "sample":
        text += " (--next K lists the K likeliest next words)"
    return text


def err(text: str) -> None:
    print(f"Error: {text}", file=sys.stderr, flush=True)


def user_errors(command):
    """Turn the library's typed errors into one `Error: ...` line and exit status 1 (2 for a
    usage error)."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except UsageError as e:
            err(message(e))
            raise typer.Exit(2) from None
        except RnncliError as e:
            err(message(e))
            raise typer.Exit(1) from None
        except BrokenPipeError:
            # the reader went away (`| head -1`): stop quietly, as cat and grep do
            silence_stdout()
            raise typer.Exit(0) from None
    return wrapper


def silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def stderr_console():
    from rich.console import Console
    return Console(stderr=True)


def load_model(model: Path | None):
    from rnncli.store import model_folder
    from rnncli.store.remembered import last_model

    if model is None:
        model = last_model()
    if model is None:
        raise ModelError("no model given and none trained yet: run `rnncli train` or pass "
                         "--model DIR")
    return model_folder.load(model)
