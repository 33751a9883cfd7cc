"""Every rule of the table (shared.clinical.rules.RULES) fires for at least one case."""

from __future__ import annotations

import pytest

from shared.clinical.rules import RULES
from tests.unit.clinical.cases import assess, shown

INFANT = {"age": 0.5, "heart_rate": 130, "respiratory_rate": 35}
PREGNANT = {"age": 28, "sex": "female", "pregnant": True}
NO_VITALS = {"heart_rate": None, "respiratory_rate": None, "spo2": None, "systolic_bp": None,
             "diastolic_bp": None}  # fmt: skip

# rule id -> (level, chief complaint, note, case fields)
TABLE: dict[str, tuple[int, str, str, dict]] = {
    "vitals_not_documented": (4, "review", "", NO_VITALS),
    "fever_sirs": (2, "fever", "", {"temperature_c": 38.5, "heart_rate": 95, "respiratory_rate": 22}),
    "fever_immunosuppressed": (2, "fever", "on chemotherapy", {"temperature_c": 38.2}),
    "infant_fever": (2, "fever", "", {"age": 0.2, "temperature_c": 38.0}),
    "neonate": (2, "review", "", {"age": 20 / 365.25, "temperature_c": 35.9}),
    "pregnancy_blood_pressure": (2, "headache", "", {**PREGNANT, "systolic_bp": 160}),
    "pregnancy_hypotension": (2, "dizzy", "", {**PREGNANT, "systolic_bp": 90, "diastolic_bp": 50}),
    "pregnancy_bleeding": (2, "vaginal bleeding", "24 weeks pregnant", PREGNANT),
    "possible_ectopic": (2, "abdominal pain", "missed period", {"age": 28, "sex": "female"}),
    "hypertension": (2, "headache", "", {"systolic_bp": 230, "diastolic_bp": 120}),
    "pain": (2, "headache", "", {"pain": 9}),
    "unresponsive": (1, "review", "", {"consciousness": "U"}),
    "voice_or_confusion": (2, "review", "", {"consciousness": "V"}),
    "spo2_very_low": (1, "review", "", {"spo2": 85}),
    "spo2_low": (2, "review", "", {"spo2": 90}),
    "respiratory_rate_very_low": (1, "review", "", {"respiratory_rate": 6}),
    "respiratory_rate_high": (2, "review", "", {"respiratory_rate": 34}),
    "shock": (1, "review", "", {"systolic_bp": 70, "diastolic_bp": None}),
    "unstable_heart_rate": (1, "review", "", {"heart_rate": 35, "systolic_bp": 85,
                                              "diastolic_bp": None}),
    "heart_rate_extreme": (2, "review", "", {"heart_rate": 135, "systolic_bp": 150}),
    "hypotension": (2, "review", "", {"systolic_bp": 88, "diastolic_bp": None}),
    "shock_index": (2, "review", "", {"heart_rate": 100, "systolic_bp": 100}),
    "news2": (2, "review", "", {"on_oxygen": True, "spo2": 94, "systolic_bp": 105,
                                "heart_rate": 50, "temperature_c": 35.5, "respiratory_rate": 10}),
    "danger_zone": (2, "review", "", {"heart_rate": 110, "respiratory_rate": 22}),
    "temperature_low": (2, "review", "", {"temperature_c": 31.5}),
    "arrest": (1, "review", "CPR in progress", {}),
    "seizing_now": (1, "review", "actively seizing", {}),
    "uncontrolled_bleeding": (1, "review", "uncontrolled bleeding from the thigh", {}),
    "anaphylaxis": (1, "review", "tongue swelling and hoarse voice after peanuts", {}),
    "respiratory_distress": (1, "review", "silent chest", {}),
    "floppy_infant": (1, "review", "floppy baby", INFANT),
    "acs_chest_pain": (2, "chest pain", "", {"age": 58}),
    "stroke_signs": (2, "review", "facial droop", {}),
    "thunderclap_headache": (2, "headache", "sudden thunderclap headache", {}),
    "meningism": (2, "headache", "stiff neck and photophobia", {}),
    "head_injury": (2, "head injury", "on warfarin", {}),
    "sepsis": (2, "pneumonia", "", {"respiratory_rate": 26}),
    "gi_bleeding": (2, "review", "vomiting blood", {}),
    "self_harm": (2, "suicidal thoughts", "has a plan", {}),
    "testicular_torsion": (2, "testicular pain", "sudden onset testicular pain", {"age": 15}),
    "aortic_event": (2, "chest pain", "tearing chest pain to the back", {"age": 60}),
    "seizure": (2, "review", "post-ictal", {}),
    "high_risk_mechanism": (2, "MVC", "vehicle rollover", {}),
    "glucose": (2, "review", "glucose 25 mmol/L, vomiting", {}),
    "infant_concern": (2, "review", "mottled", INFANT),
    "esi_high_risk": (2, "review", "missed dialysis", {}),
    "complaint_high_risk": (2, "fall", "fell 3 metres from a ladder", {}),
    "expected_resources": (3, "abdominal pain", "", {}),
}  # fmt: skip


def test_the_table_covers_every_rule():
    assert set(TABLE) == set(RULES)


@pytest.mark.parametrize("rule", sorted(TABLE))
def test_each_rule_fires_at_its_level(rule):
    level, complaint, note, fields = TABLE[rule]
    result = assess(complaint, note, **fields)
    assert any(r.rule == rule and r.acuity == level for r in result.reasons), shown(result)
    assert result.acuity <= level, shown(result)


def test_every_complaint_that_stands_for_a_finding_names_real_ones():
    from shared.clinical.facts import COMPLAINT_FINDINGS, ESCALATING
    from shared.nlp.complaints import get_vocabulary
    from shared.nlp.findings import FINDINGS

    complaints = {c.id for c in get_vocabulary().complaints}
    assert set(COMPLAINT_FINDINGS) <= complaints
    assert set(COMPLAINT_FINDINGS.values()) <= set(FINDINGS)
    assert set(ESCALATING) <= set(FINDINGS)
