"""HL7 v2 in over a real TCP socket, on SQLite and PostgreSQL: `medtriage hl7 listen` as its
own process, ADT and ORU messages answered with ACKs, the case on the board analyzed and
re-triaged by a real worker; malformed, unsupported, duplicate, unknown-patient, oversized and
torn messages; a clean stop on SIGTERM; no patient data in its log."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from shared import accounts, audit
from shared.db import AuditEvent, Case
from shared.db.models import Hl7Message, Observation, User
from shared.interop.mllp import END, START, send
from tests.conftest import case_body
from tests.support.cases import results_per_case, submit, wait_analyzed
from tests.support.services import ROOT, settings_env, wait_for

MAX_BYTES = 65536
SENDERS = "REG^HOSP,MON^HOSP"  # the senders of the messages below


class Listener:
    """`medtriage hl7 listen` in a process of its own, on a port the system chooses."""

    def __init__(self, settings, logdir: Path, senders: str = SENDERS) -> None:
        self.settings = settings.model_copy(update={"hl7_senders": senders})
        self.logdir = logdir
        self.starts = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def log_path(self) -> Path:
        return self.logdir / f"hl7-{self.starts}.log"

    def start(self, *extra: str) -> None:
        self.starts += 1
        argv = [sys.executable, "-m", "shared.cli", "hl7", "listen", "--port", "0"]
        argv += ["--max-bytes", str(MAX_BYTES), "--idle-timeout", "2", *extra]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                argv, cwd=ROOT, env=settings_env(self.settings), stdout=log, stderr=log
            )
        pattern = re.compile(r"HL7 MLLP listener on 127\.0\.0\.1:(\d+)")

        def ready() -> bool:
            assert self.process is not None
            return bool(pattern.search(self.current())) or self.process.poll() is not None

        wait_for(ready, 30, "the HL7 listener to listen")
        found = pattern.search(self.current())
        assert found, "listener did not start:\n" + self.log()
        self.port = int(found.group(1))

    def send(self, raw: bytes) -> dict[str, list[str]]:
        return fields(send("127.0.0.1", self.port, raw))

    def stop(self) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        code = self.process.returncode
        self.process = None
        return code

    def current(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.logdir.glob("hl7-*")))


@pytest.fixture
def listener(settings, tmp_path) -> Iterator[Listener]:
    running = Listener(settings, tmp_path)
    running.start()
    yield running
    running.stop()


def fields(ack: bytes) -> dict[str, list[str]]:
    """Segments of an ACK by id, each split into its fields."""
    return {line.split("|")[0]: line.split("|") for line in ack.decode().split("\r") if line}


def msh(sender: str, kind: str, control_id: str, processing: str = "P") -> str:
    return (
        f"MSH|^~\\&|{sender}|HOSP|MEDTRIAGE|ED|20261130101500||{kind}|{control_id}|{processing}|2.5"
    )


def a04(control_id: str, ref: str = "MRN-4711", complaint: str = "Shortness of breath") -> bytes:
    return "\r".join(
        [
            msh("REG", "ADT^A04^ADT_A01", control_id),
            "EVN|A04|20261130101500",
            f"PID|1||{ref}^^^HOSP^MR||Quartermaine^Ottilie||19600101|M",
            "PV1|1|E",
            f"PV2|||^{complaint}",
        ]
    ).encode()


def a08(control_id: str, ref: str, complaint: str) -> bytes:
    return "\r".join(
        [
            msh("REG", "ADT^A08^ADT_A01", control_id),
            f"PID|1||{ref}^^^HOSP^MR||Quartermaine^Ottilie||19600101|M",
            f"PV2|||^{complaint}",
        ]
    ).encode()


CALM = {"8867-4": 76, "9279-1": 16, "59408-5": 98, "8480-6": 128, "8462-4": 78, "8310-5": 36.8}
WORSE = {"8867-4": 135, "9279-1": 31, "59408-5": 89, "8480-6": 88, "8462-4": 50, "8310-5": 39.2}
UNITS = {"8310-5": "Cel", "59408-5": "%", "8480-6": "mm[Hg]", "8462-4": "mm[Hg]"}


def oru(control_id: str, ref: str = "MRN-4711", vitals: dict[str, float] = WORSE) -> bytes:
    obx = [
        f"OBX|{n}|NM|{code}^^LN||{value}|{UNITS.get(code, '/min')}|||||F"
        for n, (code, value) in enumerate(vitals.items(), 1)
    ]
    head = [msh("MON", "ORU^R01^ORU_R01", control_id), f"PID|1||{ref}", "OBR|1|||85353-1^^LN"]
    return "\r".join(head + obx).encode()


def get_case(client, token, public_id):
    response = client.get(
        f"/api/v1/cases/{public_id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    return response.get_json()


def board_row(client, token, ref):
    body = client.get("/api/v1/board", headers={"Authorization": f"Bearer {token}"}).get_json()
    rows = [row for row in body["rows"] if row["patient_ref"] == ref]
    assert len(rows) == 1, body["rows"]
    return rows[0]


def count(sessions, model, *where) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def actions(sessions, actor: str) -> list[str]:
    with sessions() as session:
        query = select(AuditEvent.action).where(AuditEvent.actor == actor).order_by(AuditEvent.id)
        return list(session.scalars(query))


def test_adt_then_oru_put_the_case_on_the_board_and_retriage_it(
    listener, worker, client, staff, sessions
):
    worker.start()
    nurse = staff["nurse"].token
    ack = listener.send(a04("REG-1"))
    assert ack["MSA"] == ["MSA", "AA", "REG-1"]
    assert ack["MSH"][4:6] == ["REG", "HOSP"]  # answered to the sender
    row = board_row(client, nurse, "MRN-4711")
    assert (row["age_years"], row["sex"], row["chief_complaint"]) == (
        66, "male", "Shortness of breath",
    )  # fmt: skip
    assert row["vitals_documented"] is False  # registration sends no vital signs
    wait_analyzed(sessions, [row["id"]])
    before = get_case(client, nurse, row["id"])

    ack = listener.send(oru("MON-1"))
    assert ack["MSA"] == ["MSA", "AA", "MON-1"]
    wait_for(lambda: results_per_case(sessions).get(row["id"]) == 2, 60, "the re-triage result")
    wait_analyzed(sessions, [row["id"]])
    after = get_case(client, nurse, row["id"])
    (observation,) = after["care"]["observations"]
    assert observation["by"] == "hl7:MON"
    assert observation["vitals"]["heart_rate"] == 135
    assert observation["vitals"]["spo2"] == 89
    assert observation["vitals"]["temperature_c"] == 39.2
    assert (observation["vitals"]["systolic_bp"], observation["vitals"]["diastolic_bp"]) == (88, 50)
    assert after["acuity"] < before["acuity"]  # more urgent after the worse vital signs
    assert [r["of"] for r in after["care"]["results"]] == ["intake", "re-triage"]
    assert board_row(client, nurse, "MRN-4711")["vitals_documented"] is True
    assert actions(sessions, "hl7:REG") == ["user.created", "case.submitted", "hl7.accepted"]
    with sessions() as session:  # the sender's account is no way in
        for password in ("!", ""):
            assert accounts.check_login(session, "hl7:REG", password).user is None
    assert {"case.retriaged", "hl7.accepted"} <= set(actions(sessions, "hl7:MON"))


def test_duplicates_are_acknowledged_again_and_applied_once_even_after_a_restart(
    listener, sessions
):
    assert listener.send(a04("REG-2"))["MSA"][:2] == ["MSA", "AA"]
    assert listener.send(oru("MON-2"))["MSA"][:2] == ["MSA", "AA"]
    listener.stop()
    listener.start()  # durable: the database remembers, not the process
    assert listener.send(a04("REG-2"))["MSA"] == ["MSA", "AA", "REG-2"]
    assert listener.send(oru("MON-2"))["MSA"] == ["MSA", "AA", "MON-2"]
    assert count(sessions, Case) == 1
    assert count(sessions, Observation) == 1
    assert count(sessions, AuditEvent, AuditEvent.action == "hl7.duplicate") == 2
    assert "MON-2 ORU^R01: AA (duplicate, not applied again)" in listener.log()
    # The same control id with other content is not a resend: AE, nothing applied.
    ack = listener.send(oru("MON-2", vitals=CALM))
    assert ack["MSA"][1] == "AE" and "already used" in ack["MSA"][3]
    assert count(sessions, Observation) == 1


def test_the_same_message_on_four_connections_at_once_is_applied_once(listener, sessions):
    listener.send(a04("REG-3"))
    answers: list[dict[str, list[str]]] = []

    def one() -> None:
        answers.append(listener.send(oru("MON-3")))

    threads = [threading.Thread(target=one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a["MSA"] for a in answers] == [["MSA", "AA", "MON-3"]] * 4
    assert count(sessions, Observation) == 1
    assert count(sessions, Hl7Message, Hl7Message.control_id == "MON-3") == 1


def test_vital_signs_for_a_patient_with_no_open_case_are_ae_with_the_reason(listener, sessions):
    ack = listener.send(oru("MON-4", ref="NOBODY-1"))
    assert ack["MSA"] == ["MSA", "AE", "MON-4", "no open case for the patient in PID-3"]
    assert ack["ERR"][2:5] == ["PID^1^3", "204^Unknown key identifier^HL70357", "E"]
    assert count(sessions, Observation) == 0
    with sessions() as session:
        row = session.scalars(select(Hl7Message)).one()
        assert (row.control_id, row.ack_code, row.case_id) == ("MON-4", "AE", None)
        assert row.error == "no open case for the patient in PID-3"
    assert actions(sessions, "hl7:MON")[-1] == "hl7.error"


def test_a04_for_a_patient_already_waiting_is_ae_and_a08_updates_and_retriages(
    listener, sessions, settings
):
    listener.send(a04("REG-5", complaint="Sore toe"))
    ack = listener.send(a04("REG-6", complaint="Sore toe"))
    assert ack["MSA"][1] == "AE" and "already has an open case" in ack["MSA"][3]
    assert count(sessions, Case) == 1
    with sessions() as session:
        level_before = session.scalars(select(Case)).one().engine_acuity
    ack = listener.send(a08("REG-7", "MRN-4711", "Crushing chest pain"))
    assert ack["MSA"] == ["MSA", "AA", "REG-7"]
    with sessions() as session:
        case = session.scalars(select(Case)).one()
        assert case.chief_complaint == "Crushing chest pain"
        assert case.engine_acuity < level_before  # re-triaged on the new complaint
        observation = session.scalars(select(Observation)).one()
        assert "Registration updated by HL7 ADT A08 from REG: chief complaint" in (
            observation.note_line
        )
    assert "case.registration_updated" in actions(sessions, "hl7:REG")
    # The case changed with an event of its own: the audit trail verifies.
    with sessions() as session:
        audit.seal_and_anchor(session, settings)
    with sessions() as session:
        check = audit.verify(session, settings)
    assert check.ok and check.cases_checked == 1, check.problems
    ack = listener.send(a08("REG-8", "NOBODY-2", "Headache"))
    assert ack["MSA"][1] == "AE" and "no open case" in ack["MSA"][3]


def test_vital_signs_find_the_case_a_nurse_typed_the_reference_of(
    listener, client, staff, sessions
):
    nurse = staff["nurse"].token
    typed = submit(client, nurse, case_body("low", patient_ref="MRN-4711"))["id"]
    assert listener.send(oru("MON-20"))["MSA"] == ["MSA", "AA", "MON-20"]
    (observation,) = get_case(client, nurse, typed)["care"]["observations"]
    assert observation["vitals"]["heart_rate"] == 135
    ack = listener.send(a04("REG-20"))  # already waiting: registration does not add a case
    assert ack["MSA"][1] == "AE" and count(sessions, Case) == 1
    submit(client, nurse, case_body("low", patient_ref="MRN-4711"))  # a second open case
    ack = listener.send(oru("MON-21"))
    assert ack["MSA"][1] == "AE" and "2 open cases" in ack["MSA"][3]
    assert count(sessions, Observation) == 1


def test_vital_signs_sent_with_the_registration_are_the_intake_vitals(listener, sessions):
    obx = "OBX|1|NM|8867-4^^LN||142|/min|||||F\rOBX|2|NM|8310-5^^LN||102.2|[degF]|||||F"
    assert listener.send(a04("REG-14") + b"\r" + obx.encode())["MSA"][:2] == ["MSA", "AA"]
    with sessions() as session:
        case = session.scalars(select(Case)).one()
        assert (case.vitals["heart_rate"], case.vitals["temperature_c"]) == (142, 39.0)
        assert case.provisional_acuity <= 3  # tachycardia with fever counts at intake


@pytest.mark.parametrize(
    ("raw", "echo", "words"),
    [
        (b"\x00\x01\x02 not HL7 at all \xff", "", "UTF-8"),
        (b"PID|1||MRN-1\rMSH|^~\\&|X", "", "does not start with an MSH"),
        (msh("REG", "ADT^A01", "R-1").encode(), "R-1", "trigger event not supported"),
        (msh("REG", "SIU^S12", "R-2").encode(), "R-2", "message type not supported"),
        (msh("REG", "ADT^A04", "R-3", processing="T").encode(), "R-3", "processing id"),
    ],
)
def test_messages_to_reject_are_ar_and_the_listener_keeps_serving(
    listener, sessions, raw, echo, words
):
    ack = listener.send(raw)
    assert ack["MSA"][:3] == ["MSA", "AR", echo]
    assert words in ack["MSA"][3] or words in ack["ERR"][8]
    assert listener.send(a04("REG-9"))["MSA"][:2] == ["MSA", "AA"]
    assert count(sessions, Case) == 1
    assert count(sessions, AuditEvent, AuditEvent.action == "hl7.rejected") == 1


def test_a_huge_message_is_refused_unread_on_a_connection_that_stays_usable(listener, sessions):
    huge = oru("BIG-1") + b"\rNTE|1||" + b"x" * (MAX_BYTES * 3)
    with socket.create_connection(("127.0.0.1", listener.port), timeout=30) as conn:
        conn.sendall(START + huge + END + START + a04("REG-10") + END)
        replies = read_frames(conn, 2)
    first, second = (fields(reply) for reply in replies)
    assert first["MSA"][:3] == ["MSA", "AR", "BIG-1"]
    assert f"larger than {MAX_BYTES} bytes" in first["MSA"][3]
    assert second["MSA"] == ["MSA", "AA", "REG-10"]
    assert count(sessions, Observation) == 0 and count(sessions, Case) == 1


def read_frames(conn: socket.socket, wanted: int) -> list[bytes]:
    data = b""
    while data.count(END) < wanted:
        chunk = conn.recv(65536)
        assert chunk, "the listener closed the connection"
        data += chunk
    return [frame.strip(START) for frame in data.split(END)[:wanted]]


def test_half_a_frame_then_a_disconnect_applies_nothing(listener, sessions):
    raw = a04("REG-11")
    with socket.create_connection(("127.0.0.1", listener.port), timeout=10) as conn:
        conn.sendall(START + raw[: len(raw) // 2])
    wait_for(lambda: "in the middle of a message" in listener.log(), 10, "the torn frame")
    assert count(sessions, Case) == 0
    assert listener.send(a04("REG-11"))["MSA"] == ["MSA", "AA", "REG-11"]  # sent again whole
    assert count(sessions, Case) == 1


def test_an_idle_connection_is_closed_and_sigterm_stops_the_listener_cleanly(listener):
    with socket.create_connection(("127.0.0.1", listener.port), timeout=30) as conn:
        assert conn.recv(10) == b""  # closed by the listener after its idle timeout (2 s)
    with socket.create_connection(("127.0.0.1", listener.port), timeout=30) as held:
        assert listener.stop() == 0  # an open connection does not keep it from stopping
        assert held.recv(10) == b""
    assert "stopped" in listener.log()


def test_with_the_database_down_messages_are_ar_and_the_listener_keeps_serving(settings, tmp_path):
    down = settings.model_copy(
        update={"database_url": "postgresql+psycopg://postgres@127.0.0.1:9/none"}
    )
    unreachable = Listener(down, tmp_path)
    unreachable.start()
    try:
        for control_id in ("DOWN-1", "DOWN-2"):
            ack = unreachable.send(a04(control_id))
            # AR (HL7 table 0008: not the content's fault), which interface engines resend.
            assert ack["MSA"][:3] == ["MSA", "AR", control_id]
            assert "database is not available" in ack["MSA"][3]
            assert ack["ERR"][3] == "207^Application internal error^HL70357"
    finally:
        assert unreachable.stop() == 0


def test_the_log_holds_control_ids_and_types_never_patient_data(listener):
    listener.send(a04("REG-12", complaint="Gastroschisis follow-up"))
    listener.send(oru("MON-12"))
    listener.send(oru("MON-13", ref="NOBODY-3"))
    listener.send(a08("REG-13", "MRN-4711", "Zygomatic fracture"))
    listener.stop()
    log = listener.log()
    assert "REG-12 ADT^A04: AA" in log and "MON-13 ORU^R01: AE" in log
    for secret in ("MRN-4711", "NOBODY-3", "Quartermaine", "Ottilie", "19600101",
                   "Gastroschisis", "Zygomatic"):  # fmt: skip
        assert secret not in log, secret


def oru_with_status(control_id: str, status: str) -> bytes:
    return oru(control_id, vitals={"8867-4": 150}).replace(b"|||||F", f"|||||{status}".encode())


def test_pending_or_deleted_vital_signs_are_never_applied(listener, sessions):
    listener.send(a04("REG-30"))
    for n, status in enumerate(("I", "D", "X")):
        ack = listener.send(oru_with_status(f"MON-3{n}", status))
        assert ack["MSA"][:3] == ["MSA", "AE", f"MON-3{n}"]
        assert "no usable vital sign" in ack["MSA"][3]
    assert count(sessions, Observation) == 0
    assert listener.send(oru_with_status("MON-39", "F"))["MSA"][:2] == ["MSA", "AA"]
    assert count(sessions, Observation) == 1


def test_a_bad_msh_7_is_ar_to_the_sender_echoing_its_control_id_and_recorded(listener, sessions):
    raw = a04("REG-31").replace(b"|20261130101500||ADT", b"|2026XX30||ADT", 1)
    ack = listener.send(raw)
    assert ack["MSA"][:3] == ["MSA", "AR", "REG-31"]  # the sender can match it
    assert ack["MSH"][4:6] == ["REG", "HOSP"]  # addressed to the sender
    assert ack["ERR"][2] == "MSH^1^7"
    with sessions() as session:
        row = session.scalars(select(Hl7Message)).one()
        assert (row.control_id, row.ack_code, row.case_id) == ("REG-31", "AR", None)
    assert count(sessions, Case) == 0


def refusals(sessions) -> list[tuple[str, dict]]:
    with sessions() as session:
        query = select(AuditEvent).where(AuditEvent.action == "hl7.refused")
        return [(event.actor, event.detail) for event in session.scalars(query)]


def test_senders_and_addresses_not_allowed_are_ar_audited_and_change_nothing(listener, sessions):
    evil = a04("EVIL-1").replace(b"|REG|HOSP|", b"|EVIL|HOSP|", 1)
    other_facility = oru("MON-40").replace(b"|MON|HOSP|", b"|MON|ELSEWHERE|", 1)
    for raw, control_id in ((evil, "EVIL-1"), (other_facility, "MON-40")):
        ack = listener.send(raw)
        assert ack["MSA"][:3] == ["MSA", "AR", control_id]
        assert "not allowed" in ack["MSA"][3] and ack["ERR"][2] == "MSH^1^3"
    # Nothing applied, no account for the stranger, no message row; two audit events.
    assert count(sessions, Case) == 0 and count(sessions, Hl7Message) == 0
    assert count(sessions, User, User.username.like("hl7:%")) == 0
    events = refusals(sessions)
    assert [(actor, d["control_id"], d["sending_application"]) for actor, d in events] == [
        ("hl7:unknown", "EVIL-1", "EVIL"),
        ("hl7:unknown", "MON-40", "MON"),
    ]
    assert "Quartermaine" not in str(events) and "MRN-4711" not in str(events)
    assert "refused, sender EVIL^HOSP from 127.0.0.1 is not allowed" in listener.log()
    assert listener.send(a04("REG-40"))["MSA"][:2] == ["MSA", "AA"]  # an allowed sender

    # Only another network's addresses allowed: even an allowed sender is refused here.
    listener.stop()
    listener.settings = listener.settings.model_copy(
        update={"hl7_allowed_addresses": "10.0.5.0/24"}
    )
    listener.start()
    ack = listener.send(oru("MON-41"))
    assert ack["MSA"][:3] == ["MSA", "AR", "MON-41"] and "address" in ack["MSA"][3]
    assert count(sessions, Observation) == 0
    listener.stop()
    listener.settings = listener.settings.model_copy(
        update={"hl7_allowed_addresses": "10.0.5.0/24, 127.0.0.1"}
    )
    listener.start()
    assert listener.send(oru("MON-42"))["MSA"][:2] == ["MSA", "AA"]


def test_with_no_sender_configured_every_message_is_refused_and_the_log_says_how(
    settings, tmp_path, sessions
):
    closed = Listener(settings, tmp_path, senders="")
    closed.start()
    try:
        ack = closed.send(a04("REG-50"))
        assert ack["MSA"][:3] == ["MSA", "AR", "REG-50"]
    finally:
        closed.stop()
    assert "MEDTRIAGE_HL7_SENDERS is empty: every message will be answered AR" in closed.log()
    assert count(sessions, Case) == 0
    assert count(sessions, User, User.username.like("hl7:%")) == 0


def test_a_sender_setting_that_cannot_be_read_stops_the_listener_with_the_reason(
    settings, tmp_path
):
    bad = Listener(settings, tmp_path, senders="REG")
    with pytest.raises(AssertionError, match="listener did not start"):
        bad.start()
    bad.stop()
    assert "MEDTRIAGE_HL7_SENDERS: 'REG' is not APPLICATION^FACILITY" in bad.log()


def test_an_escape_python_hl7_cannot_decode_puts_no_field_value_in_the_log(listener, sessions):
    listener.send(a04("REG-60", complaint="Gastroschisis \\Zx\\ Quartermaine review"))
    raw = oru("MON-60").replace(b"OBR|1|||85353-1^^LN", b"OBR|1|||85353-1^Vitals \\Cxy\\ Ottilie")
    listener.send(raw)
    listener.stop()
    log = listener.log()
    assert "REG-60 ADT^A04: AA" in log and "MON-60 ORU^R01: AA" in log
    for secret in ("Gastroschisis", "Quartermaine", "Ottilie", "Zx", "Cxy", "MRN-4711"):
        assert secret not in log, secret
