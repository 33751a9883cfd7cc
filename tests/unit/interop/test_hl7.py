"""HL7 v2 parsing and ACKs (shared.interop.hl7), and MLLP framing (shared.interop.mllp):
what a sender sees in its ACK, and what a case would be made of."""

from __future__ import annotations

import datetime as dt
import logging
import select
import socket

import hl7 as hl7lib
import pytest

from shared.interop import hl7, hl7_vitals
from shared.interop.hl7_apply import Allowed
from shared.interop.mllp import END, START, Frame, Framer, MllpServer, send

NOW = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)


def message(*segments: str, msh: str = "") -> bytes:
    header = msh or "MSH|^~\\&|REG|HOSP|MEDTRIAGE|ED|20261130101500||ADT^A04^ADT_A01|C1|P|2.5"
    return "\r".join([header, *segments]).encode()


def oru(*obx: str) -> bytes:
    msh = "MSH|^~\\&|MON|HOSP|MEDTRIAGE|ED|20261130102000||ORU^R01|O1|P|2.5"
    return message("PID|1||MRN1", "OBR|1|||85353-1^Vital signs^LN", *obx, msh=msh)


def vitals(received: hl7.Received) -> dict:
    return hl7_vitals.vital_signs(received.message)


def refusal(raw: bytes) -> hl7.Hl7Error:
    with pytest.raises(hl7.Hl7Error) as caught:
        hl7.parse(raw)
    return caught.value


def not_applied(raw: bytes, read=lambda r: hl7.registration(r, NOW)) -> hl7.Hl7Error:
    with pytest.raises(hl7.Hl7Error) as caught:
        read(hl7.parse(raw))
    assert caught.value.ack_code == "AE"
    return caught.value


# --- age and sex ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "on", "years"),
    [
        ("1980-03-15", "2026-03-14", 45.0),  # the day before the birthday
        ("1980-03-15", "2026-03-15", 46.0),  # on the birthday
        ("2024-02-29", "2026-02-28", 1.99),  # an infant: years with a fraction
        ("2026-05-30", "2026-11-30", 0.5),
        ("2026-11-30", "2026-11-30", 0.0),  # born today
        ("2024-11-30", "2026-11-30", 2.0),  # whole years from two on
    ],
)
def test_age_from_the_birth_date_at_the_message_date(birth, on, years):
    assert hl7.age_years(dt.date.fromisoformat(birth), dt.date.fromisoformat(on)) == years


def test_a_birth_date_after_the_message_or_over_120_years_is_not_applied():
    with pytest.raises(hl7.Hl7Error, match="after the message time") as after:
        hl7.age_years(dt.date(2026, 12, 1), dt.date(2026, 11, 30))
    assert after.value.ack_code == "AE" and after.value.where == ("PID", 1, 7)
    with pytest.raises(hl7.Hl7Error, match="over 120"):
        hl7.age_years(dt.date(1900, 1, 1), dt.date(2026, 11, 30))


@pytest.mark.parametrize(
    ("code", "sex"),
    [("F", "female"), ("M", "male"), ("O", "other"), ("A", "other"), ("X", "other"),
     ("U", "unknown"), ("N", "unknown"), ("f", "female")],
)  # fmt: skip
def test_sex_from_hl7_table_0001(code, sex):
    assert hl7.sex(code) == sex


def test_a_sex_code_outside_table_0001_is_not_applied():
    error = not_applied(message("PID|1||MRN1||Doe^Jane||19800315|Q"))
    assert error.code == hl7.TABLE_VALUE_NOT_FOUND and error.where == ("PID", 1, 8)


# --- registration --------------------------------------------------------------------------


def test_registration_reads_reference_age_sex_and_complaint():
    raw = message(
        "EVN|A04",
        "PID|1||999^^^^SS~MRN123^^^HOSP^MR||Doe^Jane||19800315|F",
        "PV1|1|E",
        "PV2|||CP^Chest pain^L",
    )
    reg = hl7.registration(hl7.parse(raw), NOW)
    # The medical record number, not the first identifier; age at MSH-7 (2026-11-30).
    assert reg == hl7.Registration("MRN123", 46.0, "female", "Chest pain")


