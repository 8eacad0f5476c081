"""Corpora: reading text files, holding out validation lines, and batching token streams.

Training reads the corpus as one long stream of token ids (every line ends with <eos>), cut into
`batch_size` parallel streams laid side by side as columns of a (L, B) array. Truncated BPTT walks
down that array `bptt` rows at a time; the hidden state of column b carries from one window to
the next, since the column is one contiguous piece of text.
"""

from __future__ import annotations

import bz2
import codecs
import contextlib
import gzip
import lzma
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from rnncli.errors import DataError
from rnncli.text.corpora import locate
from rnncli.text.files import NotRegularFile, open_regular
from rnncli.text.tokenize import UNK, VERSION, tokenize_lines
from rnncli.text.vocab import Vocab

_OPENERS = {".gz": (gzip.open, "gzip"), ".bz2": (bz2.open, "bzip2"), ".xz": (lzma.open, "xz")}
_CORRUPT = (OSError, EOFError, lzma.LZMAError, zlib.error)  # what a damaged archive raises
MAX_LINE_BYTES = 1 << 20  # the longest line read by default (data.max_line_bytes): 1 MiB


def iter_lines(path: str | Path, keep_blank: bool = False,
               max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[str]:
    """The lines of a UTF-8 text file, read as a stream (one line at a time, however large the
    file; .gz, .bz2 and .xz files decompressed on the way), or a DataError that says what is
    wrong and on which line. `-` reads standard input; `corpus:NAME/PART` the fetched corpus's
    file (rnncli.text.corpora); any other path must be a regular file (not a named pipe or a
    device).

    Memory does not grow with the text: a line longer than `max_line_bytes` (its line break
    not counted) is refused after reading that many bytes of it, with a DataError naming the
    file, the line and the limit. A UTF-8 byte-order mark at the start (as some editors save
    text) is dropped; \r\n line ends are read as \n.

    Blank lines are skipped, unless `keep_blank`: then every line comes, split at `\n` only
    (the rule of pre-tokenised corpora, where each line, blank or not, ends with one <eos>).
    """
    stdin = str(path) == "-"
    path = locate(path)  # corpus:NAME/PART -> the fetched file
    if not stdin and not path.exists():
        raise DataError(f"{path}: no such corpus file")
    if not stdin and path.is_dir():
        raise DataError(f"{path}: is a directory, not a corpus file")
    n_lines = 0
    number = 0
    fmt = None
    try:
        opened, fmt = _open_corpus(path, stdin)
        with opened as f:
            for number, raw in enumerate(_raw_lines(f, path, max_line_bytes), 1):
                text = decode_line(raw, "-" if stdin else str(path), number)
                if keep_blank:
                    n_lines += bool(text.strip())
                    yield text.rstrip("\r\n")
                    continue
                for line in text.splitlines():  # \r\n, \r and the other Unicode breaks
                    if line.strip():
                        n_lines += 1
                        yield line
    except _CORRUPT as e:
        if fmt is None and isinstance(e, OSError):
            raise DataError(f"{path}: cannot read: {e.strerror or e}") from None
        if fmt is None:
            raise
        raise DataError(f"{path}: not a readable {fmt} file (corrupt or truncated) after "
                        f"{number} lines: {e}") from None
    if not n_lines:
        raise DataError(f"{path}: the corpus is empty")


def _raw_lines(f: BinaryIO, path: Path, limit: int) -> Iterator[bytes]:
    """The lines of `f` as bytes, split at b"\n" (which UTF-8 never hides), each read with at
    most limit + 1 bytes in hand; the first one without a byte-order mark."""
    number = 0
    while raw := f.readline(limit + 1):
        number += 1
        if len(raw) > limit and not raw.endswith(b"\n"):
            raise DataError(f"{path}: line {number} is longer than {limit:,} bytes, the limit "
                            "data.max_line_bytes sets (raise it, or break the text into lines)")
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8):]  # an editor's byte-order mark, not text
        yield raw


def decode_line(raw: bytes, source: str, number: int) -> str:
    """One line's bytes as UTF-8 text, or a DataError that names the line and the first bad
    byte and says how to convert (the same for a file and for standard input, `-`)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        bad = f"byte 0x{raw[e.start]:02x} at column {e.start + 1}"
        how = ("pipe it through `iconv -f latin1 -t utf-8`" if source == "-" else
               f"convert it into a new file with `iconv -f latin1 -t utf-8 {source}`")
        where = "standard input" if source == "-" else source
        raise DataError(f"{where}: line {number}: not UTF-8 text ({bad}); if it is Latin-1, "
                        f"{how}") from None


def _open_corpus(path: Path, stdin: bool):
    """A context manager of the corpus's bytes (decompressed by name for .gz, .bz2, .xz), and
    the compression's name (None: plain text)."""
    if stdin:
        return contextlib.nullcontext(sys.stdin.buffer), None
    try:
        raw = open_regular(path)
    except NotRegularFile as e:
        raise DataError(f"{path}: {e}; give a text file, or `-` for standard input") from None
    opener, fmt = _OPENERS.get(path.suffix.lower(), (None, None))
    if opener is None:
        return raw, None
    return _decompressed(raw, opener), fmt


