"""High-risk presentations read from the text (CLINICAL.md v2, level 1 and level 2): each
fires when asserted for this patient now, citing its words, and never when negated,
historical, hypothetical or about someone else."""

from __future__ import annotations

import pytest

from tests.unit.clinical.cases import assess, expect, expect_text, fired, shown

INFANT = {"age": 0.5, "heart_rate": 130, "respiratory_rate": 35}
LOW_BP = {"systolic_bp": 88, "diastolic_bp": None}


# (chief complaint, note, rule, evidence, case fields)
LEVEL_1 = [
    ("review", "Patient in cardiac arrest, CPR in progress", "arrest", "in cardiac arrest", {}),
    ("review", "CPR in progress", "arrest", "CPR in progress", {}),
    ("review", "pulseless", "arrest", "pulseless", {}),
    ("review", "apnoeic on arrival", "arrest", "apnoeic", {}),
    ("review", "intubated by paramedics", "arrest", "intubated", {}),
    ("review", "agonal breathing", "arrest", "agonal breathing", {}),
    ("review", "Brought in by partner, actively seizing", "seizing_now", "actively seizing", {}),
    ("review", "uncontrolled bleeding from thigh wound", "uncontrolled_bleeding",
     "uncontrolled bleeding", {}),
    ("review", "tongue swelling and hoarse voice after peanuts", "anaphylaxis",
     "tongue swelling", {}),
    ("review", "anaphylaxis, collapsed", "anaphylaxis", "anaphylaxis", {}),
    ("review", "allergic reaction, lip swelling", "anaphylaxis", "allergic reaction",
     {"spo2": 91}),
    ("review", "allergic reaction with lip swelling", "anaphylaxis", "allergic reaction", LOW_BP),
    ("review", "speaking in single words", "respiratory_distress", "speaking in single words", {}),
    ("review", "can only speak single words, exhausted", "respiratory_distress",
     "can only speak single words", {}),
    ("review", "cyanosed", "respiratory_distress", "cyanosed", {}),
    ("review", "silent chest", "respiratory_distress", "silent chest", {}),
    ("review", "severe respiratory distress", "respiratory_distress",
     "severe respiratory distress", {}),
    ("review", "stridor, in respiratory distress", "respiratory_distress", "stridor", {}),
    ("review", "mother says baby is floppy", "floppy_infant", "floppy", INFANT),
    ("review", "limp infant", "floppy_infant", "limp", INFANT),
    ("review", "unresponsive baby", "floppy_infant", "unresponsive", INFANT),
    ("review", "stridor with distress", "respiratory_distress", "stridor", {}),
    ("review", "only able to say single words", "respiratory_distress",
                 "only able to say single words", {}),
]  # fmt: skip


@pytest.mark.parametrize(("complaint", "note", "rule", "evidence", "fields"), LEVEL_1)
def test_level_1_presentations(complaint, note, rule, evidence, fields):
    expect_text(complaint, note, 1, rule, evidence, **fields)


