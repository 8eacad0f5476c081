"""rnncli serve: a model loaded once, answering over HTTP (the `serve` extra: Starlette, uvicorn).

    settings.py  the server's limits and address
    schema.py    request bodies checked field by field (unknown fields, types, ranges)
    batcher.py   requests that wait together go through the network together
    work.py      what one batch does: complete, score, per-token log-probabilities
    openai_api.py  the OpenAI-compatible completions API on top of the same work
    app.py       the Starlette application: routes, errors, the page's static files
    run.py       uvicorn: binding, clean shutdown on Ctrl-C / SIGTERM

Only app.py and run.py import Starlette and uvicorn; plain `rnncli` imports none of this.
"""
