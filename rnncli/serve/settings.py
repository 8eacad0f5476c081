"""What the server accepts and where it listens: every limit is a setting (`rnncli serve
--help`), checked before any work is done."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """Where `rnncli serve` listens and the limits it puts on each request."""
    host: str = "127.0.0.1"  # loopback only unless told otherwise
    port: int = 8000
    max_body_bytes: int = 2 << 20  # a larger request body is refused (413) unread
    max_prompt_tokens: int = 2048  # tokens in one prompt or sentence
    max_explain_tokens: int = 64  # explain's cost grows with the square of the prompt's length
    max_words: int = 256  # tokens one completion may add (words, max_tokens, until's cap)
    max_prompts: int = 64  # prompts (times n) or sentences in one request
    max_batch: int = 256  # texts that go through the network together (as stdin's batches)
