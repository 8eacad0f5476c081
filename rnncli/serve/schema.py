"""Request bodies, checked field by field before any work: one table of fields per route
(`complete_fields`, `score_fields`, openai_api's `completions_fields`) is both what the server
checks and what /openapi.json documents (rnncli.serve.openapi).

A body that is not JSON, nested too deeply, holding a string that is not Unicode text (a lone
surrogate), a non-finite number, an unknown field (with the closest known one suggested), a
value of the wrong type or out of range is a BadRequest that names the field. Every range is
checked here, before any float32 arithmetic sees the value. Plain Python: no web framework.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, replace
from functools import cache

from rnncli.errors import OptionError, PromptError
from rnncli.infer.decode import UNTIL, Decoding
from rnncli.infer.predict import split_texts
from rnncli.serve.settings import Settings
from rnncli.serve.work import BatchKey


class BadRequest(Exception):
    """Input the server refuses: HTTP `status`, the `field` at fault (None: the whole body)."""

    def __init__(self, message: str, field: str | None = None, status: int = 400):
        super().__init__(message)
        self.field, self.status = field, status


INT_MAX = 2**63 - 1  # the largest integer any field takes (seeds; counts are far smaller)
MIN_TEMPERATURE = 0.01  # logits / T stays finite in float32 (1e-320 would divide by zero)
MAX_TEMPERATURE = 100.0  # beyond this the distribution is flat to float32's precision
MIN_TOP_P = 1e-6  # a smaller P rounds to 0 in float32 (and keeps only the likeliest anyway)
MAX_BEAM = 16  # beams per prompt: each costs a pass through the output layer per word
MAX_NEXT = 1000  # likeliest next words listed per prompt
MAX_DEPTH = 16  # JSON nesting (the deepest field, stream_options, is 2)


@dataclass(frozen=True)
class Field:
    """One field of a request body: its JSON type, range and meaning."""

    kind: str  # "integer", "number", "boolean", "string", "texts" (a string or a list of
    # strings), "object" (with `fields`)
    doc: str
    required: bool = False
    nullable: bool = False  # null means the default
    minimum: float | None = None  # numbers: both bounds, or neither
    maximum: float | None = None
    choices: tuple | None = None  # the only values allowed
    neutral: tuple | None = None  # an OpenAI field rnncli does not implement: only these
    # values (the ones that change nothing) are accepted
    max_items: int | None = None  # texts: at most this many in a list
    nonempty: bool = False  # texts: no empty string
    fields: dict | None = None  # object: its own fields
    default: object = None  # for the document only


KIND_NAMES = {"integer": "an integer", "number": "a number", "boolean": "true or false",
              "string": "a string", "texts": "a string or a non-empty list of strings",
              "object": "an object"}


@cache  # one table per server's settings, not one per request
def complete_fields(settings: Settings) -> dict[str, Field]:
    """POST /v1/complete: `rnncli complete`'s options."""
    return {
        "prompt": Field("texts", "The prompt, or a list of prompts (one answer each).",
                        required=True, max_items=settings.max_prompts),
        "words": Field("integer", "Tokens to add at most (default 1, or 100 with until).",
                       nullable=True, minimum=0, maximum=settings.max_words),
        "until": Field("string", "Stop at the end of the line or sentence.", nullable=True,
                       choices=UNTIL),
        "sample": Field("boolean", "Draw at random instead of taking the likeliest.",
                        default=False),
        "temperature": Field("number", "Sampling: < 1 sharpens, > 1 flattens.",
                             minimum=MIN_TEMPERATURE, maximum=MAX_TEMPERATURE, default=1.0),
        "top_k": Field("integer", "Sampling: draw among the K likeliest (0: all).", minimum=0,
                       maximum=INT_MAX, default=0),
        "top_p": Field("number", "Sampling: draw among the likeliest reaching probability P.",
                       minimum=MIN_TOP_P, maximum=1, default=1.0),
        "seed": Field("integer", "Sampling: the same seed gives the same completions.",
                      nullable=True, minimum=0, maximum=INT_MAX),
        "beam": Field("integer", "Beam search with this many beams (0: none).", minimum=0,
                      maximum=MAX_BEAM, default=0),
        "allow_unk": Field("boolean", "`<unk>` may be chosen.", default=False),
        "next": Field("integer", "Also list the K likeliest next tokens.", minimum=0,
                      maximum=MAX_NEXT, default=0),
        "explain": Field("boolean", "Each prompt token's share in the first completed one "
                         f"(prompts of up to {settings.max_explain_tokens} tokens).",
                         default=False),
        "trace": Field("boolean", "The hidden state after each prompt token.", default=False),
        "stream": Field("boolean", "Answer as server-sent events: one event per prompt's "
                        "answer, then `data: [DONE]`.", default=False),
    }


