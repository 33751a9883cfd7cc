"""ESI v4's level-3 criterion: a stable patient expected to need two or more ED resources
(laboratory tests, imaging, IV fluids or medication, a specialist, a procedure). The engine
does not know the resources; it recognises the presentations that almost always need them.
Without this rule such patients would fall to level 4 and wait behind them."""

from __future__ import annotations

import re
from collections.abc import Iterator

from shared.clinical.facts import Facts, Mention
from shared.clinical.rules import rule
from shared.clinical.rules.groups import febrile
from shared.clinical.rules.presentations import glucose_mmol
from shared.schemas import Acuity, Reason

URGENT = Acuity.URGENT
ELDERLY = 65
# Presenting complaints (vocabulary ids) that need two or more resources in almost every
# adult: labs and imaging, an ECG and labs, IV treatment, or a specialist.
TWO_OR_MORE: dict[str, str] = {
    "abdominal_pain": "abdominal pain (labs and imaging)",
    "flank_pain": "flank pain (labs and imaging)",
    "vomiting_blood": "GI bleeding (labs, IV access)",
    "black_stool": "GI bleeding (labs, IV access)",
    "rectal_bleeding": "rectal bleeding (labs)",
    "pregnancy_bleeding": "bleeding in pregnancy (labs, ultrasound)",
    "pregnancy_problem": "a problem in pregnancy (labs, fluids or ultrasound)",
    "shortness_of_breath": "shortness of breath (imaging, labs or nebulised treatment)",
    "haemoptysis": "coughing blood (imaging and labs)",
    "syncope": "fainting (ECG and labs)",
    "hypotension": "low blood pressure (labs, IV fluids, ECG)",
    "palpitations": "palpitations (ECG and labs)",
    "chest_pain": "chest pain (ECG, labs, imaging)",
    "focal_weakness": "focal weakness (imaging and labs)",
    "confusion": "confusion (labs and imaging)",
    "altered_consciousness": "altered consciousness (labs and imaging)",
    "seizure": "seizure (labs, imaging)",
    "dizziness": "dizziness (labs and imaging)",
    "hot_red_limb": "hot, red limb (labs and ultrasound or IV antibiotics)",
    "cool_pulseless_limb": "cool or pulseless limb (imaging, specialist)",
    "bilateral_leg_swelling": "leg swelling (labs and imaging)",
    "generalized_edema": "generalised swelling (labs and imaging)",
    "major_trauma": "major trauma",
    "penetrating_trauma": "penetrating injury",
    "chest_injury": "chest injury (imaging)",
    "abdominal_injury": "abdominal injury (imaging, labs)",
    "neck_injury": "neck injury (imaging)",
    "hyperglycaemia": "high blood glucose (labs, IV fluids)",
    "hypoglycaemia": "low blood glucose (repeated glucose checks, IV or oral glucose, labs)",
    "dehydration": "dehydration (labs, IV fluids)",
    "overdose": "overdose or poisoning (labs, monitoring)",
    "post_procedure_problem": "a complication after a procedure (labs, imaging)",
    "abnormal_results": "an abnormal result sent in (repeat labs, ECG, treatment)",
    "nausea_vomiting": "vomiting (labs, IV fluids)",
    "jaundice": "jaundice (labs and imaging)",
    "urinary_retention": "urinary retention (catheter, labs)",
}
# Complaints that count only at 65 or over, or with a significant comorbidity.
WITH_RISK: dict[str, str] = {
    "fever": "fever (labs, cultures, imaging)",
    "general_weakness": "generalised weakness (labs, ECG)",
    "unwell": "feeling unwell (labs, ECG)",
    "headache": "headache (imaging or IV medication)",
    "cough": "cough (imaging, labs)",
    "respiratory_infection": "chest infection (imaging, labs)",
    "urinary_symptoms": "urinary symptoms (labs, imaging)",
    "diarrhea": "diarrhoea (labs, IV fluids)",
    "cellulitis": "skin infection (labs, IV antibiotics)",
    "abscess": "abscess (drainage, labs)",
    "fall": "fall (imaging, labs)",
    "head_injury": "head injury (imaging)",
    "lower_limb_injury": "limb injury (imaging, analgesia, specialist)",
    "upper_limb_injury": "limb injury (imaging, analgesia, specialist)",
    "hip_pain": "hip pain (imaging)",
    "back_pain": "back pain (imaging, labs)",
    "leg_pain": "leg pain (ultrasound, labs)",
}
# Findings in the text that need two or more resources whatever the complaint.
FINDINGS: dict[str, str] = {
    "deformity": "a deformity or suspected fracture (imaging, analgesia, reduction)",
    "recent_surgery": "a problem soon after surgery (labs, imaging)",
}