def test_registration_takes_the_complaint_code_without_text_and_absent_fields_as_none():
    reg = hl7.registration(hl7.parse(message("PID|1||MRN9", "PV2|||Fall")), NOW)
    assert (reg.patient_ref, reg.age_years, reg.sex, reg.chief_complaint) == (
        "MRN9", None, None, "Fall",
    )  # fmt: skip


def test_age_counts_from_the_arrival_when_msh_7_is_empty():
    msh = "MSH|^~\\&|REG|HOSP|MEDTRIAGE|ED|||ADT^A04|C1|P|2.5"
    reg = hl7.registration(hl7.parse(message("PID|1||M||X||20000101|M", msh=msh)), NOW)
    assert reg.age_years == 26.0


def test_registration_without_pid_3_is_not_applied():
    error = not_applied(message("PID|1||||Doe^Jane||19800315|F"))
    assert error.code == hl7.REQUIRED_FIELD_MISSING and "PID-3" in error.text
    assert not_applied(message("EVN|A04")).text == "the message has no PID segment"


def test_errors_name_the_field_never_its_value():
    errors = [
        not_applied(message("PID|1||MRN1||Doe^Jane||1980XX15|F")),
        not_applied(message("PID|1||MRN1||Doe^Jane||19800315|ZZTOP")),
        not_applied(oru("OBX|1|NM|8867-4^HR^LN||7777|/min|||||F"), vitals),
        not_applied(oru("OBX|1|NM|8867-4^HR^LN||12ab|/min|||||F"), vitals),
    ]
    texts = " ".join(e.text for e in errors)
    for secret in ("Doe", "1980XX15", "ZZTOP", "7777", "12ab", "MRN1"):
        assert secret not in texts


# --- the header ----------------------------------------------------------------------------


def test_header_is_read_and_line_feeds_count_as_segment_ends():
    received = hl7.parse(message("PID|1||MRN1").replace(b"\r", b"\r\n"))
    header = received.header
    assert (header.sending_application, header.sending_facility, header.control_id) == (
        "REG", "HOSP", "C1",
    )  # fmt: skip
    assert header.message_type == "ADT^A04" and header.actor == "hl7:REG"
    assert header.sent_at == dt.datetime(2026, 11, 30, 10, 15)
    # The same message with other line endings is the same message (for duplicates).
    assert received.digest == hl7.parse(message("PID|1||MRN1")).digest


@pytest.mark.parametrize(
    ("raw", "code", "words"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\n", hl7.REQUIRED_FIELD_MISSING, "MSH"),
        (b"", hl7.REQUIRED_FIELD_MISSING, "MSH"),
        (b"MSH|^~\\&|A|B|C|D|20261130||ADT^A04||P|2.5", hl7.REQUIRED_FIELD_MISSING, "MSH-10"),
        (b"MSH|^~\\&|A|B|C|D|20261130||ADT^A04|1|T|2.5", hl7.UNSUPPORTED_PROCESSING_ID, "MSH-11"),
        (b"MSH|^~\\&|A|B|C|D|20261130||ADT^A01|1|P|2.5", hl7.UNSUPPORTED_EVENT, "MSH-9"),
        (b"MSH|^~\\&|A|B|C|D|20261130||SIU^S12|1|P|2.5", hl7.UNSUPPORTED_MESSAGE_TYPE, "MSH-9"),
        (b"MSH|^~\\&|A|B|C|D|20261130||ADT^A04|1|P|3.0", hl7.UNSUPPORTED_VERSION, "MSH-12"),
        (b"MSH|^~\\&|A|B|C|D|2026XX||ADT^A04|1|P|2.5", hl7.DATA_TYPE_ERROR, "MSH-7"),
        (
            b"MSH|^~\\&|A|B|C|D|20261130||ADT^A04|1|P|2.5\rPID|\xff\xfe",
            hl7.DATA_TYPE_ERROR,
            "UTF-8",
        ),
    ],
)
def test_messages_to_reject_are_ar_with_the_reason(raw, code, words):
    error = refusal(raw)
    assert (error.ack_code, error.code) == ("AR", code)
    assert words in error.text


