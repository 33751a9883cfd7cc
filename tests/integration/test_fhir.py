"""FHIR R4 out over the API, on SQLite and PostgreSQL: intake -> (worker) -> Bundle, every
resource parsed back with fhir.resources; the codes a record system reads; preliminary until
a clinician sets the level; re-triage; who may read it."""

from __future__ import annotations

import json

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.riskassessment import RiskAssessment
from sqlalchemy import select

from shared.db import AuditEvent
from tests.conftest import case_body
from tests.support.cases import submit, wait_analyzed

LOINC, SNOMED = "http://loinc.org", "http://snomed.info/sct"
NEWS2 = "1104051000000101"
NEWS2_PARTS = {
    "1104301000000104", "1104311000000102", "1104321000000108", "1104331000000105",
    "1104341000000101", "1104351000000103", "1104361000000100", "1104371000000107",
}  # fmt: skip
RISK_PROBABILITY = "http://terminology.hl7.org/CodeSystem/risk-probability"


def fhir(client, token, public_id):
    response = client.get(
        f"/api/v1/cases/{public_id}/fhir", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/fhir+json"
    return Bundle.model_validate_json(response.get_data())  # every resource validated


def resources(bundle, kind):
    return [e.resource for e in bundle.entry if isinstance(e.resource, kind)]


def codes(concept, system):
    return {c.code for c in concept.coding or [] if c.system == system}


def by_loinc(bundle, code):
    return [o for o in resources(bundle, Observation) if code in codes(o.code, LOINC)]


def news2_of(bundle):
    return [o for o in resources(bundle, Observation) if NEWS2 in codes(o.code, SNOMED)]


def risk_of(bundle):
    (risk,) = resources(bundle, RiskAssessment)
    return risk


def test_intake_analysis_bundle_validates_with_the_right_codes(
    client, staff, sessions, settings, worker
):
    worker.start()
    body = case_body("high", patient_ref="MRN-4711")
    body["vitals"]["diastolic_bp"] = 61
    case = submit(client, staff["nurse"].token, body)["id"]
    wait_analyzed(sessions, [case])
    bundle = fhir(client, staff["nurse"].token, case)
    assert bundle.type == "collection" and bundle.identifier.value == case
    urls = [e.fullUrl for e in bundle.entry]
    assert len(set(urls)) == len(urls) and all(u.startswith("urn:uuid:") for u in urls)
    raw = bundle.model_dump_json()
    # Patient by identifier only; nothing invented; NEWS2 is not LOINC 88330-6.
    assert '"Patient"' not in raw.replace('"type":"Patient"', "")
    assert "birthDate" not in raw and '"name"' not in raw and "88330-6" not in raw
    for resource in [*resources(bundle, Observation), risk_of(bundle)]:
        assert resource.subject.identifier.system == settings.fhir_patient_system
        assert resource.subject.identifier.value == "MRN-4711"

    (hr,) = by_loinc(bundle, "8867-4")
    assert hr.valueQuantity.value == 132 and hr.valueQuantity.code == "/min"
    assert hr.meta.profile == ["http://hl7.org/fhir/StructureDefinition/heartrate"]
    assert {c.code for c in hr.category[0].coding} == {"vital-signs"}
    (rr,) = by_loinc(bundle, "9279-1")
    assert rr.valueQuantity.value == 28
    (spo2,) = by_loinc(bundle, "2708-6")
    assert codes(spo2.code, LOINC) == {"2708-6", "59408-5"} and spo2.valueQuantity.value == 93
    (temp,) = by_loinc(bundle, "8310-5")
    assert str(temp.valueQuantity.value) == "39.4" and temp.valueQuantity.code == "Cel"
    (bp,) = by_loinc(bundle, "85354-9")
    parts = {next(iter(codes(c.code, LOINC))): c.valueQuantity.value for c in bp.component}
    assert parts == {"8480-6": 100, "8462-4": 61}
    assert bp.component[0].valueQuantity.code == "mm[Hg]"

    (news2,) = news2_of(bundle)
    shown = client.get(
        f"/api/v1/cases/{case}", headers={"Authorization": f"Bearer {staff['nurse'].token}"}
    ).get_json()
    assert news2.valueInteger == shown["result"]["assessment"]["news2"]["total"] > 0
    assert {c.code for c in news2.category[0].coding} == {"survey"}
    sub = {next(iter(codes(c.code, SNOMED))): c.valueInteger for c in news2.component}
    assert set(sub) <= NEWS2_PARTS and len(sub) == 7
    assert sum(v for v in sub.values() if v is not None) == news2.valueInteger
    assert sub["1104351000000103"] == 3  # pulse 132
    vitals = {e.fullUrl for e in bundle.entry if e.resource in (hr, rr, spo2, temp, bp)}
    assert {r.reference for r in news2.derivedFrom} == vitals

    risk = risk_of(bundle)
    assert risk.status == "preliminary"
    news2_url = next(e.fullUrl for e in bundle.entry if e.resource is news2)
    assert [b.reference for b in risk.basis] == [news2_url]
    quality = risk.prediction[0].qualitativeRisk
    assert codes(quality, RISK_PROBABILITY) == {"high"}
    assert codes(quality, settings.fhir_acuity_system) == {str(shown["acuity"])}
    assert "HR 132" in risk.prediction[0].rationale or "132" in risk.prediction[0].rationale
    notes = " ".join(n.text for n in risk.note)
    assert "Decision support only" in notes and shown["result"]["pipeline"] in notes
    with sessions() as session:
        viewed = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "case.viewed").order_by(AuditEvent.id)
        ).all()
    assert [e.detail for e in viewed] == [{"format": "fhir"}, {}]


