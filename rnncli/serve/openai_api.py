"""The OpenAI-compatible completions API (`POST /v1/completions`, `GET /v1/models`), so clients
written for it work unchanged: its fields are translated to complete's decoding and its answer
built from the same Completions the rest of the server returns.

    temperature 0        greedy; otherwise sampling at that temperature, with top_p (a
                         temperature below MIN_TEMPERATURE is greedy too: the same choices)
    max_tokens           complete's words (OpenAI's default, 16)
    n                    n completions of each prompt (sampled ones differ; greedy ones agree)
    stop                 up to 4 strings: the text ends before the first one found, and the
                         tokens after it are neither returned nor counted in `usage`
    seed                 as complete's --seed: the same request gives the same completions
    logprobs             each token's log-probability and the K <= 5 likeliest at that step,
                         every token written as it continues the text (" Japanese")
    stream               server-sent events: one chunk per token, then `data: [DONE]`
                         (stream_options.include_usage: a last chunk with the usage)

Fields rnncli does not implement are accepted with the values that change nothing
(penalties of 0, best_of 1, echo false, suffix null or "", logit_bias {} or null, user: any
string) and refused otherwise, naming the field. A choice's `text` continues the prompt as
written (" Japanese", with its space), and `finish_reason` is "stop" when the model ended the
line or a stop string cut it, "length" at max_tokens.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import cache

from rnncli.infer.decode import Decoding
from rnncli.serve.schema import (
    INT_MAX,
    MIN_TEMPERATURE,
    MIN_TOP_P,
    BadRequest,
    Field,
    check,
    decoding,
    texts,
)
from rnncli.serve.settings import Settings
from rnncli.serve.work import BatchKey
from rnncli.text.tokenize import detokenize

MAX_TOKENS = 16  # OpenAI's default
MAX_LOGPROBS = 5  # OpenAI's limit
MAX_STOP = 4
CONTEXT = 64  # tokens before a token that decide how it is written (its space, a quote)


@cache  # one table per server's settings
def completions_fields(settings: Settings) -> dict[str, Field]:
    """POST /v1/completions: OpenAI's fields, the ones without effect here as neutral."""
    return {
        "model": Field("string", "Any name: the server serves one model.", nullable=True),
        "prompt": Field("texts", "The prompt, or a list of prompts.", required=True,
                        max_items=settings.max_prompts),
        "max_tokens": Field("integer", "Tokens to add at most.", nullable=True, minimum=0,
                            maximum=settings.max_words, default=MAX_TOKENS),
        "temperature": Field("number", f"0 (or below {MIN_TEMPERATURE}): greedy; otherwise "
                             "sampling at this temperature.", nullable=True, minimum=0,
                             maximum=2, default=1.0),
        "top_p": Field("number", "Sampling: draw among the likeliest reaching probability P.",
                       nullable=True, minimum=MIN_TOP_P, maximum=1, default=1.0),
        "n": Field("integer", "Completions of each prompt (prompts x n at most "
                   f"{settings.max_prompts}).", nullable=True, minimum=1,
                   maximum=settings.max_prompts, default=1),
        "stop": Field("texts", f"Up to {MAX_STOP} strings that end the text.", nullable=True,
                      max_items=MAX_STOP, nonempty=True),
        "seed": Field("integer", "The same seed gives the same completions.", nullable=True,
                      minimum=0, maximum=INT_MAX),
        "logprobs": Field("integer", "Each token's log-probability and the K likeliest.",
                          nullable=True, minimum=0, maximum=MAX_LOGPROBS),
        "stream": Field("boolean", "Send the text token by token as server-sent events.",
                        nullable=True, default=False),
        "stream_options": Field("object", "Streaming: {\"include_usage\": true} adds a last "
                                "chunk with the usage.", nullable=True, fields={
                                    "include_usage": Field("boolean", "Send the usage.",
                                                           nullable=True)}),
        "user": Field("string", "Accepted and not used.", nullable=True),
        "echo": Field("boolean", "Not supported: only false.", nullable=True,
                      neutral=(False,)),
        "best_of": Field("integer", "Not supported: only 1.", nullable=True, neutral=(1,)),
        "frequency_penalty": Field("number", "Not supported: only 0.", nullable=True,
                                   neutral=(0,)),
        "presence_penalty": Field("number", "Not supported: only 0.", nullable=True,
                                  neutral=(0,)),
        "logit_bias": Field("object", "Not supported: only {}.", nullable=True, neutral=({},)),
        "suffix": Field("string", "Not supported: only \"\".", nullable=True, neutral=("",)),
    }


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
    top: int | None  # logprobs: the likeliest K at each step (None: no logprobs)
    stream: bool
    include_usage: bool
    decoding: Decoding

    @property
    def texts(self) -> list[str]:
        return [p for p in self.prompts for _ in range(self.n)]

    @property
    def texts_toks(self) -> list[list[str]]:
        return [t for t in self.toks for _ in range(self.n)]

    @property
    def key(self) -> BatchKey:
        """The batcher's key (see rnncli.serve.work.steps)."""
        return BatchKey("openai", replace(self.decoding, seed=None), top=self.top)


