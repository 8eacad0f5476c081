"""An interactive session: type a prompt, see its completion and the likeliest next words.

It starts when `rnncli complete` gets no prompt and stdin is a terminal. The prompt line has
readline's editing and a history that lasts between sessions ($XDG_STATE_HOME/rnncli/history).
Ctrl-C drops the line being typed; Ctrl-D (end of input) ends the session.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from rnncli.cli import render
from rnncli.cli.common import message
from rnncli.cli.pipes import warn_unknown
from rnncli.errors import PromptError

HISTORY_LINES = 1000


def _readline_history():
    """Load the history into readline; return a function that saves it (None: no readline)."""
    try:
        import readline
    except ImportError:  # not every Python has it: the session works without history
        return None
    from rnncli.store.remembered import state_dir

    path = state_dir() / "history"
    try:
        readline.read_history_file(path)
    except OSError:
        pass
    readline.set_history_length(HISTORY_LINES)

    def save() -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            readline.write_history_file(path)
        except OSError:
            pass  # a history we cannot keep is no reason to fail
    return save


def _shown(path) -> str:
    """A model folder as a person would name it: relative to the working directory if inside."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _prompt_on_stderr(prompt: str) -> str:
    """input() when stdout is not a terminal: the prompt is not a result, so not on stdout."""
    sys.stderr.write(prompt)
    sys.stderr.flush()
    return input()


def session(saved, run: Callable, read: Callable[[str], str] | None = None,
            console: Console | None = None, json_out: bool = False) -> int:
    """Answer prompts until end of input: `run([prompt], n)` completes one (the n-th), `read`
    reads a line (default: input() with readline); `json_out` prints each answer as a JSON line
    instead of the charts. Returns how many prompts were answered."""
    console = console or Console(highlight=False)
    save = None
    if read is None:
        save = _readline_history()
        read = input if sys.stdout.isatty() else _prompt_on_stderr
    print(f"rnncli: model {_shown(saved.path)}, vocabulary {len(saved.vocab):,}. Type a prompt "
          "and press Enter; Ctrl-D ends.", file=sys.stderr)
    answered = 0
    try:
        while True:
            try:
                text = read("> ")
            except KeyboardInterrupt:
                print(file=sys.stderr)
                continue
            except EOFError:
                print(file=sys.stderr)
                break
            if not text.strip():
                continue
            try:
                (c,) = run([text], answered)
            except PromptError as e:
                print(f"Error: {message(e)}", file=sys.stderr)
                continue
            answered += 1
            warn_unknown(c.unknown)
            if json_out:
                print(json.dumps(c.to_dict(), ensure_ascii=False), flush=True)
                continue
            console.print(c.completion or "(the line ends here)", style="green",
                          highlight=False, soft_wrap=True)
            render.next_words(console, c.next)
            render.insides(console, c)
    finally:
        if save is not None:
            save()
    return answered
