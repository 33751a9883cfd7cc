"""What a language model is asked to write for one case (the JSON schema its decoding is
constrained to), and what the safety layers hand on after checking it.

The model's object is `ModelTriageOutput`. It never carries the disclaimer or any confidence:
the safety layers add those, and `SafeTriageOutput` refuses to exist without the disclaimer.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

SAFETY_DISCLAIMER = (
    "Decision support only, not a diagnosis: every finding needs clinical validation "
    "by a qualified clinician."
)
# Where a pipeline keeps the checked model output in `TriageResult.details` (the case page
# reads it from there).
MODEL_OUTPUT_KEY = "model_output"

Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Long = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1200)]


class KeyFinding(BaseModel):
    """One finding the model read, with the words of the note it rests on."""

    model_config = ConfigDict(extra="forbid")

    finding: Short
    evidence: Short = Field(description="words quoted from the note or the vital signs")


class ModelTriageOutput(BaseModel):
    """The JSON object the model must produce (decoding is constrained to its schema)."""

    model_config = ConfigDict(extra="forbid")

    summary: Long
    key_findings: list[KeyFinding] = Field(max_length=8)
    next_steps: list[Short] = Field(max_length=6)
    suggested_acuity: int = Field(ge=1, le=5, description="1 resuscitation ... 5 non-urgent")
    acuity_reason: Short
    uncertainties: list[Short] = Field(default_factory=list, max_length=5)


# "interpretation": a possibility the model raises ("may be consistent with pneumonia",
# "consider PE"), not a statement about the record; shown, framed as a possibility.
Grounding = Literal["grounded", "ungrounded", "interpretation"]


class CheckedClaim(BaseModel):
    """A number, drug, dose, vital sign, condition or result the model wrote, and whether the
    case's own data holds it."""

    text: str
    # "number", "drug", "dose", "vital_sign", "condition", "finding", "result", "quote",
    # "statistic"
    kind: str
    grounding: Grounding
    where: str  # which part of the output: "summary", "key_findings[2]", ...
    reason: str = ""  # why it is ungrounded ("the record says heart rate 128")
    sentence: str = ""  # the model's sentence it stood in (withheld when ungrounded)


class SafeTriageOutput(BaseModel):
    """What the board and the case page may show as the model's contribution, after the five
    safety layers; the stored result keeps the raw output and every check beside it."""

    model_config = ConfigDict(extra="forbid")

    summary: str
    key_findings: list[KeyFinding]
    next_steps: list[str]
    suggested_acuity: int = Field(ge=1, le=5)
    acuity_reason: str = ""  # the model's reason, framed and checked like the rest
    engine_acuity: int | None = Field(None, ge=1, le=5)  # the rules' level it was held to
    applied_acuity: int = Field(ge=1, le=5)  # never less urgent than the rules' level
    disagreement: str | None = None  # the model said less urgent: shown, not applied
    uncertainties: list[str]
    confidence: float = Field(ge=0.0, le=0.95)
    confidence_note: str
    caution: str | None = None  # shown prominently when the confidence is low
    claims: list[CheckedClaim]  # every checked claim, grounded or not (for audit)
    ai_generated_by: str  # model id, version and quantization, shown beside every sentence
    licence_notice: str
    disclaimer: str

    @field_validator("disclaimer")
    @classmethod
    def _disclaimer_present(cls, value: str) -> str:
        if SAFETY_DISCLAIMER not in value:
            raise ValueError("the decision-support disclaimer is required")
        return value

    @model_validator(mode="after")
    def _never_less_urgent(self) -> SafeTriageOutput:
        if self.engine_acuity is not None:
            if self.applied_acuity != min(self.engine_acuity, self.suggested_acuity):
                raise ValueError("the applied acuity must be the more urgent of rules and model")
        elif self.applied_acuity > self.suggested_acuity:
            raise ValueError("the applied acuity cannot be less urgent than the suggestion")
        return self
