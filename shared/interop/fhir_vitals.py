"""One measurement of a case as FHIR R4 Observations: the vital signs (FHIR vital-signs
profiles, LOINC) and the NEWS2 total (SNOMED CT, sub-scores as components, derived from
the vital signs). Built with fhir.resources' R4B models, which validate as they are made."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from fhir.resources.R4B.annotation import Annotation
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.meta import Meta
from fhir.resources.R4B.observation import Observation, ObservationComponent
from fhir.resources.R4B.quantity import Quantity
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.riskassessment import RiskAssessment

from shared.schemas import NEWS2Result, VitalSigns

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
PROFILE = "http://hl7.org/fhir/StructureDefinition/"

# NEWS2 in SNOMED CT UK (RCP NEWS2 observable entities; NHS Digital's NEWS2 FHIR guidance).
# LOINC has no NEWS2 code (88330-6 is the first NEWS, not NEWS2).
NEWS2_TOTAL = ("1104051000000101", "Royal College of Physicians NEWS2 total score")
NEWS2_PARTS: dict[str, tuple[str, str]] = {
    "respiratory_rate": ("1104301000000104", "NEWS2 respiration rate score"),
    "spo2": ("1104311000000102", "NEWS2 oxygen saturation scale 1 score"),
    "spo2_scale2": ("1104321000000108", "NEWS2 oxygen saturation scale 2 score"),
    "air_or_oxygen": ("1104331000000105", "NEWS2 air or oxygen score"),
    "systolic_bp": ("1104341000000101", "NEWS2 systolic blood pressure score"),
    "heart_rate": ("1104351000000103", "NEWS2 pulse score"),
    "consciousness": ("1104361000000100", "NEWS2 consciousness score"),
    "temperature": ("1104371000000107", "NEWS2 temperature score"),
}
FROM_NOTE = (
    "Read from the triage note by the clinical text engine (not entered as a measurement): "
    "preliminary until confirmed."
)
# A NEWS2 total with parameters not documented is a minimum, not the score.
PARTIAL_NEWS2 = (
    "Minimum NEWS2, not the score: {n} of 7 parameters not documented ({names}); the total is "
    "at least {total}."
)
NEWS2_FROM_NOTE = "Derived from vital signs read from the triage note: preliminary."


@dataclass(frozen=True)
class VitalSpec:
    """One vital sign: the VitalSigns field, its LOINC codes, the FHIR profile, its unit."""

    field: str
    codes: tuple[tuple[str, str], ...]
    profile: str
    unit: str
    ucum: str


VITALS = (
    VitalSpec("heart_rate", (("8867-4", "Heart rate"),), "heartrate", "beats/minute", "/min"),
    VitalSpec(
        "respiratory_rate", (("9279-1", "Respiratory rate"),), "resprate", "breaths/minute", "/min"
    ),
    VitalSpec(
        "spo2",
        (
            ("2708-6", "Oxygen saturation in Arterial blood"),
            ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
        ),
        "oxygensat",
        "%",
        "%",
    ),
    VitalSpec("temperature_c", (("8310-5", "Body temperature"),), "bodytemp", "C", "Cel"),
)
BP_PANEL = ("85354-9", "Blood pressure panel with all children optional")
BP_PARTS = (
    ("systolic_bp", "8480-6", "Systolic blood pressure"),
    ("diastolic_bp", "8462-4", "Diastolic blood pressure"),
)


@dataclass(frozen=True)
class Made:
    """A resource with its bundle key (the part of its stable id after the case's)."""

    key: str
    resource: Observation | RiskAssessment


def concept(system: str, code: str, display: str, text: str | None = None) -> CodeableConcept:
    return CodeableConcept(coding=[Coding(system=system, code=code, display=display)], text=text)


def absent(code: str = "unknown", display: str = "Unknown") -> CodeableConcept:
    return concept(DATA_ABSENT, code, display)


def category(code: str, display: str) -> list[CodeableConcept]:
    return [concept(CATEGORY, code, display)]


def _quantity(value: float, unit: str, ucum: str) -> Quantity:
    return Quantity(value=value, unit=unit, system=UCUM, code=ucum)


def vital_observations(
    prefix: str,
    vitals: VitalSigns,
    sources: dict[str, str],
    subject: Reference,
    at: dt.datetime,
) -> list[Made]:
    """The vital signs of one measurement that were documented (typed or read from the note)."""
    made: list[Made] = []

    def from_note(*fields: str) -> bool:
        return any(sources.get(name) == "note" for name in fields)

    def notes(*fields: str) -> list[Annotation] | None:
        return [Annotation(text=FROM_NOTE)] if from_note(*fields) else None

    # A value the text engine read from free text is not a measurement a nurse entered: it
    # goes out "preliminary" (a receiving system does not chart it as a confirmed vital sign),
    # with the note saying where it came from; a typed field is "final".
    def status(*fields: str) -> str:
        return "preliminary" if from_note(*fields) else "final"

    for spec in VITALS:
        value = getattr(vitals, spec.field)
        if value is None:
            continue
        code = CodeableConcept(
            coding=[Coding(system=LOINC, code=c, display=d) for c, d in spec.codes],
            text=spec.codes[0][1],
        )
        observation = Observation(
            meta=Meta(profile=[PROFILE + spec.profile]),
            status=status(spec.field),
            category=category("vital-signs", "Vital Signs"),
            code=code,
            subject=subject,
            effectiveDateTime=at,
            valueQuantity=_quantity(value, spec.unit, spec.ucum),
            note=notes(spec.field),
        )
        made.append(Made(f"{prefix}/{spec.field}", observation))
    if vitals.systolic_bp is not None or vitals.diastolic_bp is not None:
        components = []
        for name, loinc, display in BP_PARTS:
            value = getattr(vitals, name)
            components.append(
                ObservationComponent(
                    code=concept(LOINC, loinc, display),
                    valueQuantity=None if value is None else _quantity(value, "mmHg", "mm[Hg]"),
                    dataAbsentReason=absent() if value is None else None,
                )
            )
        panel = Observation(
            meta=Meta(profile=[PROFILE + "bp"]),
            status=status("systolic_bp", "diastolic_bp"),
            category=category("vital-signs", "Vital Signs"),
            code=concept(LOINC, *BP_PANEL, text="Blood pressure"),
            subject=subject,
            effectiveDateTime=at,
            component=components,
            note=notes("systolic_bp", "diastolic_bp"),
        )
        made.append(Made(f"{prefix}/blood_pressure", panel))
    return made


def _sub_score_code(parameter: str, scale2: bool) -> CodeableConcept:
    key = "spo2_scale2" if parameter == "spo2" and scale2 else parameter
    code, display = NEWS2_PARTS[key]
    return concept(SNOMED, code, display)


def news2_observation(
    news2: NEWS2Result,
    scale2: bool,
    subject: Reference,
    at: dt.datetime,
    derived_from: list[Reference],
    inputs_preliminary: bool = False,
) -> Observation:
    """The NEWS2 total, each parameter's score as a component (undocumented ones absent).

    A total with parameters not documented (`is_floor`) is a minimum, not the score: it goes
    out "preliminary", its value a Quantity with comparator ">=" (`>= 5 {score}`), with an
    interpretation and a note that say so. Quantity.comparator is a FHIR modifier element:
    a receiving system must not read the value without it, so none can chart "5" as the
    NEWS2 score; an absent value (dataAbsentReason) would drop the minimum itself, which
    matters (a partial 7 is already high risk). A complete total is `valueInteger`, "final"
    unless a vital sign it is derived from was read from the note (`inputs_preliminary`)."""
    notes: list[Annotation] = []
    interpretation: list[CodeableConcept] | None = None
    components: list[ObservationComponent] = []
    if news2.applicable:
        for part in news2.parameters:
            components.append(
                ObservationComponent(
                    code=_sub_score_code(part.parameter, scale2), valueInteger=part.score
                )
            )
        for name in news2.missing:
            components.append(
                ObservationComponent(code=_sub_score_code(name, scale2), dataAbsentReason=absent())
            )
        if news2.band:
            notes.append(Annotation(text=f"NEWS2 clinical risk: {news2.band}."))
        if news2.is_floor:
            partial = PARTIAL_NEWS2.format(
                n=len(news2.missing), names=", ".join(news2.missing), total=news2.total
            )
            notes.append(Annotation(text=partial))
            interpretation = [CodeableConcept(text=partial)]
    elif news2.not_applicable_reason:
        notes.append(Annotation(text=news2.not_applicable_reason))
    if inputs_preliminary and news2.applicable:
        notes.append(Annotation(text=NEWS2_FROM_NOTE))
    floor = news2.applicable and news2.is_floor and news2.total is not None
    final = news2.applicable and not floor and not inputs_preliminary
    return Observation(
        status="final" if final or not news2.applicable else "preliminary",
        category=category("survey", "Survey"),
        code=concept(SNOMED, *NEWS2_TOTAL, text="NEWS2 total score"),
        subject=subject,
        effectiveDateTime=at,
        valueInteger=news2.total if news2.applicable and not floor else None,
        valueQuantity=(
            Quantity(value=news2.total, comparator=">=", unit="score", system=UCUM, code="{score}")
            if floor
            else None
        ),
        interpretation=interpretation,
        dataAbsentReason=None if news2.applicable else absent("not-applicable", "Not Applicable"),
        component=components or None,
        derivedFrom=derived_from or None,
        note=notes or None,
    )
