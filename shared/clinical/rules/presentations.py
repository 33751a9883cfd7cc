"""High-risk presentations read from the text (CLINICAL.md v2, level 1 and level 2), each
counting only when asserted for this patient now."""

from __future__ import annotations

import re
from collections.abc import Iterator

from shared.clinical.facts import Facts, Mention
from shared.clinical.rules import rule
from shared.clinical.rules.groups import fever_reported
from shared.clinical.rules.vital_signs import altered_consciousness, danger_zone_signs
from shared.schemas import Acuity, Reason

RESUS, EMERGENT, URGENT = Acuity.RESUSCITATION, Acuity.EMERGENT, Acuity.URGENT
INFANT_YEARS = 1.0
_PAST_EPISODE = re.compile(
    r"\b(?:last|previous|prior|past)\s+(?:admission|visit|episode|time)", re.I
)
_GLUCOSE = re.compile(
    r"\b(?:BGL?|BSL?|CBG|FSBS|FSBG|FSG|POC\s*G|glucose|(?:blood\s+)?sugar|accu-?che?c?k|"
    r"finger\s*stick(?:\s+(?:glucose|BG|BS|sugar))?|glucometer)\s*(?:level\s*)?"
    r"(?:of|is|was|:|=|reading)?\s*(\d{1,3}(?:\.\d)?)\s*"
    r"(mmol(?:/l)?|mg/?dl)?",
    re.I,
)
_BASELINE = re.compile(
    r"back\s+to\s+(?:(?:his|her|their)\s+)?(?:baseline|normal|usual\s+self)|"
    r"(?:now\s+)?(?:fully\s+)?(?:recovered|alert\s+and\s+oriented|A&Ox[34])",
    re.I,
)


_SELF_HARM = re.compile(r"self[- ]?harm|self[- ]inflicted|\b(?:DSH|SH)\b", re.I)


def glucose_mmol(f: Facts) -> float | None:
    """The last blood glucose in the note, in mmol/L (values over 35 are read as mg/dL)."""
    found = list(_GLUCOSE.finditer(f.case.note))
    if not found:
        return None
    raw, unit = float(found[-1].group(1)), (found[-1].group(2) or "").lower()
    return round(raw / 18.0, 1) if unit.startswith("mg") or raw > 35 else raw


def _in_past_episode(f: Facts, m: Mention) -> bool:
    left, right = f.sentence(m)
    return _PAST_EPISODE.search(f.text_of(m.source), left, right) is not None


@rule(
    "arrest",
    "cardiac or respiratory arrest, CPR, pulseless, apnoeic, intubated, an "
    "immediate life-saving intervention (pacing, cardioversion, assisted ventilation) -> 1",
)
def arrest(f: Facts) -> Iterator[Reason]:
    for m in f.all("cardiac_arrest", "apnoea", "intubated", "life_saving_intervention"):
        if not _in_past_episode(f, m):
            yield f.reason("arrest", RESUS, m.label, mention=m)
            return


@rule("seizing_now", "seizing now -> 1")
def seizing_now(f: Facts) -> Iterator[Reason]:
    if (m := f.first("seizing")) is not None:
        yield f.reason("seizing_now", RESUS, "seizing now", mention=m)


# Words that say how much a wound bleeds, not whether it still does: "arterial bleeding,
# controlled with a tourniquet" is major bleeding, now controlled. "Spurting", "won't stop",
# "through the dressings" say it is bleeding now, whatever else the sentence says.
_SEVERITY_ONLY = re.compile(
    r"(?:massive|profuse|torrential|arterial|pulsatile|life[- ]threatening)\s", re.IGNORECASE
)
_NOW_CONTROLLED = re.compile(r"controlled|under\s+control", re.IGNORECASE)


