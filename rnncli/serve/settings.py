"""What the server accepts and where it listens: every limit is a setting (`rnncli serve
--help`), checked before any work is done."""

from __future__ import annotations

from dataclasses import dataclass, field

API_KEY_ENV = "RNNCLI_API_KEY"  # the key, when --api-key is not given


@dataclass(frozen=True)
class Settings:
    """Where `rnncli serve` listens and the limits it puts on each request."""
    host: str = "127.0.0.1"  # loopback only unless told otherwise
    port: int = 8000
    max_body_bytes: int = 2 << 20  # a larger request body is refused (413) unread
    max_prompt_tokens: int = 2048  # tokens in one prompt or sentence
    max_explain_tokens: int = 64  # explain's cost grows with the square of the prompt's length
    max_explain_work: int = 2 * 64**2  # explain: the prompts' squared lengths, summed
    max_answer_bytes: int = 4 << 20  # the answer's estimated size (a trace is 8 bytes a unit)
    max_words: int = 256  # tokens one completion may add (words, max_tokens, until's cap)
    max_prompts: int = 64  # prompts (times n) or sentences in one request
    max_batch: int = 256  # texts that go through the network together (as stdin's batches)
    max_queue: int = 1024  # requests waiting or at work; more: 503 with Retry-After
    request_timeout_s: float = 60.0  # a request not answered by then: 503, its work dropped
    header_timeout_s: float = 10.0  # a connection must send a request's headers within this
    max_connections: int = 1000  # open connections; more are closed at once
    api_key: str | None = field(default=None, repr=False)  # Authorization: Bearer KEY
    allow_hosts: tuple[str, ...] = ()  # Host names served beside the address ("*": any)