# Vomiting while keeping fluids down needs no IV fluids or labs in a well adult.
_TOLERATING = re.compile(
    r"(?<!not )(?<!n't )(?<!unable to )\b(?:tolerating|keeping|keeps|kept|holding)\s+(?:\w+\s+)?"
    r"(?:fluids|liquids|water|food|sips|drinks|PO|oral\s+intake)(?:\s+down)?\b|"
    r"\bPO\s+tolerated\b",
    re.IGNORECASE,
)


def _counts(f: Facts, complaint_id: str) -> bool:
    if complaint_id != "nausea_vomiting":
        return True
    return f.adult and not _TOLERATING.search(f.case.note)


# A glucose reading that needs treatment and rechecks, whatever the complaint (mmol/L).
GLUCOSE_LOW, GLUCOSE_HIGH = 4.0, 18.0


def _glucose_reason(f: Facts) -> tuple[str, str] | None:
    level = glucose_mmol(f)
    if level is not None and level < GLUCOSE_LOW:
        return f"glucose {level} mmol/L", "low blood glucose (treatment, repeated checks)"
    if level is not None and level > GLUCOSE_HIGH:
        return f"glucose {level} mmol/L", "high blood glucose (labs, IV fluids)"
    return None


def _complaint_reason(f: Facts) -> tuple[str, str] | None:
    risk = f.age >= ELDERLY or f.first_any_time("comorbidity") is not None
    for c in f.complaints:
        if c.id in TWO_OR_MORE and _counts(f, c.id):
            return c.text, TWO_OR_MORE[c.id]
        if risk and c.id in WITH_RISK:
            who = f"age {f.age:g}" if f.age >= ELDERLY else "with a significant comorbidity"
            return c.text, f"{WITH_RISK[c.id]}, {who}"
    return None


def _context_reason(f: Facts) -> tuple[Mention, str] | None:
    """Presentations the ESI handbook puts at 3 that no complaint names: an infection in a
    patient with a comorbidity, at 65+ or around an implant (labs, IV antibiotics); an
    infection not settling on antibiotics with fever; a painful or swollen leg with a clot risk
    (labs, ultrasound); bleeding in pregnancy (labs, ultrasound)."""
    infection = f.first("local_infection")
    if infection is not None:
        risk = f.age >= ELDERLY or f.first_any_time("comorbidity", "implant") is not None
        if risk:
            return (
                infection,
                "a local infection with a comorbidity, an implant or at 65+ (labs, IV antibiotics)",
            )
    failing = f.first("failed_antibiotics")
    if failing is not None and (f.has("fever_word") or febrile(f)):
        return (
            failing,
            "an infection not settling on antibiotics, with fever (labs, IV antibiotics)",
        )
    clot = f.first_any_time("vte_risk")
    injured = f.has("fall", "high_risk_mechanism", "deformity") or _INJURY.search(
        f"{f.case.chief_complaint} {f.case.note}"
    )
    if clot is not None and f.adult and not injured:
        leg = next((c for c in f.complaints if c.id in _LEG_COMPLAINTS), None)
        if leg is not None or (
            f.has("peripheral_site")
            and f.has("pain")
            and _LEG.search(f"{f.case.chief_complaint} {f.case.note}")
        ):
            return clot, "a painful or swollen leg with a clot risk (labs, ultrasound)"
    bleeding = f.first("vaginal_bleeding")
    if bleeding is not None and f.pregnant:
        return bleeding, "bleeding in pregnancy (labs, ultrasound)"
    return None


_LEG_COMPLAINTS = ("leg_pain", "bilateral_leg_swelling", "hot_red_limb", "leg_swelling")
_LEG = re.compile(r"\b(?:legs?|calf|calves|thigh)\b", re.IGNORECASE)
_INJURY = re.compile(
    r"\b(?:injur\w*|twist\w*|sprain\w*|trauma|kicked|tackle\w*|hit\s+by|fell|fall|rolled)\b",
    re.IGNORECASE,
)


@rule(
    "expected_resources",
    "a stable presentation expected to need two or more ED resources (ESI v4 level 3) -> 3",
)
def expected_resources(f: Facts) -> Iterator[Reason]:
    found = _complaint_reason(f) or _glucose_reason(f)
    if found is not None:
        text, why = found
        yield f.reason(
            "expected_resources", URGENT, f'two or more resources expected: {why} ("{text}")', text
        )
        return
    for finding, why in FINDINGS.items():
        m = f.first(finding)
        if m is not None:
            yield f.reason(
                "expected_resources", URGENT, f"two or more resources expected: {why}", mention=m
            )
            return
    context = _context_reason(f)
    if context is not None:
        mention, why = context
        yield f.reason(
            "expected_resources", URGENT, f"two or more resources expected: {why}", mention=mention
        )
        return
    laceration = f.first("laceration")
    if laceration is not None and f.has("fall", "high_risk_mechanism", "deformity", "head_injury"):
        yield f.reason(
            "expected_resources",
            URGENT,
            "two or more resources expected: a laceration with another injury (repair and imaging)",
            mention=laceration,
        )
