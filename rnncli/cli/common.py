"""What every command shares: the app, its common options, and the mapping of errors to exits.

Results go to stdout, everything else (progress, warnings, errors) to stderr. A user's mistake
ends in one line `Error: ...` and exit status 1; usage errors exit 2 (Click's own).
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from rnncli.errors import RnncliError

app = typer.Typer(
    add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
    help="Train a recurrent neural network language model in plain NumPy, then complete "
         "prompts with it.")

# Paths are passed with `readable=False`: typer would otherwise refuse an unreadable file
# itself, as a usage error in a box; the library says what is wrong, in one `Error:` line.
ModelOpt = Annotated[Path | None, typer.Option(
    "--model", "-m", help="Model folder. Default: the one the last `rnncli train` wrote.",
    show_default=False, readable=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output (JSON Lines).")]

def err(message: str) -> None:
    print(f"Error: {message}", file=sys.stderr, flush=True)


def user_errors(command):
    """Turn the library's typed errors into one `Error: ...` line and exit status 1."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except RnncliError as e:
            err(str(e))
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
    from rnncli import store
    from rnncli.state import last_model
    return store.load(model if model is not None else last_model())
