"""What rnncli remembers between runs, in $XDG_STATE_HOME/rnncli (~/.local/state/rnncli):

    last-model   the folder the last `rnncli train` wrote (`complete` and `eval` use it when no
                 --model is given)
    history      the interactive session's prompt history (rnncli.cli.interactive)
"""

from __future__ import annotations

import os
from pathlib import Path

from rnncli.store import atomic


def state_dir() -> Path:
    """Where rnncli keeps what it remembers between runs: $XDG_STATE_HOME/rnncli."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "rnncli"


def _pointer() -> Path:
    return state_dir() / "last-model"


def remember_last(path: str | Path) -> None:
    """Remember `path` as the model the last `rnncli train` wrote."""
    try:
        atomic.write_file(_pointer(), (str(Path(path).resolve()) + "\n").encode("utf-8"))
    except OSError:
        pass  # remembering is a convenience; the model itself is safely written


def last_model() -> Path | None:
    """The folder the last `rnncli train` wrote; None if there is none."""
    try:
        text = _pointer().read_text(encoding="utf-8").strip()
    except OSError:
        text = ""
    return Path(text) if text else None