LEVEL_2 = [
    ("review", "heavy bleeding from scalp wound, now controlled with pressure",
     "controlled_bleeding", "controlled with pressure", {}),
    ("review", "allergic reaction with lip swelling", "anaphylaxis", "allergic reaction", {}),
    ("review", "anaphylaxis to peanuts, hives, no airway symptoms", "anaphylaxis",
     "anaphylaxis", {}),
    ("review", "speaking in phrases", "respiratory_distress", "speaking in phrases", {}),
    ("review", "tripod position", "respiratory_distress", "tripod", {}),
    ("review", "using accessory muscles", "respiratory_distress", "accessory muscles", {}),
    ("review", "intercostal recession", "respiratory_distress", "intercostal recession",
     {"age": 2, "heart_rate": 110, "respiratory_rate": 30}),
    ("review", "crushing central chest pain radiating to left arm, sweaty",
     "acs_chest_pain", "central chest pain", {"age": 25}),
    # The note describes the chief complaint: its "sudden", "crushing", "severe" count.
    ("chest pain", "crushing, radiating to left arm, sweaty", "acs_chest_pain", "chest pain",
     {"age": 25}),
    ("testicular pain", "sudden onset an hour ago", "testicular_torsion", "testicular pain",
     {"age": 15}),
    ("abdominal pain", "sudden severe pain, fainted at home", "aortic_event", "abdominal pain",
     {"age": 60}),
    # Fainting at 65 or over (ESI high risk, beyond CLINICAL.md); near-fainting is not it.
    ("review", "collapsed at church, LOC about 1 min, now fine", "esi_high_risk", "collapsed",
     {"age": 78}),
    ("leg pain", "cold pale L foot, no pulses palpable, sudden onset 2h", "complaint_high_risk",
     "no pulses", {"age": 76}),
    ("overdose", "took 40 tablets of paracetamol 2 hrs ago after an argument", "self_harm",
     "overdose", {"age": 17}),
    ("review", "found by her roommate with an empty bottle of her antidepressant, drowsy",
     "self_harm", "an empty bottle of her antidepressant", {"age": 19}),
    # Misspelt or coded complaints stand for their finding.
    ("chest pian", "", "acs_chest_pain", "chest pian", {"age": 58}),
    ("testicular pian", "sudden onset", "testicular_torsion", "testicular pian", {"age": 15}),
    ("Lt sided weakness", "sudden onset 1 hour ago", "stroke_signs", "Lt sided weakness", {}),
    ("chest pain", "", "acs_chest_pain", "chest pain", {"age": 30}),
    ("review", "2-day history of chest pain", "acs_chest_pain", "chest pain", {"age": 58}),
    ("cough", "chest pain for 3 days", "acs_chest_pain", "chest pain", {"age": 58}),
    ("review", "chest pain since yesterday", "acs_chest_pain", "chest pain", {"age": 58}),
    ("review", "left sided facial droop and arm weakness since 1 hour", "stroke_signs",
     "facial droop", {}),
    ("review", "slurred speech", "stroke_signs", "slurred speech", {}),
    ("review", "double vision", "stroke_signs", "double vision", {}),
    ("review", "sudden loss of vision in right eye", "stroke_signs", "sudden loss of vision", {}),
    ("review", "left arm numbness", "stroke_signs", "left arm numbness", {}),
    ("review", "loss of balance", "stroke_signs", "loss of balance", {}),
    ("headache", "sudden onset thunderclap headache", "thunderclap_headache", "headache", {}),
    ("headache", "worst headache of her life", "thunderclap_headache", "headache", {}),
    ("headache", "headache with neck stiffness and fever", "meningism", "neck stiffness",
     {"temperature_c": 38.5}),
    ("headache", "headache, stiff neck, photophobia", "meningism", "stiff neck", {}),
    ("rash", "non-blanching rash and fever", "meningism", "non-blanching",
     {"age": 5, "temperature_c": 38.6, "heart_rate": 110, "respiratory_rate": 24}),
    ("head injury", "hit head, on warfarin", "head_injury", "head injury", {}),
    ("head injury", "hit head, takes clopidogrel", "head_injury", "head injury", {}),
    ("head injury", "hit head, brief LOC", "head_injury", "head injury", {}),
    ("head injury", "hit head, repeated vomiting", "head_injury", "head injury", {}),
    ("head injury", "hit head, had a seizure afterwards", "head_injury", "head injury", {}),
    ("head injury", "hit head on cupboard", "head_injury", "head injury", {"age": 65}),
    ("fall", "found on the floor by carer, unwitnessed fall", "head_injury",
     "found on the floor", {"age": 70}),
    ("fall", "long lie on the floor overnight", "head_injury", "long lie", {"age": 70}),
    ("fall", "fell, cannot remember what happened", "head_injury",
     "cannot remember what happened", {"age": 70}),
    ("fall", "found down, on apixaban", "head_injury", "found down", {"age": 40}),
    ("review", "vomiting blood since this morning", "gi_bleeding", "vomiting blood", {}),
    ("review", "coffee ground vomit", "gi_bleeding", "coffee ground vomit", {}),
    ("review", "black tarry stools for 2 days", "gi_bleeding", "black tarry stools", {}),
    ("review", "threw up blood", "gi_bleeding", "threw up blood", {}),
    ("review", "black poo", "gi_bleeding", "black poo", {}),
    ("rectal bleeding", "bright red blood PR, felt dizzy", "gi_bleeding", "rectal bleeding", {}),
    ("rectal bleeding", "bright red blood PR, on rivaroxaban", "gi_bleeding", "rectal bleeding",
     {}),
    ("suicidal thoughts", "has a plan to hang himself", "self_harm", "suicidal", {}),
    ("review", "homicidal ideation towards neighbour", "self_harm", "homicidal", {}),
    ("overdose", "took 30 paracetamol tablets, wanted to die", "self_harm", "overdose", {}),
    ("review", "tried to hang herself", "self_harm", "tried to hang", {}),
    ("testicular pain", "sudden onset left testicular pain 1 hour ago", "testicular_torsion",
     "testicular pain", {"age": 15}),
    ("abdominal pain", "sudden severe abdominal pain", "aortic_event", "abdominal pain",
     {"age": 51}),
    ("back pain", "sudden severe back pain, fainted", "aortic_event", "back pain", {"age": 45}),
    ("chest pain", "tearing chest pain going through to the back", "aortic_event", "chest pain",
     {"age": 50}),
    ("review", "post-ictal, drowsy", "seizure", "post-ictal", {}),
    ("MVC", "vehicle rollover, driver ejected", "high_risk_mechanism", "rollover", {}),
    ("trauma", "pedestrian struck by car", "high_risk_mechanism", "pedestrian struck", {}),
    ("trauma", "cyclist hit by a car", "high_risk_mechanism", "cyclist hit", {}),
    ("stab wound", "stab wound to the abdomen", "high_risk_mechanism", "stab wound", {}),
    ("review", "mum says baby is mottled", "infant_concern", "mottled", INFANT),
    ("review", "not feeding since this morning", "infant_concern", "not feeding", INFANT),
    ("review", "missed dialysis yesterday", "esi_high_risk", "missed dialysis", {}),
    ("review", "sickle cell crisis", "esi_high_risk", "sickle cell crisis", {}),
    ("review", "major bleeding, now controlled", "controlled_bleeding",
                 "now controlled", {}),
    ("review", "tourniquet applied by paramedics for arterial bleed",
                 "controlled_bleeding", "tourniquet", {}),
    ("review", "arterial bleeding from wrist, controlled with a tourniquet",
                 "controlled_bleeding", "controlled with a tourniquet", {}),
    ("overdose", "unknown amount", "self_harm", "overdose", {}),
    ("overdose", "intentional overdose of paracetamol", "self_harm", "overdose", {}),
    ("review", "cut wrists with a razor", "self_harm", "cut wrists", {}),
    ("fall", "fell down 10 stairs", "high_risk_mechanism", "fell down 10 stairs", {}),
]  # fmt: skip


