"""The Starlette application: one model, loaded once, behind a JSON API and a page.

    GET  /                 the page (static files shipped in the package, nothing fetched)
    POST /v1/complete      complete's options as JSON -> what `complete --json` prints
    POST /v1/score         {"sentence": ...} -> what `score --json` prints
    GET  /v1/model         the model: what `rnncli show --json` prints, its config and history
    POST /v1/completions   OpenAI-compatible completions; GET /v1/models lists the one model

A single prompt (a string) is answered with one object, a list with a list of them. Every
error is JSON, {"error": {"message", "type", "param"}} as OpenAI's clients expect, `param`
naming the field at fault; the server goes on serving. No request names a file: the model
is the one given on the command line.
"""

from __future__ import annotations

import json
import time
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from rnncli.errors import OptionError, RnncliError
from rnncli.serve import openai_api, work
from rnncli.serve.batcher import Batcher
from rnncli.serve.schema import (
    BadRequest,
    bad_option,
    complete_request,
    parse_json,
    score_request,
)
from rnncli.serve.settings import Settings
from rnncli.store.describe import describe
from rnncli.store.model_folder import SavedModel

STATIC = Path(__file__).resolve().parent / "static"
DRAIN_LIMIT = 64 << 20  # an oversized body is read and dropped up to this much, then cut off


class JSON(Response):
    """JSON as the CLI's --json writes it (json.dumps, UTF-8 kept as it is)."""

    media_type = "application/json"

    def render(self, content) -> bytes:
        return json.dumps(content, ensure_ascii=False).encode("utf-8")


def error(status: int, message: str, field: str | None = None) -> JSON:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return JSON({"error": {"message": message, "type": kind, "param": field, "code": None}},
                status_code=status)


def model_info(saved: SavedModel, name: str) -> dict:
    """What `rnncli show --json` prints for the model's folder, with its name, config and
    history beside it (the page reads config.model)."""
    shown = describe(saved.path) if saved.path is not None else {}
    return {**shown, "name": name, "config": saved.config.to_dict(),
            "vocab_size": len(saved.vocab), "history": saved.history,
            "parameters": int(sum(a.size for a in saved.model.params.values()))}


def create_app(saved: SavedModel, settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()
    batcher = Batcher(partial(work.run, saved), settings.max_batch)
    name = saved.path.name if saved.path is not None else "model"
    created = int(saved.path.stat().st_mtime) if saved.path is not None else int(time.time())

    async def body(request: Request) -> object:
        limit = settings.max_body_bytes
        declared = request.headers.get("content-length", "")
        too_big = declared.isdigit() and int(declared) > limit
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > DRAIN_LIMIT:
                break
            if not too_big and size <= limit:
                chunks.append(chunk)
        if too_big or size > limit:
            raise BadRequest(f"the body is larger than the limit of {limit:,} bytes", None, 413)
        return parse_json(b"".join(chunks))

    async def complete(request: Request) -> JSON:
        req = complete_request(saved, await body(request), settings)
        results = await batcher.submit(req.key, req.prompts, req.decoding.seed, req.toks)
        answers = [c.to_dict() for c in results]
        return JSON(answers[0] if req.one else answers)

    async def score(request: Request) -> JSON:
        sentences, toks, one = score_request(saved, await body(request), settings)
        answers = [s.to_dict() for s in await batcher.submit(work.SCORE, sentences, None, toks)]
        return JSON(answers[0] if one else answers)

    async def completions(request: Request) -> JSON:
        req = openai_api.completions_request(saved, await body(request), settings)
        results = await batcher.submit(req.key, req.texts, req.seed, req.texts_toks)
        if req.key.top is None:
            results = [(c, None) for c in results]
        return JSON(openai_api.completions_response(saved, req, results, name))

    info = model_info(saved, name)  # read once: the model does not change while served

    async def model(request: Request) -> JSON:
        return JSON(info)

    async def models(request: Request) -> JSON:
        return JSON(openai_api.models_response(name, created))

    async def page(request: Request) -> FileResponse:
        return FileResponse(STATIC / "index.html")

    async def bad_request(request: Request, e: BadRequest) -> JSON:
        return error(e.status, str(e), e.field)

    async def user_error(request: Request, e: RnncliError) -> JSON:
        bad = bad_option(e) if isinstance(e, OptionError) else BadRequest(str(e))
        return error(bad.status, str(bad), bad.field)

    async def http_error(request: Request, e: HTTPException) -> JSON:
        return error(e.status_code, e.detail)

    async def server_error(request: Request, e: Exception) -> JSON:
        return error(500, f"internal error: {type(e).__name__}")

    @asynccontextmanager
    async def lifespan(app):
        await batcher.start()
        yield
        await batcher.stop()  # after the server has answered every request in flight

    app = Starlette(
        routes=[Route("/", page), Mount("/static", StaticFiles(directory=STATIC)),
                Route("/v1/complete", complete, methods=["POST"]),
                Route("/v1/score", score, methods=["POST"]),
                Route("/v1/model", model), Route("/v1/models", models),
                Route("/v1/completions", completions, methods=["POST"])],
        exception_handlers={BadRequest: bad_request, RnncliError: user_error,
                            HTTPException: http_error, Exception: server_error},
        lifespan=lifespan)
    app.state.batcher = batcher
    return app
