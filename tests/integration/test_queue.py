"""The queue for real: Redis priorities, a real Celery worker, one build, idempotent results."""

from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import select

from shared.db import Case, Result
from shared.queue import PRIORITY, TASK_ANALYZE, Dispatcher, make_celery
from shared.schemas import Acuity
from tests.conftest import case_body
from tests.support.acuity import EngineFindings
from tests.support.cases import results_per_case, submit, wait_analyzed
from tests.support.services import wait_for


def test_level_1_case_jumps_queued_level_3_and_5_cases(
    client, staff, sessions, worker, monkeypatch
):
    findings = EngineFindings()
    findings.set("suture removal", acuity=Acuity.NON_URGENT)
    findings.set("unresponsive", acuity=Acuity.RESUSCITATION)
    findings.install(monkeypatch)
    token = staff["nurse"].token
    waiting = []
    for _ in range(20):
        five = submit(client, token, case_body("low", chief_complaint="suture removal"))
        three = submit(client, token, case_body("medium"))
        assert (five["provisional_acuity"], three["provisional_acuity"]) == (5, 3)
        waiting += [five["id"], three["id"]]
    one = submit(client, token, case_body("low", chief_complaint="unresponsive"))
    assert one["provisional_acuity"] == 1 and one["provisional_risk"] == "high"
    assert one["dispatch"] == "sent"

    worker.start()
    wait_analyzed(sessions, [*waiting, one["id"]], timeout=120)

    with sessions() as session:
        order = session.execute(
            select(Case.public_id, Case.provisional_acuity).order_by(Case.analyzed_at)
        )
        analyzed = [(public_id, int(acuity)) for public_id, acuity in order]
    assert analyzed[0] == (one["id"], 1), "the level-1 case was not analyzed first"
    # Every level 3 before any level 5: the queue ranks by acuity, not by arrival.
    levels = [acuity for _, acuity in analyzed[1:]]
    assert levels == sorted(levels) == [3] * 20 + [5] * 20
    assert set(results_per_case(sessions).values()) == {1}


def test_pipeline_built_once_for_twenty_tasks(client, staff, sessions, worker):
    worker.start()
    ids = [submit(client, staff["nurse"].token, case_body("medium"))["id"] for _ in range(20)]
    wait_analyzed(sessions, ids)
    with sessions() as session:
        payloads = session.scalars(select(Result.payload)).all()
    assert len(payloads) == 20
    assert len({p["worker"]["pipeline_build_id"] for p in payloads}) == 1
    assert len({p["worker"]["pid"] for p in payloads}) == 1
    assert worker.log().count("pipeline clinical-text built in process") == 1


def test_redelivered_task_never_makes_a_second_result(client, staff, sessions, worker, settings):
    case = submit(client, staff["nurse"].token, case_body("high"))
    with sessions() as session:
        case_id = session.scalar(select(Case.id).where(Case.public_id == case["id"]))
    dispatcher = Dispatcher.from_settings(settings)
    for _ in range(3):  # as if Redis redelivered the message three more times
        assert dispatcher.send(case_id, Acuity.EMERGENT)
    worker.start()
    wait_analyzed(sessions, [case["id"]])
    # Let the duplicates drain, then count.
    wait_for(lambda: dispatcher.redis.llen("triage") == 0, 20, "the queue to drain")
    wait_for(lambda: worker.log().count("succeeded") >= 4, 20, "all four deliveries")
    assert results_per_case(sessions) == {case["id"]: 1}


def test_analyzed_case_shows_result_with_model_metadata(client, staff, sessions, worker):
    worker.start()
    case = submit(client, staff["nurse"].token, case_body("high"))
    wait_analyzed(sessions, [case["id"]])
    body = client.get(
        case["url"], headers={"Authorization": f"Bearer {staff['clinician'].token}"}
    ).get_json()
    assert body["status"] == "analyzed"
    assert body["risk_level"] == "high"
    result = body["result"]
    assert result["pipeline"] == "clinical-text"
    assert result["model_ids"] == ["deterministic-clinical-text", "drug-named-entity-recognition"]
    # The pipeline reports the engine's confidence and says why in one sentence.
    assert result["details"]["confidence"] == result["assessment"]["confidence"]
    assert result["assessment"]["confidence_note"].endswith(".")
    assert result["assessment"]["news2"]["band"] == "high"
    assert "clinical validation" in result["safety_disclaimer"]
    assert result["library_versions"]["python"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("acuity", list(Acuity))
def test_our_message_matches_what_celery_itself_writes(settings, redis_server, acuity):
    """The web publishes without a Celery producer; its envelope must stay Celery's."""
    r = redis_server.client()
    make_celery(settings).send_task(
        TASK_ANALYZE, args=[7], queue=settings.queue_name, priority=PRIORITY[acuity], retry=False
    )
    (celery_key,) = [k for k in r.keys("*") if r.type(k) == b"list"]
    theirs = json.loads(r.lpop(celery_key))
    assert Dispatcher.from_settings(settings).send(7, acuity)
    ours = json.loads(r.lpop(celery_key))  # the same list: same priority step

    assert ours.keys() == theirs.keys()
    assert ours["headers"].keys() == theirs["headers"].keys()
    assert ours["properties"].keys() == theirs["properties"].keys()
    for field in ("content-type", "content-encoding"):
        assert ours[field] == theirs[field]
    assert ours["headers"]["task"] == theirs["headers"]["task"]
    assert ours["properties"]["delivery_info"] == theirs["properties"]["delivery_info"]
    assert ours["properties"]["priority"] == theirs["properties"]["priority"]
    assert base64.b64decode(ours["body"]) == base64.b64decode(theirs["body"])