@pytest.mark.parametrize(("complaint", "note", "rule", "evidence", "fields"), LEVEL_2)
def test_level_2_presentations(complaint, note, rule, evidence, fields):
    expect_text(complaint, note, 2, rule, evidence, **fields)


@pytest.mark.parametrize(
    ("note", "fields"),
    [
        ("productive cough, confused", {"temperature_c": 38.4, "consciousness": "C"}),
        ("urinary tract infection", {"heart_rate": 131, "temperature_c": 38.2}),
        ("pneumonia", {"respiratory_rate": 25}),
        ("cellulitis", {"systolic_bp": 90, "diastolic_bp": None}),
        ("mottled skin", {"temperature_c": 35.8}),
        ("no urine for 20 hours", {"temperature_c": 38.5}),
        ("fever", {"age": 4, "temperature_c": 38.5, "heart_rate": 125, "respiratory_rate": 36}),
    ],
)
def test_suspected_sepsis(note, fields):
    expect(assess("fever", note, **fields), 2, "sepsis")


@pytest.mark.parametrize(
    ("note", "fields"),
    [
        ("urinary tract infection", {"heart_rate": 130, "systolic_bp": 150, "temperature_c": 38.2}),
        ("pneumonia", {"respiratory_rate": 24}),
        ("fever", {"age": 4, "temperature_c": 38.5, "heart_rate": 125, "respiratory_rate": 30}),
    ],
)
def test_infection_below_the_ng51_high_risk_criteria_is_not_sepsis(note, fields):
    result = assess("review", note, **fields)
    assert "sepsis" not in fired(result), shown(result)


def test_seizure_back_to_baseline_is_level_3():
    result = assess("review", "had a seizure 20 minutes ago, now back to baseline")
    expect(result, 3, "seizure")


def test_fall_from_height_is_level_2():
    expect(assess("fall", "fell 3 metres from a ladder"), 2, "complaint_high_risk")


@pytest.mark.parametrize(
    ("note", "fields"),
    [
        ("hypoglycaemia, confused", {"consciousness": "C"}),
        ("BGL 2.8, drowsy", {"consciousness": "V"}),
        ("glucose 19 mmol/L, vomiting", {}),
        ("glucose 19 mmol/L, short of breath", {}),
    ],
)
def test_glucose(note, fields):
    expect(assess("review", note, **fields), 2, "glucose")


@pytest.mark.parametrize(
    "note", ["BGL 2.8, alert and chatty", "glucose 18 mmol/L, vomiting", "glucose 19 mmol/L"]
)
def test_glucose_below_the_criteria(note):
    assert "glucose" not in fired(assess("review", note))