@cache
def score_fields(settings: Settings) -> dict[str, Field]:
    """POST /v1/score: `rnncli score`."""
    return {"sentence": Field("texts", "The sentence, or a list of sentences.", required=True,
                              max_items=settings.max_prompts)}


def parse_json(raw: bytes) -> object:
    """The body as JSON: UTF-8, finite numbers, at most MAX_DEPTH deep, no lone surrogates."""
    def non_finite(name: str):
        raise BadRequest(f"the body holds {name}, which is not a JSON number")

    try:
        body = json.loads(raw, parse_constant=non_finite)
    except RecursionError:
        raise BadRequest(f"the body is nested deeper than {MAX_DEPTH} levels") from None
    except (UnicodeDecodeError, ValueError) as e:
        raise BadRequest(f"the body is not valid JSON: {e}") from None
    _walk(body)
    return body


def _walk(body: object) -> None:
    """Depth and text checked without recursion (a 10,000-deep list is one BadRequest)."""
    stack = [(body, 1, None)]
    while stack:
        value, depth, field = stack.pop()
        if depth > MAX_DEPTH:
            raise BadRequest(f"the body is nested deeper than {MAX_DEPTH} levels", field)
        if isinstance(value, str):
            _text(value, field)
        elif isinstance(value, list):
            stack.extend((x, depth + 1, field) for x in value)
        elif isinstance(value, dict):
            for name, x in value.items():
                _text(name, field)
                stack.append((x, depth + 1, field or name))


def _text(s: str, field: str | None) -> None:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        where = f"{field!r} holds" if field and field.isprintable() else "the body holds"
        raise BadRequest(f"{where} a lone surrogate (\\u{ord(s[_bad(s)]):04x}), which is "
                         "not text", field if field and field.isprintable() else None) from None


def _bad(s: str) -> int:
    return next(i for i, c in enumerate(s) if 0xD800 <= ord(c) <= 0xDFFF)


def check(body: object, spec: dict[str, Field], prefix: str = "") -> dict:
    """The body's fields, each checked against `spec` (a BadRequest naming the first at fault)."""
    if not isinstance(body, dict):
        raise BadRequest(f"{_where(prefix)}must be a JSON object, got {_type(body)}",
                         prefix or None)
    for name in body:
        if name not in spec:
            close = difflib.get_close_matches(name, spec, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise BadRequest(f"unknown field {prefix + name!r}{hint}; known: "
                             f"{', '.join(spec)}", prefix + name)
    for name, f in spec.items():
        if f.required and body.get(name) is None:
            raise BadRequest(f"{prefix + name!r} is required", prefix + name)
    for name, value in body.items():
        _check_value(prefix + name, value, spec[name])
    return body


def _check_value(name: str, value: object, f: Field) -> None:
    if value is None and f.nullable:
        return
    if not _is(value, f.kind, f.max_items):
        many = f" (at most {f.max_items})" if f.kind == "texts" and f.max_items else ""
        raise BadRequest(f"{name!r} must be {KIND_NAMES[f.kind]}{many}, got {_shown(value)}",
                         name)
    if f.kind == "object" and f.fields is not None:
        check(value, f.fields, name + ".")
    if f.neutral is not None and not any(_same(value, v) for v in f.neutral):
        allowed = " or ".join(json.dumps(v) for v in f.neutral)
        raise BadRequest(f"{name!r} is not supported by this server; leave it out or send "
                         f"{allowed}", name)
    if f.choices is not None and value not in f.choices:
        raise BadRequest(f"{name!r} must be one of {', '.join(map(str, f.choices))}, got "
                         f"{_shown(value)}", name)
    if f.minimum is not None and not f.minimum <= value <= f.maximum:
        raise BadRequest(f"{name!r} must be in {_num(f.minimum)} .. {_num(f.maximum)}, got "
                         f"{_shown(value)}", name)
    if f.nonempty and not all(_texts(value)):
        raise BadRequest(f"{name!r}: the strings must not be empty", name)


def _same(a: object, b: object) -> bool:
    return type(a) is type(b) and a == b or (
        isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool)
        and not isinstance(b, bool) and a == b)


def _is(value: object, kind: str, max_items: int | None) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "object":
        return isinstance(value, dict)
    return isinstance(value, str) or (
        isinstance(value, list) and bool(value) and all(isinstance(x, str) for x in value)
        and (max_items is None or len(value) <= max_items))


