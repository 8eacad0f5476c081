"""The Starlette application: one model, loaded once, behind a JSON API and a page.

    GET  /                 the page (static files shipped in the package, nothing fetched)
    POST /v1/complete      complete's options as JSON -> what `complete --json` prints
    POST /v1/score         {"sentence": ...} -> what `score --json` prints
    GET  /v1/model         the model: what `rnncli show --json` prints (file names, no paths)
    POST /v1/completions   OpenAI-compatible completions; GET /v1/models lists the one model
    GET  /openapi.json     the API, generated from the same field tables that check requests

A single prompt (a string) is answered with one object, a list with a list of them; with
"stream": true, as server-sent events. Every error is JSON, {"error": {"message", "type",
"param"}} as OpenAI's clients expect, `param` naming the field at fault, and no error closes
the connection: an endpoint answers whatever happens inside it. No request names a file: the
model is the one given on the command line.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import sys
import time
import traceback
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path, PurePosixPath, PureWindowsPath

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from rnncli.errors import OptionError, RnncliError
from rnncli.serve import openai_api, openapi, work
from rnncli.serve.batcher import Batcher, Busy, Expired
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
RETRY_AFTER_S = 1  # a client refused for a full queue is asked to come back after this long


class JSON(Response):
    """JSON as the CLI's --json writes it (json.dumps, UTF-8 kept as it is; a string that is
    not text is written escaped; a non-finite number is refused, as it is not JSON)."""

    media_type = "application/json"

    def render(self, content) -> bytes:
        if isinstance(content, bytes):
            return content
        try:
            return json.dumps(content, ensure_ascii=False, allow_nan=False).encode("utf-8")
        except UnicodeEncodeError:
            return json.dumps(content, allow_nan=False).encode("ascii")


def error(status: int, message: str, field: str | None = None,
          headers: dict | None = None) -> JSON:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return JSON({"error": {"message": message, "type": kind, "param": field, "code": None}},
                status_code=status, headers=headers)


def joined(answers: list[bytes]) -> bytes:
    """A JSON list of answers already encoded, as json.dumps writes lists."""
    return b"[" + b", ".join(answers) + b"]"


def public(value: object) -> object:
    """`value` with every absolute path replaced by its last part (a served model tells its
    files' names, not where they lie)."""
    if isinstance(value, dict):
        return {k: public(v) for k, v in value.items()}
    if isinstance(value, list):
        return [public(v) for v in value]
    if isinstance(value, str) and (PurePosixPath(value).is_absolute()
                                   or PureWindowsPath(value).is_absolute()):
        return PureWindowsPath(value).name if "\\" in value else PurePosixPath(value).name
    return value


def model_info(saved: SavedModel, name: str) -> dict:
    """What `rnncli show --json` prints for the model's folder, with its name, config and
    history beside it (the page reads config.model); file names only, no paths."""
    shown = describe(saved.path) if saved.path is not None else {}
    return public({**shown, "name": name, "config": saved.config.to_dict(),
                   "vocab_size": len(saved.vocab), "history": saved.history,
                   "parameters": int(sum(a.size for a in saved.model.params.values()))})


def allowed_host(settings: Settings):
    """A check of the Host header against the address served (a DNS-rebinding page names the
    server by a name of the attacker's): an IP address literal is the address itself, or any
    when listening on every interface; `localhost` when listening on loopback; names given by
    --allow-host ("*": any)."""
    names = {h.lower().strip("[]") for h in settings.allow_hosts}
    if "*" in names:
        return lambda host: True
    bound = settings.host.strip("[]")
    try:
        address = ipaddress.ip_address(bound)
    except ValueError:
        names.add(bound.lower())  # a name given as --host
        address = None
    everywhere = address is not None and address.is_unspecified
    loopback = everywhere or (address.is_loopback if address is not None
                              else bound.lower() == "localhost")
    if loopback:
        names.update({"localhost", "127.0.0.1", "::1"})

    def ok(host: str) -> bool:
        if host in names:
            return True
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            return False
        return everywhere or literal == address

    return ok


def host_of(header: str) -> str:
    """The name in a Host header, without its port: `[::1]:8000` -> `::1`."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1: header.find("]")]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class Guard:
    """ASGI middleware in front of every route: the Host header checked, and with an API key,
    `Authorization: Bearer KEY` required on every route but the page and its static files."""

    def __init__(self, app, settings: Settings):
        self.app, self.host_ok = app, allowed_host(settings)
        key = settings.api_key
        self.bearer = f"Bearer {key}".encode() if key else None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        host = headers.get(b"host", b"").decode("latin-1")
        refused = None
        if not self.host_ok(host_of(host)):
            refused = error(400, f"the Host {host!r} is not served here; start the server with "
                            f"--allow-host {host_of(host) or 'NAME'} to serve it")
        elif self.bearer is not None and not _page(scope["path"]) and not hmac.compare_digest(
                headers.get(b"authorization", b""), self.bearer):
            refused = error(401, "this server needs its API key: send the header "
                            "'Authorization: Bearer KEY'", headers={"WWW-Authenticate": "Bearer"})
        if refused is not None:
            return await refused(scope, receive, send)
        return await self.app(scope, receive, send)


def _page(path: str) -> bool:
    return path == "/" or path.startswith("/static/")


def create_app(saved: SavedModel, settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()
    batcher = Batcher(partial(work.steps, saved), settings.max_batch, settings.max_queue)
    name = saved.path.name if saved.path is not None else "model"
    created = int(saved.path.stat().st_mtime) if saved.path is not None else int(time.time())
    timeout = settings.request_timeout_s

    async def read_body(request: Request) -> bytes:
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
            raise BadRequest(f"the body is larger than the limit of {limit:,} bytes "
                             "(--max-body-bytes)", None, 413)
        return b"".join(chunks)

    async def body(request: Request) -> object:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/json":
            raise BadRequest("send the body as JSON, with 'Content-Type: application/json'",
                             None, 415)
        # a slow body is cut off at the deadline (a timer that cancels this task: no task of
        # its own per request, as asyncio.wait_for would make)
        task, late = asyncio.current_task(), []
        timer = asyncio.get_running_loop().call_later(
            timeout, lambda: late.append(True) or task.cancel())
        try:
            raw = await read_body(request)
        except asyncio.CancelledError:
            if not late:
                raise
            raise BadRequest(f"the body did not arrive within {timeout:g} s "
                             "(--request-timeout)", None, 408) from None
        finally:
            timer.cancel()
        return parse_json(raw)

    async def until_gone(request: Request) -> None:
        """Returns when the client has gone (after the body: the next message is that)."""
        while (await request.receive())["type"] != "http.disconnect":
            pass

    async def run(request: Request, key, texts: list[str], extra=None, tokens=None,
                  alone: bool = False) -> list:
        """The batcher's results for the texts; long work (`alone`) is dropped when the
        client goes away first (short work is done by the time that would be noticed)."""
        if not alone:
            return await batcher.submit(key, texts, extra, tokens, timeout)
        task = asyncio.ensure_future(batcher.submit(key, texts, extra, tokens, timeout, alone))
        gone = asyncio.ensure_future(until_gone(request))
        try:
            await asyncio.wait((task, gone), return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
        if not task.done():  # the client has gone: its work is dropped before its next slice
            task.cancel()
            raise BadRequest("the client went away", None, 499)
        return task.result()

    def events(chunks) -> StreamingResponse:
        return StreamingResponse(chunks, media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})

    async def complete(request: Request) -> Response:
        req = complete_request(saved, await body(request), settings)
        answers = await run(request, req.key, req.prompts, req.decoding.seed, req.toks,
                            req.key.costly)
        if req.stream:
            return events([b"data: " + a + b"\n\n" for a in answers] + [b"data: [DONE]\n\n"])
        return JSON(answers[0] if req.one else joined(answers))

    async def score(request: Request) -> JSON:
        sentences, toks, one = score_request(saved, await body(request), settings)
        answers = await run(request, work.SCORE, sentences, None, toks)
        return JSON(answers[0] if one else joined(answers))

    async def completions(request: Request) -> Response:
        req = openai_api.completions_request(saved, await body(request), settings)
        results = await run(request, req.key, req.texts, req.seed, req.texts_toks)
        if req.stream:
            return events(openai_api.completions_events(saved, req, results, name))
        return JSON(openai_api.completions_response(saved, req, results, name))

    info = model_info(saved, name)  # read once: the model does not change while served

    async def model(request: Request) -> JSON:
        return JSON(info)

    async def models(request: Request) -> JSON:
        return JSON(openai_api.models_response(name, created))

    document = openapi.document(settings)

    async def openapi_json(request: Request) -> JSON:
        return JSON(document)

    async def chat(request: Request) -> JSON:
        return error(404, "this server has no chat completions: it serves a language model "
                     "that continues text; use POST /v1/completions with a prompt")

    async def page(request: Request) -> FileResponse:
        return FileResponse(STATIC / "index.html")

    def answers(endpoint):
        """The endpoint's answer whatever happens inside it: an error is a JSON answer, never
        an exception that would make the server drop the connection."""
        async def answered(request: Request) -> Response:
            try:
                return await endpoint(request)
            except BadRequest as e:
                return error(e.status, str(e), e.field)
            except OptionError as e:
                bad = bad_option(e)
                return error(bad.status, str(bad), bad.field)
            except RnncliError as e:
                return error(400, str(e))
            except Busy as e:
                return error(503, f"{e}; try again shortly",
                             headers={"Retry-After": str(RETRY_AFTER_S)})
            except Expired as e:
                return error(503, str(e))
            except Exception as e:  # a bug: said on stderr, answered as one
                traceback.print_exc(file=sys.stderr)
                return error(500, f"internal error: {type(e).__name__}")
        return answered

    async def http_error(request: Request, e: HTTPException) -> JSON:
        return error(e.status_code, e.detail, headers=e.headers)  # 405 keeps its Allow

    @asynccontextmanager
    async def lifespan(app):
        await batcher.start()
        yield
        await batcher.stop()  # after the server has answered every request in flight

    def post(path, endpoint):
        return Route(path, answers(endpoint), methods=["POST"])

    app = Starlette(
        routes=[Route("/", page), Mount("/static", StaticFiles(directory=STATIC)),
                post("/v1/complete", complete), post("/v1/score", score),
                Route("/v1/model", answers(model)), Route("/v1/models", answers(models)),
                post("/v1/completions", completions),
                Route("/v1/chat/completions", answers(chat), methods=["GET", "POST"]),
                Route("/openapi.json", answers(openapi_json))],
        exception_handlers={HTTPException: http_error},
        lifespan=lifespan)
    app.state.batcher = batcher
    app.add_middleware(Guard, settings=settings)
    return app
