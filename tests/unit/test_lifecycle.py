"""The lifecycle's pure parts: what each action accepts, readable vital signs, local times,
pertinent negatives, search dates, and the timeline's sentences."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from shared.db.models import AuditEvent
from shared.lifecycle_inputs import NoteIn, ObservationIn, OverrideIn
from shared.lifecycle_search import CaseQuery, _moment
from shared.lifecycle_view import describe, local_time, pertinent_negatives, readable_vitals


def test_readable_vitals_never_show_field_names_or_booleans():
    rows = readable_vitals(
        {"spo2": 91, "spo2_scale2": True, "on_oxygen": False, "systolic_bp": 128,
         "diastolic_bp": 84, "consciousness": "V", "temperature_c": 38.0, "heart_rate": None}
    )  # fmt: skip
    shown = {row["label"]: row["value"] for row in rows}
    assert shown["SpO2"] == "91%, scale 2 (target 88-92%)"
    assert shown["Oxygen"] == "room air"
    assert shown["Blood pressure"] == "128/84 mmHg"
    assert shown["Consciousness (ACVPU)"] == "responds to voice"
    assert shown["Temperature"] == "38 °C"
    assert shown["Heart rate"] == "not documented"
    text = " ".join(f"{r['label']} {r['value']}" for r in rows)
    assert "_" not in text and "True" not in text and "False" not in text and "None" not in text


def test_a_systolic_alone_says_so():
    shown = {r["label"]: r["value"] for r in readable_vitals({"systolic_bp": 88})}
    assert shown["Blood pressure"] == "88 mmHg systolic"


def test_local_time_uses_the_site_zone_and_keeps_the_instant():
    utc = "2026-07-01T12:30:00+00:00"
    assert local_time(utc, "UTC") == "2026-07-01 12:30 UTC"
    assert local_time(utc, "Europe/London") == "2026-07-01 13:30 BST"
    assert local_time(dt.datetime(2026, 1, 1, 23, 0, tzinfo=dt.UTC), "Asia/Kolkata") == (
        "2026-01-02 04:30 IST"
    )
    assert local_time(None, "UTC") == "—"


def test_pertinent_negatives_are_what_the_note_denies_each_once():
    found = pertinent_negatives(
        [
            (
                "note",
                "Chest pain since noon. Denies SOB. No fever, cough or rash. Mother had a stroke.",
            )
        ]
    )
    assert [n["what"].lower() for n in found] == [
        "shortness of breath", "fever", "cough", "rash"
    ]  # fmt: skip
    assert found[0]["cue"] == "Denies" and found[0]["words"] == "SOB"
    assert pertinent_negatives([("note", "Chest pain, short of breath.")]) == []


def test_observation_needs_a_vital_sign_measured_now():
    with pytest.raises(ValidationError, match="at least one vital sign"):
        ObservationIn.model_validate({"vitals": {"spo2_scale2": True}, "note": "feels better"})
    assert ObservationIn.model_validate({"vitals": {"heart_rate": 88}}).note == ""
    with pytest.raises(ValidationError):
        ObservationIn.model_validate({"vitals": {"heart_rate": 88}, "note": "a\x00b"})


@pytest.mark.parametrize(
    "body",
    [{"acuity": 2}, {"acuity": 2, "reason": " ok "}, {"acuity": 0, "reason": "looks unwell"},
     {"acuity": 2, "reason": "x" * 501}, {"reason": "looks unwell"}],
)  # fmt: skip
def test_an_override_needs_a_level_and_a_reason(body):
    with pytest.raises(ValidationError):
        OverrideIn.model_validate(body)


def test_an_override_may_be_withdrawn_with_a_reason():
    assert OverrideIn.model_validate({"acuity": None, "reason": "ECG normal"}).acuity is None
    with pytest.raises(ValidationError):
        NoteIn.model_validate({"text": "   "})


def test_a_search_date_is_the_whole_day_in_the_site_zone():
    day = dt.date(2026, 3, 1)
    assert _moment(day, "Asia/Kolkata", end=False) == dt.datetime(
        2026, 2, 28, 18, 30, tzinfo=dt.UTC
    )
    assert _moment(day, "UTC", end=True) == dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    stamped = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
    assert _moment(stamped, "Asia/Kolkata", end=False) == stamped  # a zone given is kept
    assert CaseQuery.model_validate({"level": "", "since": ""}).level is None
    with pytest.raises(ValidationError):
        CaseQuery.model_validate({"per_page": 201})


def test_timeline_sentences():
    def event(action, **detail):
        return AuditEvent(actor="dr.lee", action=action, detail=detail)

    assert describe(event("case.overridden", acuity=2, engine_acuity=4, reason="grey"), {}) == (
        "Acuity overridden by dr.lee to 2 emergent (engine 4 less-urgent): grey"
    )
    assert describe(event("case.escalated", from_acuity=4, to_acuity=2), {}) == (
        "Escalated: 4 less-urgent → 2 emergent"
    )
    assert describe(event("case.note_added", note_id=7), {7: "Bed 4"}) == "Note by dr.lee: Bed 4"
    assert describe(event("case.disposed", disposition="left_without_being_seen"), {}) == (
        "Disposition by dr.lee: left without being seen"
    )
