"""The versioned prompt: the case, its vital signs and the engine's findings, and what to write.

MedGemma is sensitive to wording: any change to the text below is a new PROMPT_VERSION, which
also keys the output cache and is recorded with every result. The patient_ref is never sent.
"""

from __future__ import annotations

import copy
from typing import Any

from shared.inference.template import user_turn
from shared.safety.schema import ModelTriageOutput
from shared.schemas import Assessment, CaseIn

PROMPT_VERSION = "triage-json-v1"

INSTRUCTION = (
    "You assist emergency triage staff. You do not diagnose; a clinician decides. "
    "Read the case below and answer with one JSON object only, with these keys: "
    '"summary" (two or three plain sentences), "key_findings" (each a "finding" with the '
    '"evidence": words quoted from the note or the vital signs), "next_steps" (suggestions '
    'for the clinician), "suggested_acuity" (1 resuscitation, 2 emergent, 3 urgent, '
    '4 less urgent, 5 non-urgent), "acuity_reason", "uncertainties" (what is missing or '
    "unclear). Use only facts written in the case; never invent numbers, drugs or results."
)
REPAIR = (
    "Your previous answer could not be used ({reason}). Answer again with one short JSON "
    "object: at most one finding, one next step and one uncertainty, short sentences."
)
REPAIR_REASON_CHARS = 200  # shared.inference.fit keeps room for the longest
VITAL_NAMES = {
    "respiratory_rate": "respiratory rate (/min)",
    "spo2": "SpO2 (%)",
    "on_oxygen": "on supplemental oxygen",
    "systolic_bp": "systolic BP (mmHg)",
    "diastolic_bp": "diastolic BP (mmHg)",
    "heart_rate": "heart rate (/min)",
    "consciousness": "consciousness (ACVPU)",
    "temperature_c": "temperature (C)",
    "pain": "pain (0-10)",
    "gcs": "GCS",
}


def case_text(case: CaseIn, assessment: Assessment) -> str:
    """The case as the model reads it (no patient reference, no identifiers)."""
    vitals = case.vitals.model_dump(exclude_none=True, exclude_defaults=True)
    lines = [
        f"Age: {case.age_years:g} years. Sex: {case.sex.value}."
        + (" Pregnant." if case.pregnant else ""),
        f"Chief complaint: {case.chief_complaint}",
        f"Note: {case.note.strip() or '(none)'}",
        "Vital signs: "
        + ("; ".join(f"{VITAL_NAMES.get(k, k)} {v}" for k, v in vitals.items()) or "none"),
    ]
    rules = [f"- {r.detail} (level {int(r.acuity)})" for r in assessment.reasons[:8]]
    lines.append(
        f"Rule-based triage engine: acuity {assessment.acuity.label}"
        + (f", NEWS2 {assessment.news2.total}" if assessment.news2.total is not None else "")
    )
    lines.extend(rules)
    return "\n".join(lines)


def messages(case: CaseIn, assessment: Assessment, repair_reason: str = "") -> list[Any]:
    instruction = INSTRUCTION
    if repair_reason:
        instruction += "\n\n" + REPAIR.format(reason=repair_reason[:REPAIR_REASON_CHARS])
    return user_turn(instruction, case_text(case, assessment))


def output_schema() -> dict[str, Any]:
    """The JSON schema decoding is constrained to: the model's object, in field order."""
    return ModelTriageOutput.model_json_schema()


def compact_schema() -> dict[str, Any]:
    """The repair attempt's schema: the same object with short strings and one item per
    list, so that it fits the token limit the first answer ran into. Still valid for
    ModelTriageOutput (every bound is tighter)."""
    schema = copy.deepcopy(output_schema())
    props = schema["properties"]
    props["summary"]["maxLength"] = 160
    props["acuity_reason"]["maxLength"] = 80
    for name in ("key_findings", "next_steps", "uncertainties"):
        props[name]["maxItems"] = 1
    for name in ("next_steps", "uncertainties"):
        props[name]["items"]["maxLength"] = 80
    finding = schema["$defs"]["KeyFinding"]["properties"]
    finding["finding"]["maxLength"] = 60
    finding["evidence"]["maxLength"] = 80
    return schema
