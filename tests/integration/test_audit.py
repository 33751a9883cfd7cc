"""The audit trail is a hash chain: appends stay linked, any edit is detected and shown."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import update

from shared import audit
from shared.db import AuditEvent


def test_concurrent_appends_keep_one_chain(sessions):
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
        assert audit.verify_chain(session).unsealed == 40
        # Two sealers at once (two workers' reconcilers) still make one chain.
    sealers = [threading.Thread(target=lambda: audit.seal(sessions(), limit=7)) for _ in range(3)]
    for t in sealers:
        t.start()
    for t in sealers:
        t.join()
    with sessions() as session:
        while audit.seal(session):
            pass
        check = audit.verify_chain(session)
    assert check.ok and check.events == 40 and check.unsealed == 0


def test_tampering_is_detected_and_shown_to_the_auditor(sessions, client, staff, auth):
    with sessions.begin() as session:
        for i in range(3):
            audit.record(session, actor="nurse1", action="case.submitted", detail={"i": i})
    auth.login(staff["auditor"].username)
    assert "Hash chain intact" in client.get("/audit/").get_data(as_text=True)
    with sessions.begin() as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(actor="someone-else"))
    with sessions() as session:
        check = audit.verify_chain(session)
    assert not check.ok and check.first_bad_seq == 3
    page = client.get("/audit/").get_data(as_text=True)
    assert "Hash chain broken at event 3" in page


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_deleting_an_event_breaks_the_chain(sessions):
    with sessions.begin() as session:
        for i in range(3):
            audit.record(session, actor="a", action="x", detail={"i": i})
    with sessions() as session:
        assert audit.seal(session) == 3
    with sessions.begin() as session:
        session.query(AuditEvent).filter(AuditEvent.seq == 2).delete()
    with sessions() as session:
        assert audit.verify_chain(session).first_bad_seq == 2


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_deleting_the_newest_events_breaks_the_chain(sessions):
    with sessions.begin() as session:
        for i in range(3):
            audit.record(session, actor="a", action="x", detail={"i": i})
    with sessions() as session:
        audit.seal(session)
    with sessions.begin() as session:
        session.query(AuditEvent).filter(AuditEvent.seq == 3).delete()
    with sessions() as session:
        check = audit.verify_chain(session)
    assert not check.ok and check.first_bad_seq == 3
