"""The triage vignettes (tests/data/vignettes.jsonl) are well formed and cover every complaint
group, every acuity level and every rule of the clinical reference (CLINICAL.md v2)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from shared.schemas import CaseIn

PATH = Path(__file__).resolve().parents[1] / "data" / "vignettes.jsonl"
GROUPS = {
    "cardiovascular", "ENT ears", "ENT mouth/throat/neck", "ENT nose", "environmental",
    "gastrointestinal", "genitourinary", "mental health", "neurologic",
    "obstetrics/gynaecology", "ophthalmology", "orthopaedic", "respiratory", "skin",
    "substance misuse", "trauma", "general and minor",
}  # fmt: skip
EXTRA = {"id": str, "expected_acuity": int, "rule": str, "group": str, "style": str}
CASE_FIELDS = set(CaseIn.model_fields)

# Each rule of CLINICAL.md v2, as the words a vignette's "rule" uses for it.
RULES = [
    # level 1
    "AVPU P", "AVPU U", "GCS 3-9", "SpO2 < 90% (scale 1)", "SpO2 < 80% on scale 2",
    "respiratory rate <= 8", "severe respiratory distress", "silent chest", "cyanosed",
    "agonal breathing", "stridor with distress", "adult systolic < 80",
    "poor perfusion", "oximeter that cannot read", "PALS", "term neonate systolic < 60",
    "infant 1-12 months systolic < 70", "adult pulse <= 40 with systolic <= 90",
    "adult pulse > 150 with altered consciousness", "cardiac arrest, CPR", "pulseless",
    "apnoeic", "intubated", "seizing now", "uncontrolled major bleeding",
    "anaphylaxis with airway", "anaphylaxis with breathing", "anaphylaxis with circulation",
    "limp, floppy",
    # level 2: vital signs and scores
    "AVPU V", "GCS 10-13", "new confusion", "SpO2 90-91%", "scale 2 SpO2 80-83%",
    "NEWS2 >= 7", "shock index >= 1.0", "moderate respiratory distress",
    "respiratory rate > 30", "recession in a child", "two danger-zone vital",
    "adult systolic <= 90", "adult pulse <= 40", "adult pulse >= 131",
    "hypertension with symptoms: systolic >= 220", "diastolic >= 130",
    "HR > 90 and RR > 20", "immunosuppression (chemotherapy)", "immunosuppression (transplant)",
    "immunosuppression (long-term steroids)", "temperature < 32.0",
    # level 2: age and pregnancy
    "under 3 months with temperature >= 38.0", "under 28 days with temperature < 36.0",
    "under 28 days with poor feeding and lethargy", "pregnancy: systolic >= 160",
    "pregnancy: diastolic >= 110", "headache and visual disturbance",
    "right upper quadrant pain", "systolic >= 140 with seizure", "pregnancy: systolic <= 90",
    "vaginal bleeding from 20 weeks", "abdominal pain in early or suspected pregnancy",
    "fainting in early pregnancy", "postpartum",
    # pain
    "acute central pain 8-10", "acute central pain 4-7", "acute central pain 1-3",
    "acute peripheral pain 8-10", "acute peripheral pain 4-7", "peripheral pain 1-3",
    "chronic central pain", "chronic peripheral pain", "severe = 8-10",
    "worst ever is acute",
    # high-risk presentations
    "ACS", "stroke sign", "thunderclap", "meningism", "non-blanching rash with fever",
    "head injury on an anticoagulant", "head injury with loss of consciousness",
    "head injury with repeated vomiting", "head injury at age >= 65", "unwitnessed fall",
    "suspected sepsis", "major bleeding that is controlled", "vomiting blood",
    "coffee-ground", "melaena", "rectal bleeding with dizziness",
    "anaphylaxis without level-1 signs", "suicidal with a plan", "self-harm with lethal means",
    "homicidal", "overdose with intent", "overdose of an unknown amount",
    "sudden testicular pain", "aortic", "tearing chest pain", "seizure within the last hour",
    "fall > 1 m", "fall > 5 stairs", "vehicle rollover", "pedestrian struck",
    "cyclist struck", "penetrating injury to the abdomen", "penetrating injury to the neck",
    "hypoglycaemia with altered consciousness", "ketoacidosis", "febrile infant",
    "parent reports a mottled infant",
    # level 3
    "NEWS2 5-6", "NEWS2 single parameter scoring 3", "one danger-zone vital",
    "shock index > 0.9", "temperature 32.0-35.0", "fever >= 38.0 and HR > 90",
    "fever >= 38.0 with RR > 20", "3-36 months with temperature >= 39.0",
    "pregnancy with systolic >= 140 and no symptoms", "hypertension >= 220 without symptoms",
    "200-219 / 110-129 with symptoms", "110-129 diastolic with symptoms",
    "back to baseline after a first seizure",
    # levels 4 and 5, missing and conflicting data
    "fever >= 38.0 in a well adult", "no vital signs documented", "some vital signs documented",
    "level 4: no rule fires", "prescription request", "certificate", "dressing change",
    "suture removal", "wound check", "minor cold", "sore throat in a well adult",
    "small rash", "insect bite", "skin tear", "splinter", "medication question",
    "test results", "systolic above 159", "diastolic 100", "systolic 98",
    "note value conflicting with the field", "earlier note value yields",
    "scale 2: 88-92% at target", "Fahrenheit",
    # what must not count
    "history", "family history", "hypothetical", "negated", "baseline",
]  # fmt: skip


def _load() -> list[dict[str, Any]]:
    return [json.loads(line) for line in PATH.read_text(encoding="utf-8").splitlines() if line]


@pytest.fixture(scope="module")
def vignettes() -> list[dict[str, Any]]:
    return _load()


def test_every_line_is_json_with_nothing_blank() -> None:
    lines = PATH.read_text(encoding="utf-8").splitlines()
    assert all(line.strip() for line in lines), "blank line in the file"
    for number, line in enumerate(lines, start=1):
        assert isinstance(json.loads(line), dict), f"line {number} is not an object"


@pytest.mark.parametrize("row", _load(), ids=lambda row: row.get("id", "?"))
def test_vignette_is_a_valid_case_with_its_labels(row: dict[str, Any]) -> None:
    assert set(row) == CASE_FIELDS - {"patient_ref"} | set(EXTRA), set(row) ^ set(EXTRA)
    CaseIn.model_validate({k: v for k, v in row.items() if k in CASE_FIELDS})
    for key, kind in EXTRA.items():
        assert isinstance(row[key], kind) and (kind is int or row[key].strip()), key
    assert 1 <= row["expected_acuity"] <= 5
    assert row["group"] in GROUPS
    assert row["chief_complaint"].strip() and len(row["note"]) <= 20_000


def test_at_least_150_with_unique_ids(vignettes: list[dict[str, Any]]) -> None:
    ids = [row["id"] for row in vignettes]
    assert len(vignettes) >= 150
    assert [i for i, n in Counter(ids).items() if n > 1] == []


def test_every_group_and_every_level_present(vignettes: list[dict[str, Any]]) -> None:
    assert {row["group"] for row in vignettes} == GROUPS
    assert {row["expected_acuity"] for row in vignettes} == {1, 2, 3, 4, 5}


def test_every_rule_of_the_reference_is_covered(vignettes: list[dict[str, Any]]) -> None:
    rules = " | ".join(row["rule"] for row in vignettes).lower()
    assert [rule for rule in RULES if rule.lower() not in rules] == []


def test_boundary_twins_differ_from_their_partner(vignettes: list[dict[str, Any]]) -> None:
    """A vignette written as the other side of a boundary names its partner, which exists
    and has a different expected level."""
    by_id = {row["id"]: row for row in vignettes}
    twins = [(row, re.search(r"boundary twin of (\S+)", row["style"])) for row in vignettes]
    pairs = [(row, by_id.get(m.group(1))) for row, m in twins if m]
    assert len(pairs) >= 8
    for row, partner in pairs:
        assert partner is not None, row["id"]
        assert partner["expected_acuity"] != row["expected_acuity"], row["id"]


def test_level_5_only_with_the_four_vital_signs(vignettes: list[dict[str, Any]]) -> None:
    """CLINICAL.md: level 5 needs HR, RR, SpO2 and BP documented (fields here; a note may
    hold them too, so at least the typed or written values must be there)."""
    written = re.compile(r"\b(?:HR|RR|SpO2|sats|BP)\b", re.IGNORECASE)
    for row in vignettes:
        if row["expected_acuity"] == 5:
            vitals = row["vitals"]
            typed = all(
                vitals.get(k) is not None
                for k in ("heart_rate", "respiratory_rate", "spo2", "systolic_bp")
            )
            assert typed or len(written.findall(row["note"])) >= 4, row["id"]


def test_no_vitals_never_level_5(vignettes: list[dict[str, Any]]) -> None:
    vital = re.compile(r"\b(?:HR|RR|SpO2|sats|BP|pulse)\b", re.IGNORECASE)
    for row in vignettes:
        if not row["vitals"] and not vital.search(row["note"]):
            assert row["expected_acuity"] <= 4, row["id"]
