"""Flask application factory."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from shared.accounts import TokenCache
from shared.config import Settings, get_settings
from shared.db import make_engine, make_session_factory
from shared.queue import Dispatcher

csrf = CSRFProtect()

MAX_BODY_BYTES = 2 * 1024 * 1024


def create_app(
    settings: Settings | None = None, test_config: dict[str, Any] | None = None
) -> Flask:
    """Build the app; tests pass their own Settings instead of patching the environment."""
    settings = settings or get_settings()
    app = Flask(__name__, instance_path=str(settings.instance_path.resolve()))
    app.config.update(
        SECRET_KEY=settings.resolved_secret_key(),
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="medtriage_session",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=12),
        WTF_CSRF_TIME_LIMIT=12 * 3600,
        MEDTRIAGE=settings,
    )
    if test_config:
        app.config.update(test_config)

    # One connection per serving thread, so no request waits for the pool.
    engine = make_engine(
        settings.sqlalchemy_url, pool_size=settings.web_threads, max_overflow=settings.web_threads
    )
    app.extensions["db_engine"] = engine
    app.extensions["db_sessions"] = make_session_factory(engine)
    app.extensions["dispatcher"] = Dispatcher.from_settings(settings)
    app.extensions["token_cache"] = TokenCache()
    csrf.init_app(app)

    from web import (
        admin,
        audit_trail,
        auth,
        board,
        cases,
        db,
        errors,
        fhir,
        health,
        highlight,
        images,
        intake,
        lifecycle,
        openapi,
        system,
        transport,
    )

    db.init_app(app)
    errors.init_app(app)
    highlight.init_app(app)
    auth.init_app(app)
    lifecycle.init_app(app)
    transport.init_app(app)
    health.init_app(app)
    for module in (auth, board, intake, cases, lifecycle, admin, audit_trail, health, system):
        app.register_blueprint(module.bp)
    app.register_blueprint(images.bp)
    app.register_blueprint(fhir.bp)
    app.register_blueprint(openapi.bp)
    return app