@rule("uncontrolled_bleeding", "uncontrolled major bleeding -> 1; controlled -> 2")
def bleeding(f: Facts) -> Iterator[Reason]:
    for bleed in f.all("uncontrolled_bleeding"):
        words = (
            f.modifier(bleed, "controlled_bleeding") if _SEVERITY_ONLY.match(bleed.text) else None
        )
        if words is None or not _NOW_CONTROLLED.search(words):
            yield f.reason(
                "uncontrolled_bleeding", RESUS, "uncontrolled major bleeding", mention=bleed
            )
            return
    if (m := f.first("controlled_bleeding")) is not None and (
        "tourniquet" in m.text.lower()
        or f.modifier(m, "major_bleeding_word")
        or f.has("uncontrolled_bleeding")
    ):
        yield f.reason("controlled_bleeding", EMERGENT, "major bleeding, now controlled", mention=m)


def _anaphylaxis(f: Facts) -> Mention | None:
    """Anaphylaxis named, or an allergic reaction with airway swelling or breathing trouble."""
    named = f.first("anaphylaxis")
    if named is not None:
        return named
    reaction = f.first("allergic_reaction")
    systemic = f.has("airway_swelling", "wheeze", "dyspnoea", "voice_change", "collapse")
    low_bp = f.vitals.systolic_bp is not None and f.vitals.systolic_bp <= 90
    if reaction is not None and (systemic or low_bp):
        return reaction
    swelling = f.first("airway_swelling")
    if swelling is not None and re.search(r"tongue|lip|angio|clos", swelling.text, re.I):
        return swelling
    return None


@rule(
    "anaphylaxis", "anaphylaxis with airway, breathing or circulation compromise -> 1; without -> 2"
)
def anaphylaxis(f: Facts) -> Iterator[Reason]:
    m = _anaphylaxis(f)
    if m is None:
        return
    v = f.vitals
    compromise = None
    if f.has("voice_change"):
        compromise = "voice change, hoarseness or stridor"
    elif f.has("wheeze") and (f.has("severe_resp_distress", "moderate_resp_distress")
                              or (v.spo2 is not None and v.spo2 < 92)):  # fmt: skip
        compromise = "wheeze with distress"
    elif v.spo2 is not None and v.spo2 < 92:
        compromise = f"SpO2 {v.spo2}%"
    elif v.systolic_bp is not None and v.systolic_bp <= 90:
        compromise = f"systolic {v.systolic_bp}"
    elif f.has("collapse"):
        compromise = "collapse"
    if compromise:
        yield f.reason("anaphylaxis", RESUS, f"anaphylaxis with {compromise}", mention=m)
    else:
        yield f.reason(
            "anaphylaxis",
            EMERGENT,
            "anaphylaxis or allergic reaction with airway symptoms",
            mention=m,
        )


@rule("respiratory_distress", "severe respiratory distress in the text -> 1; moderate -> 2")
def respiratory_distress(f: Facts) -> Iterator[Reason]:
    stridor = next((m for m in f.all("voice_change") if "stridor" in m.text.lower()), None)
    distress = f.first("distressed", "moderate_resp_distress")
    if (m := f.first("severe_resp_distress")) is not None:
        yield f.reason("respiratory_distress", RESUS, "severe respiratory distress", mention=m)
    elif stridor is not None and distress is not None:
        yield f.reason("respiratory_distress", RESUS, "stridor with distress", mention=stridor)
    elif (m := f.first("moderate_resp_distress")) is not None:
        yield f.reason("respiratory_distress", EMERGENT, "moderate respiratory distress", mention=m)


@rule("floppy_infant", "a limp, floppy or unresponsive infant -> 1")
def floppy_infant(f: Facts) -> Iterator[Reason]:
    if f.age < INFANT_YEARS and (m := next(iter(f.new("floppy_infant", "unresponsive")), None)):
        yield f.reason("floppy_infant", RESUS, "limp, floppy or unresponsive infant", mention=m)


