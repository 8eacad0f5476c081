"""The OpenAI-compatible completions API (`POST /v1/completions`, `GET /v1/models`), so clients
written for it work unchanged: its fields are translated to complete's decoding and its answer
built from the same Completions the rest of the server returns.

    temperature 0        greedy; otherwise sampling at that temperature, with top_p
    max_tokens           complete's words (OpenAI's default, 16)
    n                    n completions of each prompt (sampled ones differ; greedy ones agree)
    stop                 up to 4 strings: the text is cut before the first one found
    seed                 as complete's --seed: the same request gives the same completions
    logprobs             each token's log-probability and the K <= 5 likeliest at that step

A choice's `text` continues the prompt as written (" Japanese", with its space), and
`finish_reason` is "stop" when the model ended the line or a stop string cut it, "length" at
max_tokens.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, replace

from rnncli.serve.schema import OPENAI, BadRequest, decoding, fields, seed_ok, texts
from rnncli.serve.settings import Settings
from rnncli.serve.work import BatchKey
from rnncli.text.tokenize import detokenize

MAX_TOKENS = 16  # OpenAI's default
MAX_LOGPROBS = 5  # OpenAI's limit
MAX_STOP = 4


@dataclass(frozen=True)
class CompletionsRequest:
    """A checked /v1/completions request: its prompts (and their tokens), n choices of each,
    and what cuts a choice's text."""
    prompts: list[str]
    toks: list[list[str]]  # each prompt's tokens
    n: int
    max_tokens: int
    stop: list[str]
    seed: int | None
    key: BatchKey  # the batcher's key

    @property
    def texts(self) -> list[str]:
        return [p for p in self.prompts for _ in range(self.n)]

    @property
    def texts_toks(self) -> list[list[str]]:
        return [t for t in self.toks for _ in range(self.n)]


def completions_request(saved, body: object, settings: Settings) -> CompletionsRequest:
    b = fields(body, OPENAI, ("prompt",))
    if b.get("stream"):
        raise BadRequest("'stream': streaming is not supported; leave it false", "stream")
    if b.get("echo"):
        raise BadRequest("'echo': echoing the prompt is not supported; leave it false", "echo")
    max_tokens = _get(b, "max_tokens", MAX_TOKENS)
    if not 0 <= max_tokens <= settings.max_words:
        raise BadRequest(f"'max_tokens' must be in 0 .. {settings.max_words}, got {max_tokens}",
                         "max_tokens")
    temperature, top_p = _get(b, "temperature", 1.0), _get(b, "top_p", 1.0)
    if not 0 <= temperature <= 2:
        raise BadRequest(f"'temperature' must be in 0 .. 2, got {temperature}", "temperature")
    if not 0 < top_p <= 1:
        raise BadRequest(f"'top_p' must be in (0, 1], got {top_p}", "top_p")
    n = _get(b, "n", 1)
    if n < 1:
        raise BadRequest(f"'n' must be 1 or more, got {n}", "n")
    top = b.get("logprobs")
    if top is not None and not 0 <= top <= MAX_LOGPROBS:
        raise BadRequest(f"'logprobs' must be in 0 .. {MAX_LOGPROBS}, got {top}", "logprobs")
    stop = b.get("stop") or []
    stop = [stop] if isinstance(stop, str) else stop
    if len(stop) > MAX_STOP or not all(stop):
        raise BadRequest(f"'stop': up to {MAX_STOP} non-empty strings", "stop")
    seed_ok(b.get("seed"))
    sample = temperature > 0
    d = decoding(words=max_tokens, sample=sample, temperature=temperature if sample else 1.0,
                 top_p=top_p if sample else 1.0)
    prompts, toks = texts(saved, b["prompt"], "prompt", settings)
    if len(prompts) * n > settings.max_prompts:
        raise BadRequest(f"'n': at most {settings.max_prompts} completions per request "
                         f"(prompts x n), got {len(prompts) * n}", "n")
    return CompletionsRequest(prompts, toks, n, max_tokens, stop, b.get("seed"),
                              BatchKey("complete", replace(d, seed=None), top=top))


def _get(body: dict, name: str, default):
    value = body.get(name)
    return default if value is None else value


def completions_response(saved, req: CompletionsRequest, results: list, model: str) -> dict:
    """OpenAI's text_completion object from (Completion, logprobs) pairs, one per choice."""
    kind = saved.config.data.tokenizer
    toks = req.toks
    choices = []
    for i, (c, logprobs) in enumerate(results):
        p = i // req.n
        text = _continuation(toks[p], c.tokens, kind)
        finish = "length" if len(c.tokens) == req.max_tokens else "stop"
        cut = min((at for at in (text.find(s) for s in req.stop) if at >= 0), default=-1)
        if cut >= 0:
            text, finish = text[:cut], "stop"
        choice = {"text": text, "index": i, "logprobs": None, "finish_reason": finish}
        if req.key.top is not None:
            pieces = _pieces(toks[p], c.tokens, kind)
            choice["logprobs"] = _logprobs(req.prompts[p], pieces, logprobs, len(text))
        choices.append(choice)
    prompt_tokens = sum(map(len, toks))
    completion_tokens = sum(len(c.tokens) for c, _ in results)
    return {"id": f"cmpl-{uuid.uuid4().hex}", "object": "text_completion",
            "created": int(time.time()), "model": model, "choices": choices,
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens}}


def _continuation(prompt: list[str], words: list[str], kind: str) -> str:
    """The completed tokens' text as it continues the prompt (" Japanese"), spaced by the
    detokeniser as it spaces a whole line."""
    head, full = detokenize(prompt, kind), detokenize(prompt + words, kind)
    if full.startswith(head):
        return full[len(head):]
    return (" " if kind == "word" and words else "") + detokenize(words, kind)


def _pieces(prompt: list[str], words: list[str], kind: str) -> list[str]:
    """Each completed token's text as it continues the prompt (its space before it included),
    by the detokeniser's own spacing."""
    pieces, before = [], detokenize(prompt, kind)
    for j in range(len(words)):
        text = detokenize(prompt + words[: j + 1], kind)
        if not text.startswith(before):  # spacing decided by a later token: keep it whole
            text = before + (" " if kind == "word" else "") + words[j]
        pieces.append(text[len(before):])
        before = text
    return pieces


def _logprobs(prompt: str, pieces: list[str], logprobs: list, length: int) -> dict:
    """OpenAI's logprobs object for the tokens within the (possibly cut) text."""
    out = {"tokens": [], "token_logprobs": [], "top_logprobs": [], "text_offset": []}
    at = 0
    for piece, (lp, top) in zip(pieces, logprobs):
        if at >= length:
            break
        out["tokens"].append(piece)
        out["token_logprobs"].append(lp)
        out["top_logprobs"].append(dict(top))
        out["text_offset"].append(len(prompt) + at)
        at += len(piece)
    return out


def models_response(name: str, created: int) -> dict:
    return {"object": "list",
            "data": [{"id": name, "object": "model", "created": created, "owned_by": "rnncli"}]}