def test_a_bad_msh_7_is_ar_answered_to_the_sender_with_its_control_id():
    raw = b"MSH|^~\\&|REG|HOSP|MEDTRIAGE|ED|2026XX30||ADT^A04|C7|P|2.5\rPID|1||MRN1"
    error = refusal(raw)
    assert (error.ack_code, error.where) == ("AR", ("MSH", 1, 7))
    assert error.received is not None and error.received.header.control_id == "C7"
    fields = segment_fields(hl7.ack(error.received, "AR", error, control_id="ACK6"))
    assert fields["MSH"][4:6] == ["REG", "HOSP"]  # addressed to the sender
    assert fields["MSA"][:3] == ["MSA", "AR", "C7"]  # the sender can match it
    assert fields["ERR"][2] == "MSH^1^7"


def test_a_good_msh_7_is_still_read_after_the_header():
    assert hl7.parse(message()).header.sent_at == dt.datetime(2026, 11, 30, 10, 15)


def test_iso_8859_1_is_read_when_msh_18_says_so():
    msh = "MSH|^~\\&|REG|HOSP|MEDTRIAGE|ED|20261130||ADT^A04|C1|P|2.5||||||8859/1"
    raw = f"{msh}\rPID|1||MRN1\rPV2|||^Douleur thoracique \xe0 l'effort".encode("latin-1")
    reg = hl7.registration(hl7.parse(raw), NOW)
    assert reg.chief_complaint == "Douleur thoracique \xe0 l'effort"


# --- vital signs ---------------------------------------------------------------------------


def test_every_vital_sign_loinc_code_with_its_units():
    raw = oru(
        "OBX|1|NM|8867-4^Heart rate^LN||88|/min|||||F",
        "OBX|2|NM|9279-1^Resp rate^LN||18|{breaths}/min|||||F",
        "OBX|3|NM|2708-6^SaO2^LN||94|%|||||F",
        "OBX|4|NM|8310-5^Body temp^LN||100.4|[degF]|||||F",
        "OBX|5|NM|8480-6^Systolic^LN||128|mm[Hg]|||||F",
        "OBX|6|NM|8462-4^Diastolic^LN||82|mm[Hg]|||||F",
        "OBX|7|NM|9269-2^GCS^LN||15|{score}|||||F",
        "OBX|8|NM|72514-3^Pain^LN||6||||||F",
        "OBX|9|NM|3151-8^O2 flow^LN||2|L/min|||||F",
        "OBX|10|NM|29463-7^Body weight^LN||70|kg|||||F",  # not a vital sign here: ignored
    )
    assert vitals(hl7.parse(raw)) == {
        "heart_rate": 88, "respiratory_rate": 18, "spo2": 94, "temperature_c": 38.0,
        "systolic_bp": 128, "diastolic_bp": 82, "gcs": 15, "pain": 6, "on_oxygen": True,
    }  # fmt: skip


def test_the_blood_pressure_panel_as_one_value_and_structured_numeric():
    text = oru("OBX|1|ST|85354-9^BP panel^LN||131/84|mm[Hg]|||||F")
    assert vitals(hl7.parse(text)) == {"systolic_bp": 131, "diastolic_bp": 84}
    sn = oru("OBX|1|SN|85354-9^BP panel^LN||^118^/^76|mm[Hg]|||||F", "OBX|2|SN|59408-5||^97|%")
    assert vitals(hl7.parse(sn)) == {"systolic_bp": 118, "diastolic_bp": 76, "spo2": 97}


def test_a_later_value_wins_and_cancelled_results_are_skipped():
    raw = oru(
        "OBX|1|NM|8867-4^HR^LN||90|/min|||||F",
        "OBX|2|NM|8867-4^HR^LN||104|/min|||||C",
        "OBX|3|NM|9279-1^RR^LN||99|/min|||||X",  # cannot be obtained
        "OBX|4|NM|59408-5^SpO2^LN||93|%|||||W",  # posted in error
        "OBX|5|NM|8310-5^Temp^LN||39.9|Cel|||||I",  # pending: no result yet
        "OBX|6|NM|8480-6^SBP^LN||70|mm[Hg]|||||D",  # deleted
        "OBX|7|NM|8462-4^DBP^LN||40|mm[Hg]|||||i",
    )
    assert vitals(hl7.parse(raw)) == {"heart_rate": 104}