@contextlib.contextmanager
def _decompressed(raw: BinaryIO, opener) -> Iterator[BinaryIO]:
    with raw, opener(raw, "rb") as f:
        yield f


def read_lines(path: str | Path, keep_blank: bool = False,
               max_line_bytes: int = MAX_LINE_BYTES) -> list[str]:
    """The lines of a UTF-8 text file, as a list (for validation and eval text)."""
    return list(iter_lines(path, keep_blank, max_line_bytes))


def held_out(n_lines: int, fraction: float, seed: int) -> np.ndarray:
    """Which of n lines to hold out for validation: `fraction` of them (at least one and not
    all, when fraction > 0), chosen at random by `seed`. (n,) bool."""
    n_valid = int(round(n_lines * fraction))
    if fraction > 0 and n_lines >= 2:
        n_valid = min(max(n_valid, 1), n_lines - 1)
    else:
        n_valid = 0
    held = np.zeros(n_lines, dtype=bool)
    held[np.random.default_rng(seed).permutation(n_lines)[:n_valid]] = True
    return held


def split_valid(lines: list[str], fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """Hold out `fraction` of the lines, chosen at random by `seed`; both keep their order."""
    held = held_out(len(lines), fraction, seed)
    train = [line for line, h in zip(lines, held) if not h]
    valid = [line for line, h in zip(lines, held) if h]
    return train, valid


def encode_lines(lines: list[str], vocab: Vocab, kind: str, lowercase: bool,
                 unk_token: str = UNK, version: int = VERSION) -> np.ndarray:
    """One stream of token ids (int32) with <eos> after every line."""
    return vocab.encode(tokenize_lines(lines, kind, lowercase, unk_token, version))


def batchify(ids: np.ndarray, batch_size: int) -> np.ndarray:
    """Cut a stream into `batch_size` contiguous columns: (N,) -> (L, B), the tail dropped."""
    L = len(ids) // batch_size
    return ids[: L * batch_size].reshape(batch_size, L).T.copy()  # (L, B)


@dataclass
class Window:
    """One truncated-BPTT window of a batched stream."""
    inputs: np.ndarray   # (T, B) token ids x_t
    targets: np.ndarray  # (T, B) the next tokens, x_{t+1}
    prev: np.ndarray     # (T, B) the token before each input, x_{t-1} (decides the reset mask)


def windows(data: np.ndarray, bptt: int, eos: int) -> Iterator[Window]:
    """Walk a (L, B) array in windows of `bptt` steps; the last one may be shorter."""
    L, B = data.shape
    before = np.full((1, B), eos, dtype=data.dtype)  # the stream starts as after an <eos>
    for i in range(0, L - 1, bptt):
        T = min(bptt, L - 1 - i)
        prev = data[i - 1: i - 1 + T] if i > 0 else np.concatenate([before, data[: T - 1]])
        yield Window(data[i: i + T], data[i + 1: i + 1 + T], prev)


def eval_streams(ids: np.ndarray, eos: int, n_streams: int) -> tuple[np.ndarray, np.ndarray]:
    """Cut a stream into at most `n_streams` columns at line ends, for scoring every token.

    Each column starts with an <eos> (so its first word is a target too) and is padded at the
    end; the returned weights mark which targets are real.

    Returns:
        data: (L, S) token ids, eos-padded
        weight: (L - 1, S) 1.0 where the target data[t + 1] is part of the corpus, else 0.0
    """
    ends = np.flatnonzero(ids == eos) + 1  # positions just after each <eos>
    if len(ends) == 0 or ends[-1] != len(ids):
        ends = np.append(ends, len(ids))
    n_streams = max(1, min(n_streams, len(ends)))
    # cut points: the line ends closest to equal shares
    goal = np.arange(1, n_streams) * len(ids) / n_streams
    cuts = np.unique(ends[np.searchsorted(ends, goal).clip(0, len(ends) - 1)])
    cuts = cuts[(cuts > 0) & (cuts < len(ids))]
    pieces = np.split(ids, cuts)
    L = max(len(p) for p in pieces) + 1
    data = np.full((L, len(pieces)), eos, dtype=np.int32)
    weight = np.zeros((L - 1, len(pieces)), dtype=np.float32)
    for s, piece in enumerate(pieces):
        data[1: 1 + len(piece), s] = piece
        weight[: len(piece), s] = 1.0
    return data, weight