@rule("acs_chest_pain", "chest pain suspicious for acute coronary syndrome -> 2")
def acs_chest_pain(f: Facts) -> Iterator[Reason]:
    mentions = f.all("chest_pain")
    for m in mentions:
        feature = (
            f.modifier(m, "acs_features")
            or f.modifier(m, "diaphoresis")
            or f.modifier(m, "dyspnoea")
            or f.modifier(m, "vomiting")
        )
        if feature:
            yield f.reason("acs_chest_pain", EMERGENT, f"chest pain with {feature}", mention=m)
            return
    if mentions and f.age >= 30 and f.first("chest_wall_cause") is None:
        yield f.reason(
            "acs_chest_pain",
            EMERGENT,
            "chest pain at 30 or over with no clear chest-wall cause",
            mention=mentions[-1],
        )


@rule("stroke_signs", "new stroke signs (BE-FAST) -> 2")
def stroke_signs(f: Facts) -> Iterator[Reason]:
    if (m := next(iter(f.new("stroke_signs")), None)) is not None:
        yield f.reason("stroke_signs", EMERGENT, "new stroke signs", mention=m)


@rule("thunderclap_headache", "sudden severe, worst-ever or thunderclap headache -> 2")
def thunderclap_headache(f: Facts) -> Iterator[Reason]:
    for m in f.all("headache"):
        words = f.modifier(m, "worst_ever") or f.modifier(m, "sudden")
        if words:
            yield f.reason("thunderclap_headache", EMERGENT, f"headache: {words}", mention=m)
            return


@rule(
    "meningism",
    "headache or neck stiffness with fever, photophobia or rash; non-blanching "
    "rash with fever -> 2",
)
def meningism(f: Facts) -> Iterator[Reason]:
    fever = fever_reported(f)
    stiff = f.first("neck_stiffness")
    if stiff is not None and (fever or f.has("photophobia", "rash", "non_blanching_rash")):
        yield f.reason(
            "meningism", EMERGENT, "neck stiffness with fever, photophobia or rash", mention=stiff
        )
    rash = f.first("non_blanching_rash")
    if rash is not None and fever:
        yield f.reason(
            "meningism", EMERGENT, f"non-blanching rash with fever ({fever})", mention=rash
        )


@rule(
    "head_injury",
    "head injury on anticoagulant/antiplatelet, with loss of consciousness, "
    "repeated vomiting, seizure, or at 65+; unwitnessed fall at 65+ or anticoagulated -> 2",
)
def head_injury(f: Facts) -> Iterator[Reason]:
    drug = f.first_any_time("anticoagulant")
    injury = f.first("head_injury")
    if injury is not None:
        risk = (
            (f"on {drug.text}" if drug else None)
            or (f"age {f.age:g}" if f.age >= 65 else None)
            or next((m.label for m in f.all("collapse", "repeated_vomiting", "seizure")), None)
        )
        if risk:
            yield f.reason("head_injury", EMERGENT, f"head injury with {risk}", mention=injury)
            return
    fall = f.first("unwitnessed_fall")
    if fall is not None and (f.age >= 65 or drug) and not f.has("head_injury_excluded"):
        who = f"age {f.age:g}" if f.age >= 65 else f"on {drug.text}"  # type: ignore[union-attr]
        yield f.reason(
            "head_injury", EMERGENT, f"unwitnessed fall ({who}): possible head injury", mention=fall
        )


def _infection(f: Facts) -> str | None:
    t = f.vitals.temperature_c
    if t is not None and (t >= 38.0 or t < 36.0):
        return f"temperature {t} C"
    m = f.first("fever_word", "infection")
    return f'"{m.text}"' if m else None


