"""Pydantic schemas shared by the web intake, the worker and the batch tools."""

from __future__ import annotations

import enum
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    computed_field,
    field_validator,
)

MAX_NOTE_CHARS = 20_000
MAX_COMPLAINT_CHARS = 500


class RiskLevel(str, enum.Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        """Sort key: higher is more urgent."""
        return {"low": 1, "medium": 2, "high": 3}[self.value]

    @classmethod
    def highest(cls, *levels: RiskLevel) -> RiskLevel:
        return max(levels, key=lambda level: level.rank)


class Acuity(enum.IntEnum):
    """Five triage levels (ESI v4 / CTAS): 1 is the most urgent."""

    RESUSCITATION = 1
    EMERGENT = 2
    URGENT = 3
    LESS_URGENT = 4
    NON_URGENT = 5

    @property
    def risk_level(self) -> RiskLevel:
        """The seed's three levels: 1-2 High, 3 Medium, 4-5 Low."""
        if self <= Acuity.EMERGENT:
            return RiskLevel.HIGH
        return RiskLevel.MEDIUM if self == Acuity.URGENT else RiskLevel.LOW

    @property
    def label(self) -> str:
        """CTAS name, e.g. "2 emergent"."""
        return f"{self.value} {self.name.lower().replace('_', '-')}"

    @classmethod
    def most_urgent(cls, *levels: Acuity | int) -> Acuity:
        return cls(min(levels))


class Consciousness(str, enum.Enum):
    """ACVPU: alert, new confusion, responds to voice, to pain, unresponsive."""

    ALERT = "A"
    CONFUSION = "C"
    VOICE = "V"
    PAIN = "P"
    UNRESPONSIVE = "U"


class Sex(str, enum.Enum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class VitalSigns(BaseModel):
    """Structured vital signs; every field optional because a missing value is never normal.

    Bounds reject physically impossible values (a typo), not merely abnormal ones.
    """

    model_config = ConfigDict(extra="forbid")

    respiratory_rate: int | None = Field(None, ge=0, le=80, description="breaths/min")
    spo2: int | None = Field(None, ge=30, le=100, description="%")
    spo2_scale2: bool = Field(
        False, description="documented hypercapnic failure with a prescribed 88-92% target"
    )
    on_oxygen: bool | None = Field(None, description="None = not documented")
    systolic_bp: int | None = Field(None, ge=30, le=300, description="mmHg")
    diastolic_bp: int | None = Field(None, ge=10, le=200, description="mmHg")
    heart_rate: int | None = Field(None, ge=10, le=300, description="beats/min")
    consciousness: Consciousness | None = None
    temperature_c: float | None = Field(None, ge=25.0, le=45.0, description="degrees C")
    pain: int | None = Field(None, ge=0, le=10)
    gcs: int | None = Field(None, ge=3, le=15, description="Glasgow Coma Scale total")

    @field_validator("temperature_c")
    @classmethod
    def _round_temperature(cls, value: float | None) -> float | None:
        return None if value is None else round(value, 1)

    @field_validator("diastolic_bp")
    @classmethod
    def _diastolic_below_systolic(cls, value: int | None, info: Any) -> int | None:
        systolic = info.data.get("systolic_bp")
        if value is not None and systolic is not None and value >= systolic:
            raise ValueError("diastolic pressure must be lower than systolic pressure")
        return value


Text = Annotated[str, StringConstraints(strip_whitespace=True)]

# Invisible characters that do not belong in a clinical text: C0 controls other than tab and
# line breaks, DEL and the C1 controls (U+0080-U+009F); and the bidirectional embeddings,
# overrides and isolates (U+202A-U+202E, U+2066-U+2069), which can make a note render
# reversed or out of order on the case page and the board.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
BIDI_CONTROLS = re.compile(r"[\u202a-\u202e\u2066-\u2069]")


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as a case's text, or None; words for `ValueError`."""
    if CONTROL_CHARACTERS.search(value):
        return "contains control characters"
    if BIDI_CONTROLS.search(value):
        return "contains characters that change the direction of text"
    return None


class CaseIn(BaseModel):
    """What a triage nurse or an integrator submits."""

    model_config = ConfigDict(extra="forbid")

    patient_ref: Annotated[Text, StringConstraints(max_length=64)] | None = None
    age_years: float = Field(..., ge=0, le=120, description="fractions for infants")
    sex: Sex = Sex.UNKNOWN
    pregnant: bool = False
    chief_complaint: Annotated[
        Text, StringConstraints(min_length=1, max_length=MAX_COMPLAINT_CHARS)
    ]
    note: Annotated[Text, StringConstraints(max_length=MAX_NOTE_CHARS)] = ""
    vitals: VitalSigns = Field(default_factory=VitalSigns)

    @field_validator("patient_ref", "chief_complaint", "note")
    @classmethod
    def _no_invisible_characters(cls, value: str | None) -> str | None:
        problem = None if value is None else text_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class Reason(BaseModel):
    """One factor behind an acuity level: which rule, which value, and where in the text."""

    rule: str
    detail: str
    acuity: Acuity
    value: float | int | str | None = None
    source: Literal["chief_complaint", "note"] | None = None
    start: int | None = None
    end: int | None = None
    evidence: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def level(self) -> RiskLevel:
        """The seed's three-level risk of this reason's acuity."""
        return self.acuity.risk_level


class VitalConflict(BaseModel):
    """A note value that disagrees with a typed field; `used` is the one that counted."""

    field: str
    structured: float | int | str | bool
    note: float | int | str | bool
    used: Literal["structured", "note"]
    start: int
    end: int


class ComplaintFound(BaseModel):
    """A presenting complaint read from the chief complaint or the note."""

    id: str
    name: str
    group: str
    pain_class: str
    source: Literal["chief_complaint", "note"]
    text: str
    start: int
    end: int
    fuzzy: bool = False


class PainAssessment(BaseModel):
    """The pain that counted for the CTAS pain modifier, and how it was read."""

    score: int | None  # 0-10, from the field, the note, or words ("severe" = 8)
    severity: Literal["none", "mild", "moderate", "severe"] | None
    location: Literal["central", "peripheral", "eye", "unknown"]
    chronic: bool
    source: str  # "vitals", "note", "chief complaint" ...


class QSOFA(BaseModel):
    score: int  # of the criteria that could be judged
    criteria: list[str]
    missing: list[str]
    positive: bool  # 2 or more


class ShockIndex(BaseModel):
    value: float
    abnormal: bool  # > 0.9
    poor_outcome_range: bool  # >= 1.0


class NoteVital(BaseModel):
    """A vital sign read from the note, where it was, and whether it was used."""

    field: str
    value: float | int | str | bool
    start: int
    end: int
    used: bool
    conflict_with_structured: float | int | str | bool | None = None


class ParameterScore(BaseModel):
    parameter: str
    value: float | int | str | bool
    score: int


class NEWS2Result(BaseModel):
    applicable: bool
    not_applicable_reason: str | None = None
    total: int | None = None
    band: Literal["low", "low-medium", "medium", "high"] | None = None
    parameters: list[ParameterScore] = []
    missing: list[str] = []
    is_floor: bool = False


class Assessment(BaseModel):
    """The deterministic engine's verdict, with every reason and the scores it reports."""

    acuity: Acuity
    news2: NEWS2Result
    reasons: list[Reason]
    qsofa: QSOFA | None = None
    shock_index: ShockIndex | None = None
    note_vitals: list[NoteVital] = []
    vitals_documented: bool = True  # False: no HR, RR, SpO2 or BP in the fields or the note
    missing_vitals: list[str] = []
    conflicts: list[VitalConflict] = []
    complaints: list[ComplaintFound] = []
    pain: PainAssessment | None = None
    confidence: float = Field(0.95, ge=0, le=0.95)
    confidence_note: str = ""  # one sentence: why the confidence is what it is

    @computed_field  # type: ignore[prop-decorator]
    @property
    def risk_level(self) -> RiskLevel:
        """The seed's three-level risk: 1-2 High, 3 Medium, 4-5 Low."""
        return self.acuity.risk_level


class ModelInfo(BaseModel):
    """Which engine or model ran, so a result can be traced."""

    name: str
    version: str
    revision: str | None = None
    dtype: str | None = None
    quantization: str | None = None
    device: str | None = None


class TriageResult(BaseModel):
    """What the worker stores for one analysis of a case."""

    acuity: Acuity
    risk_level: RiskLevel
    assessment: Assessment
    summary: str
    safety_disclaimer: str
    pipeline: str
    pipeline_version: str
    models: list[ModelInfo]
    library_versions: dict[str, str]
    timings_ms: dict[str, float]
    worker: dict[str, Any]
    details: dict[str, Any] = {}  # the pipeline's own output (e.g. ClinicalTextOutput)
