"""The live board: a page, and `GET /api/v1/board` that answers 304 when nothing changed."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, render_template, request
from sqlalchemy import Engine, event
from werkzeug.exceptions import BadRequest

from shared.board import (
    ALWAYS_SHOWN,
    CARE_FILTERS,
    LEVEL_NAMES,
    BoardFilter,
    board_version,
    load_board,
)
from shared.db.models import utcnow
from shared.schemas import Acuity
from web.auth import STAFF, current_user, requires
from web.db import get_db

bp = Blueprint("board", __name__)

MAX_ROWS = 5000  # the most level 3-5 rows one answer may carry
TIMED_BUCKET_S = 30  # "re-triage due" and "overdue" filters are recomputed at least this often


class BodyCache:
    """Answers already built, by database state and question: terminals polling one board
    state build it once per process, also when they ask at the same moment (the others wait
    for the one building). Each answer's ETag is a hash of its body, so a change the asker
    cannot see (a case below the page or outside the filter) still answers 304.
    In-process only: board bodies hold patient data, which never goes to Redis."""

    def __init__(self, max_entries: int = 32) -> None:
        self.max_entries = max_entries
        self._bodies: OrderedDict[str, tuple[str, bytes]] = OrderedDict()
        self._building: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def get_or_build(self, state: str, build: Callable[[], bytes]) -> tuple[str, bytes]:
        """(ETag, body) for `state`, built by this call when no other thread has it or is
        at it."""
        while True:
            with self._lock:
                found = self._bodies.get(state)
                if found is not None:
                    self._bodies.move_to_end(state)
                    return found
                waiting = self._building.get(state)
                if waiting is None:
                    self._building[state] = threading.Event()
                    break
            waiting.wait(timeout=5)
        try:
            body = build()
            found = (hashlib.sha256(body).hexdigest()[:32], body)
            with self._lock:
                self._bodies[state] = found
                while len(self._bodies) > self.max_entries:
                    self._bodies.popitem(last=False)
            return found
        finally:
            with self._lock:
                self._building.pop(state).set()


class QueryClock:
    """Seconds this thread spent in database calls (cursor execute), for Server-Timing."""

    def __init__(self) -> None:
        self._local = threading.local()

    def watch(self, engine: Engine) -> None:
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, *_args: Any) -> None:
        conn.info.setdefault("query_started", []).append(time.perf_counter())

    def _after(self, conn: Any, *_args: Any) -> None:
        started = conn.info["query_started"].pop()
        self._local.seconds = self.seconds() + time.perf_counter() - started

    def seconds(self) -> float:
        return float(getattr(self._local, "seconds", 0.0))

    def reset(self) -> None:
        self._local.seconds = 0.0


_query_clock = QueryClock()


@bp.record_once
def _watch_queries(state: Any) -> None:
    _query_clock.watch(state.app.extensions["db_engine"])


def _cache() -> BodyCache:
    cache: BodyCache = current_app.extensions.setdefault("board_bodies", BodyCache())
    return cache


def targets() -> dict[int, int]:
    """Waiting-time target in minutes per acuity level 1-5."""
    targets_by_level: dict[int, int] = current_app.config["MEDTRIAGE"].target_minutes()
    return targets_by_level


@bp.get("/")
@requires(*STAFF)
def board_page() -> Any:
    settings = current_app.config["MEDTRIAGE"]
    return render_template(
        "board.html",
        poll_ms=settings.board_poll_ms,
        page_size=settings.board_page_size,
        highlight=request.args.get("highlight", ""),
        levels=list(Acuity),
        level_names=LEVEL_NAMES,
        always_shown=[int(level) for level in ALWAYS_SHOWN],
        care_filters=CARE_FILTERS,
        areas=settings.area_list(),
    )


@bp.get("/api/v1/board")
@requires(*STAFF)
def api_board() -> Any:
    settings = current_app.config["MEDTRIAGE"]
    try:
        board_filter = BoardFilter.parse(request.args, settings.board_page_size, MAX_ROWS)
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    user = current_user()
    assert user is not None  # requires() let only a logged-in user through
    db = get_db()
    _query_clock.reset()
    started = time.perf_counter()
    version = board_version(db)
    bucket = int(time.time() // TIMED_BUCKET_S) if board_filter.timed else None
    state = repr((version, sorted(targets().items()), board_filter.key(user.id), bucket))
    etag, body = _cache().get_or_build(
        state, lambda: _build(board_filter, user.id, settings.board_page_size)
    )
    db.rollback()
    if request.if_none_match.contains(etag):
        response = current_app.response_class(status=304)
    else:
        response = current_app.response_class(body, mimetype="application/json")
    # The browser keeps no copy (web.transport: no-store); board.js keeps the ETag itself
    # and sends it back, so an unchanged board is still a 304 with no body.
    response.set_etag(etag)
    # What this answer cost: the board's database calls, and all of it (the bench reads both).
    total_ms = (time.perf_counter() - started) * 1000
    db_ms = _query_clock.seconds() * 1000
    response.headers["Server-Timing"] = f"db;dur={db_ms:.2f}, board;dur={total_ms:.2f}"
    return response


def _build(board_filter: BoardFilter, user_id: int, page_size: int) -> bytes:
    now = utcnow()
    board = load_board(get_db(), board_filter, user_id, targets(), now)
    payload = {
        "counts": board.counts,
        "matching": board.matching,
        **board.summary(),
        # The configured areas first, then any other an open case is in.
        "areas": list(dict.fromkeys([*current_app.config["MEDTRIAGE"].area_list(), *board.areas])),
        "filter": {
            "area": board_filter.area,
            "level": board_filter.level,
            "status": board_filter.care,
            "mine": board_filter.mine,
            "limit": board_filter.limit,
            "active": board_filter.active,
        },
        "page_size": page_size,
        "always_shown": [int(level) for level in ALWAYS_SHOWN],
        "level_names": {str(level): name for level, name in LEVEL_NAMES.items()},
        "targets": {str(level): minutes for level, minutes in targets().items()},
    }
    rest = json.dumps(payload, separators=(",", ":"))
    # The rows come as JSON already (most unchanged since the last build): spliced in.
    return ('{"rows":[' + ",".join(board.rows) + "]," + rest[1:]).encode()
