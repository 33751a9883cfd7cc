"""Transport security: Secure cookies and HSTS when TLS is on, and no caching of answers.

Every answer but a static file may carry patient data (pages, the case API, the board), so
none may be kept in a browser's or proxy's cache, where the next user of a shared terminal
could find it again with the back button or in the cache folder.

A refused password attempt (wrong, locked out, hashing busy) closes its connection: a
process accepts a bounded number of connections (`--worker-connections`), and a login
flood on kept-alive connections would otherwise hold all of them, so that a terminal's
intake never got in. Closed after each attempt, the flood queues for the listening socket
like everyone else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

# One year; browsers then refuse plain HTTP to this host name for that long.
HSTS = "max-age=31536000"


def close_connection(response: Response) -> Response:
    """Ask the server to close this connection once the answer is sent."""
    response.headers["Connection"] = "close"
    return response


class CloseWhenAsked:
    """WSGI middleware: an answer carrying `Connection: close` closes its connection.

    `Connection` is hop-by-hop, so gunicorn drops it from an application's headers and keeps
    the connection alive; its `start_response` belongs to its response object, whose
    `force_close()` is the way to ask. Under another server the header passes on as it is."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if any(k.lower() == "connection" and v.lower() == "close" for k, v in headers):
                server_response = getattr(start_response, "__self__", None)
                force_close = getattr(server_response, "force_close", None)
                if callable(force_close):
                    force_close()
            return start_response(status, headers, exc_info)

        return self.app(environ, start)


def init_app(app: Flask) -> None:
    settings = app.config["MEDTRIAGE"]
    app.wsgi_app = CloseWhenAsked(app.wsgi_app)  # type: ignore[method-assign]
    if settings.tls_proxy:
        # One proxy hop in front: trust its X-Forwarded-Proto/For/Host, so request.is_secure
        # and the client's address are the browser's, not the proxy's.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
    if settings.tls_enabled:
        app.config["SESSION_COOKIE_SECURE"] = True

    @app.after_request
    def _transport_headers(response: Response) -> Response:
        if request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
        if request.is_secure:
            response.headers["Strict-Transport-Security"] = HSTS
        return response
