"""The command line: parse arguments, call the library, print, map errors to exit codes.

One module per family of commands (train / eval / export; complete / score; kn; serve; show),
sharing the app and the error handling of rnncli.cli.common. Results go to stdout, everything
else to stderr.
"""

from __future__ import annotations

import sys

from rnncli.nn.blas import short_spin

short_spin()  # before anything imports NumPy

from rnncli.cli import (  # noqa: E402, F401  (they register their commands)
    complete,
    corpus,
    ngram,
    serve,
    show,
    train,
)
from rnncli.cli.common import app, silence_stdout  # noqa: E402

__all__ = ["app", "main"]


def main() -> None:
    code: int | str | None = 0
    try:
        app()  # standalone: it ends in SystemExit
    except SystemExit as e:
        code = e.code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        code = 130
    except BrokenPipeError:
        silence_stdout()
    try:
        # what is still buffered: a reader that went away shows here, not at interpreter exit
        # as "Exception ignored ... BrokenPipeError" and status 120
        sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()
    sys.exit(code)
