"""The clinical text engine's output for one case: the seed `ClinicalTextOutput`.

Needs no model weights. Wording is assistive: findings are what the note mentions, never a
diagnosis, and every output carries the disclaimer. The safety layers that apply to a
deterministic output run here too: language framing of the summary and suggestions (the
record's own words left as written), the capped confidence with its caution, and the
disclaimer; the engine's acuity is never changed.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, Field

from shared import __version__
from shared.clinical.engine import assess_case
from shared.nlp.demographics import read_age
from shared.nlp.entities import Entity, find_entities, find_medications, no_known_allergies
from shared.pipelines.base import SAFETY_DISCLAIMER, library_versions
from shared.pipelines.news2 import age_phrase
from shared.safety.confidence import LOW_CONFIDENCE, MAX_CONFIDENCE, caution
from shared.safety.framing import frame
from shared.schemas import (
    Acuity,
    Assessment,
    CaseIn,
    ModelInfo,
    RiskLevel,
    TriageResult,
    VitalSigns,
)

ASSUMED_ADULT_AGE = 40.0


class EntityOut(BaseModel):
    kind: str
    concept: str
    text: str
    start: int
    end: int
    negated: bool
    historical: bool
    hypothetical: bool
    family: bool
    asserted: bool

    @classmethod
    def of(cls, e: Entity) -> EntityOut:
        c = e.context
        return cls(kind=e.kind, concept=e.concept, text=e.text, start=e.start, end=e.end,
                   negated=c.negated, historical=c.historical, hypothetical=c.hypothetical,
                   family=c.family, asserted=e.asserted)  # fmt: skip


class ClinicalTextOutput(BaseModel):
    summary: str
    key_findings: list[str]
    extracted_symptoms: list[str]
    extracted_conditions: list[str]
    medications_mentioned: list[str]
    allergies: list[str]
    risk_level: RiskLevel
    confidence: float = Field(le=MAX_CONFIDENCE, ge=0)
    recommendations: list[str]
    safety_disclaimer: str
    assessment: Assessment
    entities: list[EntityOut]


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _confidence(assessment: Assessment, age_known: bool) -> float:
    """The engine's confidence, lower again when the age had to be assumed."""
    value = assessment.confidence - (0.1 if not age_known else 0)
    return round(max(0.3, min(MAX_CONFIDENCE, value)), 2)


ADVICE = {
    Acuity.RESUSCITATION: "Consider immediate resuscitation-level review by a clinician.",
    Acuity.EMERGENT: "Consider immediate review by a clinician (target 15 minutes).",
    Acuity.URGENT: "Consider clinician review within 30 minutes and re-assessment of vital signs.",
    Acuity.LESS_URGENT: "Consider review within 60 minutes; re-assess if the condition changes.",
    Acuity.NON_URGENT: "Routine queue (120 minutes); re-assess if the condition changes.",
}


def _recommendations(assessment: Assessment, confidence: float) -> list[str]:
    out = [ADVICE[assessment.acuity]]
    if assessment.news2.missing:
        out.append("Consider documenting: " + ", ".join(assessment.news2.missing) + ".")
    if confidence < LOW_CONFIDENCE:
        out.append(f"{caution(confidence)} Limited information makes this output less reliable.")
    return [frame(line) for line in out]


def _summary(case: CaseIn, age_known: bool, a: Assessment, symptoms: list[str]) -> str:
    if not age_known:
        who = "age not given (adult criteria assumed)"
    else:
        who = age_phrase(case.age_years)
    parts = [who, f"chief complaint: {case.chief_complaint}"]
    news2 = a.news2
    if news2.applicable and news2.total is not None:
        floor = "at least " if news2.is_floor else ""
        parts.append(f"NEWS2 {floor}{news2.total} ({news2.band})")
    elif not news2.applicable:
        parts.append("NEWS2 not applicable")
    flags = [r.evidence for r in a.reasons if r.evidence and r.acuity <= Acuity.EMERGENT]
    if flags:
        parts.append("text mentions high-risk findings: " + ", ".join(_unique(flags)))
    if not a.vitals_documented:
        parts.append("vital signs not documented")
    if symptoms:
        parts.append("note mentions: " + ", ".join(symptoms))
    if a.qsofa is not None and a.qsofa.positive:
        parts.append(f"qSOFA {a.qsofa.score} (positive)")
    parts.append(f"acuity {a.acuity.label} (risk {a.risk_level.value})")
    record_words = [case.chief_complaint, *flags, *symptoms]
    return frame("; ".join(parts) + ".", keep=record_words)


