"""The worker's calibration step against a real database, without the queue: a model that
lacks a feature of the case leaves the level alone and says why; with no active model
nothing is added; the active model is read once and a newly activated one replaces it."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from shared.calibration.apply import calibrate
from shared.calibration.features import feature_names
from shared.calibration.store import activate
from shared.db import Case
from shared.db.models import CalibrationModel
from shared.pipelines.text import ClinicalTextPipeline
from shared.schemas import Acuity, CaseIn
from tests.conftest import PASSWORD, case_body
from tests.support.cases import submit

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def stored_model(session, version, features, intercept):
    model = {
        "kind": "logistic",
        "intercept": intercept,
        "coefficients": dict.fromkeys(features, 0.0),
        "means": dict.fromkeys(features, 0.0),
    }
    row = CalibrationModel(
        version=version, created_by="test", trained_since=NOW,
        trained_until=NOW, data_hash="0" * 64,
        n_cases=1000, n_events=150, features=features, model=model, metrics={},
        sklearn_version="1.9",
    )  # fmt: skip
    session.add(row)
    return row


def test_missing_feature_no_model_and_a_new_active_model(client, staff, sessions, settings):
    public_id = submit(client, staff["nurse"].token, case_body("medium"))["id"]
    with sessions() as session:
        case = session.scalar(select(Case).where(Case.public_id == public_id))
        result = ClinicalTextPipeline().analyze(CaseIn.model_validate(case_body("medium")))
        assert calibrate(session, case, result, Acuity.URGENT, settings).view is None

    with sessions.begin() as session:
        stored_model(session, 1, [*feature_names()[:5], "rule:a_rule_since_removed"], 5.0)
        stored_model(session, 2, list(feature_names()), 5.0)  # probability near 1
    with sessions.begin() as session:
        activate(session, 1, admin="admin1", password=PASSWORD, settings=settings)
    with sessions() as session:
        case = session.scalar(select(Case).where(Case.public_id == public_id))
        refused = calibrate(session, case, result, Acuity.URGENT, settings)
        assert refused.acuity == Acuity.URGENT and refused.reason is None
        assert refused.version == 1 and "rule:a_rule_since_removed" in refused.view["error"]
        assert "probability" not in refused.payload(result).get("calibration", {})

    with sessions.begin() as session:
        activate(session, 2, admin="admin1", password=PASSWORD, settings=settings)
    with sessions() as session:
        case = session.scalar(select(Case).where(Case.public_id == public_id))
        nudged = calibrate(session, case, result, Acuity.URGENT, settings)
        assert nudged.acuity == Acuity.EMERGENT and nudged.version == 2
        payload = nudged.payload(result)
        assert payload["assessment"]["reasons"][0]["rule"] == "site_calibration"
        assert payload["acuity"] == int(result.acuity)  # the pipeline's own level kept
        top = calibrate(session, case, result, Acuity.RESUSCITATION, settings)
        assert top.acuity == Acuity.RESUSCITATION and top.reason is None  # nothing above 1
        assert sum(session.scalars(select(CalibrationModel.active))) == 1
