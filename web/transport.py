"""Transport security: Secure cookies and HSTS when TLS is on, and no caching of answers.

Every answer but a static file may carry patient data (pages, the case API, the board), so
none may be kept in a browser's or proxy's cache, where the next user of a shared terminal
could find it again with the back button or in the cache folder.
"""

from __future__ import annotations

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

# One year; browsers then refuse plain HTTP to this host name for that long.
HSTS = "max-age=31536000"


def init_app(app: Flask) -> None:
    settings = app.config["MEDTRIAGE"]
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
