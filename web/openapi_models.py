"""What the API answers, as Pydantic models for the OpenAPI document. The views build their
answers as dicts (shared.cases, shared.board, ...); the tests check real answers against
these, so a field that disappears or changes type fails there. Fields not listed here are
allowed (`extra`): the document promises what is listed, and every answer keeps it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.schemas import Acuity


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class FieldError(BaseModel):
    field: str | None = Field(description="the field's path, e.g. vitals.heart_rate")
    message: str
    type: str | None = None


class ErrorOut(Open):
    """Every refusal: a sentence for people, the status again, the fields at fault."""

    error: str
    status: int
    fields: list[FieldError] | None = None


class CaseAccepted(Open):
    """202 from intake: the case is saved; the analysis follows."""

    id: str
    status: str
    provisional_acuity: Acuity
    provisional_risk: Literal["low", "medium", "high"]
    vitals_documented: bool
    dispatch: Literal["sent", "pending"] = Field(
        description="pending: the queue was unreachable; the reconciler sends it later"
    )
    url: str


class CaseOut(Open):
    """A case, its latest result (`result`, null until analyzed) and its care (`care`)."""

    id: str
    patient_ref: str | None
    age_years: float
    sex: str
    chief_complaint: str
    status: str
    care_status: str
    acuity: Acuity
    acuity_label: str
    engine_acuity: Acuity
    override_acuity: Acuity | None
    provisional_acuity: Acuity
    provisional_risk: Literal["low", "medium", "high"]
    vitals_documented: bool
    vitals: dict[str, Any]
    result: dict[str, Any] | None
    care: dict[str, Any]
    dispatch: Literal["sent", "pending"] | None = Field(
        None, description="only after a re-triage (observations)"
    )


class CaseSummary(Open):
    id: str
    patient_ref: str | None
    acuity: Acuity
    care_status: str
    created_at: str
    url: str


class CaseList(Open):
    items: list[CaseSummary]
    total: int
    page: int
    per_page: int
    pages: int
    next: str | None = Field(None, description="the next page, when there is one")


class BoardOut(Open):
    """Open cases by acuity, then waiting time; every level 1-2 case is always a row."""

    rows: list[dict[str, Any]]
    counts: dict[str, int] = Field(description="open cases per level")
    matching: int = Field(description="open cases the filter matches")
    shown_counts: dict[str, int]
    total: int
    shown: int
    filter: dict[str, Any]


class SessionOut(Open):
    username: str
    role: str
    terminal: str | None
    idle_lock_s: float


class ImageOut(Open):
    id: str
    kind: str
    image_type: str
    width: int
    height: int
    quality_verdict: str | None
    analysis: dict[str, Any] | None


class ImageList(Open):
    images: list[ImageOut]


class FhirBundle(Open):
    """A FHIR R4 Bundle (type collection): vital-sign Observations, NEWS2 totals and a
    RiskAssessment; see http://hl7.org/fhir/R4/bundle.html."""

    resourceType: Literal["Bundle"]
    type: Literal["collection"]
    entry: list[dict[str, Any]]


class OpenApiDocument(Open):
    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]
