"""Where the request behind an audit event came from: the JSON API or the dashboard's forms.

The web sets it per request; the event's `via` column takes it as its default, so every way
of writing an event (ORM or a bulk insert) records it without passing it around.
"""

from __future__ import annotations

from contextvars import ContextVar

API, FORM = "api", "form"

_origin: ContextVar[str | None] = ContextVar("medtriage_audit_origin", default=None)


def set_origin(value: str | None) -> None:
    _origin.set(value)


def current_origin() -> str | None:
    """`api`, `form`, or None outside a web request (worker, command line)."""
    return _origin.get()
