"""rnncli serve: a model loaded once, answering over HTTP (the `serve` extra: Starlette, uvicorn).

    settings.py  the server's limits, address, key and allowed hosts
    schema.py    request bodies checked field by field (unknown fields, types, ranges, budget)
    batcher.py   requests that wait together go through the network together; long work in
                 slices, round robin, dropped when its client has gone or its deadline passed
    work.py      what one batch does, in slices: complete, score, per-token log-probabilities
    openai_api.py  the OpenAI-compatible completions API on top of the same work, streaming
    openapi.py   /openapi.json and the docs' API section, from schema.py's field tables
    app.py       the Starlette application: routes, errors, Host and key checks, the page
    run.py       uvicorn: binding, header timeout, connection limit, clean shutdown

Only app.py and run.py import Starlette and uvicorn; plain `rnncli` imports none of this.
"""
