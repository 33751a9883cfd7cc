"""HL7 v2 in: read ADT^A04/A08 and ORU^R01 messages (python-hl7) into what a case needs, and
write the ACK that answers them. Pure functions: no database, no sockets.

Errors name the segment and field, never a value from the message (they are stored and
logged), so a reason never carries patient data.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hl7
import hl7.containers
import hl7.util

RECEIVER = "MEDTRIAGE"
# What python-hl7 raises on malformed text (its parse plan asserts on odd separators).
PARSE_ERRORS = (hl7.HL7Exception, IndexError, KeyError, ValueError, AssertionError)
BLANK_HEADER = "MSH|^~\\&|||||||ACK^^ACK||P|2.5"
SUPPORTED = {("ADT", "A04"), ("ADT", "A08"), ("ORU", "R01")}
MAX_MSA_TEXT = 80  # MSA-3 is 80 characters in every v2 version


def quiet_parser_logs() -> None:
    """Silence python-hl7's own loggers: on an escape it cannot decode (a local `\\Zx\\`,
    say) it logs the whole field at WARNING or ERROR, and a field can hold a name. Its
    loggers are named by file path (`getLogger(__file__)`), not under `hl7`, so each one is
    found here: every python-hl7 module's `logger`, and every logger named in its folder."""
    package = Path(hl7.__file__).resolve().parent
    found = [
        module.logger
        for name, module in list(sys.modules.items())
        if (name == "hl7" or name.startswith("hl7."))
        and isinstance(getattr(module, "logger", None), logging.Logger)
    ]
    for name in list(logging.Logger.manager.loggerDict):
        if name == "hl7" or name.startswith("hl7.") or name.startswith(str(package)):
            found.append(logging.getLogger(name))
    for logger in found:
        logger.setLevel(logging.CRITICAL + 1)
        logger.propagate = False
        logger.disabled = True
        if not logger.handlers:
            logger.addHandler(logging.NullHandler())


quiet_parser_logs()  # anywhere the parser runs (listener, CLI, tests) imports this module

# HL7 table 0357 (message error condition codes) used here.
REQUIRED_FIELD_MISSING = 101
DATA_TYPE_ERROR = 102
TABLE_VALUE_NOT_FOUND = 103
UNSUPPORTED_MESSAGE_TYPE = 200
UNSUPPORTED_EVENT = 201
UNSUPPORTED_PROCESSING_ID = 202
UNSUPPORTED_VERSION = 203
UNKNOWN_KEY = 204
DUPLICATE_KEY = 205
APPLICATION_ERROR = 207
TABLE_0357 = {
    REQUIRED_FIELD_MISSING: "Required field missing",
    DATA_TYPE_ERROR: "Data type error",
    TABLE_VALUE_NOT_FOUND: "Table value not found",
    UNSUPPORTED_MESSAGE_TYPE: "Unsupported message type",
    UNSUPPORTED_EVENT: "Unsupported event code",
    UNSUPPORTED_PROCESSING_ID: "Unsupported processing id",
    UNSUPPORTED_VERSION: "Unsupported version id",
    UNKNOWN_KEY: "Unknown key identifier",
    DUPLICATE_KEY: "Duplicate key identifier",
    APPLICATION_ERROR: "Application internal error",
}

# HL7 table 0001 (administrative sex) -> CaseIn's sex.
SEX = {
    "F": "female",
    "M": "male",
    "O": "other",
    "A": "other",  # ambiguous
    "X": "other",  # non-binary (v2.9)
    "U": "unknown",
    "N": "unknown",  # not applicable
}


class Hl7Error(Exception):
    """A message answered AE (understood, cannot be applied) or AR (rejected)."""

    def __init__(
        self, ack_code: str, code: int, text: str, where: tuple[str, int, int] | None = None
    ) -> None:
        super().__init__(text)
        self.ack_code = ack_code
        self.code = code
        self.text = text
        self.where = where  # (segment id, its sequence in the message, field number)
        self.received: Received | None = None  # set when the header could be read


