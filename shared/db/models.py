"""SQLAlchemy 2 typed models: cases and their care, results, audit events, users, API tokens."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.audit_origin import current_origin
from shared.schemas import Acuity
from shared.schemas import RiskLevel as Risk

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware on both databases: SQLite stores naive text, so values are written in
    UTC and read back with UTC attached (PostgreSQL keeps the zone itself)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return value.astimezone(dt.UTC)
        return value

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value


class AcuityType(TypeDecorator[Acuity]):
    """Acuity 1-5 stored as a small integer, read back as `Acuity`."""

    impl = SmallInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> int | None:
        return None if value is None else int(Acuity(value))

    def process_result_value(self, value: Any, dialect: Any) -> Acuity | None:
        return None if value is None else Acuity(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _enum(cls: type[enum.Enum], name: str, length: int = 16) -> Enum:
    """Enums stored as their values, as VARCHAR with a CHECK, identical on both databases."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class Role(str, enum.Enum):
    NURSE = "nurse"
    CLINICIAN = "clinician"
    AUDITOR = "auditor"
    ADMIN = "admin"


class CaseStatus(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    ANALYZED = "analyzed"
    FAILED = "failed"
    CLOSED = "closed"


class CareStatus(str, enum.Enum):
    """Where the patient is in their care (the analysis state is `CaseStatus`)."""

    WAITING = "waiting"
    IN_ASSESSMENT = "in_assessment"
    DISPOSED = "disposed"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class Disposition(str, enum.Enum):
    ADMIT = "admit"
    DISCHARGE = "discharge"
    TRANSFER = "transfer"
    LEFT_WITHOUT_BEING_SEEN = "left_without_being_seen"
    DECEASED = "deceased"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class LevelOfCare(str, enum.Enum):
    """Where an admitted patient went (site calibration counts HDU and ICU as critical)."""

    WARD = "ward"
    HDU = "hdu"
    ICU = "icu"


class FollowUp(str, enum.Enum):
    """What a clinician learned after the disposition (site calibration's outcome)."""

    DIED_WITHIN_30_DAYS = "died_within_30_days"
    ALIVE_AT_30_DAYS = "alive_at_30_days"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A generated or reset password: every page leads to the change form until it is changed.
    must_change_password: Mapped[bool] = mapped_column(default=False)
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class TokenScope(str, enum.Enum):
    """What an API token may do, each including the ones before it."""

    READ = "read"
    SUBMIT = "submit"
    ADMIN = "admin"

    def allows(self, needed: TokenScope) -> bool:
        order = list(TokenScope)
        return order.index(self) >= order.index(needed)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    scope: Mapped[TokenScope] = mapped_column(_enum(TokenScope, "token_scope", 8))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("submitted_by_id", "idempotency_key"),
        # The board: most urgent first, "vital signs not documented" (false) above complete
        # cases of the same level, then longest waiting.
        Index("ix_cases_board", "status", "acuity", "vitals_documented", "created_at"),
        CheckConstraint("acuity BETWEEN 1 AND 5", name="acuity_range"),
        CheckConstraint("provisional_acuity BETWEEN 1 AND 5", name="provisional_acuity_range"),
        CheckConstraint("engine_acuity BETWEEN 1 AND 5", name="engine_acuity_range"),
        CheckConstraint("override_acuity BETWEEN 1 AND 5", name="override_acuity_range"),
        # Closed-case search: by disposition time, newest first.
        Index("ix_cases_disposed", "care_status", "disposed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # "api:" or "form:" and a hash of the client's key, so the two never meet; with it the
    # SHA-256 of the validated case, so a replay with a different body is refused.
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    idempotency_hash: Mapped[str | None] = mapped_column(String(64))
    patient_ref: Mapped[str | None] = mapped_column(String(64))
    age_years: Mapped[float]
    sex: Mapped[str] = mapped_column(String(16))
    pregnant: Mapped[bool] = mapped_column(default=False)
    chief_complaint: Mapped[str] = mapped_column(String(500))
    note: Mapped[str] = mapped_column(Text, default="")
    vitals: Mapped[dict[str, Any]] = mapped_column(JSON)

    status: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus, "case_status"))
    provisional_risk: Mapped[Risk] = mapped_column(_enum(Risk, "provisional_risk"))
    provisional_reasons: Mapped[list[Any]] = mapped_column(JSON)
    risk_level: Mapped[Risk] = mapped_column(_enum(Risk, "risk_level"))
    risk_rank: Mapped[int] = mapped_column(Integer)
    # Five levels (CLINICAL.md v2); risk_level and risk_rank are derived from `acuity`.
    provisional_acuity: Mapped[Acuity] = mapped_column(AcuityType())
    acuity: Mapped[Acuity] = mapped_column(AcuityType())
    vitals_documented: Mapped[bool] = mapped_column(default=True, server_default=true())
    # Note values that disagree with a typed field, as the board shows them:
    # [{"field", "structured", "note", "used"}]; from the latest assessment.
    vital_conflicts: Mapped[list[Any]] = mapped_column(JSON, default=list)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))

    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, index=True
    )
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    analyzed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    # Care (shared.lifecycle). `acuity` is the level the board orders by: the clinician's
    # override when there is one, else `engine_acuity`, the latest analysis (never hidden).
    care_status: Mapped[CareStatus] = mapped_column(
        _enum(CareStatus, "care_status"), default=CareStatus.WAITING, server_default="waiting"
    )
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    area: Mapped[str | None] = mapped_column(String(64))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Triage or re-triage: the re-assessment clock (the level's target) runs from here.
    last_assessed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    engine_acuity: Mapped[Acuity] = mapped_column(AcuityType())
    override_acuity: Mapped[Acuity | None] = mapped_column(AcuityType())
    override_reason: Mapped[str | None] = mapped_column(Text)
    override_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    override_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Set when a re-triage or analysis made the engine's level more urgent; cleared when
    # someone acknowledges the case (the audit trail keeps both).
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    escalated_from: Mapped[Acuity | None] = mapped_column(AcuityType())
    disposition: Mapped[Disposition | None] = mapped_column(
        _enum(Disposition, "disposition", length=32)
    )
    disposed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    disposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The outcome site calibration learns from (shared.calibration.outcome), never the override.
    level_of_care: Mapped[LevelOfCare | None] = mapped_column(
        _enum(LevelOfCare, "level_of_care", 8)
    )
    followup: Mapped[FollowUp | None] = mapped_column(_enum(FollowUp, "followup", 32))
    followup_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    submitted_by: Mapped[User] = relationship(foreign_keys=[submitted_by_id])
    assigned_to: Mapped[User | None] = relationship(foreign_keys=[assigned_to_id])
    override_by: Mapped[User | None] = relationship(foreign_keys=[override_by_id])
    disposed_by: Mapped[User | None] = relationship(foreign_keys=[disposed_by_id])
    results: Mapped[list[Result]] = relationship(
        back_populates="case", order_by="Result.id", cascade="all, delete-orphan"
    )
    images: Mapped[list[Image]] = relationship(
        back_populates="case", order_by="Image.id", cascade="all, delete-orphan"
    )

    def set_acuity(self, acuity: Acuity | int) -> None:
        """Set the acuity and the seed's risk level and rank derived from it, together."""
        acuity = Acuity(acuity)
        self.acuity = acuity
        self.risk_level = acuity.risk_level
        self.risk_rank = acuity.risk_level.rank

    def set_engine_acuity(self, acuity: Acuity | int) -> None:
        """Record the engine's level; it orders the board unless a clinician overrode it."""
        self.engine_acuity = Acuity(acuity)
        self.set_acuity(self.override_acuity or self.engine_acuity)


class Result(Base):
    """One analysis of a case; (case, analysis_key) is unique so a redelivery cannot add one."""

    __tablename__ = "results"
    __table_args__ = (
        UniqueConstraint("case_id", "analysis_key"),
        CheckConstraint("acuity BETWEEN 1 AND 5", name="acuity_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    analysis_key: Mapped[str] = mapped_column(String(64))
    risk_level: Mapped[Risk] = mapped_column(_enum(Risk, "result_risk"))
    acuity: Mapped[Acuity] = mapped_column(AcuityType())
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    pipeline: Mapped[str] = mapped_column(String(64), index=True)
    pipeline_version: Mapped[str] = mapped_column(String(32))
    model_ids: Mapped[str] = mapped_column(String(500), index=True)
    model_revisions: Mapped[str | None] = mapped_column(String(500))
    worker_host: Mapped[str] = mapped_column(String(255))
    duration_ms: Mapped[float]
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The language model that wrote part of this result (NULL: none ran), so an auditor can
    # ask which cases a model revision analyzed without reading the JSON.
    model_id: Mapped[str | None] = mapped_column(String(200), index=True)
    model_revision: Mapped[str | None] = mapped_column(String(100), index=True)
    model_backend: Mapped[str | None] = mapped_column(String(32))
    model_quantization: Mapped[str | None] = mapped_column(String(16))
    # The site calibration model that scored this result (CalibrationModel.version; NULL: none).
    calibration_version: Mapped[int | None] = mapped_column(index=True)

    case: Mapped[Case] = relationship(back_populates="results")


class Image(Base):
    """A medical image of a case (shared.imaging): pixels stored by content hash outside the
    database, technical tags only (never who the patient is), the worker's quality verdict,
    analysis and embedding."""

    __tablename__ = "images"
    __table_args__ = (UniqueConstraint("case_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # png, jpeg, dicom
    image_type: Mapped[str] = mapped_column(String(16))  # xray, ct, photo, ecg, other
    width: Mapped[int]
    height: Mapped[int]
    bits_stored: Mapped[int]
    distinct_levels: Mapped[int]
    tags: Mapped[dict[str, Any]] = mapped_column(JSON)
    notes: Mapped[list[Any]] = mapped_column(JSON)
    original_kept: Mapped[bool] = mapped_column(default=False)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # NULL until the worker has looked at it.
    quality_verdict: Mapped[str | None] = mapped_column(String(12))
    quality: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    analysis: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    analyzed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)  # float32, L2-normalised
    embedding_model: Mapped[str | None] = mapped_column(String(200), index=True)

    case: Mapped[Case] = relationship(back_populates="images")


class Observation(Base):
    """A re-triage: vital signs measured again and a note line, with the engine's level at
    once; `result_id` is set when the worker's analysis of it lands."""

    __tablename__ = "observations"
    __table_args__ = (CheckConstraint("engine_acuity BETWEEN 1 AND 5", name="engine_acuity_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    vitals: Mapped[dict[str, Any]] = mapped_column(JSON)
    note_line: Mapped[str] = mapped_column(Text, default="")
    engine_acuity: Mapped[Acuity] = mapped_column(AcuityType())
    news2_total: Mapped[int | None]
    reasons: Mapped[list[Any]] = mapped_column(JSON)
    result_id: Mapped[int | None] = mapped_column(ForeignKey("results.id", ondelete="SET NULL"))

    recorded_by: Mapped[User] = relationship()


class CaseNote(Base):
    """A free-text note on a case, timestamped, by its author."""

    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    text: Mapped[str] = mapped_column(Text)

    author: Mapped[User] = relationship()


class ActionKey(Base):
    """An Idempotency-Key used on a case action: a replay answers with the first outcome."""

    __tablename__ = "action_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(128))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    # SHA-256 of the validated request: the same key with another body is refused, not replayed.
    request_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Hl7Message(Base):
    """An HL7 v2 message received over MLLP (shared.interop): who sent it, its control id
    (MSH-10, unique per sending application and facility, so a resent message is answered
    again and never applied twice), the ACK code sent back and why; never its content."""

    __tablename__ = "hl7_messages"
    __table_args__ = (UniqueConstraint("sending_application", "sending_facility", "control_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sending_application: Mapped[str] = mapped_column(String(227))
    sending_facility: Mapped[str] = mapped_column(String(227))
    control_id: Mapped[str] = mapped_column(String(199))
    message_type: Mapped[str] = mapped_column(String(32))  # "ADT^A04", "ORU^R01"
    # SHA-256 of the message as received: the same control id with other content is noticed.
    message_hash: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    ack_code: Mapped[str] = mapped_column(String(2))  # AA, AE, AR
    # The reason sent in MSA-3/ERR when not AA: written by this code, never patient data.
    error: Mapped[str | None] = mapped_column(String(500))
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), index=True
    )


class CalibrationModel(Base):
    """A site calibration model (shared.calibration): coefficients as JSON, never a pickle,
    with its training window, data hash, metrics and scikit-learn version. At most one is
    active; activating is an admin's audited action."""

    __tablename__ = "calibration_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))
    trained_since: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    trained_until: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    data_hash: Mapped[str] = mapped_column(String(64))
    n_cases: Mapped[int]
    n_events: Mapped[int]
    features: Mapped[list[Any]] = mapped_column(JSON)
    model: Mapped[dict[str, Any]] = mapped_column(JSON)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    sklearn_version: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(default=False)
    activated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    activated_by: Mapped[str | None] = mapped_column(String(64))


class AuditEvent(Base):
    """Append-only. Written without a lock; the sealer later links each event to its
    predecessor (seq, prev_hash, hash: an HMAC with a key kept outside the database) and
    records the state of the case it is about (`state`), so a later edit, deletion or change
    of the case or its results is detected (shared.audit)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    # "api" or "form" (shared.audit_origin); a default, so bulk inserts record it too.
    via: Mapped[str | None] = mapped_column(String(8), default=current_origin)
    seq: Mapped[int | None] = mapped_column(unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class AuditHead(Base):
    """One row: the chain's tip. Updating it first serializes sealers on both databases."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(default=0)
    hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(16))  # which key sealed the chain


__all__ = [
    "ActionKey",
    "Acuity",
    "AcuityType",
    "ApiToken",
    "AuditEvent",
    "AuditHead",
    "Base",
    "CalibrationModel",
    "CareStatus",
    "Case",
    "CaseNote",
    "CaseStatus",
    "Disposition",
    "FollowUp",
    "Hl7Message",
    "Image",
    "LevelOfCare",
    "Observation",
    "Result",
    "Risk",
    "Role",
    "TokenScope",
    "User",
    "utcnow",
]
