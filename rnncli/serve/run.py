"""Serving the app with uvicorn: bind first (a port in use is one `Error:` line), say where (and
that anyone can use it, when it listens beyond loopback without an API key), and on Ctrl-C or
SIGTERM stop accepting, finish the requests in flight, then stop the model's worker.

Connections are guarded below the app (`guarded_protocol`): one that has not sent a request's
headers within --header-timeout is closed (a slow client cannot hold a socket forever), and
beyond --max-connections a new connection is closed at once, before it costs anything more.
"""

from __future__ import annotations

import ipaddress
import socket
import sys

from rnncli.errors import RnncliError
from rnncli.serve.settings import Settings
from rnncli.store.model_folder import SavedModel

BACKLOG = 2048  # connections waiting to be accepted (uvicorn's default)
GRACE_S = 30  # in-flight requests get this long to finish after Ctrl-C / SIGTERM
KEEP_ALIVE_S = 5  # an idle kept-alive connection is closed after this long (uvicorn's default)


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


def guarded_protocol(settings: Settings):
    """uvicorn's httptools protocol with a header timeout and a connection limit."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class Guarded(HttpToolsProtocol):
        header_timer = None
        in_headers = False  # a request has begun and its headers have not all come

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            if len(self.connections) > settings.max_connections:
                transport.abort()  # over the limit: closed before reading a byte
                return
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.in_headers:  # headers cut short: the rest must come in time (a request
                self._arm()  # whose headers came whole, the usual case, sets no timer)

        def _arm(self) -> None:
            if self.header_timer is None:
                self.header_timer = self.loop.call_later(settings.header_timeout_s,
                                                         self._too_slow)

        def _disarm(self) -> None:
            if self.header_timer is not None:
                self.header_timer.cancel()
                self.header_timer = None

        def _too_slow(self) -> None:
            self.header_timer = None
            if not self.transport.is_closing():
                self.transport.close()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self.in_headers = True

        def on_headers_complete(self) -> None:
            self.in_headers = False
            self._disarm()
            super().on_headers_complete()

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

    return Guarded


def uvicorn_config(app, settings: Settings, **options):
    import uvicorn

    return uvicorn.Config(app, http=guarded_protocol(settings), access_log=False,
                          lifespan="on", timeout_keep_alive=KEEP_ALIVE_S,
                          timeout_graceful_shutdown=GRACE_S, **options)


def open_to_all(host: str) -> bool:
    """Whether the address is reachable from other machines (not loopback)."""
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host != "localhost"


def serve(saved: SavedModel, settings: Settings) -> None:
    import uvicorn

    from rnncli.serve.app import create_app

    sock = bind(settings.host, settings.port)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    where = " (reachable from other machines)" if open_to_all(host) else ""
    print(f"rnncli serve: model {saved.path.name}, vocabulary {len(saved.vocab)}, at "
          f"http://{shown}:{port}/{where}; Ctrl-C stops", file=sys.stderr, flush=True)
    if open_to_all(host) and not settings.api_key:
        print("rnncli serve: warning: no API key, so anyone who can reach this address can "
              "use the model (give one with --api-key or RNNCLI_API_KEY)", file=sys.stderr,
              flush=True)
    config = uvicorn_config(create_app(saved, settings), settings, log_level="info")
    uvicorn.Server(config).run(sockets=[sock])
