"""The seed API and the batch command: the whole text engine on whole notes."""

from __future__ import annotations

import json

from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.cli import main
from shared.pipelines import MultimodalPipeline
from shared.pipelines.text import analyze_case_text
from shared.schemas import CaseIn

NOTE = (
    "67F PMH HTN, DM2. c/o crushing chest pain and SOB x2h, denies fever. "
    "BP 88/50 HR 128 RR 26 sats 90% on RA. Takes metformin. NKDA. Mother had a stroke."
)


def test_analyze_clinical_text_fills_the_seed_schema():
    out = MultimodalPipeline().analyze_clinical_text(NOTE, patient_age=67)
    assert out.risk_level.value == "high"
    assert out.summary.startswith("67-year-old;")
    assert "text mentions high-risk findings: crushing chest pain" in out.summary
    assert out.extracted_symptoms == ["chest pain", "shortness of breath"]
    assert out.extracted_conditions == ["hypertension", "diabetes"]  # not the mother's stroke
    assert out.medications_mentioned == ["Metformin"]
    assert out.allergies == ["no known allergies"]
    no_vitals = NOTE.replace("BP 88/50 HR 128 RR 26 sats 90% on RA. ", "")
    assert MultimodalPipeline().analyze_clinical_text(no_vitals, 67).confidence < out.confidence
    assert out.assessment.acuity == 2
    assert out.recommendations[0].startswith("Consider immediate review by a clinician")
    assert "clinical validation" in out.safety_disclaimer
    red_flag = next(r for r in out.assessment.reasons if r.rule == "acs_chest_pain")
    assert NOTE[red_flag.start : red_flag.end] == "crushing chest pain"
    assert out.assessment.qsofa is not None and out.assessment.qsofa.positive


def test_unknown_age_lowers_confidence_and_says_so():
    out = MultimodalPipeline().analyze_clinical_text("mild cough")
    assert out.summary.startswith("age not given (adult criteria assumed)")
    assert out.confidence < 0.7
    assert any(r.startswith("Caution") for r in out.recommendations)
    assert out.risk_level.value == "low"


def test_batch_command_keeps_going_past_bad_lines(tmp_path):
    source = tmp_path / "cases.jsonl"
    source.write_text(
        json.dumps({"age_years": 67, "chief_complaint": "chest pain", "note": NOTE}) + "\n"
        "this is not json\n"
        + json.dumps({"age_years": 500, "chief_complaint": "x"}) + "\n\n"
        + json.dumps({"age_years": 30, "chief_complaint": "ankle", "note": "denies LOC"}) + "\n"
    )  # fmt: skip
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(main, ["analyze", "--in", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["line"] for line in lines] == [1, 2, 3, 5]
    assert lines[0]["result"]["risk_level"] == "high"
    assert "not valid JSON" in lines[1]["error"]
    assert "age_years" in lines[2]["error"]
    assert lines[3]["result"]["risk_level"] == "low"
    table = result.output.splitlines()
    assert lines[0]["result"]["assessment"]["acuity"] <= 2
    emergent = [r for r in table if r.startswith(("1 resuscitation", "2 emergent")) and "high" in r]
    assert sum(int(r.split()[-1]) for r in emergent) == 1
    assert [r.split()[-1] for r in table if r.startswith("5 non-urgent")] == ["0"]
    assert [r.split()[-1] for r in table if r.startswith("errors")] == ["2"]


def test_batch_command_reads_csv_with_a_column_mapping(tmp_path):
    source = tmp_path / "cases.csv"
    source.write_text('Age,Complaint,Notes,HR\n71,SOB,"SOB on exertion, sats 89% on RA",112\n')
    out = tmp_path / "out.jsonl"
    args = [
        "analyze",
        "--csv",
        "--in",
        str(source),
        "--out",
        str(out),
        "--map",
        "age_years=Age",
        "--map",
        "chief_complaint=Complaint",
        "--map",
        "note=Notes",
        "--map",
        "heart_rate=HR",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    (line,) = [json.loads(x) for x in out.read_text().splitlines()]
    assert line["line"] == 2
    vitals = {v["field"]: v["value"] for v in line["result"]["assessment"]["note_vitals"]}
    assert vitals == {"spo2": 89, "on_oxygen": False}


def test_batch_command_rejects_an_unknown_mapping(tmp_path):
    source = tmp_path / "cases.csv"
    source.write_text("Age\n40\n")
    result = CliRunner().invoke(main, ["analyze", "--csv", "--in", str(source), "--out",
                                       str(tmp_path / "o"), "--map", "shoe_size=Age"])  # fmt: skip
    assert result.exit_code != 0 and "not a case field or vital sign" in result.output


# Any text CaseIn accepts: everything but control characters (tabs and new lines allowed).
NOTE_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs")) | st.sampled_from("\n\t"),
    max_size=4000,
)


ALL_VITALS = {"respiratory_rate": 16, "spo2": 98, "on_oxygen": False, "systolic_bp": 124,
              "heart_rate": 72, "consciousness": "A", "temperature_c": 36.8}  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(NOTE_TEXT, st.floats(0, 120))
def test_any_note_is_analyzed_without_crashing(note, age):
    out = analyze_case_text(CaseIn(age_years=age, chief_complaint="x", note=note))
    assert out.risk_level.value in {"low", "medium", "high"}
    if not out.assessment.note_vitals:  # no vital signs at all: less sure than with all
        complete = CaseIn(age_years=age, chief_complaint="x", note=note, vitals=ALL_VITALS)
        assert out.confidence < analyze_case_text(complete).confidence


def test_abbreviations_nurses_use():
    out = MultimodalPipeline().analyze_clinical_text("c/o N/V and SOB. PMH HTN, COPD.", 50)
    assert out.extracted_symptoms == ["nausea and vomiting", "shortness of breath"]
    assert out.extracted_conditions == ["hypertension", "COPD"]