def rejected(code: int, text: str, where: tuple[str, int, int] | None = None) -> Hl7Error:
    return Hl7Error("AR", code, text, where)


def not_applied(code: int, text: str, where: tuple[str, int, int] | None = None) -> Hl7Error:
    return Hl7Error("AE", code, text, where)


@dataclass(frozen=True)
class Header:
    """MSH: who sent what, and the control id the ACK answers."""

    sending_application: str
    sending_facility: str
    control_id: str
    code: str  # MSH-9.1: ADT, ORU
    event: str  # MSH-9.2: A04, A08, R01
    processing_id: str
    version: str
    sent_at: dt.datetime | None

    @property
    def message_type(self) -> str:
        return f"{self.code}^{self.event}"

    @property
    def actor(self) -> str:
        """The audit trail's actor: the sending application, as a system actor."""
        name = "".join(c for c in self.sending_application if c.isprintable())
        return f"hl7:{name or 'unknown'}"[:64]


@dataclass
class Received:
    """A parsed message: its header, the parse tree and the SHA-256 of its text."""

    header: Header
    message: hl7.Message
    digest: str


@dataclass(frozen=True)
class Registration:
    """ADT^A04/A08: what a case is created or updated with."""

    patient_ref: str
    age_years: float | None
    sex: str | None
    chief_complaint: str | None


def value(segment: Any, field_num: int, component: int = 1, repetition: int = 1) -> str:
    """A field's component, unescaped; '' when the message does not have it."""
    try:
        found = segment.extract_field(1, field_num, repetition, component, 1)
    except (IndexError, KeyError, AttributeError):
        return ""
    return str(found).strip()


def segments(message: hl7.Message, segment_id: str) -> list[Any]:
    try:
        return list(message.segments(segment_id))
    except KeyError:
        return []


def decode(raw: bytes) -> str:
    """The message's text, in the character set MSH-18 names (UTF-8 unless it says
    ISO 8859-1), with any line ending read as HL7's segment separator."""
    first = raw.split(b"\r", 1)[0].split(b"\n", 1)[0].decode("ascii", errors="replace")
    charset = ""
    if first.startswith("MSH") and len(first) > 3:
        fields = first.split(first[3])
        charset = fields[17].strip().upper() if len(fields) > 17 else ""
    encoding = "latin-1" if charset == "8859/1" else "utf-8"
    if charset not in ("", "ASCII", "8859/1", "UNICODE UTF-8"):
        raise rejected(APPLICATION_ERROR, "MSH-18 names a character set not supported here")
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        raise rejected(DATA_TYPE_ERROR, "the message is not valid UTF-8 text") from None
    return text.replace("\r\n", "\r").replace("\n", "\r").strip()


DTM = re.compile(r"\d{4}(\d{2}(\d{2}(\d{2}(\d{2}(\d{2}(\.\d{1,4})?)?)?)?)?)?([+-]\d{4})?")


def timestamp(
    text: str, where: tuple[str, int, int], what: str, date_only: bool = False
) -> dt.datetime:
    """An HL7 DTM, strictly (python-hl7 alone reads '1980XX15' as 1980)."""
    if not DTM.fullmatch(text) or (date_only and len(text) < 8):
        raise Hl7Error("AR" if where[0] == "MSH" else "AE", DATA_TYPE_ERROR, what, where)
    try:
        parsed: dt.datetime = hl7.parse_datetime(text)
    except ValueError:
        raise Hl7Error("AR" if where[0] == "MSH" else "AE", DATA_TYPE_ERROR, what, where) from None
    return parsed