@pytest.mark.parametrize("status", ["I", "D", "X"])
def test_an_oru_whose_only_vital_sign_is_pending_deleted_or_not_obtained_says_so(status):
    error = not_applied(oru(f"OBX|1|NM|8867-4^HR^LN||150|/min|||||{status}"), vitals)
    assert error.code == hl7.REQUIRED_FIELD_MISSING
    assert "no usable vital sign" in error.text and "OBX-11" in error.text
    assert len(error.text) <= hl7.MAX_MSA_TEXT
    # A registration with such a vital sign only applies none, and is not refused for it.
    only = hl7.parse(oru(f"OBX|1|NM|8867-4||150||||||{status}")).message
    assert hl7_vitals.vital_signs(only, required=False) == {}


@pytest.mark.parametrize(
    ("obx", "words", "where"),
    [
        ("OBX|1|NM|8310-5^Temp^LN||38.2||||||F", "OBX-6 unit of 8310-5", ("OBX", 1, 6)),
        ("OBX|1|NM|8480-6^SBP^LN||16|kPa|||||F", "OBX-6 unit of 8480-6", ("OBX", 1, 6)),
        ("OBX|1|NM|8867-4^HR^LN||fast|/min|||||F", "not a number", ("OBX", 1, 5)),
        ("OBX|1|NM|8867-4^HR^LN||nan|/min|||||F", "not a number", ("OBX", 1, 5)),
        ("OBX|1|NM|8867-4^HR^LN|||/min|||||F", "has no value", ("OBX", 1, 5)),
        ("OBX|1|SN|59408-5^SpO2^LN||<^80|%|||||F", "not an exact value", ("OBX", 1, 5)),
        ("OBX|1|NM|8867-4^HR^LN||400|/min|||||F", "heart_rate", ("OBX", 1, 5)),
        ("OBX|1|ST|85354-9^BP^LN||120|mm[Hg]|||||F", "has no value", ("OBX", 1, 5)),
        ("OBX|1|NM|29463-7^Weight^LN||70|kg|||||F", "no OBX segment", None),
    ],
)
def test_vital_signs_that_cannot_be_applied_are_ae_naming_the_segment(obx, words, where):
    error = not_applied(oru(obx), vitals)
    assert words in error.text
    assert error.where == where


def test_diastolic_above_systolic_is_refused_like_the_intake_form():
    raw = oru("OBX|1|NM|8480-6||70|mm[Hg]", "OBX|2|NM|8462-4||90|mm[Hg]")
    error = not_applied(raw, vitals)
    assert "diastolic" in error.text and error.where == ("OBX", 2, 5)


# --- ACKs ----------------------------------------------------------------------------------


def segment_fields(answer: bytes) -> dict[str, list[str]]:
    return {line.split("|")[0]: line.split("|") for line in answer.decode().split("\r") if line}


def test_aa_answers_the_sender_and_echoes_the_control_id():
    answer = hl7.ack(hl7.parse(message("PID|1||MRN1")), "AA", control_id="ACK1")
    fields = segment_fields(answer)
    # MSH-3/4 (us) and MSH-5/6 (them) swapped; MSH-9 ACK with the trigger; MSH-10 ours.
    assert fields["MSH"][2:6] == ["MEDTRIAGE", "ED", "REG", "HOSP"]
    assert fields["MSH"][8:10] == ["ACK^A04^ACK", "ACK1"]
    assert fields["MSA"] == ["MSA", "AA", "C1"]
    assert "ERR" not in fields
    assert str(hl7lib.parse(answer.decode()).segment("MSA")) == "MSA|AA|C1"


def test_ae_carries_the_reason_in_msa_3_and_an_err_segment():
    error = hl7.not_applied(hl7.UNKNOWN_KEY, "no open case for the patient in PID-3", ("PID", 1, 3))
    fields = segment_fields(hl7.ack(hl7.parse(oru()), "AE", error, control_id="ACK2"))
    assert fields["MSA"] == ["MSA", "AE", "O1", "no open case for the patient in PID-3"]
    assert fields["ERR"][2:5] == ["PID^1^3", "204^Unknown key identifier^HL70357", "E"]
    assert fields["ERR"][8] == "no open case for the patient in PID-3"


