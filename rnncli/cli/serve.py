"""rnncli serve: the model loaded once, behind an HTTP API and a page (the `serve` extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rnncli.cli.common import ThreadsOpt, app, load_model, user_errors

LIMITS = "Limits"
SECURITY = "Security"


@app.command()
@user_errors
def serve(
    model: Annotated[Path | None, typer.Argument(
        help="Model folder. Default: the one the last `rnncli train` wrote.",
        show_default=False, readable=False)] = None,
    host: Annotated[str, typer.Option(
        "--host", help="Address to listen on: loopback only unless you say otherwise "
        "(0.0.0.0: every interface).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", help="Port (0: any free one).")] = 8000,
    max_body_bytes: Annotated[int, typer.Option(
        "--max-body-bytes", help="Larger request bodies are refused (413).",
        rich_help_panel=LIMITS)] = 2 << 20,
    max_prompt_tokens: Annotated[int, typer.Option(
        "--max-prompt-tokens", help="Tokens in one prompt or sentence.",
        rich_help_panel=LIMITS)] = 2048,
    max_explain_tokens: Annotated[int, typer.Option(
        "--max-explain-tokens", help="Tokens in a prompt to explain (its cost grows with the "
        "square of the length, and other requests wait for it).",
        rich_help_panel=LIMITS)] = 64,
    max_words: Annotated[int, typer.Option(
        "--max-words", help="Tokens one completion may add (words, max_tokens).",
        rich_help_panel=LIMITS)] = 256,
    max_prompts: Annotated[int, typer.Option(
        "--max-prompts", help="Prompts (times n) or sentences in one request.",
        rich_help_panel=LIMITS)] = 64,
    max_batch: Annotated[int, typer.Option(
        "--max-batch", help="Texts of waiting requests run through the network together.",
        rich_help_panel=LIMITS)] = 256,
    max_explain_work: Annotated[int, typer.Option(
        "--max-explain-work", help="Explain: the prompts' squared lengths, summed over one "
        "request.", rich_help_panel=LIMITS)] = 2 * 64**2,
    max_answer_bytes: Annotated[int, typer.Option(
        "--max-answer-bytes", help="A request whose answer would be larger (a long trace) is "
        "refused.", rich_help_panel=LIMITS)] = 4 << 20,
    max_queue: Annotated[int, typer.Option(
        "--max-queue", help="Requests waiting or at work; one more gets 503 and Retry-After.",
        rich_help_panel=LIMITS)] = 1024,
    request_timeout: Annotated[float, typer.Option(
        "--request-timeout", help="Seconds a request may take, from its body's first byte to "
        "its answer; then 503 and its work is dropped.",
        rich_help_panel=LIMITS)] = 60.0,
    header_timeout: Annotated[float, typer.Option(
        "--header-timeout", help="Seconds a connection has to send a request's headers.",
        rich_help_panel=LIMITS)] = 10.0,
    max_connections: Annotated[int, typer.Option(
        "--max-connections", help="Open connections; a new one beyond is closed at once.",
        rich_help_panel=LIMITS)] = 1000,
    api_key: Annotated[str | None, typer.Option(
        "--api-key", envvar="RNNCLI_API_KEY", show_envvar=True, show_default=False,
        help="Require 'Authorization: Bearer KEY' on every route but the page's files.",
        rich_help_panel=SECURITY)] = None,
    allow_host: Annotated[list[str] | None, typer.Option(
        "--allow-host", help="A Host name to serve beside the address listened on (a name "
        "in DNS, a proxy's); repeatable; '*': any.", rich_help_panel=SECURITY)] = None,
    threads: ThreadsOpt = None,
):
    """Serve a model over HTTP: a page at / that shows the completion, the next words, the
    hidden state and the explanation as you type; complete and score as JSON (POST
    /v1/complete, /v1/score; GET /v1/model); and the OpenAI completions API (POST
    /v1/completions, GET /v1/models). Needs the extra: pip install 'rnncli[serve]'.

    The model is loaded once; requests that arrive together go through the network together,
    and long work (explain, trace) runs in slices so that other requests go between.
    Listening beyond 127.0.0.1, give an API key. Ctrl-C or SIGTERM stops it after the
    requests in flight have been answered.
    """
    from rnncli.nn.threads import start as start_threads
    from rnncli.serve.run import ServeError
    from rnncli.serve.run import serve as run_server
    from rnncli.serve.settings import Settings

    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as e:
        raise ServeError(f"rnncli serve needs the serve extra ({e.name} is missing): "
                         "pip install 'rnncli[serve]'") from None
    for name, value in (("--max-body-bytes", max_body_bytes),
                        ("--max-prompt-tokens", max_prompt_tokens),
                        ("--max-explain-tokens", max_explain_tokens), ("--max-words", max_words),
                        ("--max-prompts", max_prompts), ("--max-batch", max_batch),
                        ("--max-explain-work", max_explain_work),
                        ("--max-answer-bytes", max_answer_bytes), ("--max-queue", max_queue),
                        ("--max-connections", max_connections)):
        if value < 1:
            raise ServeError(f"{name} must be 1 or more, got {value}")
    for name, value in (("--request-timeout", request_timeout),
                        ("--header-timeout", header_timeout)):
        if not 0 < value < float("inf"):
            raise ServeError(f"{name} must be a number of seconds above 0, got {value}")
    if not 0 <= port <= 65535:
        raise ServeError(f"--port must be in 0 .. 65535, got {port}")
    if api_key is not None and not api_key.strip():
        raise ServeError("--api-key (or RNNCLI_API_KEY) is empty")
    settings = Settings(
        host=host, port=port, max_body_bytes=max_body_bytes,
        max_prompt_tokens=max_prompt_tokens, max_explain_tokens=max_explain_tokens,
        max_explain_work=max_explain_work, max_answer_bytes=max_answer_bytes,
        max_words=max_words, max_prompts=max_prompts, max_batch=max_batch,
        max_queue=max_queue, request_timeout_s=request_timeout,
        header_timeout_s=header_timeout, max_connections=max_connections, api_key=api_key,
        allow_hosts=tuple(allow_host or ()))
    saved = load_model(model)
    start_threads(threads or "auto")
    run_server(saved, settings)