def parse(raw: bytes, processing_id: str = "P") -> Received:
    """Parse and check the header; raises Hl7Error (AR) for a message to reject."""
    text = decode(raw)
    if not text.startswith("MSH") or len(text) < 8:
        raise rejected(REQUIRED_FIELD_MISSING, "the message does not start with an MSH segment")
    try:
        message = hl7.parse(text)
        msh = message.segment("MSH")
    except PARSE_ERRORS:
        raise rejected(DATA_TYPE_ERROR, "the message cannot be parsed as HL7 v2") from None
    # The header first, with no time: a bad MSH-7 is then answered to the sender, echoing
    # its control id, and recorded like any other refusal.
    header = Header(
        sending_application=value(msh, 3),
        sending_facility=value(msh, 4),
        control_id=value(msh, 10),
        code=value(msh, 9, 1).upper(),
        event=value(msh, 9, 2).upper(),
        processing_id=value(msh, 11),
        version=value(msh, 12),
        sent_at=None,
    )
    received = Received(header, message, hashlib.sha256(text.encode()).hexdigest())
    try:
        _check_header(header, processing_id)
        sent = value(msh, 7)
        if sent:
            at = timestamp(sent, ("MSH", 1, 7), "MSH-7 is not an HL7 date and time")
            received.header = dataclasses.replace(header, sent_at=at)
    except Hl7Error as exc:
        exc.received = received  # the ACK then answers the sender and echoes MSH-10
        raise
    return received


def _check_header(header: Header, processing_id: str) -> None:
    if not header.control_id:
        raise rejected(
            REQUIRED_FIELD_MISSING, "MSH-10 message control id is missing", ("MSH", 1, 10)
        )
    if len(header.control_id) > 199 or not header.control_id.isprintable():
        raise rejected(DATA_TYPE_ERROR, "MSH-10 message control id is not valid", ("MSH", 1, 10))
    if len(header.sending_application) > 227 or len(header.sending_facility) > 227:
        raise rejected(DATA_TYPE_ERROR, "MSH-3/MSH-4 sender names are too long", ("MSH", 1, 3))
    if not header.version.startswith("2."):
        raise rejected(UNSUPPORTED_VERSION, "MSH-12 must be an HL7 version 2.x", ("MSH", 1, 12))
    if header.processing_id[:1] != processing_id:
        raise rejected(
            UNSUPPORTED_PROCESSING_ID,
            f"MSH-11 processing id must be {processing_id} on this listener",
            ("MSH", 1, 11),
        )
    if header.code not in {code for code, _ in SUPPORTED}:
        raise rejected(
            UNSUPPORTED_MESSAGE_TYPE,
            "MSH-9 message type not supported: only ADT A04, ADT A08 and ORU R01",
            ("MSH", 1, 9),
        )
    if (header.code, header.event) not in SUPPORTED:
        raise rejected(
            UNSUPPORTED_EVENT,
            "MSH-9 trigger event not supported: only ADT A04, ADT A08 and ORU R01",
            ("MSH", 1, 9),
        )


def patient_ref(message: hl7.Message) -> str:
    """PID-3: the medical record number (identifier type MR) when one repeats, else the
    first identifier; the reference a nurse types on the intake form."""
    pid = segments(message, "PID")
    if not pid:
        raise not_applied(REQUIRED_FIELD_MISSING, "the message has no PID segment")
    ids = []
    for repetition in range(1, 20):
        ident = value(pid[0], 3, 1, repetition)
        if not ident and not value(pid[0], 3, 5, repetition):
            break
        ids.append((value(pid[0], 3, 5, repetition).upper(), ident))
    ref = next((ident for kind, ident in ids if kind == "MR" and ident), "")
    ref = ref or next((ident for _kind, ident in ids if ident), "")
    if not ref:
        raise not_applied(
            REQUIRED_FIELD_MISSING, "PID-3 patient identifier is missing", ("PID", 1, 3)
        )
    if len(ref) > 64 or not ref.isprintable():
        raise not_applied(DATA_TYPE_ERROR, "PID-3 patient identifier is not valid", ("PID", 1, 3))
    return ref