def _sepsis_high_risk(f: Facts) -> str | None:
    """A NICE NG51 high-risk criterion, or None."""
    v = f.vitals
    mental = altered_consciousness(f)
    if mental:
        return f"altered mental state ({mental})"
    sign = f.first("poor_perfusion", "non_blanching_rash", "anuria")
    if sign is not None:
        return sign.label
    distress = f.first("severe_resp_distress")
    if distress is not None and re.search(r"cyan|blue", distress.text, re.I):
        return "cyanosis"
    if f.adult:
        if v.respiratory_rate is not None and v.respiratory_rate >= 25:
            return f"RR {v.respiratory_rate}"
        if v.heart_rate is not None and v.heart_rate > 130:
            return f"HR {v.heart_rate}"
        if v.systolic_bp is not None and v.systolic_bp <= 90:
            return f"systolic {v.systolic_bp}"
    elif len(signs := danger_zone_signs(f)) >= 2:
        return "; ".join(signs)
    return None


@rule("sepsis", "infection suspected with a NICE NG51 high-risk criterion -> 2")
def sepsis(f: Facts) -> Iterator[Reason]:
    named = f.first("sepsis_word")
    infection = _infection(f)
    criterion = _sepsis_high_risk(f) if infection else None
    if infection and criterion:
        yield f.reason(
            "sepsis", EMERGENT, f"suspected sepsis: {infection} with {criterion}", infection
        )
    elif named is not None:
        yield f.reason("sepsis", EMERGENT, "suspected sepsis", mention=named)


@rule(
    "gi_bleeding",
    "vomiting blood, coffee-ground vomit, melaena; rectal bleeding with "
    "dizziness, fainting or anticoagulants -> 2",
)
def gi_bleeding(f: Facts) -> Iterator[Reason]:
    if (m := f.first("gi_bleed")) is not None:
        yield f.reason("gi_bleeding", EMERGENT, "upper GI bleeding or melaena", mention=m)
        return
    rectal = f.first("rectal_bleeding")
    if rectal is None:
        return
    drug = f.first_any_time("anticoagulant")
    faint = f.first("collapse", "dizziness")
    if drug or faint:
        why = f"on {drug.text}" if drug else faint.label  # type: ignore[union-attr]
        yield f.reason("gi_bleeding", EMERGENT, f"rectal bleeding with {why}", mention=rectal)


@rule(
    "self_harm",
    "suicidal with intent or plan, self-harm, homicidal, overdose with intent "
    "or of an unknown substance or amount (an overdose or poisoning whose amount the record "
    "does not state counts as unknown) -> 2; other overdose -> 3",
)
def self_harm(f: Facts) -> Iterator[Reason]:
    suicidal = f.first("suicidal")
    if suicidal is not None:
        means = f.modifier(suicidal, "suicide_plan") or f.modifier(suicidal, "lethal_means")
        if _SELF_HARM.search(suicidal.text) and not means:
            yield f.reason("self_harm", URGENT, "self-harm without lethal means", mention=suicidal)
            return
        what = f"suicidal, {means}" if means else "suicidal thoughts"
        yield f.reason("self_harm", EMERGENT, what, mention=suicidal)
        return
    if (m := f.first("homicidal")) is not None:
        yield f.reason("self_harm", EMERGENT, "homicidal thoughts", mention=m)
        return
    overdose = f.first("overdose")
    if overdose is None:
        return
    intent = f.first("overdose_intent")
    words = intent.text if intent is not None else f.modifier(overdose, "overdose_intent")
    if words is None and _undetailed(f, overdose.text) and not _amount_stated(f):
        words = "no substance amount recorded: treated as unknown"
    if words is not None:
        yield f.reason("self_harm", EMERGENT, f"overdose or poisoning ({words})", mention=overdose)
    else:
        yield f.reason("overdose", URGENT, "overdose or poisoning", mention=overdose)


