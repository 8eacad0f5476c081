"""Serving the app with uvicorn: bind first (a port in use is one `Error:` line), say where, and on
Ctrl-C or SIGTERM stop accepting, finish the requests in flight, then stop the model's worker."""

from __future__ import annotations

import socket
import sys

from rnncli.errors import RnncliError
from rnncli.serve.settings import Settings
from rnncli.store.model_folder import SavedModel

BACKLOG = 2048  # connections waiting to be accepted (uvicorn's default)
GRACE_S = 30  # in-flight requests get this long to finish after Ctrl-C / SIGTERM


class ServeError(RnncliError):
    """The server cannot start: an address that cannot be bound."""


def bind(host: str, port: int) -> socket.socket:
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)  # from here on a client waits in line rather than being refused
    except OSError as e:
        raise ServeError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    return sock


def serve(saved: SavedModel, settings: Settings) -> None:
    import uvicorn

    from rnncli.serve.app import create_app

    sock = bind(settings.host, settings.port)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    where = "" if host in ("127.0.0.1", "::1") else " (reachable from other machines)"
    print(f"rnncli serve: model {saved.path.name}, vocabulary {len(saved.vocab)}, at "
          f"http://{shown}:{port}/{where}; Ctrl-C stops", file=sys.stderr, flush=True)
    config = uvicorn.Config(create_app(saved, settings), access_log=False, lifespan="on",
                            timeout_graceful_shutdown=GRACE_S, log_level="info")
    uvicorn.Server(config).run(sockets=[sock])