def _texts(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def _where(prefix: str) -> str:
    return f"{prefix.rstrip('.')!r} " if prefix else "the body "


def _type(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true or false",
            int: "an integer", float: "a number", type(None): "null"}.get(type(value), "?")


def _shown(value: object) -> str:
    text = json.dumps(value)  # ASCII: any text survives in the message
    return text if len(text) <= 40 else text[:37] + "..."


def _num(x: float) -> str:
    return f"{x:,}" if isinstance(x, int) else f"{x:g}"


def texts(saved, value: str | list[str], field: str, settings: Settings) -> tuple[list[str],
                                                                                   list[list[str]]]:
    """The prompts (or sentences) of a request and their tokens, each with words and within
    the token limit."""
    items = _texts(value)
    try:
        toks = split_texts(saved, items, field)
    except PromptError as e:
        raise BadRequest(str(e), field) from None
    longest = max(map(len, toks))
    if longest > settings.max_prompt_tokens:
        raise BadRequest(f"{field!r}: at most {settings.max_prompt_tokens:,} tokens per text, "
                         f"one has {longest:,}", field)
    return items, toks


def decoding(**options) -> Decoding:
    """complete's Decoding from JSON options (a BadRequest naming the field at fault)."""
    try:
        return Decoding(**options)
    except OptionError as e:
        raise bad_option(e) from None


JSON_NAMES = {"next_k": "next"}  # the library's option names that the JSON API words otherwise


def bad_option(e: OptionError) -> BadRequest:
    """A library OptionError, worded with the JSON fields (`'top_k' ... add 'sample'`)."""
    def name(option: str) -> str:
        return repr(JSON_NAMES.get(option, option))

    return BadRequest(e.worded(name), JSON_NAMES.get(e.options[0], e.options[0]))


@dataclass(frozen=True)
class CompleteRequest:
    """A checked /v1/complete request: its prompts (and their tokens) and complete's options."""
    prompts: list[str]
    toks: list[list[str]]  # each prompt's tokens
    one: bool  # a single prompt (answered with one object), not a list
    decoding: Decoding  # seed included: the batcher groups by `key`, which leaves it out
    next_k: int = 0
    explain: bool = False
    trace: bool = False
    stream: bool = False  # answered as server-sent events

    @property
    def key(self) -> BatchKey:
        """What requests must share to run as one batch (each keeps its own seed)."""
        return BatchKey("complete", replace(self.decoding, seed=None), self.next_k,
                        self.explain, self.trace)


def complete_request(saved, body: object, settings: Settings) -> CompleteRequest:
    b = check(body, complete_fields(settings))
    options = {k: b[k] for k in b if k not in ("prompt", "next", "explain", "trace", "stream")}
    d = decoding(**options)
    explain, trace = b.get("explain", False), b.get("trace", False)
    prompts, toks = texts(saved, b["prompt"], "prompt", settings)
    next_k = min(b.get("next", 0), len(saved.vocab))
    if explain:
        longest = max(map(len, toks))
        if longest > settings.max_explain_tokens:
            raise BadRequest(f"'explain': prompts of up to {settings.max_explain_tokens} tokens"
                             f" here (--max-explain-tokens), one has {longest:,}", "explain")
    budget(saved, settings, toks, d, next_k, explain, trace)
    return CompleteRequest(prompts, toks, isinstance(b["prompt"], str), d, next_k, explain,
                           trace, b.get("stream", False))


def budget(saved, settings: Settings, toks: list[list[str]], d: Decoding, next_k: int,
           explain: bool, trace: bool) -> None:
    """The work and the answer a request asks for, bounded as a whole: explain's cost (the
    sum of its prompts' squared lengths: 16 paths and 20 replacements per token, each
    through the whole prompt) and the answer's estimated size (the trace's hidden states
    above all). Over either: a BadRequest that says the limit."""
    if explain:
        work = sum(len(t) ** 2 for t in toks)
        if work > settings.max_explain_work:
            raise BadRequest(f"'explain': the prompts' squared lengths add up to {work:,}; "
                             f"the limit is {settings.max_explain_work:,} "
                             "(--max-explain-work): fewer or shorter prompts", "explain")
    size = answer_bytes(saved, toks, d, next_k, explain, trace)
    if size > settings.max_answer_bytes:
        field = "trace" if trace else "next" if next_k else "prompt"
        raise BadRequest(f"the answer would be about {size:,} bytes; the limit is "
                         f"{settings.max_answer_bytes:,} (--max-answer-bytes): fewer or "
                         f"shorter prompts{', or no trace' if trace else ''}", field)


def answer_bytes(saved, toks: list[list[str]], d: Decoding, next_k: int, explain: bool,
                 trace: bool) -> int:
    """A generous estimate of the JSON answer's size: per prompt its text and completion,
    the next words, the beams, the explanation and the trace (8 bytes per hidden unit)."""
    H = saved.config.model.hidden
    words = d.max_words * (1 + (d.beam or 0))
    return sum(200 + 16 * len(t) + 16 * words + 40 * next_k + (120 * len(t) if explain else 0)
               + ((60 + 8 * H) * len(t) if trace else 0) for t in toks)


def score_request(saved, body: object,
                  settings: Settings) -> tuple[list[str], list[list[str]], bool]:
    """The sentences, their tokens, and whether there is one (answered with one object)."""
    b = check(body, score_fields(settings))
    sentences, toks = texts(saved, b["sentence"], "sentence", settings)
    return sentences, toks, isinstance(b["sentence"], str)
