"""Request bodies, checked field by field before any work: a body that is not a JSON object, an
unknown field (with the closest known one suggested), a value of the wrong type or out of range
is a BadRequest that names the field. Plain Python: no web framework here."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, replace

from rnncli.errors import OptionError, PromptError
from rnncli.infer.decode import Decoding
from rnncli.infer.predict import check_next_k, split_texts
from rnncli.serve.settings import Settings
from rnncli.serve.work import BatchKey


class BadRequest(Exception):
    """Input the server refuses: HTTP `status`, the `field` at fault (None: the whole body)."""

    def __init__(self, message: str, field: str | None = None, status: int = 400):
        super().__init__(message)
        self.field, self.status = field, status


# a field's kinds: "int" (not bool), "number" (int or float, not bool), "bool", "str",
# "texts" (a string or a list of strings), "stop" (texts or null); "?" suffix: null allowed
COMPLETE = {"prompt": "texts", "words": "int?", "until": "str?", "sample": "bool",
            "temperature": "number", "top_k": "int", "top_p": "number", "seed": "int?",
            "beam": "int", "allow_unk": "bool", "next": "int", "explain": "bool",
            "trace": "bool"}
SCORE = {"sentence": "texts"}
OPENAI = {"model": "str?", "prompt": "texts", "max_tokens": "int?", "temperature": "number?",
          "top_p": "number?", "n": "int?", "stop": "texts?", "seed": "int?",
          "logprobs": "int?", "stream": "bool?", "echo": "bool?", "user": "str?"}


def parse_json(raw: bytes) -> object:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError) as e:
        raise BadRequest(f"the body is not valid JSON: {e}") from None


def fields(body: object, spec: dict[str, str], required: tuple[str, ...]) -> dict:
    """The body's fields, each checked against its kind in `spec`."""
    if not isinstance(body, dict):
        raise BadRequest(f"the body must be a JSON object, got {type(body).__name__}")
    for name in body:
        if name not in spec:
            close = difflib.get_close_matches(name, spec, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise BadRequest(f"unknown field {name!r}{hint}; known: {', '.join(spec)}", name)
    for name in required:
        if body.get(name) is None:
            raise BadRequest(f"{name!r} is required", name)
    for name, value in body.items():
        kind = spec[name]
        if value is None and kind.endswith("?"):
            continue
        if not _is(value, kind.rstrip("?")):
            raise BadRequest(f"{name!r} must be {_KIND_NAMES[kind.rstrip('?')]}, got "
                             f"{json.dumps(value)[:40]}", name)
    return body


_KIND_NAMES = {"int": "an integer", "number": "a number", "bool": "true or false",
               "str": "a string", "texts": "a string or a list of strings"}


def _is(value: object, kind: str) -> bool:
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "str":
        return isinstance(value, str)
    return isinstance(value, str) or (isinstance(value, list) and bool(value)
                                      and all(isinstance(x, str) for x in value))


def texts(saved, value: str | list[str], field: str,
          settings: Settings) -> tuple[list[str], list[list[str]]]:
    """The prompts (or sentences) of a request, each with words and within the token limit,
    and their tokens (split here, once: the batch reuses them)."""
    items = [value] if isinstance(value, str) else value
    if len(items) > settings.max_prompts:
        raise BadRequest(f"{field!r}: at most {settings.max_prompts} per request, got "
                         f"{len(items)}", field)
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

    @property
    def key(self) -> BatchKey:
        """What requests must share to run as one batch (each keeps its own seed)."""
        return BatchKey("complete", replace(self.decoding, seed=None), self.next_k,
                        self.explain, self.trace)


def complete_request(saved, body: object, settings: Settings) -> CompleteRequest:
    b = fields(body, COMPLETE, ("prompt",))
    options = {k: b[k] for k in COMPLETE if k in b and k not in ("prompt", "next", "explain",
                                                                 "trace")}
    d = decoding(**options)
    if d.max_words > settings.max_words:
        raise BadRequest(f"'words': at most {settings.max_words} per completion", "words")
    seed_ok(d.seed)
    next_k = b.get("next", 0)
    try:
        check_next_k(next_k)
    except OptionError as e:
        raise bad_option(e) from None
    explain = b.get("explain", False)
    prompts, toks = texts(saved, b["prompt"], "prompt", settings)
    if explain:  # it blocks every other request while it runs
        longest = max(map(len, toks))
        if longest > settings.max_explain_tokens:
            raise BadRequest(f"'explain': prompts of up to {settings.max_explain_tokens} tokens"
                             f" here, one has {longest:,}", "explain")
    return CompleteRequest(prompts, toks, isinstance(b["prompt"], str), d,
                           min(next_k, len(saved.vocab)), explain, b.get("trace", False))


def seed_ok(seed: int | None) -> None:
    if seed is not None and seed < 0:
        raise BadRequest(f"'seed' must be 0 or more, got {seed}", "seed")


def score_request(saved, body: object,
                  settings: Settings) -> tuple[list[str], list[list[str]], bool]:
    """The sentences, their tokens, and whether there is one (answered with one object)."""
    b = fields(body, SCORE, ("sentence",))
    sentences, toks = texts(saved, b["sentence"], "sentence", settings)
    return sentences, toks, isinstance(b["sentence"], str)
