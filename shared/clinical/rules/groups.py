"""Rules for fever, infants, pregnancy and hypertension (CLINICAL.md v2, level 2 and 3)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from shared.clinical.facts import Facts
from shared.clinical.rules import rule
from shared.schemas import Acuity, Reason

EMERGENT, URGENT, LESS_URGENT = Acuity.EMERGENT, Acuity.URGENT, Acuity.LESS_URGENT
FEVER_C = 38.0
NEONATE_YEARS = 28 / 365.25
THREE_MONTHS_YEARS = 0.25
THIRTY_SIX_MONTHS_YEARS = 3.0
HYPERTENSION_SYMPTOMS = ("headache", "chest_pain", "stroke_signs", "visual_disturbance",
                         "dyspnoea", "altered_mental")  # fmt: skip
PRE_ECLAMPSIA_SYMPTOMS = ("headache", "visual_disturbance", "epigastric_ruq_pain", "seizure")
_GESTATION = re.compile(
    r"\b(\d{1,2})(?:\s*\+\s*\d)?\s*(?:-\s*)?(?:weeks?|wks?|/40)(?:'|\s+(?:pregnant|gestation|"
    r"of\s+pregnancy|along|GA|IUP))|\b(?:GA|gestation(?:al\s+age)?)\s*(?:of\s+)?(\d{1,2})\b|"
    r"\bat\s+(\d{1,2})\s*(?:weeks?|wks?)\b",
    re.I,
)


def febrile(f: Facts) -> str | None:
    """What says the patient has a fever: a temperature of 38.0 C or more, or None."""
    t = f.vitals.temperature_c
    return f"temperature {t} C" if t is not None and t >= FEVER_C else None


def fever_reported(f: Facts) -> str | None:
    """A measured fever, or an asserted fever in the text."""
    measured = febrile(f)
    if measured:
        return measured
    mention = f.first("fever_word")
    return f'"{mention.text}"' if mention else None


def gestation_weeks(f: Facts) -> int | None:
    match = _GESTATION.search(f.case.note) or _GESTATION.search(f.case.chief_complaint)
    if match is None:
        return None
    weeks = int(next(g for g in match.groups() if g is not None))
    return weeks if 3 <= weeks <= 44 else None


@rule(
    "fever_sirs",
    "adult fever >= 38.0 C with HR > 90 and RR > 20 -> 2; with either -> 3; well adult -> 4",
)
def fever_sirs(f: Facts) -> Iterator[Reason]:
    fever = febrile(f)
    if not f.adult or fever is None:
        return
    hr, rr = f.vitals.heart_rate, f.vitals.respiratory_rate
    fast_hr = hr is not None and hr > 90
    fast_rr = rr is not None and rr > 20
    if fast_hr and fast_rr:
        yield f.reason(
            "fever_sirs",
            EMERGENT,
            f"{fever} with HR {hr} and RR {rr} (looks septic)",
            f.vitals.temperature_c,
        )
    elif fast_hr or fast_rr:
        which = f"HR {hr}" if fast_hr else f"RR {rr}"
        yield f.reason("fever_sirs", URGENT, f"{fever} with {which}", f.vitals.temperature_c)
    else:
        yield f.reason(
            "fever_sirs", LESS_URGENT, f"{fever} in a well adult", f.vitals.temperature_c
        )


@rule("fever_immunosuppressed", "fever with immunosuppression -> 2")
def fever_immunosuppressed(f: Facts) -> Iterator[Reason]:
    fever = fever_reported(f)
    mention = f.first("immunosuppressed") or f.first_any_time("immunosuppressed")
    if fever and mention is not None:
        yield f.reason(
            "fever_immunosuppressed",
            EMERGENT,
            f"fever ({fever}) with immunosuppression",
            mention=mention,
        )


@rule("infant_fever", "under 3 months with temperature >= 38.0 C -> 2; 3-36 months >= 39.0 -> 3")
def infant_fever(f: Facts) -> Iterator[Reason]:
    t = f.vitals.temperature_c
    if f.age < THREE_MONTHS_YEARS:
        if t is not None and t >= FEVER_C:
            yield f.reason(
                "infant_fever", EMERGENT, f"infant under 3 months with temperature {t} C", t
            )
        elif t is None and (m := f.first("fever_word")) is not None:
            yield f.reason("infant_fever", EMERGENT, "infant under 3 months with fever", mention=m)
    elif f.age < THIRTY_SIX_MONTHS_YEARS and t is not None and t >= 39.0:
        yield f.reason("infant_fever", URGENT, f"child 3-36 months with temperature {t} C", t)


@rule("neonate", "under 28 days with temperature < 36.0 C, or poor feeding with lethargy -> 2")
def neonate(f: Facts) -> Iterator[Reason]:
    if f.age >= NEONATE_YEARS:
        return
    t = f.vitals.temperature_c
    if t is not None and t < 36.0:
        yield f.reason("neonate", EMERGENT, f"neonate with temperature {t} C (below 36.0)", t)
    feeding = f.first("poor_feeding")
    if feeding is not None and f.has("altered_mental", "floppy_infant", "unresponsive"):
        yield f.reason("neonate", EMERGENT, "neonate feeding poorly and lethargic", mention=feeding)


@rule(
    "pregnancy_blood_pressure",
    "pregnant or postpartum: >= 160/110 -> 2; >= 140/90 with "
    "headache, visual disturbance, epigastric/RUQ pain or seizure -> 2; without -> 3",
)
def pregnancy_blood_pressure(f: Facts) -> Iterator[Reason]:
    if not f.pregnant:
        return
    sbp, dbp = f.vitals.systolic_bp, f.vitals.diastolic_bp
    bp = f"BP {sbp}/{dbp}" if dbp is not None else f"systolic {sbp}"
    severe = (sbp is not None and sbp >= 160) or (dbp is not None and dbp >= 110)
    raised = (sbp is not None and sbp >= 140) or (dbp is not None and dbp >= 90)
    symptom = f.first(*PRE_ECLAMPSIA_SYMPTOMS)
    if severe:
        yield f.reason(
            "pregnancy_blood_pressure", EMERGENT, f"pregnancy with {bp} (160/110 or above)", sbp
        )
    elif raised and symptom is not None:
        yield f.reason(
            "pregnancy_blood_pressure",
            EMERGENT,
            f"pregnancy with {bp} and {symptom.label} (possible pre-eclampsia)",
            mention=symptom,
        )
    elif raised:
        yield f.reason(
            "pregnancy_blood_pressure", URGENT, f"pregnancy with {bp} (140/90 or above)", sbp
        )


@rule("pregnancy_hypotension", "pregnant with systolic <= 90 -> 2")
def pregnancy_hypotension(f: Facts) -> Iterator[Reason]:
    sbp = f.vitals.systolic_bp
    if f.pregnant and sbp is not None and sbp <= 90:
        yield f.reason("pregnancy_hypotension", EMERGENT, f"pregnancy with systolic {sbp}", sbp)


@rule("pregnancy_bleeding", "vaginal bleeding from 20 weeks of pregnancy -> 2")
def pregnancy_bleeding(f: Facts) -> Iterator[Reason]:
    bleeding = f.first("vaginal_bleeding")
    if bleeding is None or not (f.pregnant or f.postpartum):
        return
    weeks = gestation_weeks(f)
    if f.postpartum:
        yield f.reason(
            "pregnancy_bleeding", EMERGENT, "postpartum vaginal bleeding", mention=bleeding
        )
    elif weeks is None or weeks >= 20:
        when = f"at {weeks} weeks" if weeks else "gestation not stated"
        yield f.reason(
            "pregnancy_bleeding",
            EMERGENT,
            f"vaginal bleeding in pregnancy ({when})",
            mention=bleeding,
        )


@rule("possible_ectopic", "abdominal pain or fainting in early or suspected pregnancy -> 2")
def possible_ectopic(f: Facts) -> Iterator[Reason]:
    weeks = gestation_weeks(f)
    early = f.first("early_pregnancy")
    # After childbirth the pregnancy is over: postpartum pain is not a possible ectopic.
    pregnant_now = f.pregnant and not f.postpartum
    suspected = early is not None or (pregnant_now and (weeks is None or weeks < 20))
    if not suspected or f.age < 10 or f.case.sex.value == "male":
        return
    symptom = f.first("abdominal_or_back_pain", "collapse")
    if symptom is not None:
        yield f.reason(
            "possible_ectopic",
            EMERGENT,
            f"{symptom.label} in early or suspected pregnancy (possible ectopic pregnancy)",
            mention=symptom,
        )


@rule(
    "hypertension",
    ">= 220/130 with symptoms -> 2; without -> 3; 200-219 / 110-129 with symptoms -> 3",
)
def hypertension(f: Facts) -> Iterator[Reason]:
    sbp, dbp = f.vitals.systolic_bp, f.vitals.diastolic_bp
    if sbp is None and dbp is None:
        return
    bp = f"BP {sbp}/{dbp}" if dbp is not None else f"systolic {sbp}"
    crisis = (sbp or 0) >= 220 or (dbp or 0) >= 130
    high = (sbp or 0) >= 200 or (dbp or 0) >= 110
    symptom = f.first(*HYPERTENSION_SYMPTOMS)
    if crisis and symptom is not None:
        yield f.reason("hypertension", EMERGENT, f"{bp} with {symptom.label}", mention=symptom)
    elif crisis:
        yield f.reason("hypertension", URGENT, f"{bp} (220/130 or above)", sbp)
    elif high and symptom is not None:
        yield f.reason("hypertension", URGENT, f"{bp} with {symptom.label}", mention=symptom)
