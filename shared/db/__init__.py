"""Database models and session helpers."""

from shared.db.models import (
    ApiToken,
    AuditEvent,
    AuditHead,
    Base,
    Case,
    CaseStatus,
    Result,
    Risk,
    Role,
    User,
    utcnow,
)
from shared.db.session import (
    DatabaseNotAvailableError,
    make_engine,
    make_session_factory,
    outage_as_error,
)

__all__ = [
    "ApiToken",
    "AuditEvent",
    "AuditHead",
    "Base",
    "Case",
    "CaseStatus",
    "DatabaseNotAvailableError",
    "Result",
    "Risk",
    "Role",
    "User",
    "make_engine",
    "make_session_factory",
    "outage_as_error",
    "utcnow",
]
