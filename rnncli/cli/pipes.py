"""Texts in, answers out, one line each: arguments or stdin, read in batches, flushed as ready."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator

STDIN_BATCH = 256  # prompts read from stdin go through the network this many at a time


BOM = "\ufeff"  # a byte-order mark, as some editors start a UTF-8 file: not text


def stdin_batches(max_batch: int) -> Iterator[list[str]]:
    """Lines of stdin in batches: as many as are already waiting (up to max_batch), so bulk
    input goes through the network together and a line typed alone is answered at once. A
    byte-order mark at the start of the stream is dropped."""
    first = True
    for batch in _batches(max_batch):
        if first:
            batch[0] = batch[0].removeprefix(BOM)
            first = False
        yield batch


def _batches(max_batch: int) -> Iterator[list[str]]:
    """stdin_batches' batches as they come. Bytes that are not UTF-8 are a DataError, as in a
    corpus file (rnncli.text.corpus.decode_line)."""
    from rnncli.text.corpus import decode_line

    number = 0
    try:
        fd = sys.stdin.fileno()
    except (AttributeError, OSError, ValueError):
        fd = None
    if fd is None:  # not a real file (tests): read in fixed batches
        binary = getattr(sys.stdin, "buffer", None)
        batch: list[str] = []
        for line in binary if binary is not None else sys.stdin:
            number += 1
            if isinstance(line, bytes):
                line = decode_line(line, "-", number)
            batch.append(line.rstrip("\r\n"))
            if len(batch) == max_batch:
                yield batch
                batch = []
        if batch:
            yield batch
        return

    import select

    buf = b""
    eof = False
    while not eof or buf:
        lines: list[bytes] = []
        while True:
            *complete, buf = buf.split(b"\n")
            lines.extend(complete)
            if eof or len(lines) >= max_batch:
                break
            if lines and not select.select([fd], [], [], 0)[0]:
                break  # nothing more waiting: answer what we have
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                eof = True
                buf, rest = b"", buf
                if rest:
                    lines.append(rest)
            else:
                buf += chunk
        for i in range(0, len(lines), max_batch):
            batch = []
            for x in lines[i: i + max_batch]:
                number += 1
                batch.append(decode_line(x, "-", number).rstrip("\r"))
            yield batch


def some(words: list[str], most: int = 10) -> str:
    """`a, b, c`: the distinct words, at most `most` of them, and how many more there are."""
    distinct = list(dict.fromkeys(words))
    more = f" and {len(distinct) - most} more" if len(distinct) > most else ""
    return ", ".join(distinct[:most]) + more


def warn_unknown(words: list[str]) -> None:
    """The stderr warning for prompt words outside the vocabulary (none: nothing)."""
    if words:
        print(f"warning: not in the vocabulary, read as <unk>: {some(words)}", file=sys.stderr)


def from_stdin(args: list[str] | None, what: str) -> bool:
    """Whether the texts come from stdin: `-`, or no argument with stdin piped (a UsageError
    for no argument on a terminal)."""
    from rnncli.errors import UsageError

    from_stdin = args == ["-"] or (not args and not sys.stdin.isatty())
    if not args and not from_stdin:
        raise UsageError(f"give a {what}, or pipe {what}s on stdin (one per line)")
    return from_stdin


def answer_each(args, from_stdin: bool, run, line, blank_json: dict | None, what: str,
                end: str = "\n") -> None:
    """One answer per text, in order, each followed by `end` (a newline, or NUL for -z), flushed
    batch by batch: `run(texts, first)` answers the texts with words (`first`: how many were
    answered before them), `line(result)` formats one answer. A blank stdin line (an argument
    must have words) gets an empty answer, or `blank_json` with the text filled in under
    `what`."""
    answered = 0

    def answer(batch: list[str]) -> None:
        nonlocal answered
        blank = [from_stdin and not x.strip() for x in batch]
        if any(blank):
            print(f"warning: blank {what} line; answered with an empty line", file=sys.stderr)
        texts = [x for x, b in zip(batch, blank) if not b]
        results = iter(run(texts, answered))
        answered += len(texts)
        for is_blank, text in zip(blank, batch):
            if is_blank:
                out = "" if blank_json is None else json.dumps({**blank_json, what: text})
            else:
                out = line(next(results))
            sys.stdout.write(out + end)
        sys.stdout.flush()

    if from_stdin:
        for batch in stdin_batches(STDIN_BATCH):
            answer(batch)
    else:
        answer(list(args))