def completions_request(saved, body: object, settings: Settings) -> CompletionsRequest:
    b = check(body, completions_fields(settings))
    max_tokens = _get(b, "max_tokens", MAX_TOKENS)
    temperature, top_p = _get(b, "temperature", 1.0), _get(b, "top_p", 1.0)
    n = _get(b, "n", 1)
    stop = b.get("stop") or []
    stop = [stop] if isinstance(stop, str) else stop
    sample = temperature >= MIN_TEMPERATURE
    d = decoding(words=max_tokens, sample=sample, temperature=temperature if sample else 1.0,
                 top_p=top_p if sample else 1.0, seed=b.get("seed"))
    prompts, toks = texts(saved, b["prompt"], "prompt", settings)
    if len(prompts) * n > settings.max_prompts:
        raise BadRequest(f"'n': at most {settings.max_prompts} completions per request "
                         f"(prompts x n), got {len(prompts) * n}", "n")
    options = b.get("stream_options") or {}
    return CompletionsRequest(prompts, toks, n, max_tokens, stop, b.get("seed"),
                              b.get("logprobs"), bool(b.get("stream")),
                              bool(options.get("include_usage")), d)


def _get(body: dict, name: str, default):
    value = body.get(name)
    return default if value is None else value


@dataclass
class Choice:
    pieces: list[str]  # the returned tokens as written (the last one cut by a stop string)
    finish_reason: str
    logprobs: dict | None  # OpenAI's logprobs object for those tokens


def choices(saved, req: CompletionsRequest, results: list) -> list[Choice]:
    """Each choice's text as pieces, up to the first stop string, from (Completion, logprobs)
    pairs, one per choice."""
    kind = saved.config.data.tokenizer, saved.config.data.tokenizer_version
    out = []
    for i, (c, logprobs) in enumerate(results):
        p = i // req.n
        before = req.toks[p][-CONTEXT:]
        pieces = [_piece(before + c.tokens[max(0, j - CONTEXT): j], w, kind)
                  for j, w in enumerate(c.tokens)]
        finish = "length" if len(c.tokens) == req.max_tokens else "stop"
        text = "".join(pieces)
        cut = min((at for at in (text.find(s) for s in req.stop) if at >= 0), default=-1)
        if cut >= 0:
            pieces, finish = _cut(pieces, cut), "stop"
        lp = None
        if logprobs is not None:
            lp = _logprobs(req.prompts[p], before, c.tokens, pieces, logprobs, kind)
        out.append(Choice(pieces, finish, lp))
    return out


def _piece(context: list[str], word: str, kind: tuple[str, int]) -> str:
    """A token's text as it follows `context` (its space before it included), by the
    detokeniser's own spacing."""
    head, text = detokenize(context, *kind), detokenize(context + [word], *kind)
    if text.startswith(head):
        return text[len(head):]
    return (" " if kind[0] == "word" and context else "") + word


def _cut(pieces: list[str], length: int) -> list[str]:
    """The pieces that make up the text's first `length` characters (the last one cut)."""
    out, at = [], 0
    for piece in pieces:
        if at >= length:
            break
        out.append(piece[: length - at])
        at += len(piece)
    return out


def _logprobs(prompt: str, before: list[str], words: list[str], pieces: list[str],
              logprobs: list, kind: tuple[str, int]) -> dict:
    """OpenAI's logprobs object for the returned tokens; the likeliest ones at each step are
    keyed by their text as it would continue the text there (" Japanese")."""
    out = {"tokens": [], "token_logprobs": [], "top_logprobs": [], "text_offset": []}
    at = len(prompt)
    for j, (piece, (lp, top)) in enumerate(zip(pieces, logprobs)):
        context = before + words[max(0, j - CONTEXT): j]
        out["tokens"].append(piece)
        out["token_logprobs"].append(lp)
        out["top_logprobs"].append({_piece(context, w, kind): x for w, x in top})
        out["text_offset"].append(at)
        at += len(piece)
    return out


def usage(req: CompletionsRequest, chosen: list[Choice]) -> dict:
    prompt_tokens = sum(map(len, req.toks))
    completion_tokens = sum(len(c.pieces) for c in chosen)
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def completions_response(saved, req: CompletionsRequest, results: list, model: str) -> dict:
    """OpenAI's text_completion object from (Completion, logprobs) pairs, one per choice."""
    chosen = choices(saved, req, results)
    return {"id": f"cmpl-{uuid.uuid4().hex}", "object": "text_completion",
            "created": int(time.time()), "model": model,
            "choices": [{"text": "".join(c.pieces), "index": i, "logprobs": c.logprobs,
                         "finish_reason": c.finish_reason} for i, c in enumerate(chosen)],
            "usage": usage(req, chosen)}


def completions_events(saved, req: CompletionsRequest, results: list,
                       model: str) -> Iterator[str]:
    """The same answer as server-sent events: per choice one chunk per token (with its
    logprobs), then one with its finish_reason; the usage when asked; `data: [DONE]`."""
    chosen = choices(saved, req, results)
    head = {"id": f"cmpl-{uuid.uuid4().hex}", "object": "text_completion",
            "created": int(time.time()), "model": model}

    def event(choices: list[dict], **more) -> str:
        return "data: " + json.dumps({**head, "choices": choices, **more},
                                     ensure_ascii=False, allow_nan=False) + "\n\n"

    for i, c in enumerate(chosen):
        for j, piece in enumerate(c.pieces):
            lp = None
            if c.logprobs is not None:
                lp = {k: v[j: j + 1] for k, v in c.logprobs.items()}
            yield event([{"text": piece, "index": i, "logprobs": lp, "finish_reason": None}])
        yield event([{"text": "", "index": i, "logprobs": None,
                      "finish_reason": c.finish_reason}])
    if req.include_usage:
        yield event([], usage=usage(req, chosen))
    yield "data: [DONE]\n\n"


def models_response(name: str, created: int) -> dict:
    return {"object": "list",
            "data": [{"id": name, "object": "model", "created": created, "owned_by": "rnncli"}]}
