"""Writing files and folders so that they are either complete or absent.

Everything is first written under a temporary name beside its destination, each file fsynced,
then renamed into place over whatever was there: a crash or a full disk leaves the old file or
folder as it was, and no temporary one behind. Failures are OSErrors; the caller says what it
was writing.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


def write_file(path: str | Path, data: bytes) -> Path:
    """Write `data` as the file `path` atomically (its folder is created if need be)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_quietly(path.parent)
    return path


@contextmanager
def open_file(path: str | Path, mode: str = "w") -> Iterator[IO]:
    """A file opened for writing ("w": UTF-8 text, "wb": bytes) under a temporary name beside
    `path`, fsynced and renamed to `path` when the block ends without an error; removed if it
    ends with one. Its folder is created if need be."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_quietly(path.parent)


def write_folder(path: str | Path, files: dict[str, bytes]) -> Path:
    """Write `files` (name -> bytes) as the folder `path`, atomically: a temporary folder beside
    it, each file fsynced, then renamed into place; an old folder at `path` is moved aside, and
    put back if the rename fails. Returns the absolute path."""
    path = Path(path).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        for name, data in files.items():
            fd = os.open(tmp / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            try:
                _write_all(fd, data)
            finally:
                os.close(fd)
        _fsync(tmp)
        _replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_quietly(path.parent)
    return path


def _replace(tmp: Path, path: Path) -> None:
    """Rename the finished folder `tmp` to `path`, moving an old one aside and then away."""
    if not path.exists():
        tmp.rename(path)
        return
    old = tmp.with_name(tmp.name.removesuffix(".tmp") + ".old")
    path.rename(old)
    try:
        tmp.rename(path)
    except OSError:
        old.rename(path)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _write_all(fd: int, data: bytes) -> None:
    """Write `data` to the open file `fd`, looping over short writes, and fsync it."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    os.fsync(fd)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_quietly(folder: Path) -> None:
    """Make a rename in `folder` durable; what was written is complete either way."""
    try:
        _fsync(folder)
    except OSError:
        pass