def test_ar_for_unreadable_bytes_still_is_a_valid_ack_without_a_control_id():
    error = refusal(b"\x00\x01 not hl7")
    fields = segment_fields(hl7.ack(error.received, "AR", error, control_id="ACK3"))
    assert fields["MSA"][:3] == ["MSA", "AR", ""]
    assert fields["ERR"][3].startswith("101^")


def test_ar_for_an_unsupported_type_answers_its_sender_with_escaped_text():
    error = refusal(message("PID|1||MRN1").replace(b"ADT^A04^ADT_A01", b"ADT"))
    assert error.received is not None  # the header was read: the ACK can answer it
    answer = hl7.ack(error.received, "AR", hl7.rejected(102, "a|b^c"), control_id="ACK4")
    fields = segment_fields(answer)
    assert fields["MSH"][4:6] == ["REG", "HOSP"] and fields["MSA"][2] == "C1"
    assert fields["MSA"][3] == "a\\F\\b\\S\\c"  # separators in a reason are escaped


def test_msa_3_is_cut_to_80_characters_and_err_8_keeps_the_whole_reason():
    error = hl7.not_applied(hl7.APPLICATION_ERROR, "x" * 120)
    fields = segment_fields(hl7.ack(hl7.parse(oru()), "AE", error, control_id="ACK5"))
    assert len(fields["MSA"][3]) == 80 and len(fields["ERR"][8]) == 120


# --- MLLP framing --------------------------------------------------------------------------


def test_frames_split_across_reads_and_two_in_one_read():
    framer = Framer(1000)
    assert framer.feed(START + b"MSH|one") == []
    assert framer.feed(b"\x1c") == []  # the end marker itself split across reads
    assert [f.data for f in framer.feed(b"\r" + START + b"two" + END + START + b"thr")] == [
        b"MSH|one",
        b"two",
    ]
    assert framer.in_frame
    assert [f.data for f in framer.feed(b"ee" + END)] == [b"three"]


def test_bytes_outside_frames_are_counted_and_dropped():
    framer = Framer(1000)
    frames = framer.feed(b"junk\r\n" + START + b"msg" + END + b"more")
    assert [f.data for f in frames] == [b"msg"] and framer.junk == 10


def test_an_oversized_message_becomes_its_head_and_the_next_one_is_whole():
    framer = Framer(100)
    head = b"MSH|^~\\&|A|B|C|D|2026||ORU^R01|BIG|P|2.5\r"
    frames = framer.feed(START + head + b"X" * 5000)
    assert frames == [] and len(framer.buffer) <= 1  # nothing more is kept
    frames = framer.feed(b"X" * 5000 + END + START + b"small" + END)
    assert frames[0].too_big and frames[0].data.startswith(head)
    assert (frames[1].data, frames[1].too_big) == (b"small", False)


def test_a_frame_restarted_before_its_end_drops_the_torn_part():
    framer = Framer(1000)
    frames = framer.feed(START + b"torn half" + START + b"whole" + END)
    assert [f.data for f in frames] == [b"whole"]


# --- who may send --------------------------------------------------------------------------


def header(application: str, facility: str) -> hl7.Header:
    return hl7.Header(application, facility, "C1", "ADT", "A04", "P", "2.5", None)


def test_senders_are_application_and_facility_pairs_and_none_named_allows_nobody():
    allowed = Allowed.parse(" REG^HOSP , MON^* ,, LAB^")
    assert allowed.sender(header("REG", "HOSP")) and not allowed.sender(header("REG", "OTHER"))
    assert allowed.sender(header("MON", "ANY")) and allowed.sender(header("LAB", ""))
    assert not allowed.sender(header("reg", "HOSP")) and not allowed.sender(header("EVIL", "HOSP"))
    assert not Allowed.parse("").sender(header("REG", "HOSP"))
    assert not Allowed().sender(header("REG", "HOSP"))