# (chief complaint, note, rule that must not fire, case fields)
NOT_ASSERTED = [
    ("review", "denies chest pain", "acs_chest_pain", {"age": 58}),
    ("review", "no chest pain", "acs_chest_pain", {"age": 58}),
    ("review", "return if chest pain", "acs_chest_pain", {"age": 58}),
    ("review", "father had chest pain", "acs_chest_pain", {"age": 58}),
    ("review", "hx of CVA", "stroke_signs", {}),
    ("review", "previous stroke", "stroke_signs", {}),
    ("review", "mother had a stroke", "stroke_signs", {}),
    ("review", "no facial droop, slurred speech, or arm drift", "stroke_signs", {}),
    ("review", "aphasic since her stroke, unchanged", "stroke_signs", {}),
    ("review", "post-ictal, drowsy", "seizing_now", {}),
    ("review", "history of seizures", "seizure", {}),
    ("review", "Had a cardiac arrest in 2015", "arrest", {}),
    ("review", "last admission he was intubated", "arrest", {}),
    ("review", "denies SI/HI", "self_harm", {}),
    ("review", "no haematemesis or melaena", "gi_bleeding", {}),
    ("headache", "headache, no neck stiffness, no photophobia", "meningism", {}),
    ("headache", "return if stiff neck or fever", "meningism", {}),
    ("headache", "gradual onset, usual migraine", "thunderclap_headache", {}),
    ("chest pain", "", "acs_chest_pain", {"age": 29}),
    ("chest pain", "reproducible on palpation, pulled a muscle lifting", "acs_chest_pain",
     {"age": 35}),
    ("head injury", "hit head on cupboard, no LOC, no vomiting", "head_injury", {"age": 40}),
    ("head injury", "hit head on cupboard", "head_injury", {"age": 64}),
    ("fall", "unwitnessed fall, found down", "head_injury", {"age": 64}),
    ("fall", "tripped on the rug, witnessed by daughter, remembers whole event", "head_injury",
     {"age": 70}),
    ("fall", "unwitnessed fall, found down. Examined: no head injury", "head_injury",
     {"age": 70}),
    ("fall", "unwitnessed fall. No head injury on examination.", "head_injury", {"age": 70}),
    ("rectal bleeding", "small amount of bright red blood on the paper, haemorrhoids",
     "gi_bleeding", {}),
    ("testicular pain", "gradual ache in left testicle over a week", "testicular_torsion",
     {"age": 15}),
    ("abdominal pain", "sudden severe abdominal pain", "aortic_event", {"age": 50}),
    ("rash", "blanching rash, fever", "meningism", {"age": 5, "temperature_c": 38.6}),
    ("review", "mum says baby is not feeding", "infant_concern",
     {"age": 1.0, "heart_rate": 110, "respiratory_rate": 30}),
    ("review", "confused as usual", "voice_or_confusion", {"consciousness": None}),
    ("fall", "unwitnessed fall, found down. Head: no injury on examination",
     "head_injury", {"age": 70}),
    ("fall", "found down, head atraumatic", "head_injury", {"age": 80}),
    ("stab wound", "stab wound to the left hand", "high_risk_mechanism", {}),
    ("review", "arterial bleeding from the wrist, now controlled with pressure",
     "uncontrolled_bleeding", {}),
    ("dizzy", "felt faint in the shop, did not pass out", "esi_high_risk", {"age": 78}),
    # A limb without pulses is ischaemia, not an arrest.
    ("leg pain", "cold pale L foot, no pulses palpable, sudden onset 2h", "arrest", {"age": 76}),
    ("review", "pulseless R leg since this morning", "arrest", {"age": 70}),
    ("syncope", "collapsed at the gym, back to normal at once", "esi_high_risk", {"age": 40}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("complaint", "note", "rule", "evidence", "level"),
    [
        # A penetrating wound with no site written, or one on the trunk, counts.
        ("stab wound", "", "high_risk_mechanism", "stab wound", 2),
        ("stab wound", "stab wound to the left flank", "high_risk_mechanism", "stab wound", 2),
        # Gunshot wounds count wherever they are (the ESI handbook: a leg wound is level 2).
        ("review", "gunshot wound to the left thigh", "high_risk_mechanism", "gunshot wound", 2),
        # Bleeding that is still going on stays level 1 whatever else the note says.
        ("review", "arterial bleeding from the thigh, spurting despite tourniquet",
         "uncontrolled_bleeding", "arterial bleeding", 1),
        ("review", "massive bleeding, not controlled with pressure", "uncontrolled_bleeding",
         "massive bleeding", 1),
        ("review", "bleeding won't stop, now controlled?", "uncontrolled_bleeding",
         "bleeding won't stop", 1),
    ],
)  # fmt: skip
def test_injury_and_bleeding_boundaries(complaint, note, rule, evidence, level):
    expect_text(complaint, note, level, rule, evidence)


@pytest.mark.parametrize(("complaint", "note", "rule", "fields"), NOT_ASSERTED)
def test_not_asserted_now_does_not_fire(complaint, note, rule, fields):
    result = assess(complaint, note, **fields)
    assert rule not in fired(result), shown(result)


def test_negated_red_flags_leave_normal_vitals_at_4():
    result = assess("review", "Denies chest pain, SOB or syncope.", age=58)
    assert result.acuity == 4, shown(result)