# An overdose or poisoning named as such, naloxone given, or an ingestion of no named object
# (a swallowed coin or toy is a foreign body, not a poisoning).
_UNDETAILED_OVERDOSE = re.compile(
    r"over\s*dos|poison|OD\b|O/D|TOX\b|tox|narcan|naloxone|ingest", re.IGNORECASE
)
_FOREIGN_BODY = re.compile(
    r"coin|toy|marble|bead|magnet|battery|batteries|bone|food|object|foreign\s+body|FB\b|"
    r"lego|earring|pin|screw|nail",
    re.IGNORECASE,
)
# How much was taken, as a number or as words ("2 tablets", "400 mg", "a double dose").
_AMOUNT = re.compile(
    r"\b\d+(?:\.\d+)?\s*(?:x\s*)?(?:mg|g|mcg|micrograms?|grams?|ml|mL|units?|tabs?|tablets?|"
    r"pills?|capsules?|caps|doses?|puffs?|sachets?|patch(?:es)?|drinks?|beers?)\b|"
    r"\b(?:one|two|three|four|five|six|a\s+couple\s+of|a\s+double|an\s+extra|double|extra)\s+"
    r"(?:\w+\s+)?(?:tabs?|tablets?|pills?|capsules?|doses?)\b|known\s+(?:amount|quantity)",
    re.IGNORECASE,
)


def _undetailed(f: Facts, words: str) -> bool:
    if not _UNDETAILED_OVERDOSE.match(words):
        return False
    if words.lower().startswith("ingest"):
        return not any(_FOREIGN_BODY.search(t) for t in (f.case.chief_complaint, f.case.note))
    return True


# The sentences of a note that say what was taken (a regular medication list with its doses
# is no amount of the overdose).
_TAKEN = re.compile(
    r"took|taken|swallow|ingest|over\s*dos|\bOD\b|drank|ate\b|tablets?|pills?|capsules?|tabs\b",
    re.IGNORECASE,
)
_SENTENCES = re.compile(r"[^.;\n]+")


def _amount_stated(f: Facts) -> bool:
    if _AMOUNT.search(f.case.chief_complaint):
        return True
    return any(
        _AMOUNT.search(s.group(0)) and _TAKEN.search(s.group(0))
        for s in _SENTENCES.finditer(f.case.note)
    )


@rule("testicular_torsion", "sudden testicular pain (possible torsion) -> 2")
def testicular_torsion(f: Facts) -> Iterator[Reason]:
    for m in f.all("testicular_pain"):
        words = f.modifier(m, "sudden") or ("torsion" if "torsion" in m.text.lower() else None)
        if words:
            yield f.reason(
                "testicular_torsion",
                EMERGENT,
                "sudden testicular pain (possible torsion)",
                mention=m,
            )
            return


@rule(
    "aortic_event",
    "sudden severe abdominal or back pain with fainting or over 50; tearing "
    "chest pain to the back -> 2",
)
def aortic_event(f: Facts) -> Iterator[Reason]:
    for m in f.all("abdominal_or_back_pain", "chest_pain"):
        tearing = f.modifier(m, "tearing_pain")
        if tearing:
            yield f.reason(
                "aortic_event", EMERGENT, f"{tearing} pain (possible aortic event)", mention=m
            )
            return
        if m.finding == "chest_pain":
            continue
        sudden = f.modifier(m, "sudden")
        severe = f.modifier(m, "pain_severe")
        if sudden and severe and (f.age > 50 or f.has("collapse")):
            yield f.reason(
                "aortic_event",
                EMERGENT,
                "sudden severe abdominal or back pain "
                f"({'age ' + format(f.age, 'g') if f.age > 50 else 'with fainting'})",
                mention=m,
            )
            return


@rule("seizure", "seizure within the hour, not back to baseline -> 2; back to baseline -> 3")
def seizure(f: Facts) -> Iterator[Reason]:
    if f.has("seizing"):
        return  # level 1 (seizing_now)
    m = f.first("seizure")
    if m is None:
        return
    recovered = _BASELINE.search(f.case.note) is not None
    post_ictal = f.first("post_ictal")
    if post_ictal is not None or (altered_consciousness(f) and not recovered):
        yield f.reason(
            "seizure", EMERGENT, "seizure, not back to baseline", mention=post_ictal or m
        )
    else:
        yield f.reason("seizure", URGENT, "seizure, back to baseline", mention=m)


