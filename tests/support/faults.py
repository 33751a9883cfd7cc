"""Faults inside the real database: the audit event of a new case cannot be written.

Intake writes the case row first and its `case.submitted` event second (on PostgreSQL in one
statement, on SQLite in one transaction), so a trigger on the event fails intake half-way,
after the case row exists: what is left behind shows whether the write was atomic.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import Engine, text

NAME = "test_fault_case_submitted"
WHEN = "WHEN (NEW.action = 'case.submitted')"

# PostgreSQL. "refuse": the insert raises an error. "outage": the backend serving the insert
# terminates itself, so the client loses its connection mid-statement, as in a crash.
PG_BODY = {
    "refuse": "RAISE EXCEPTION 'audit event refused by the test trigger';",
    "outage": "PERFORM pg_terminate_backend(pg_backend_pid()); PERFORM pg_sleep(5);",
}
# SQLite. "refuse": RAISE(ABORT), an IntegrityError. "outage": a function no connection
# defines, which SQLite reports as an OperationalError, the class an unreachable or locked
# database raises (see shared.db.session.is_outage).
SQLITE_BODY = {
    "refuse": "SELECT RAISE(ABORT, 'audit event refused by the test trigger');",
    "outage": f"SELECT {NAME}_undefined();",
}


@contextlib.contextmanager
def case_event_fails(engine: Engine, how: str) -> Iterator[None]:
    """While open, inserting a `case.submitted` audit event fails (`how`: refuse, outage)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(
                text(
                    f"CREATE FUNCTION {NAME}() RETURNS trigger LANGUAGE plpgsql AS "
                    f"$$ BEGIN {PG_BODY[how]} RETURN NEW; END $$"
                )
            )
            conn.execute(
                text(
                    f"CREATE TRIGGER {NAME} BEFORE INSERT ON audit_events FOR EACH ROW "
                    f"{WHEN} EXECUTE FUNCTION {NAME}()"
                )
            )
        else:
            conn.execute(
                text(
                    f"CREATE TRIGGER {NAME} BEFORE INSERT ON audit_events FOR EACH ROW "
                    f"{WHEN} BEGIN {SQLITE_BODY[how]} END"
                )
            )
    try:
        yield
    finally:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text(f"DROP TRIGGER IF EXISTS {NAME} ON audit_events"))
                conn.execute(text(f"DROP FUNCTION IF EXISTS {NAME}()"))
            else:
                conn.execute(text(f"DROP TRIGGER IF EXISTS {NAME}"))
