"""Safety floors on whole cases: the engine must find the urgent patients in our own vignettes
and in the ESI handbook cases (development data beside the repo). A change that starts
missing them fails here, before anyone reads a benchmark."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from shared.clinical.engine import assess_case
from shared.nlp.demographics import read_age, read_pregnancy, read_sex
from shared.schemas import CaseIn

ROOT = Path(__file__).resolve().parents[3]
VIGNETTES = ROOT / "tests" / "data" / "vignettes.jsonl"
ESI = ROOT.parent / "shared" / "data" / "esi_v4_handbook_train.csv"
LABELS = ("expected_acuity", "rule", "group", "style", "id")


def rates(pairs: list[tuple[int, int]]) -> tuple[float, float]:
    """(levels 1-2 found as 1-2, share found less urgent than expected)."""
    urgent = [got for expected, got in pairs if expected <= 2]
    sensitivity = sum(got <= 2 for got in urgent) / len(urgent)
    under = sum(got > expected for expected, got in pairs) / len(pairs)
    return sensitivity, under


def test_vignettes_urgent_patients_are_found_and_few_are_under_triaged() -> None:
    pairs = []
    for line in VIGNETTES.read_text().splitlines():
        item = json.loads(line)
        case = CaseIn(**{k: v for k, v in item.items() if k not in LABELS})
        pairs.append((item["expected_acuity"], int(assess_case(case).acuity)))
    sensitivity, under = rates(pairs)
    assert sensitivity >= 0.95, f"levels 1-2 found as 1-2: {sensitivity:.3f}"
    assert under <= 0.05, f"under-triage: {under:.3f}"


@pytest.mark.skipif(not ESI.exists(), reason="development data ../shared/data not present")
def test_esi_handbook_urgent_patients_are_found() -> None:
    pairs = []
    with ESI.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            text = row["Clinical Vignettes"]
            case = CaseIn(
                age_years=read_age(text) or 40,
                sex=read_sex(text) or "unknown",
                pregnant=bool(read_pregnancy(text)),
                chief_complaint="see note",
                note=text,
            )
            pairs.append((int(row["acuity"]), int(assess_case(case).acuity)))
    sensitivity, under = rates(pairs)
    assert sensitivity >= 0.9, f"levels 1-2 found as 1-2: {sensitivity:.3f}"
    assert under < 0.10, f"under-triage: {under:.3f}"
