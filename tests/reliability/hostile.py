"""A hostile package index on 127.0.0.1: every answer is programmable, and it is a forward proxy too.

Routes map a path (or, for proxied requests, a whole URL) to a function that writes the
answer, so a test can serve a redirect loop, a page that drips a byte at a time, a JSON bomb
or a link that lies about its file. As an HTTP proxy (``HTTP_PROXY`` pointed here) it stands in
for "another host": requests for ``http://files.example/…`` arrive here in absolute form and
are recorded, so a test can prove torchpin never sent them.
"""

from __future__ import annotations

import contextlib
import gzip
import http.server
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Route = Callable[["_Handler"], None]


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    target: str  # the request target: a path, or a whole URL when used as a proxy
    authorization: str | None
    host: str | None


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        srv = self.server
        with srv.lock:
            srv.seen.append(Seen(self.path, self.headers.get("Authorization"), self.headers.get("Host")))
        parts = urllib.parse.urlsplit(self.path)
        # Through the proxy, a request for this very server arrives in absolute form too.
        key = self.path if parts.netloc and parts.netloc != srv.own else parts.path
        route = srv.routes.get(key)
        if route is None:
            send(self, 404, b"not here", "text/plain")
            return
        # The client giving up mid-answer is what many of these tests want.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            route(self)

    def do_HEAD(self) -> None:
        self.do_GET()


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # as fake_index._Server: no dropped SYNs, no 1 s stalls

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, Route] = {}
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        self.dripping = threading.Event()  # set once a drip has sent its first byte
        self.own = f"127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):  # clients giving up are expected here
            super().handle_error(request, client_address)


class Hostile:
    """Start with ``with Hostile() as h:``; set ``h.routes[path] = html(...)`` etc."""

    def __init__(self) -> None:
        self._srv = _Server()
        self.url = f"http://127.0.0.1:{self._srv.server_address[1]}"
        self._thread = threading.Thread(target=self._srv.serve_forever, daemon=True)

    @property
    def routes(self) -> dict[str, Route]:
        return self._srv.routes

    @property
    def dripping(self) -> threading.Event:
        """Set once a ``drip`` route has started its body: the client is now waiting on it."""
        return self._srv.dripping

    @property
    def seen(self) -> list[Seen]:
        with self._srv.lock:
            return list(self._srv.seen)

    def __enter__(self) -> Hostile:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._srv.shutdown()
        self._srv.server_close()


def send(
    h: _Handler, status: int, body: bytes, ctype: str = "text/html", headers: dict[str, str] | None = None
) -> None:
    h.send_response(status)
    h.send_header("Content-Type", ctype)
    h.send_header("Content-Length", str(len(body)))
    for k, v in (headers or {}).items():
        h.send_header(k, v)
    h.end_headers()
    if h.command != "HEAD":
        h.wfile.write(body)


def html(body: str, status: int = 200, headers: dict[str, str] | None = None) -> Route:
    return lambda h: send(h, status, body.encode(), "text/html", headers)


def raw(body: bytes, ctype: str = "text/html", status: int = 200, headers: dict[str, str] | None = None) -> Route:
    return lambda h: send(h, status, body, ctype, headers)


def redirect(location: str, status: int = 302) -> Route:
    return lambda h: send(h, status, b"", "text/plain", {"Location": location})


def drip(body: bytes, every: float = 0.25) -> Route:
    """Announce the whole body, then send one byte per ``every`` seconds: no read ever times out."""

    def route(h: _Handler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        for i in range(len(body)):
            h.wfile.write(body[i : i + 1])
            h.wfile.flush()
            h.server.dripping.set()
            time.sleep(every)

    return route


def silent(seconds: float = 30.0) -> Route:
    """Accept the request and never answer (until ``seconds`` pass and the test is long over)."""
    return lambda h: time.sleep(seconds)


def gzip_bomb(size: int) -> Route:
    """``size`` bytes of zeros that travel as a few kB of gzip."""
    packed = gzip.compress(b"\0" * size, compresslevel=9)
    return lambda h: send(h, 200, packed, "text/html", {"Content-Encoding": "gzip"})


def page(links: list[str]) -> str:
    """A PEP 503 project page around raw ``<a …>`` lines."""
    return "<!DOCTYPE html>\n<html>\n  <body>\n" + "\n".join(f"    {a}<br/>" for a in links) + "\n  </body>\n</html>\n"