@rule(
    "high_risk_mechanism",
    "fall > 1 m or 5 stairs, rollover, ejection, pedestrian or cyclist "
    "struck, penetrating injury -> 2",
)
def high_risk_mechanism(f: Facts) -> Iterator[Reason]:
    for m in f.all("high_risk_mechanism"):
        if _STAB.search(m.text) and _limb_only(f):
            continue  # a stab wound to the hand: CLINICAL.md counts head, neck, chest, abdomen
        yield f.reason("high_risk_mechanism", EMERGENT, "high-risk mechanism of injury", mention=m)
        return


# Penetrating wounds whose depth and path the entry site bounds. A gunshot wound is not one:
# a bullet's path is unknown from the skin, and the ESI handbook places a gunshot wound to the
# leg at level 2, so gunshot wounds count wherever they are (beyond CLINICAL.md, on purpose).
_STAB = re.compile(r"stab|impal|penetrating|\bSW\b", re.IGNORECASE)
# The chest and abdomen include the back, flank and trunk: a wound there can reach the same
# organs.
_CENTRAL_SITE = re.compile(
    r"\b(?:head|skull|scalp|face|facial|eye|neck|throat|chest|thorax|thoracic|abdo\w*|belly|"
    r"stomach|torso|trunk|back|flank|axilla|groin)\b",
    re.IGNORECASE,
)


def _limb_only(f: Facts) -> bool:
    """Whether the text places the wound on a limb and names no central site anywhere; with
    no site written, a penetrating wound counts (the safer reading)."""
    text = f"{f.case.chief_complaint}\n{f.case.note}"
    return f.has("peripheral_site") and _CENTRAL_SITE.search(text) is None


@rule(
    "glucose",
    "hypoglycaemia with altered consciousness; glucose > 18 mmol/L with "
    "breathlessness, vomiting or drowsiness -> 2",
)
def glucose(f: Facts) -> Iterator[Reason]:
    level = glucose_mmol(f)
    mental = altered_consciousness(f)
    low = f.first("hypoglycaemia")
    if mental and (low is not None or (level is not None and level < 4.0)):
        what = f"glucose {level} mmol/L" if level is not None else "hypoglycaemia"
        yield f.reason("glucose", EMERGENT, f"{what} with altered consciousness ({mental})", level)
        return
    keto = f.first("ketoacidosis")
    if keto is not None:
        yield f.reason("glucose", EMERGENT, "possible ketoacidosis", mention=keto)
        return
    if level is not None and level > 18.0:
        symptom = mental or next((m.label for m in f.all("dyspnoea", "vomiting")), None)
        if symptom:
            yield f.reason(
                "glucose",
                EMERGENT,
                f"glucose {level} mmol/L with {symptom} (possible ketoacidosis)",
                level,
            )


@rule(
    "infant_concern", "febrile neonate; a parent's report of a mottled or not-feeding infant -> 2"
)
def infant_concern(f: Facts) -> Iterator[Reason]:
    if f.age >= INFANT_YEARS:
        return
    m = f.first("poor_feeding", "poor_perfusion")
    if m is not None:
        yield f.reason("infant_concern", EMERGENT, f"infant: {m.label}", mention=m)


