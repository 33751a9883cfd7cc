"""The audit trail is a keyed hash chain anchored outside the database: appends stay linked,
and each way a tamperer with database access could hide a change is detected and located."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import stat
import threading

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from shared import audit, audit_anchor
from shared.audit_key import AuditKeyError, audit_key
from shared.db import AuditEvent, AuditHead, Case, Result
from shared.queue import Dispatcher
from tests.conftest import case_body
from tests.support.cases import submit
from worker.reconciler import Reconciler


@pytest.fixture
def key(settings):
    return audit_key(settings)


@pytest.fixture
def reconciler(settings, sessions):
    return Reconciler(sessions, Dispatcher.from_settings(settings), settings)


@pytest.fixture
def analyzed(client, staff, sessions, settings):
    """Two cases through intake and the worker's own analysis code, sealed by the reconciler
    (which appends the head to the anchor file), then a few more events after them."""
    from worker.runtime import build_runtime
    from worker.tasks import run_analysis

    made = [submit(client, staff["nurse"].token, case_body(r)) for r in ("low", "medium")]
    with sessions() as session:
        ids = session.scalars(select(Case.id).order_by(Case.id)).all()
    runtime = build_runtime(settings)
    try:
        for case_id in ids:
            assert run_analysis(runtime, case_id) not in ("failed", "skipped", "missing")
    finally:
        runtime.engine.dispose()
    with sessions.begin() as session:
        for i in range(3):
            audit.record(session, actor="nurse1", action="test.event", detail={"i": i})
    return [c["id"] for c in made]


def run_check(sessions, settings, kept=()):
    with sessions() as session:
        return audit.verify(session, settings, kept)


def seal_all(sessions, settings):
    with sessions() as session:
        return audit.seal_and_anchor(session, settings)


def kinds(check):
    return [p.kind for p in check.problems]


def test_concurrent_appends_keep_one_chain(sessions, key):
    def append(n):
        for i in range(10):
            with sessions.begin() as session:
                audit.record(session, actor=f"t{n}", action="test.event", detail={"i": i})

    threads = [threading.Thread(target=append, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with sessions() as session:
        assert audit.verify_chain(session, key).unsealed == 40
    # Two sealers at once (two workers' reconcilers) still make one chain.
    sealers = [
        threading.Thread(target=lambda: audit.seal(sessions(), key, limit=7)) for _ in range(3)
    ]
    for t in sealers:
        t.start()
    for t in sealers:
        t.join()
    with sessions() as session:
        while audit.seal(session, key):
            pass
        check = audit.verify_chain(session, key)
    assert check.ok and check.keyed and check.events == 40 and check.unsealed == 0


def test_the_key_lives_in_a_private_file_not_in_the_database(settings, sessions, key):
    path = settings.instance_path / "audit_key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert audit_key(settings) == key and len(key) >= 32
    with sessions.begin() as session:
        audit.record(session, actor="a", action="x")
    with sessions() as session:
        audit.seal(session, key)
        dumped = json.dumps([list(map(str, r)) for r in session.execute(select(AuditEvent))])
        dumped += json.dumps([list(map(str, r)) for r in session.execute(select(AuditHead))])
    assert key.decode() not in dumped


def test_a_process_with_another_key_neither_seals_nor_passes(sessions, key):
    with sessions.begin() as session:
        audit.record(session, actor="a", action="x")
    with sessions() as session:
        audit.seal(session, key)
        audit.record(session, actor="a", action="y")
        session.commit()
        with pytest.raises(AuditKeyError, match="MEDTRIAGE_AUDIT_KEY"):
            audit.seal(session, b"another-key-of-at-least-32-characters")
        check = audit.verify_chain(session, b"another-key-of-at-least-32-characters")
    assert not check.ok and check.problems[0].kind == "key" and check.unsealed == 1


def test_intact_trail_passes_with_anchor_and_case_states(analyzed, sessions, settings):
    assert seal_all(sessions, settings) > 0
    anchors, bad = audit_anchor.read(settings.anchor_file)
    assert anchors and not bad
    assert stat.S_IMODE(os.stat(settings.anchor_file).st_mode) == 0o600
    check = run_check(sessions, settings)
    assert check.ok, check.problems
    assert check.cases_checked == 2 and check.anchors_checked >= 1
    with sessions() as session:
        states = session.scalars(select(AuditEvent.state).where(AuditEvent.case_id.is_not(None)))
        assert all(s and s["ref"] in analyzed for s in states)


# --- The tamperer has the database (any row, any SQL) but neither the key nor the anchor.


def test_update_of_one_event_is_found_at_that_event(analyzed, sessions, settings):
    seal_all(sessions, settings)
    with sessions.begin() as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(actor="someone"))
    check = run_check(sessions, settings)
    assert not check.ok and check.first_bad_seq == 3
    assert check.problems[0].kind == "link"
    assert check.problems[0].message == "event 3 was changed after it was sealed"


def test_deleting_the_newest_events_and_rewinding_the_head_is_a_truncation(
    analyzed, sessions, settings
):
    seal_all(sessions, settings)
    with sessions.begin() as session:
        last = session.scalar(select(AuditHead.seq))
        keep = last - 2
        tip = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == keep))
        session.execute(delete(AuditEvent).where(AuditEvent.seq > keep))
        session.execute(update(AuditHead).values(seq=keep, hash=tip))
    check = run_check(sessions, settings)
    assert not check.ok and kinds(check) == ["truncated"]
    assert check.first_bad_seq == keep + 1
    assert f"events {keep + 1} to {last} were deleted" in check.problems[0].message
    assert "audit-anchor.log line" in check.problems[0].message


def test_a_kept_head_finds_a_truncation_when_the_anchor_file_is_gone(analyzed, sessions, settings):
    seal_all(sessions, settings)
    with sessions() as session:
        kept = audit_anchor.parse(audit.printable_head(session).line(), "the kept head")
    with sessions.begin() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.seq == kept.seq))
        tip = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == kept.seq - 1))
        session.execute(update(AuditHead).values(seq=kept.seq - 1, hash=tip))
    settings.anchor_file.unlink()
    without = run_check(sessions, settings)
    assert without.ok and any("no anchor file" in n for n in without.notes)
    check = run_check(sessions, settings, [kept])
    assert not check.ok and kinds(check) == ["truncated"]
    assert check.problems[0].message.startswith(f"the kept head records event {kept.seq}")


def _sha256_link(prev, seq, row):
    stamp = row.at.astimezone(dt.UTC).isoformat()
    body = [prev, seq, row.id, stamp, row.actor, row.action, row.case_id, row.detail]
    raw = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(raw.encode()).hexdigest()


def test_recomputing_the_whole_chain_with_plain_sha256_is_found(analyzed, sessions, settings):
    seal_all(sessions, settings)
    with sessions.begin() as session:
        # Change an event, then re-hash every link the way the old, public chain did.
        session.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(actor="someone"))
        prev = "0" * 64
        for row in session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all():
            row.prev_hash, row.hash = prev, _sha256_link(prev, row.seq, row)
            prev = row.hash
        session.flush()
        session.execute(update(AuditHead).values(hash=prev))
    check = run_check(sessions, settings)
    assert not check.ok and check.first_bad_seq == 1
    assert check.problems[0].message == "event 1 was re-hashed without the key (plain SHA-256)"


def test_a_case_acuity_changed_in_the_database_is_found(analyzed, sessions, settings):
    seal_all(sessions, settings)
    with sessions.begin() as session:
        row = session.scalar(select(Case).where(Case.public_id == analyzed[0]))
        before = int(row.acuity)
        session.execute(
            text("UPDATE cases SET acuity = 1, risk_level = 'high' WHERE public_id = :p"),
            {"p": analyzed[0]},
        )
    check = run_check(sessions, settings)
    assert not check.ok and kinds(check) == ["case"]
    problem = check.problems[0]
    assert problem.case == analyzed[0]
    assert f"acuity was {before}, now 1" in problem.message
    assert "risk level was low, now high" in problem.message


def test_a_result_payload_changed_in_the_database_is_found(analyzed, sessions, settings):
    seal_all(sessions, settings)
    with sessions.begin() as session:
        result = session.scalar(select(Result).join(Case).where(Case.public_id == analyzed[1]))
        payload = dict(result.payload)
        payload["acuity"] = 5
        session.execute(update(Result).where(Result.id == result.id).values(payload=payload))
        result_id = result.id
    check = run_check(sessions, settings)
    assert not check.ok and kinds(check) == ["case"]
    assert check.problems[0].case == analyzed[1]
    assert f"result {result_id}: payload changed" in check.problems[0].message


def test_legitimate_changes_after_sealing_pass(analyzed, client, staff, sessions, settings):
    seal_all(sessions, settings)
    token = staff["clinician"].token
    answer = client.post(
        f"/api/v1/cases/{analyzed[0]}/override",
        json={"acuity": 2, "reason": "looks unwell"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    # Before the reconciler seals the override's event, and after.
    assert run_check(sessions, settings).ok
    seal_all(sessions, settings)
    assert run_check(sessions, settings).ok


def test_the_auditor_sees_each_problem_and_where(analyzed, sessions, settings, client, auth, staff):
    seal_all(sessions, settings)
    auth.login(staff["auditor"].username)
    page = client.get("/audit/").get_data(as_text=True)
    assert "Hash chain intact" in page and "2 cases and their results unchanged" in page
    with sessions.begin() as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(actor="someone"))
        session.execute(
            text("UPDATE cases SET acuity = 1 WHERE public_id = :p"), {"p": analyzed[0]}
        )
    page = client.get("/audit/").get_data(as_text=True)
    assert "hash chain broken at event 3" in page
    assert "event 3 was changed after it was sealed" in page
    assert f'href="/cases/{analyzed[0]}"' in page  # the changed case, if it is in the intact part


# --- Who saw which patient, and from where.


def test_reads_of_a_case_are_events_and_the_board_is_not(analyzed, client, staff, auth, sessions):
    token = staff["clinician"].token
    assert (
        client.get(
            f"/api/v1/cases/{analyzed[0]}", headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 200
    )
    auth.login(staff["nurse"].username)
    assert client.get(f"/cases/{analyzed[1]}").status_code == 200
    for _ in range(3):
        assert client.get("/api/v1/board").status_code in (200, 304)
    assert client.get("/").status_code == 200
    assert client.get("/cases/no-such-case").status_code == 404
    with sessions() as session:
        reads = session.execute(
            select(AuditEvent.actor, AuditEvent.via, Case.public_id)
            .join(Case, Case.id == AuditEvent.case_id)
            .where(AuditEvent.action == "case.viewed")
            .order_by(AuditEvent.id)
        ).all()
        board_events = session.scalar(select(AuditEvent.id).where(AuditEvent.action.like("board%")))
    assert reads == [("clinician1", "api", analyzed[0]), ("nurse1", "form", analyzed[1])]
    assert board_events is None


def test_intake_events_say_api_or_form(client, staff, auth, sessions):
    submit(client, staff["nurse"].token, case_body("low"))
    auth.login(staff["nurse"].username)
    page = client.get("/cases/new").get_data(as_text=True)
    assert "csrf_token" in page
    with sessions() as session:
        vias = session.scalars(
            select(AuditEvent.via)
            .where(AuditEvent.action.in_(["case.submitted", "user.login"]))
            .order_by(AuditEvent.id)
        ).all()
    assert vias == ["api", "form"]


# --- The auditor's page: landing, filters, every page, exports, case links.


@pytest.fixture
def many_events(client, staff, sessions):
    """Two cases and 260 more events from three users over three days."""
    made = [submit(client, staff["nurse"].token, case_body("low")) for _ in range(2)]
    start = dt.datetime(2026, 3, 1, 8, tzinfo=dt.UTC)
    with sessions.begin() as session:
        ids = dict(session.execute(select(Case.public_id, Case.id)).all())
        for i in range(260):
            session.add(
                AuditEvent(
                    at=start + dt.timedelta(minutes=17 * i),
                    actor=("nurse1", "clinician1", "admin1")[i % 3],
                    action="case.viewed" if i % 2 else "test.event",
                    case_id=ids[made[i % 2]["id"]] if i % 2 else None,
                    detail={"i": i},
                )
            )
    return [c["id"] for c in made]


def test_the_auditor_lands_on_the_audit_page(client, auth, staff):
    answer = auth.login(staff["auditor"].username)
    assert answer.status_code == 302
    landed = client.get(answer.headers["Location"])
    assert landed.status_code == 302 and landed.headers["Location"] == "/audit/"
    assert client.get("/audit/").status_code == 200


def test_filters_pages_exports_and_case_links(many_events, client, auth, staff, sessions):
    auth.login(staff["auditor"].username)
    page = client.get("/audit/").get_data(as_text=True)
    with sessions() as session:
        total = session.scalar(select(func.count(AuditEvent.id)))
    assert total > 260  # users and tokens made, two submissions, 260 events, the login
    assert f"{total} events; page 1 of 3" in page
    last = client.get("/audit/?page=3").get_data(as_text=True)
    assert "case.submitted" in last and "page 3 of 3" in last
    short = many_events[1][:8]
    by_case = client.get(f"/audit/?case={short}&action=case.viewed").get_data(as_text=True)
    assert "130 events; page 1 of 2" in by_case  # every odd i
    links = set(re.findall(r'class="case-link" href="([^"]+)"', by_case))
    assert links == {f"/cases/{many_events[1]}"}
    assert client.get(links.pop()).status_code == 200
    narrowed = client.get(
        "/audit/?actor=CLINICIAN1&since=2026-03-02T00:00&until=2026-03-02"
    ).get_data(as_text=True)
    # Events every 17 minutes; every third by clinician1: those on 2 March (UTC).
    with sessions() as session:
        expected = session.scalar(
            select(func.count(AuditEvent.id)).where(
                AuditEvent.actor == "clinician1",
                AuditEvent.at >= dt.datetime(2026, 3, 2, tzinfo=dt.UTC),
                AuditEvent.at < dt.datetime(2026, 3, 3, tzinfo=dt.UTC),
            )
        )
    assert expected and f"{expected} events; page 1 of 1" in narrowed
    export_url = re.search(r'id="export-csv" href="([^"]+)"', narrowed).group(1)
    exported = client.get(export_url.replace("&amp;", "&"))
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert len(rows) == expected and {r["actor"] for r in rows} == {"clinician1"}
    as_json = client.get(f"/audit/export.json?case={short}&action=case.viewed").get_json()
    # The 130, and the auditor's own read when following the link.
    assert len(as_json) == 131 and {e["case"] for e in as_json} == {many_events[1]}
    assert as_json[-1]["actor"] == "auditor1" and as_json[-1]["via"] == "form"
    with sessions() as session:
        exports = session.scalars(
            select(AuditEvent.detail).where(AuditEvent.action == "audit.exported")
        ).all()
    assert [e["format"] for e in exports] == ["csv", "json"]
    assert exports[1]["case"] == short


@pytest.mark.parametrize(
    "query",
    ["since=yesterday", "page=0", "per_page=100000", "case=" + "x" * 65, "head=not-a-head"],
)
def test_bad_filters_are_a_422_beside_the_form(query, client, auth, staff):
    auth.login(staff["auditor"].username)
    answer = client.get(f"/audit/?{query}")
    assert answer.status_code == 422
    assert 'role="alert"' in answer.get_data(as_text=True)
    if not query.startswith("head"):
        assert client.get(f"/audit/export.csv?{query}").status_code == 422
    assert client.get("/audit/export.xml").status_code == 404


def test_only_auditors_and_admins_read_the_trail(client, auth, staff):
    auth.login(staff["nurse"].username)
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/export.csv").status_code == 403


# --- Upgrading: the old unkeyed chain is checked once, then re-sealed with the key.


@pytest.mark.parametrize("tampered", [False, True])
def test_upgrade_rekeys_the_old_chain_and_records_its_verdict(tmp_path, tampered):
    from shared.config import Settings
    from shared.db import make_engine
    from shared.migrate import upgrade

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'old.db'}", instance_path=tmp_path)
    upgrade(settings, "0004")
    engine = make_engine(settings.database_url)
    try:
        with engine.begin() as conn:
            prev = "0" * 64
            for seq in (1, 2, 3):
                at = dt.datetime(2026, 1, 1, 8, seq, tzinfo=dt.UTC)
                row = type("Row", (), {"id": seq, "at": at, "actor": "nurse1", "action": "x",
                                       "case_id": None, "detail": {"i": seq}})  # fmt: skip
                digest = _sha256_link(prev, seq, row)
                conn.execute(
                    text(
                        "INSERT INTO audit_events (id, at, actor, action, detail, seq, "
                        "prev_hash, hash) VALUES (:id, :at, 'nurse1', 'x', :d, :s, :p, :h)"
                    ),
                    {"id": seq, "at": at.replace(tzinfo=None), "d": json.dumps({"i": seq}),
                     "s": seq, "p": prev, "h": digest},
                )  # fmt: skip
                prev = digest
            conn.execute(text("UPDATE audit_head SET seq = 3, hash = :h"), {"h": prev})
            if tampered:
                conn.execute(text("UPDATE audit_events SET actor = 'someone' WHERE id = 2"))
        upgrade(settings)
        with Session(engine) as session:
            rekeyed = session.scalar(
                select(AuditEvent.detail).where(AuditEvent.action == "audit.rekeyed")
            )
            assert rekeyed["unkeyed_events"] == (1 if tampered else 3)
            assert rekeyed["unkeyed_intact"] is not tampered
            assert rekeyed["unkeyed_first_bad_seq"] == (2 if tampered else None)
            assert audit.seal(session, audit_key(settings)) == 4
            check = audit.verify(session, settings)
        assert check.ok and check.events == 4
    finally:
        engine.dispose()


def test_an_outcome_changed_in_the_database_is_found(analyzed, client, staff, sessions, settings):
    """The outcome site calibration learns from (level of care, follow-up) is vouched for once
    recorded: a death rewritten as survival behind the application's back is found."""
    headers = {"Authorization": f"Bearer {staff['clinician'].token}"}
    for action, body in (
        ("disposition", {"disposition": "admit", "level_of_care": "icu"}),
        ("followup", {"outcome": "died_within_30_days"}),
    ):
        answer = client.post(f"/api/v1/cases/{analyzed[0]}/{action}", json=body, headers=headers)
        assert answer.status_code == 200, answer.get_data(as_text=True)
    seal_all(sessions, settings)
    assert run_check(sessions, settings).ok
    with sessions.begin() as session:
        session.execute(
            text("UPDATE cases SET followup = 'alive_at_30_days', level_of_care = 'ward' "
                 "WHERE public_id = :p"),
            {"p": analyzed[0]},
        )  # fmt: skip
    check = run_check(sessions, settings)
    assert not check.ok and kinds(check) == ["case"]
    message = check.problems[0].message
    assert "follow-up outcome was died_within_30_days, now alive_at_30_days" in message
    assert "level of care at admission was icu, now ward" in message