def test_clinician_override_makes_it_final_and_retriage_adds_a_measurement(client, staff, settings):
    nurse, clinician = staff["nurse"].token, staff["clinician"].token
    case = submit(client, nurse, case_body("low"))["id"]  # no patient reference typed
    first = fhir(client, nurse, case)
    risk = risk_of(first)
    assert risk.status == "preliminary" and risk.subject.identifier is None
    assert codes(risk.prediction[0].qualitativeRisk, RISK_PROBABILITY) == {"low"}

    headers = {"Authorization": f"Bearer {clinician}"}
    override = {"acuity": 2, "reason": "Looks unwell; silent chest."}
    response = client.post(f"/api/v1/cases/{case}/override", json=override, headers=headers)
    assert response.status_code == 200
    risk = risk_of(fhir(client, nurse, case))
    assert risk.status == "final"
    quality = risk.prediction[0].qualitativeRisk
    assert codes(quality, settings.fhir_acuity_system) == {"2"}
    assert codes(quality, RISK_PROBABILITY) == {"high"}
    assert any("silent chest" in n.text for n in risk.note)
    assert risk.performer.display == f"clinician {staff['clinician'].username}"

    retriage = {"vitals": {"heart_rate": 124, "spo2": 90}, "note": "worse"}
    response = client.post(f"/api/v1/cases/{case}/observations", json=retriage, headers=headers)
    assert response.status_code == 202
    withdraw = {"acuity": None, "reason": "Engine level stands."}
    response = client.post(f"/api/v1/cases/{case}/override", json=withdraw, headers=headers)
    assert response.status_code == 200
    bundle = fhir(client, nurse, case)
    assert risk_of(bundle).status == "preliminary"
    assert [o.valueQuantity.value for o in by_loinc(bundle, "8867-4")] == [72, 124]
    first_news2, latest = news2_of(bundle)
    assert latest.effectiveDateTime > first_news2.effectiveDateTime
    latest_url = next(e.fullUrl for e in bundle.entry if e.resource is latest)
    assert [b.reference for b in risk_of(bundle).basis] == [latest_url]
    # The re-triage measured only HR and SpO2: the other sub-scores are absent, not zero.
    absent = [c for c in latest.component if c.dataAbsentReason is not None]
    assert len(absent) == 5 and all(c.valueInteger is None for c in absent)
    # A partial total is a preliminary minimum (Quantity comparator >=), never a final score.
    assert latest.status == "preliminary" and latest.valueInteger is None
    assert latest.valueQuantity.comparator == ">=" and latest.interpretation
    assert first_news2.status == "final" and first_news2.valueInteger is not None


def test_unknown_case_and_who_may_read(client, staff, auth):
    case = submit(client, staff["nurse"].token, case_body("low"))["id"]
    missing = client.get(
        "/api/v1/cases/00000000-0000-0000-0000-000000000000/fhir",
        headers={"Authorization": f"Bearer {staff['auditor'].token}"},
    )
    assert missing.status_code == 404 and missing.get_json()["error"] == "No case with this id."
    anonymous = client.get(f"/api/v1/cases/{case}/fhir")
    assert anonymous.status_code == 401
    wrong = client.get(f"/api/v1/cases/{case}/fhir", headers={"Authorization": "Bearer mt_nope"})
    assert wrong.status_code == 401 and "Unknown" in wrong.get_json()["error"]
    auth.login(staff["clinician"].username)  # logged-in staff read it with their session
    page = client.get(f"/api/v1/cases/{case}/fhir")
    assert page.status_code == 200 and json.loads(page.data)["resourceType"] == "Bundle"


def test_a_user_who_must_change_the_password_is_refused(client, staff, sessions):
    from shared.db import User

    case = submit(client, staff["nurse"].token, case_body("low"))["id"]
    with sessions.begin() as session:
        user = session.scalar(select(User).where(User.username == staff["clinician"].username))
        user.must_change_password = True
    response = client.get(
        f"/api/v1/cases/{case}/fhir",
        headers={"Authorization": f"Bearer {staff['clinician'].token}"},
    )
    assert response.status_code == 403 and "password" in response.get_json()["error"]