@rule(
    "esi_high_risk",
    "ESI high-risk situations: missed dialysis; shock from an implanted "
    "defibrillator; sickle cell crisis (or sickle cell disease with pain now); a known or "
    "suspected bleed in or around the brain "
    "(ICH, SAH, subdural); a raised troponin or known myocardial infarction (STEMI, NSTEMI); "
    "a known or suspected aortic dissection or leaking aneurysm; spinal cord or cauda equina "
    "compression (the three last also when sent in to be ruled out: 'r/o SAH'); an "
    "electrical injury (arrhythmia risk); "
    "breathlessness in pregnancy or after childbirth; "
    "alcohol withdrawal with tachycardia, confusion or hallucinations; fainting at 65 or "
    "over -> 2",
)
def esi_high_risk(f: Facts) -> Iterator[Reason]:
    m = f.first(
        "dialysis_missed",
        "defibrillator_shock",
        "sickle_crisis",
        "raised_troponin",
        "electrical_injury",
    ) or f.first_suspected("intracranial_bleed", "aortic_emergency", "cord_compression")
    if m is not None:
        label = f"suspected {m.label} (to be ruled out)" if m.suspected else m.label
        yield f.reason("esi_high_risk", EMERGENT, label, mention=m)
        return
    sickle = f.first_any_time("sickle_crisis") or _sickle_cell_disease(f)
    if sickle is not None and f.has("pain"):
        # "a history of sickle cell disease ... because of a crisis", "known sickle cell, leg
        # pain 8/10": the disease is history, the pain is now (the ESI handbook's case: 2).
        yield f.reason(
            "esi_high_risk", EMERGENT, "sickle cell disease with pain now", mention=sickle
        )
        return
    fainted = next((m for m in f.all("collapse") if _FAINTED.search(m.text)), None)
    if fainted is not None and f.age >= ELDERLY_SYNCOPE_YEARS:
        yield f.reason(
            "esi_high_risk",
            EMERGENT,
            f"fainting at {f.age:g} (possible arrhythmia, bleeding or stroke)",
            mention=fainted,
        )
        return
    breathless = f.first("dyspnoea")
    if breathless is not None and (f.pregnant or f.postpartum):
        yield f.reason(
            "esi_high_risk",
            EMERGENT,
            "breathless in pregnancy or after childbirth (possible pulmonary embolism)",
            mention=breathless,
        )
        return
    withdrawal = f.first("alcohol_withdrawal")
    if withdrawal is not None and (
        f.first_any_time("alcohol") is not None or _ALCOHOL_WORDS.search(withdrawal.text)
    ):
        hr = f.vitals.heart_rate
        sign = (f"HR {hr}" if hr is not None and hr > 100 else None) or altered_consciousness(f)
        if sign or "hallucinat" in withdrawal.text.lower():
            yield f.reason(
                "esi_high_risk",
                EMERGENT,
                f"alcohol withdrawal with {sign or 'hallucinations'}",
                mention=withdrawal,
            )


def _sickle_cell_disease(f: Facts) -> Mention | None:
    """Sickle cell disease among the patient's conditions, now or in the history (not the
    carrier state, "sickle cell trait")."""
    for m in (*f.all("comorbidity"), *f.historical):
        if m.finding == "comorbidity" and m.text.lower().startswith("sickle"):
            after = f.text_of(m.source)[m.end : m.end + 12].lower()
            if "trait" not in after:
                return m
    return None


# "alcohol withdrawal", "ETOH withdrawal", "DTs": the withdrawal names alcohol itself.
_ALCOHOL_WORDS = re.compile(r"alcohol|ETOH|delirium\s+tremens|DTs|drinking", re.IGNORECASE)

# A faint that happened, not a patient who "feels faint" or nearly fainted.
_FAINTED = re.compile(
    r"^(?!(?:near|pre))(?:collaps|syncop|passed\s+out|blacked\s+out|black[- ]?out|lost\s+"
    r"consciousness|loss\s+of\s+consciousness|LOC\b|fainted|knocked)",
    re.IGNORECASE,
)
ELDERLY_SYNCOPE_YEARS = 65


@rule(
    "complaint_high_risk",
    "a complaint-specific high-risk feature of the presenting-complaint "
    "vocabulary (CTAS modifiers) -> its level, 2 at most",
)
def complaint_high_risk(f: Facts) -> Iterator[Reason]:
    for m in f.features:
        # Level 1 is for the explicit criteria above; a complaint's feature asks for 2 at most.
        level = Acuity(max(f.feature_levels[id(m)], EMERGENT))
        yield f.reason("complaint_high_risk", level, m.label, mention=m)
