"""The one way rnncli keeps data on disk: a folder of a JSON file and a safetensors file.

    DIR/<meta>       JSON: "format" and "version" (what the folder is), what the format keeps,
                     and, under the format's record key, the tensors file's
                     {"file", "sha256", "bytes"}
    DIR/<tensors>    safetensors; its header metadata holds "format", "version" and
                     "meta_sha256", the SHA-256 of the JSON's other contents (in canonical
                     form), which ties the tensors to the JSON they were saved with
    DIR/...          other files a format keeps beside them (metrics.jsonl)

A `Format` names one kind of folder: its format string and version, its two file names and
what to call it in messages. `save` writes a folder atomically (rnncli.store.atomic)
and `load` reads one back, refusing, with one `ModelError` line, anything that is not a
complete folder of that format: a pipe or device where a file should be (never read), another
format or version, tensors of the wrong size or SHA-256, tensors saved with another JSON.
Nothing here runs code from a file: JSON and safetensors only.

`write_file` and `writing` put a single file in place the same way (export, ARPA).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from rnncli.errors import ModelError
from rnncli.store import atomic
from rnncli.text import files

MAX_HEADER = 100_000_000  # safetensors' own limit on a header's length, in bytes


@dataclass(frozen=True)
class Format:
    """One kind of folder: what it is called and which files it is made of."""
    name: str  # the JSON's "format"
    version: int  # the version written
    meta: str  # the JSON file's name
    tensors: str  # the safetensors file's name
    noun: str  # what to call a folder of this kind in messages ("model folder")
    contents: str  # what to call the tensors in messages ("weights")
    record: str = "tensors"  # the JSON key that records the tensors file's SHA-256 and size
    unrecorded: bool = False  # a JSON of `version` without the record loads, unchecked

    @property
    def a_noun(self) -> str:
        return ("an " if self.noun[0] in "aeiou" or self.noun.startswith("n-") else "a ") + \
            self.noun


@dataclass
class Loaded:
    """A folder's JSON and tensors, read and checked against each other."""
    path: Path
    meta: dict[str, Any]
    tensors: dict[str, np.ndarray]  # the arrays, by name


