"""Engines and sessions for SQLite and PostgreSQL; an outage becomes a named error."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker


class DatabaseNotAvailableError(RuntimeError):
    """The database cannot be reached or is locked for too long."""


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take over transaction control from pysqlite so BEGIN IMMEDIATE can be issued.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Take the write lock up front: a read-then-write upgrade in WAL mode fails
        # at once with SQLITE_BUSY instead of waiting, which would lose an intake.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _private_file(path: Path) -> None:
    """The SQLite file holds patient data: readable by the service's user only (0600, in a
    0700 folder when we create it). SQLite gives its -wal and -shm files the same mode.

    An existing file is changed by path, never opened: closing any descriptor of a database
    file drops every POSIX lock this process's SQLite connections hold on it."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        found = path.stat()
        if found.st_mode & 0o077 and found.st_uid == os.getuid():
            path.chmod(0o600)  # made by an older version, or with a looser umask


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Build an engine tuned for the dialect in `url`."""
    parsed = make_url(url)
    # Statement parameters are patient data: keep them out of exception messages and logs.
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _private_file(Path(parsed.database))
        engine = create_engine(url, connect_args={"timeout": 15}, **kwargs)
        _configure_sqlite(engine)
        return engine
    # No pre-ping (a round trip per request): after a restart of the database the first
    # use of a stale connection fails as an outage (503) and the pool is refreshed.
    kwargs.setdefault("pool_recycle", 1800)
    kwargs.setdefault("pool_size", 5)
    kwargs.setdefault("max_overflow", 10)
    kwargs.setdefault("pool_timeout", 5)
    connect_args = kwargs.pop("connect_args", {})
    if parsed.get_backend_name() == "postgresql":
        connect_args.setdefault("connect_timeout", 3)
    return create_engine(url, connect_args=connect_args, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def is_outage(exc: BaseException) -> bool:
    """True for errors that mean 'the database is unavailable', not 'your data is bad'."""
    if isinstance(exc, OperationalError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


@contextlib.contextmanager
def outage_as_error() -> Iterator[None]:
    """Turn driver-level outages into DatabaseNotAvailableError."""
    try:
        yield
    except DBAPIError as exc:
        if is_outage(exc):
            raise DatabaseNotAvailableError("the database is not available") from exc
        raise