def age_years(birth: dt.date, on: dt.date) -> float:
    """Completed years from 2 years on; below that, years with a fraction (infants)."""
    if birth > on:
        raise not_applied(
            DATA_TYPE_ERROR, "PID-7 birth date is after the message time", ("PID", 1, 7)
        )
    years = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    if years >= 2:
        if years > 120:
            raise not_applied(
                DATA_TYPE_ERROR, "PID-7 birth date gives an age over 120 years", ("PID", 1, 7)
            )
        return float(years)
    # Cut, not rounded: an infant a day short of two is 1.99, never 2.0.
    return math.floor((on - birth).days / 365.25 * 100) / 100


def sex(code: str) -> str:
    try:
        return SEX[code.upper()]
    except KeyError:
        raise not_applied(
            TABLE_VALUE_NOT_FOUND, "PID-8 sex is not a code of HL7 table 0001", ("PID", 1, 8)
        ) from None


def registration(received: Received, received_at: dt.datetime) -> Registration:
    """ADT^A04/A08: reference (PID-3), age from the birth date (PID-7) at the message time
    (MSH-7, else when it arrived), sex (PID-8), chief complaint (PV2-3). Absent fields are
    None (an A08 then leaves them as they are); vital signs are shared.interop.hl7_vitals'."""
    message = received.message
    ref = patient_ref(message)
    pid = segments(message, "PID")[0]
    birth_text = value(pid, 7)
    age = None
    if birth_text:
        birth = timestamp(
            birth_text, ("PID", 1, 7), "PID-7 birth date is not a full date", date_only=True
        )
        at = received.header.sent_at or received_at
        age = age_years(birth.date(), at.date())
    sex_code = value(pid, 8)
    complaint = None
    pv2 = segments(message, "PV2")
    if pv2:
        # CWE: the text (component 2), else the code (component 1).
        complaint = value(pv2[0], 3, 2) or value(pv2[0], 3, 1) or None
    if complaint is not None and len(complaint) > 500:
        raise not_applied(DATA_TYPE_ERROR, "PV2-3 admit reason is too long", ("PV2", 1, 3))
    return Registration(
        patient_ref=ref,
        age_years=age,
        sex=sex(sex_code) if sex_code else None,
        chief_complaint=complaint,
    )


def _stand_in(received: Received | None) -> hl7.Message:
    """A header to answer from when the message's own cannot be copied: its sender and
    control id when they were read, else nothing to echo."""
    blank = hl7.parse(BLANK_HEADER)
    if received is None:
        return blank
    h = received.header
    sender = f"{blank.escape(h.sending_application)}|{blank.escape(h.sending_facility)}"
    return hl7.parse(f"MSH|^~\\&|{sender}|||||ACK^^ACK|{blank.escape(h.control_id)}|P|2.5")


def ack(
    received: Received | None, ack_code: str, error: Hl7Error | None = None, *, control_id: str
) -> bytes:
    """The ACK (original mode): MSH answering the message's sender, MSA with the code and
    the control id it answers, the reason in MSA-3, and an ERR segment when not AA."""
    source = received.message if received is not None else _stand_in(None)
    try:
        answer = source.create_ack(ack_code, message_id=control_id, application=RECEIVER)
    except (*PARSE_ERRORS, TypeError):  # an MSH-9 without components, say
        source = _stand_in(received)
        answer = source.create_ack(ack_code, message_id=control_id, application=RECEIVER)
    if error is not None:
        msa = answer.segment("MSA")
        msa.assign_field(source.escape(error.text[:MAX_MSA_TEXT]), 3)
        err = answer.create_segment([answer.create_field(["ERR"])])
        if error.where is not None:
            segment_id, sequence, field_num = error.where
            err.assign_field(segment_id, 2, 1, 1)
            err.assign_field(str(sequence), 2, 1, 2)
            err.assign_field(str(field_num), 2, 1, 3)
        err.assign_field(str(error.code), 3, 1, 1)
        err.assign_field(TABLE_0357.get(error.code, "Application error"), 3, 1, 2)
        err.assign_field("HL70357", 3, 1, 3)
        err.assign_field("E", 4)
        err.assign_field(source.escape(error.text), 8)
        answer.append(err)
    return str(answer).encode("utf-8")
