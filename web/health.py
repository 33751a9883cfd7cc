"""Health for load balancers and compose, readiness, and Prometheus metrics.

`/healthz` says whether this process can serve (503 when the database is down); `/readyz`
whether it can do its whole job (the database and Redis both reachable, 503 naming the one
that is not); `/metrics` the clinic's state and the web's request counts, added up over
every gunicorn process (prometheus-client's multiprocess mode, set up by web/gunicorn_conf.py).
"""

from __future__ import annotations

import hmac
import os
import time
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import Forbidden, Unauthorized

from shared import operations
from shared.metrics import StateCollector
from web.auth import bearer_token, public
from web.db import get_db

bp = Blueprint("health", __name__)

LOCAL_ADDRESSES = ("127.0.0.1", "::1")

# Per process; summed over gunicorn's processes in multiprocess mode. Labelled by endpoint
# name (never the path, which holds case ids), method and status.
REQUESTS = Counter(
    "medtriage_http_requests",
    "HTTP requests answered, by endpoint, method and status",
    ["endpoint", "method", "status"],
    registry=None,
)
LATENCY = Histogram(
    "medtriage_http_request_duration_seconds",
    "Time to answer an HTTP request, by endpoint",
    ["endpoint"],
    registry=None,
)


@bp.get("/healthz")
@public
def healthz() -> Any:
    try:
        get_db().execute(text("SELECT 1"))
        database = "ok"
    except DBAPIError:
        database = "unavailable"
    queue = "ok" if current_app.extensions["dispatcher"].ping() else "unavailable"
    status = 200 if database == "ok" else 503
    return jsonify(database=database, queue=queue), status


@bp.get("/readyz")
@public
def readyz() -> Any:
    """200 when the database and Redis both answer; else 503 naming what failed."""
    checks = [
        operations.check_database(get_db()),
        operations.check_redis(current_app.extensions["dispatcher"].redis),
    ]
    failed = [c.name for c in checks if not c.ok]
    body = {c.name: c.detail for c in checks}
    return jsonify(ready=not failed, failed=failed, **body), 503 if failed else 200


def _may_read_metrics() -> None:
    """This machine, or anyone with the configured metrics token."""
    if request.remote_addr in LOCAL_ADDRESSES:
        return
    expected = current_app.config["MEDTRIAGE"].metrics_token
    sent = bearer_token()
    if sent is not None and expected and hmac.compare_digest(sent.encode(), expected.encode()):
        return
    if sent is not None:
        raise Unauthorized("Wrong metrics token (MEDTRIAGE_METRICS_TOKEN).")
    raise Forbidden(
        "Metrics are served to this machine only; from elsewhere send "
        "'Authorization: Bearer <MEDTRIAGE_METRICS_TOKEN>'."
    )


@bp.get("/metrics")
@public
def metrics() -> Any:
    _may_read_metrics()
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REQUESTS)
        registry.register(LATENCY)
    registry.register(
        StateCollector(
            get_db(),
            current_app.extensions["dispatcher"].redis,
            current_app.config["MEDTRIAGE"],
            current_app.extensions["worker_ping"],
        )
    )
    return Response(generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})


def init_app(app: Flask) -> None:
    app.extensions["worker_ping"] = operations.WorkerPing(app.config["MEDTRIAGE"])

    @app.before_request
    def _start_clock() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _count(response: Response) -> Response:
        endpoint = request.endpoint or "unmatched"
        REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
        started = g.get("request_started")
        if started is not None:
            LATENCY.labels(endpoint).observe(time.perf_counter() - started)
        return response