@pytest.mark.parametrize("senders", ["REG", "^HOSP", "REG^HOSP^X"])
def test_a_sender_that_is_not_application_facility_is_a_clear_error(senders):
    with pytest.raises(ValueError, match=r"MEDTRIAGE_HL7_SENDERS: .* APPLICATION\^FACILITY"):
        Allowed.parse(senders)


def test_addresses_are_ips_or_cidrs_and_none_named_allows_any():
    allowed = Allowed.parse("REG^HOSP", "10.0.5.2, 10.0.6.0/24, fd00::/8")
    for peer in ("10.0.5.2", "10.0.6.77", "::ffff:10.0.6.1", "fd00::1"):
        assert allowed.address(peer), peer
    for peer in ("10.0.5.3", "127.0.0.1", "", "not-an-address"):
        assert not allowed.address(peer), peer
    assert Allowed.parse("REG^HOSP").address("192.0.2.1")
    with pytest.raises(ValueError, match="MEDTRIAGE_HL7_ALLOWED_ADDRESSES: 'ten'"):
        Allowed.parse("REG^HOSP", "ten")


def test_python_hl7_logs_nothing_of_a_field_it_cannot_unescape(caplog):
    raw = message("PID|1||MRN1", "PV2|||^Chest pain \\Zx\\ since Tuesday")
    with caplog.at_level(logging.DEBUG):
        reg = hl7.registration(hl7.parse(raw), NOW)
    assert reg.chief_complaint is not None
    assert "Chest pain" not in caplog.text and "Tuesday" not in caplog.text


# --- MLLP: a client trickling bytes --------------------------------------------------------


def closed_while_trickling(port: int, chunks: list[bytes], every_s: float) -> bool:
    """Send one chunk every `every_s` s; True once the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        for chunk in chunks:
            try:
                conn.sendall(chunk)
            except OSError:  # reset: closed by the server
                return True
            readable, _, _ = select.select([conn], [], [], every_s)
            if readable:
                try:
                    return conn.recv(10) == b""
                except OSError:
                    return True
    return False


@pytest.fixture
def trickle_server():
    """An MLLP server with one connection slot, a 1 s message deadline and an idle timeout
    far longer than the trickle's pauses: only the deadline can drop a trickling client."""
    server = MllpServer(
        lambda frame: b"MSA|AA|" + frame.data[-2:],
        port=0,
        idle_timeout_s=1.5,
        message_timeout_s=1.0,
        max_connections=1,
    )
    server.start()
    yield server
    server.stop(timeout_s=5)


def test_a_message_trickled_a_byte_at_a_time_is_dropped_and_frees_its_slot(trickle_server, caplog):
    trickle = [START] + [bytes([b]) for b in b"MSH|^~\\&|SLOW|HOSP|" * 4]
    with caplog.at_level(logging.INFO, logger="medtriage.mllp"):
        assert closed_while_trickling(trickle_server.port, trickle, every_s=0.2)
    assert "did not arrive whole within 1.0s" in caplog.text
    # The only slot is free again: a whole message is answered.
    assert send("127.0.0.1", trickle_server.port, b"MSH|ok", timeout_s=10) == b"MSA|AA|ok"


def test_bytes_outside_any_message_do_not_keep_a_connection_open(trickle_server, caplog):
    with caplog.at_level(logging.INFO, logger="medtriage.mllp"):
        assert closed_while_trickling(trickle_server.port, [b"\n"] * 80, every_s=0.2)
    assert "no message for 1.5s" in caplog.text


def test_whole_messages_in_a_row_are_answered_and_reach_the_handler_with_the_peer():
    seen: list[Frame] = []

    def handler(frame: Frame) -> bytes:
        seen.append(frame)
        return b"MSA|AA"

    server = MllpServer(handler, port=0, idle_timeout_s=5, message_timeout_s=5)
    server.start()
    try:
        for _ in range(3):
            assert send("127.0.0.1", server.port, b"MSH|x", timeout_s=10) == b"MSA|AA"
    finally:
        server.stop(timeout_s=5)
    assert [(f.data, f.peer) for f in seen] == [(b"MSH|x", "127.0.0.1")] * 3