def analyze_case_text(case: CaseIn, age_known: bool = True) -> ClinicalTextOutput:
    """Everything the engine reads in one case, in the seed output schema."""
    assessment = assess_case(case)
    entities = find_entities(case.note)
    asserted = [e for e in entities if e.asserted]
    symptoms = _unique([e.concept for e in asserted if e.kind == "symptom"])
    conditions = _unique([e.concept for e in entities if e.kind == "condition"
                          and not (e.context.negated or e.context.family)])  # fmt: skip
    allergies = _unique([e.concept for e in entities if e.kind == "allergy"])
    if not allergies and no_known_allergies(case.note):
        allergies = ["no known allergies"]
    confidence = _confidence(assessment, age_known)
    return ClinicalTextOutput(
        summary=_summary(case, age_known, assessment, symptoms),
        key_findings=[r.detail for r in assessment.reasons if r.acuity <= Acuity.URGENT][:8]
        + [f"note mentions {s}" for s in symptoms],
        extracted_symptoms=symptoms,
        extracted_conditions=conditions,
        medications_mentioned=_unique([e.concept for e in entities if e.kind == "medication"]),
        allergies=allergies,
        risk_level=assessment.risk_level,
        confidence=confidence,
        recommendations=_recommendations(assessment, confidence),
        safety_disclaimer=SAFETY_DISCLAIMER,
        assessment=assessment,
        entities=[EntityOut.of(e) for e in entities],
    )


class MultimodalPipeline:
    """Seed API. The text path needs no weights; the image methods come with images."""

    def analyze_clinical_text(
        self,
        clinical_note: str,
        patient_age: float | None = None,
        *,
        chief_complaint: str | None = None,
        vitals: VitalSigns | dict[str, Any] | None = None,
        pregnant: bool = False,
    ) -> ClinicalTextOutput:
        if patient_age is None:
            patient_age = read_age(f"{chief_complaint or ''}. {clinical_note}")
            age_known = patient_age is not None
        else:
            age_known = True
        case = CaseIn(
            age_years=ASSUMED_ADULT_AGE if patient_age is None else patient_age,
            chief_complaint=chief_complaint or "not given",
            note=clinical_note,
            vitals=vitals or {},
            pregnant=pregnant,
        )
        return analyze_case_text(case, age_known=age_known)


class ClinicalTextPipeline:
    """The default worker pipeline: the whole clinical text engine, no model weights."""

    name = "clinical-text"
    version = __version__

    def __init__(self) -> None:
        # The drug dictionary takes seconds to load: once per worker process, not per case.
        find_medications("")

    def models(self) -> list[ModelInfo]:
        return [
            ModelInfo(name="deterministic-clinical-text", version=__version__),
            ModelInfo(
                name="drug-named-entity-recognition",
                version=library_versions("drug-named-entity-recognition")[
                    "drug-named-entity-recognition"
                ],
            ),
        ]

    def analyze(self, case: CaseIn) -> TriageResult:
        started = time.perf_counter()
        out = analyze_case_text(case)
        elapsed = (time.perf_counter() - started) * 1000
        return TriageResult(
            acuity=out.assessment.acuity,
            risk_level=out.risk_level,
            assessment=out.assessment,
            summary=out.summary,
            safety_disclaimer=out.safety_disclaimer,
            pipeline=self.name,
            pipeline_version=self.version,
            models=self.models(),
            library_versions=library_versions(
                "medtriage", "pydantic", "drug-named-entity-recognition"
            ),
            timings_ms={"clinical_text_engine": round(elapsed, 3)},
            worker={},
            details=out.model_dump(mode="json", exclude={"assessment"}),
        )
