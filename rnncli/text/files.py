"""Opening files that end: a named pipe, a device or a link to one is refused before a byte of
it is read, so a model folder, checkpoint or corpus that is not what it seems cannot make rnncli
wait forever (a pipe nobody writes to) or read forever (/dev/zero)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

KINDS = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"),
         (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
         (stat.S_ISDIR, "a directory"))


class NotRegularFile(OSError):
    """The path (links followed) is something other than a regular file."""

    def __str__(self) -> str:
        return self.strerror


def open_regular(path: str | Path) -> BinaryIO:
    """Open `path` for reading in binary if, links followed, it is a regular file; otherwise
    raise NotRegularFile (an OSError whose strerror says what it is) without reading from it.

    The file is opened without waiting (O_NONBLOCK: opening a pipe would wait for a writer)
    and the open file itself is checked (fstat), so it cannot be swapped in between."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            what = next((name for test, name in KINDS if test(mode)), "not a file")
            raise NotRegularFile(0, f"not a regular file ({what})", str(path))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def size(f: BinaryIO) -> int:
    """The size in bytes of an open file."""
    return os.fstat(f.fileno()).st_size