def check_output(path: str | Path, fmt: Format) -> None:
    """Refuse, before any work, an output folder that could not be written: one that exists
    and is something else, or one whose nearest existing parent cannot be written."""
    path = Path(path)
    try:
        if path.exists() and not (path / fmt.meta).exists() and (
                not path.is_dir() or any(path.iterdir())):
            raise ModelError(f"{path}: exists and is not an rnncli {fmt.noun}; "
                             "choose another output")
        parent = path.parent  # the nearest folder that exists: save creates the rest
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
    except OSError as e:
        raise ModelError(f"{path}: cannot write the {fmt.noun}: {e.strerror}") from None
    if not parent.is_dir():
        raise ModelError(f"{path}: cannot write the {fmt.noun}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ModelError(f"{path}: cannot write the {fmt.noun}: {parent} is not writable")


def save(path: str | Path, fmt: Format, meta: dict[str, Any], tensors: dict[str, np.ndarray],
         extra: dict[str, bytes] | None = None) -> Path:
    """Write `meta` and `tensors` (and the `extra` files, name -> bytes) as the folder `path`,
    atomically; an existing folder of this format there is replaced, anything else refused
    (`check_output`). Returns the absolute path.

    1) serialise the tensors, their header naming the digest of `meta`, 2) record their SHA-256
    and size in `meta`, 3) write every file into a temporary folder beside `path`, fsynced, and
    rename it into place. Any OSError leaves `path` as it was and no temporary folder behind.
    """
    from safetensors.numpy import save as save_bytes

    check_output(path, fmt)
    path = Path(path).resolve()
    meta = {"format": fmt.name, "version": fmt.version, **meta}
    try:
        # 1) the tensors, tied to this JSON by its digest in their header metadata
        data = save_bytes({n: np.ascontiguousarray(a) for n, a in tensors.items()},
                          metadata={"format": fmt.name, "version": str(fmt.version),
                                    "meta_sha256": meta_digest(meta, fmt)})
        # 2) the record that load checks them against
        meta[fmt.record] = {"file": fmt.tensors, "sha256": hashlib.sha256(data).hexdigest(),
                            "bytes": len(data)}
        text = (json.dumps(meta, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
        # 3) every file, each fsynced, into place (putting an old folder back if that fails)
        return atomic.write_folder(path, {fmt.tensors: data, fmt.meta: text, **(extra or {})})
    except OSError as e:
        raise ModelError(f"{path}: cannot write the {fmt.noun}: {e.strerror or e}") from None


def load(path: str | Path, fmt: Format) -> Loaded:
    """Read the folder `path` of format `fmt`, checking that it is one and that its tensors are
    the ones its JSON records.

    1) the JSON: a regular file, of this format and a version read, 2) the tensors file: a
    regular file of the recorded size (or not a byte of it is read but its header), 3) its
    SHA-256, 4) the tensors themselves. What the JSON holds beyond that is the caller's to check.
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load as load_bytes

    path = Path(path)
    if not path.exists():
        raise ModelError(f"{path}: no such {fmt.noun}")
    if not path.is_dir():
        raise ModelError(f"{path}: is a file, not {fmt.a_noun}")
    if not (path / fmt.meta).exists():
        raise ModelError(f"{path}: not an rnncli {fmt.noun} (no {fmt.meta})")
    # 1) the JSON
    try:
        text = read_file(path / fmt.meta)
    except OSError as e:
        raise ModelError(f"{path / fmt.meta}: unreadable: {e.strerror or e}") from None
    try:
        meta = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelError(f"{path / fmt.meta}: damaged: {e}") from None
    if not isinstance(meta, dict) or meta.get("format") != fmt.name:
        raise ModelError(f"{path}: not an rnncli {fmt.noun} ({fmt.meta} is something else)")
    if meta.get("version") != fmt.version:
        raise ModelError(f"{path}: {fmt.noun} format version {meta.get('version')!r} is not "
                         f"supported (this rnncli reads version {fmt.version})")
    try:
        recorded = _recorded(meta, fmt)
    except (KeyError, TypeError, ValueError) as e:
        raise ModelError(f"{path / fmt.meta}: damaged: {e}") from None
    # 2) the tensors file
    file = path / fmt.tensors
    if not file.exists():
        raise ModelError(f"{path}: the {fmt.contents} file {fmt.tensors} is missing")
    try:
        with files.open_regular(file) as f:
            if recorded is not None and files.size(f) != recorded[1]:
                _refuse_size(file, f, recorded[1], meta, fmt)
            data = f.read()  # read once: hashed, then parsed
    except OSError as e:
        raise ModelError(f"{file}: unreadable {fmt.contents}: {e.strerror or e}") from None
    # 3) its checksum
    if recorded is not None:
        _check_sha256(file, data, recorded, meta, fmt)
    # 4) the tensors
    try:
        tensors = load_bytes(data)
    except (SafetensorError, ValueError) as e:
        raise ModelError(f"{file}: unreadable {fmt.contents}: {e}") from None
    return Loaded(path.resolve(), meta, tensors)


def read_file(file: str | Path) -> bytes:
    """The bytes of a regular file; a pipe or device is refused (NotRegularFile), not read."""
    with files.open_regular(file) as f:
        return f.read()


def write_file(path: str | Path, data: bytes) -> Path:
    """Write `data` as the file `path` atomically; a failure is the user's ModelError."""
    try:
        return atomic.write_file(path, data)
    except OSError as e:
        raise ModelError(f"{path}: cannot write: {e.strerror or e}") from None


@contextmanager
def writing(path: str | Path) -> Iterator[IO[str]]:
    """A text file (UTF-8) that becomes `path` atomically when the block ends without an error;
    a failure is the user's ModelError, and leaves no file behind."""
    try:
        with atomic.open_file(path) as f:
            yield f
    except OSError as e:
        raise ModelError(f"{path}: cannot write: {e.strerror or e}") from None


def meta_digest(meta: dict[str, Any], fmt: Format) -> str:
    """SHA-256 of the JSON's contents other than the tensors record, in a canonical form."""
    rest = json.loads(json.dumps({k: v for k, v in meta.items() if k != fmt.record}))
    # the round trip above gives what a later load sees (tuples as lists, keys as strings)
    text = json.dumps(rest, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _recorded(meta: dict[str, Any], fmt: Format) -> tuple[str, int] | None:
    """The JSON's record of the tensors file as (sha256, bytes); None where the format lets a
    folder go without one. Raises ValueError or KeyError if the record is malformed."""
    if fmt.record not in meta:
        if fmt.unrecorded:
            return None
        raise KeyError(fmt.record)
    r = meta[fmt.record]
    if not isinstance(r, dict) or r.get("file") != fmt.tensors:
        raise ValueError(f'"{fmt.record}" must record the file {fmt.tensors!r}')
    sha, size = r["sha256"], r["bytes"]
    if not isinstance(sha, str) or len(sha) != 64 or not isinstance(size, int) or size < 0:
        raise ValueError(f'"{fmt.record}" must record a 64-digit "sha256" and a byte count '
                         '"bytes"')
    return sha.lower(), size


def _refuse_size(file: Path, f, size: int, meta: dict[str, Any], fmt: Format) -> None:
    """Refuse tensors whose size is not the recorded one, reading at most their header:
    swapped (saved with another JSON), truncated, or grown."""
    actual = files.size(f)
    head = f.read(8)
    if len(head) == 8 and 0 < int.from_bytes(head, "little") <= min(actual - 8, MAX_HEADER):
        head += f.read(int.from_bytes(head, "little"))
    _refuse_swapped(file, head, meta, fmt)
    if actual < size:
        raise ModelError(f"{file}: corrupted: truncated to {actual} bytes, {fmt.meta} expects "
                         f"{size}")
    raise ModelError(f"{file}: corrupted: size {actual} bytes, {fmt.meta} expects {size}")


def _refuse_swapped(file: Path, head: bytes, meta: dict[str, Any], fmt: Format) -> None:
    """Refuse tensors whose header names another JSON."""
    saved_with = _header_metadata(head).get("meta_sha256")
    if saved_with is not None and saved_with != meta_digest(meta, fmt):
        raise ModelError(f"{file}: checksum mismatch: the {fmt.contents} file does not belong "
                         f"to this {fmt.meta} (swapped: it was saved with another one)")


def _check_sha256(file: Path, data: bytes, recorded: tuple[str, int], meta: dict[str, Any],
                  fmt: Format) -> None:
    """Refuse tensors whose SHA-256 is not the recorded one, saying why if we can."""
    sha, size = recorded
    if hashlib.sha256(data).hexdigest() == sha and len(data) == size:
        return
    # 1) swapped: a readable rnncli header that names another JSON
    _refuse_swapped(file, data, meta, fmt)
    # 2) truncated or grown (while it was read): the size alone says so
    if len(data) != size:
        raise ModelError(f"{file}: corrupted: size {len(data)} bytes, {fmt.meta} expects {size}")
    # 3) same size, other bytes
    actual = hashlib.sha256(data).hexdigest()
    raise ModelError(f"{file}: corrupted: checksum mismatch (sha256 {actual[:12]}..., "
                     f"{fmt.meta} records {sha[:12]}...)")


def _header_metadata(data: bytes) -> dict[str, Any]:
    """The `__metadata__` of a safetensors header (8-byte little-endian length, then JSON), or
    {} if there is no readable header. Parses JSON only; runs nothing."""
    if len(data) < 8:
        return {}
    n = int.from_bytes(data[:8], "little")
    if not 0 < n <= len(data) - 8:
        return {}
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    return metadata if isinstance(metadata, dict) else {}
