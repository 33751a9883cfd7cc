"""What each case action accepts, validated at the edge, and the errors an action raises."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator, model_validator

from shared.db.models import Disposition, FollowUp, LevelOfCare
from shared.schemas import Acuity, VitalSigns, text_problem

MAX_LINE_CHARS = 2000
MAX_CASE_NOTE_CHARS = 5000


class LifecycleError(Exception):
    """An action that cannot be done, with a message for people and an HTTP status."""

    status = 422

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class CaseNotFound(LifecycleError):
    status = 404


class NotAllowed(LifecycleError):
    status = 403


class StateConflict(LifecycleError):
    status = 409


def _no_control(value: Any) -> Any:
    """The same rule as a case's own text: no control or text-direction characters (checked
    before whitespace is stripped, so a trailing one is refused, not silently dropped)."""
    problem = text_problem(value) if isinstance(value, str) else None
    if problem is not None:
        raise ValueError(problem)
    return value


Line = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_LINE_CHARS)]


class AcknowledgeIn(BaseModel):
    """Take the case into assessment: assigned to me (the default) or a named clinician."""

    model_config = ConfigDict(extra="forbid")
    assign_to: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] = "me"
    area: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None


class AreaIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    area: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class ObservationIn(BaseModel):
    """A re-triage: vital signs measured again (at least one) and a line for the note."""

    model_config = ConfigDict(extra="forbid")
    vitals: VitalSigns
    note: Line = ""

    _clean = field_validator("note", mode="before")(_no_control)

    @field_validator("vitals")
    @classmethod
    def _something_measured(cls, value: VitalSigns) -> VitalSigns:
        measured = value.model_dump(exclude={"spo2_scale2"}, exclude_none=True)
        if not measured:
            raise ValueError("enter at least one vital sign measured now")
        return value


class OverrideIn(BaseModel):
    """A clinician's level, or null to withdraw an override; the reason is always required."""

    model_config = ConfigDict(extra="forbid")
    acuity: Acuity | None
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]

    @field_validator("acuity", mode="before")
    @classmethod
    def _not_a_boolean(cls, value: Any) -> Any:
        if isinstance(value, bool):  # true == 1 would otherwise be level 1
            raise ValueError("must be a level from 1 to 5, not true or false")
        return value

    _clean = field_validator("reason", mode="before")(_no_control)


class DispositionIn(BaseModel):
    """The disposition; an admission may say where to (ward, HDU or ICU)."""

    model_config = ConfigDict(extra="forbid")
    disposition: Disposition
    level_of_care: LevelOfCare | None = None

    @model_validator(mode="after")
    def _care_level_only_for_admit(self) -> DispositionIn:
        if self.level_of_care is not None and self.disposition != Disposition.ADMIT:
            raise ValueError("level_of_care goes with an admission only")
        return self


class FollowUpIn(BaseModel):
    """What was learned after the disposition, e.g. that the patient died within 30 days."""

    model_config = ConfigDict(extra="forbid")
    outcome: FollowUp


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_CASE_NOTE_CHARS)
    ]

    _clean = field_validator("text", mode="before")(_no_control)
