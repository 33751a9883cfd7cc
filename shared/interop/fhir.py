"""FHIR R4 out: a case as one Bundle (type collection) of its vital-sign Observations, its
NEWS2 totals and a RiskAssessment, for `GET /api/v1/cases/<id>/fhir` and
`medtriage export fhir`. Built with fhir.resources' R4B models (R4B matches R4 for these
resources): every resource is validated as it is made, never assembled as a dict.

The patient is named by the reference the nurse typed, as an identifier only: no Patient
resource and no invented demographics. Each resource's id is stable for its case and part,
so a record system that receives a case twice can match what it already holds."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B.annotation import Annotation
from fhir.resources.R4B.bundle import Bundle, BundleEntry
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.riskassessment import RiskAssessment, RiskAssessmentPrediction
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.cases import latest_result
from shared.clinical.engine import build_facts
from shared.config import Settings
from shared.db.models import Case, Observation, Result
from shared.interop.fhir_vitals import Made, news2_observation, vital_observations
from shared.lifecycle import intake_fields, retriage_input
from shared.safety.schema import SAFETY_DISCLAIMER
from shared.schemas import Acuity, CaseIn, RiskLevel, VitalSigns

RISK_PROBABILITY = "http://terminology.hl7.org/CodeSystem/risk-probability"
CASE_SYSTEM = "urn:medtriage:case"
RISK_CODES = {
    RiskLevel.HIGH: ("high", "High likelihood"),
    RiskLevel.MEDIUM: ("moderate", "Moderate likelihood"),
    RiskLevel.LOW: ("low", "Low likelihood"),
}
PENDING = "Provisional level from the deterministic clinical engine; the analysis has not finished."


@dataclass(frozen=True)
class Measurement:
    """One set of vital signs: at intake, or a re-triage, as the engine read it."""

    key: str
    at: dt.datetime
    case_in: CaseIn


def measurements(session: Session, case: Case) -> list[Measurement]:
    """Intake, then every re-triage in order, each with the note as it stood then."""
    found = [Measurement("intake", case.created_at, CaseIn.model_validate(intake_fields(case)))]
    lines: list[str] = []
    rows = session.scalars(
        select(Observation).where(Observation.case_id == case.id).order_by(Observation.id)
    )
    for row in rows:
        lines.append(row.note_line)
        vitals = VitalSigns.model_validate(row.vitals)
        found.append(
            Measurement(
                f"observation-{row.id}", row.recorded_at, retriage_input(case, lines, vitals)
            )
        )
    return found


def _uuid(case: Case, key: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{CASE_SYSTEM}:{case.public_id}/{key}"))


def subject_of(case: Case, settings: Settings) -> Reference:
    if case.patient_ref:
        identifier = Identifier(system=settings.fhir_patient_system, value=case.patient_ref)
        return Reference(type="Patient", identifier=identifier)
    return Reference(type="Patient", display="No patient reference was recorded at triage")


def _current(case: Case, result: Result | None) -> Result | None:
    """The latest analysis when it is of the latest measurement (a re-triage not yet
    analyzed has only the engine's provisional reasons)."""
    if result is None or result.created_at < case.last_assessed_at:
        return None
    return result


def _reasons(case: Case, result: Result | None) -> list[dict[str, Any]]:
    if result is not None:
        reasons = (result.payload.get("assessment") or {}).get("reasons")
        return list(reasons or [])
    return list(case.provisional_reasons or [])


def _rationale(reasons: list[dict[str, Any]]) -> str | None:
    parts = []
    for reason in reasons:
        detail = str(reason.get("detail") or reason.get("rule") or "").strip()
        if detail and reason.get("acuity") is not None:
            detail += f" (acuity {Acuity(reason['acuity']).label})"
        if detail:
            parts.append(detail)
    return "; ".join(parts) or None


def _model_note(result: Result | None) -> str:
    if result is None:
        return PENDING
    payload = result.payload
    models = []
    for model in payload.get("models") or []:
        words = [f"{model.get('name')} {model.get('version')}"]
        words += [f"{k} {model[k]}" for k in ("revision", "quantization") if model.get(k)]
        models.append(", ".join(words))
    return (
        f"Pipeline {result.pipeline} {result.pipeline_version}; models: "
        f"{'; '.join(models) or 'none'}; analyzed {result.created_at.isoformat()}."
    )


def risk_assessment(
    case: Case, result: Result | None, subject: Reference, basis: Reference, acuity_system: str
) -> RiskAssessment:
    """The case's acuity: preliminary from the engine or a model, final once a clinician set
    the level (an override, which may confirm the engine's level or change it)."""
    result = _current(case, result)
    final = case.override_acuity is not None
    acuity = Acuity(case.acuity)
    risk_code, risk_display = RISK_CODES[acuity.risk_level]
    disclaimer = (result.payload.get("safety_disclaimer") if result else None) or SAFETY_DISCLAIMER
    notes = [Annotation(text=disclaimer), Annotation(text=_model_note(result))]
    if final:
        engine = Acuity(case.engine_acuity).label
        notes.append(
            Annotation(
                text=f"Clinician's level {acuity.label} (the engine's: {engine}). "
                f"Reason: {case.override_reason}",
                time=case.override_at,
            )
        )
    when = case.override_at if final else (result.created_at if result else case.last_assessed_at)
    if final and case.override_by is not None:
        performer = Reference(type="Practitioner", display=f"clinician {case.override_by.username}")
    else:
        engine_name = result.pipeline if result else "clinical engine"
        performer = Reference(type="Device", display=f"MedTriage {engine_name}")
    return RiskAssessment(
        identifier=[Identifier(system=CASE_SYSTEM, value=case.public_id)],
        status="final" if final else "preliminary",
        code=CodeableConcept(text="Emergency triage acuity (five levels, ESI/CTAS)"),
        subject=subject,
        occurrenceDateTime=when,
        performer=performer,
        basis=[basis],
        prediction=[
            RiskAssessmentPrediction(
                qualitativeRisk=CodeableConcept(
                    coding=[
                        Coding(system=RISK_PROBABILITY, code=risk_code, display=risk_display),
                        Coding(system=acuity_system, code=str(int(acuity)), display=acuity.label),
                    ],
                    text=f"Acuity {acuity.label}",
                ),
                rationale=_rationale(_reasons(case, result)),
            )
        ],
        note=notes,
    )


def case_bundle(
    session: Session, case: Case, settings: Settings, now: dt.datetime | None = None
) -> Bundle:
    """The case as a FHIR Bundle: per measurement its vital signs and NEWS2 total, then
    the RiskAssessment based on the latest NEWS2."""
    subject = subject_of(case, settings)
    entries: list[Made] = []
    news2_key = ""
    for measurement in measurements(session, case):
        facts = build_facts(measurement.case_in)  # the vital signs as the engine read them
        vitals = vital_observations(
            measurement.key, facts.vitals, facts.merged.sources, subject, measurement.at
        )
        news2_key = f"{measurement.key}/news2"
        news2 = news2_observation(
            facts.news2,
            measurement.case_in.vitals.spo2_scale2,
            subject,
            measurement.at,
            [Reference(reference=f"urn:uuid:{_uuid(case, made.key)}") for made in vitals],
            inputs_preliminary=any(made.resource.status == "preliminary" for made in vitals),
        )
        entries += [*vitals, Made(news2_key, news2)]
    basis = Reference(reference=f"urn:uuid:{_uuid(case, news2_key)}")
    risk = risk_assessment(
        case, latest_result(session, case), subject, basis, settings.fhir_acuity_system
    )
    bundle_entries = []
    for made in [*entries, Made("risk", risk)]:
        made.resource.id = _uuid(case, made.key)
        bundle_entries.append(
            BundleEntry(fullUrl=f"urn:uuid:{made.resource.id}", resource=made.resource)
        )
    return Bundle(
        id=_uuid(case, "bundle"),
        identifier=Identifier(system=CASE_SYSTEM, value=case.public_id),
        type="collection",
        timestamp=now or dt.datetime.now(dt.UTC),
        entry=bundle_entries,
    )


def to_json(bundle: Bundle) -> str:
    """One line of JSON (the NDJSON export writes one bundle per line)."""
    text: str = bundle.model_dump_json(exclude_none=True)
    return text


def cases_between(
    session: Session, since: dt.datetime, until: dt.datetime
) -> list[tuple[int, str]]:
    """(id, reference) of the cases submitted in [since, until), oldest first."""
    query = (
        select(Case.id, Case.public_id)
        .where(Case.created_at >= since, Case.created_at < until)
        .order_by(Case.created_at, Case.id)
    )
    return [(row[0], row[1]) for row in session.execute(query)]


def export_lines(
    session: Session, settings: Settings, case_ids: list[int]
) -> Iterator[tuple[str, str]]:
    """(case reference, bundle as one JSON line) per case."""
    now = dt.datetime.now(dt.UTC)
    for case_id in case_ids:
        case = session.get(Case, case_id)
        if case is not None:
            yield case.public_id, to_json(case_bundle(session, case, settings, now))
