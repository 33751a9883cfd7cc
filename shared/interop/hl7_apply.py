"""Apply received HL7 v2 messages through the services the web uses, once per control id.

ADT^A04 creates a waiting case with `shared.cases.create_case` (its idempotency key is the
sender and MSH-10, so a message resent after a crash finds its case); ADT^A08 and ORU^R01
re-triage the open case with the lifecycle's own observations action, written in the same
transaction as the message's row, so a resent message can never apply twice. Every message is
an audit event by the system actor `hl7:<sending application>`. Nothing here logs patient
data: control ids, message types and ACK codes only.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from shared import audit
from shared.accounts import Principal
from shared.audit_origin import set_origin
from shared.db import DatabaseNotAvailableError
from shared.db.models import Case, Hl7Message, utcnow
from shared.db.session import is_outage
from shared.interop import hl7, hl7_cases
from shared.interop.hl7 import Hl7Error, Received, not_applied
from shared.interop.hl7_cases import Applied
from shared.interop.mllp import Frame
from shared.queue import Dispatcher

log = logging.getLogger("medtriage.hl7")

ORIGIN = "hl7"
REFUSED_ACTOR = "hl7:unknown"  # the audit actor of a message from no allowed sender
AnyNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Allowed:
    """Who may change triage over HL7: sending application and facility pairs (MSH-3, MSH-4;
    `*` as the facility matches any), and optionally the source addresses (IPs or CIDRs; none
    named = any address). No sender named = every message refused."""

    senders: frozenset[tuple[str, str]] = frozenset()
    networks: tuple[AnyNetwork, ...] = ()

    @classmethod
    def parse(cls, senders: str, addresses: str = "") -> Allowed:
        """From MEDTRIAGE_HL7_SENDERS and MEDTRIAGE_HL7_ALLOWED_ADDRESSES; ValueError saying
        what is wrong (the listener refuses to start)."""
        pairs = set()
        for entry in (e.strip() for e in senders.split(",")):
            if not entry:
                continue
            application, sep, facility = entry.partition("^")
            if not sep or not application.strip() or "^" in facility:
                raise ValueError(
                    f"MEDTRIAGE_HL7_SENDERS: {entry!r} is not APPLICATION^FACILITY "
                    "(MSH-3^MSH-4, e.g. REG^HOSP; MON^* for any facility)"
                )
            pairs.add((application.strip(), facility.strip()))
        networks = []
        for entry in (e.strip() for e in addresses.split(",")):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(
                    f"MEDTRIAGE_HL7_ALLOWED_ADDRESSES: {entry!r} is not an IP address or CIDR "
                    "(e.g. 10.0.5.2, 10.0.5.0/24)"
                ) from None
        return cls(frozenset(pairs), tuple(networks))

    def sender(self, header: hl7.Header) -> bool:
        app, facility = header.sending_application, header.sending_facility
        return (app, facility) in self.senders or (app, "*") in self.senders

    def address(self, peer: str) -> bool:
        if not self.networks:
            return True
        try:
            address = ipaddress.ip_address(peer.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)


@dataclass(frozen=True)
class Answer:
    """What the listener sends back and may log (no patient data)."""

    ack: bytes
    ack_code: str
    control_id: str
    message_type: str
    duplicate: bool = False


@dataclass(frozen=True)
class Seen:
    """What a duplicate's answer needs of the first message's row, read while its session
    is open (the transaction that raises Duplicate rolls back, which expires the row)."""

    case_id: int | None
    message_hash: str
    received_at: dt.datetime

    @classmethod
    def of(cls, row: Hl7Message) -> Seen:
        return cls(row.case_id, row.message_hash, row.received_at)


class Duplicate(Exception):
    """The message was applied before (a row with AA exists): answer it again."""

    def __init__(self, row: Hl7Message) -> None:
        super().__init__(row.control_id)
        self.seen = Seen.of(row)


class Inbox:
    """Turns one message's bytes into its ACK; safe to call from many threads at once."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        dispatcher: Dispatcher | None,
        areas: list[str],
        processing_id: str = "P",
        max_bytes: int = 1024 * 1024,
        allowed: Allowed | None = None,
    ) -> None:
        self.allowed = allowed if allowed is not None else Allowed()  # none: refuse all
        self.max_bytes = max_bytes
        self.sessions = sessions
        self.dispatcher = dispatcher
        self.areas = areas
        self.processing_id = processing_id

    def answer(self, frame: Frame) -> bytes:
        """The MLLP listener's handler: the ACK for one frame, logged by control id."""
        if frame.too_big:
            answer = self.refuse_oversized(frame.data, frame.peer)
        else:
            answer = self.handle(frame.data, frame.peer)
        log.info(
            "hl7 %s %s: %s%s",
            _loggable(answer.control_id) or "-",
            _loggable(answer.message_type),
            answer.ack_code,
            " (duplicate, not applied again)" if answer.duplicate else "",
        )
        return answer.ack

    def refuse_oversized(self, head: bytes, peer: str = "") -> Answer:
        """AR for a message over the size limit, answered from its MSH alone (not read)."""
        set_origin(ORIGIN)
        first = head.split(b"\r", 1)[0].split(b"\n", 1)[0]
        try:
            received: Received | None = hl7.parse(first, self.processing_id)
        except Hl7Error as exc:
            received = exc.received
        refused = self._not_allowed(received, peer)
        if refused is not None:
            return refused
        error = hl7.rejected(hl7.APPLICATION_ERROR, f"message larger than {self.max_bytes} bytes")
        return self._refuse(received, error)

    def handle(self, raw: bytes, peer: str = "") -> Answer:
        """The answer to one message from `peer` (its address; '' when not known)."""
        set_origin(ORIGIN)
        try:
            received = hl7.parse(raw, self.processing_id)
        except Hl7Error as exc:
            return self._not_allowed(exc.received, peer) or self._refuse(exc.received, exc)
        refused = self._not_allowed(received, peer)
        if refused is not None:
            return refused
        try:
            return self._handle(received)
        except Hl7Error as exc:
            return self._refuse(received, exc)
        except DatabaseNotAvailableError:
            return self._unavailable(received)
        except Exception as exc:  # noqa: BLE001 - a message never stops the listener; AR
            if is_outage(exc):
                return self._unavailable(received)
            # The type and place only: an exception's text can quote the message.
            where = exc.__traceback__
            while where is not None and where.tb_next is not None:
                where = where.tb_next
            place = f"{where.tb_frame.f_code.co_filename}:{where.tb_lineno}" if where else "?"
            log.error(
                "hl7 %s %s failed: %s at %s",
                _loggable(received.header.control_id),
                _loggable(received.header.message_type),
                type(exc).__name__,
                place,
            )
            # AR, not AE: nothing about the message's content is wrong (HL7 table 0008), and
            # interface engines resend on AR.
            error = hl7.rejected(
                hl7.APPLICATION_ERROR, "internal error; nothing was applied; resend"
            )
            return self._answer(received, "AR", error)

    def _handle(self, received: Received) -> Answer:
        header = received.header
        with self.sessions() as session:
            row = _find(session, received)
        if row is not None and row.ack_code == "AA":
            return self._duplicate(received, Seen.of(row))
        user = hl7_cases.system_user(self.sessions, header.actor)
        try:
            if header.code == "ADT" and header.event == "A04":
                applied = hl7_cases.register(self.sessions, received, user)
                self._record(received, "AA", None, applied.case_id)
            elif header.code == "ADT":
                applied = self._in_one_transaction(received, user, hl7_cases.update_registration)
            else:
                applied = self._in_one_transaction(received, user, hl7_cases.observe)
        except Duplicate as exc:
            return self._duplicate(received, exc.seen)
        if applied.dispatch and applied.case_id is not None:
            self._dispatch(applied.case_id)
        return self._answer(received, "AA", None)

    # --- answers -----------------------------------------------------------------------

    def _not_allowed(self, received: Received | None, peer: str) -> Answer | None:
        """AR for a message from an address or a sender not allowed: audited by sender and
        control id (never the message), no row, no account; None when it is allowed. A
        message whose header cannot be read is refused anyway, from an allowed address."""
        if not self.allowed.address(peer):
            text = "the sending address is not allowed on this listener; nothing was applied"
            where = None
        elif received is not None and not self.allowed.sender(received.header):
            text = "MSH-3/MSH-4 sender is not allowed on this listener; nothing was applied"
            where = ("MSH", 1, 3)
        else:
            return None
        error = hl7.rejected(hl7.APPLICATION_ERROR, text, where)
        header = received.header if received is not None else None
        log.warning(
            "hl7 %s: refused, %s %s^%s from %s is not allowed (MEDTRIAGE_HL7_SENDERS, "
            "MEDTRIAGE_HL7_ALLOWED_ADDRESSES)",
            _loggable(header.control_id) if header else "-",
            "sender" if where else "address",
            _loggable(header.sending_application) if header else "?",
            _loggable(header.sending_facility) if header else "?",
            _loggable(peer) or "?",
        )
        detail: dict[str, Any] = {"ack_code": "AR", "reason": text, "address": peer[:64]}
        if header is not None:
            detail.update({k: _loggable(v) for k, v in _about(header).items()})
        try:
            with self.sessions.begin() as session:
                audit.record(session, actor=REFUSED_ACTOR, action="hl7.refused", detail=detail)
        except Exception as exc:  # noqa: BLE001 - the answer still goes out; recorded in the log
            log.warning("hl7 refusal not recorded: %s", type(exc).__name__)
        return self._answer(received, "AR", error)

    def _answer(self, received: Received | None, code: str, error: Hl7Error | None) -> Answer:
        control_id = received.header.control_id if received else ""
        kind = received.header.message_type if received else "?"
        reply = hl7.ack(received, code, error, control_id=f"MT{uuid.uuid4().hex[:18]}")
        return Answer(reply, code, control_id, kind)

    def _refuse(self, received: Received | None, error: Hl7Error) -> Answer:
        """AE or AR: recorded (with its control id when there is one) and audited."""
        try:
            if received is not None and received.header.control_id:
                self._record(received, error.ack_code, error, None)
            else:
                with self.sessions.begin() as session:
                    audit.record(
                        session,
                        actor="hl7:unknown",
                        action="hl7.rejected",
                        detail={"ack_code": error.ack_code, "reason": error.text},
                    )
        except Exception as exc:  # noqa: BLE001 - the answer still goes out; recorded in the log
            log.warning("hl7 refusal not recorded: %s", type(exc).__name__)
        return self._answer(received, error.ack_code, error)

    def _duplicate(self, received: Received, row: Seen) -> Answer:
        header = received.header
        if row.message_hash != received.digest:
            error = not_applied(
                hl7.DUPLICATE_KEY,
                "MSH-10 control id was already used by this sender for another message; "
                "nothing was applied",
                ("MSH", 1, 10),
            )
            return self._refuse_again(received, error, row)
        with self.sessions.begin() as session:
            audit.record(
                session,
                actor=header.actor,
                action="hl7.duplicate",
                case_id=row.case_id,
                detail={**_about(header), "ack_code": "AA", "first_received_at": _iso(row)},
            )
        answer = self._answer(received, "AA", None)
        return Answer(answer.ack, "AA", answer.control_id, answer.message_type, duplicate=True)

    def _refuse_again(self, received: Received, error: Hl7Error, row: Seen) -> Answer:
        """A reused control id: audited, but the first message's row stays as it was."""
        with self.sessions.begin() as session:
            audit.record(
                session,
                actor=received.header.actor,
                action="hl7.error",
                case_id=row.case_id,
                detail={**_about(received.header), "ack_code": "AE", "reason": error.text},
            )
        return self._answer(received, "AE", error)

    def _unavailable(self, received: Received) -> Answer:
        log.warning("hl7 %s: database not available", _loggable(received.header.control_id))
        # AR, not AE: the system is down, the message is fine (HL7 table 0008); interface
        # engines resend on AR.
        error = hl7.rejected(
            hl7.APPLICATION_ERROR, "the database is not available; nothing was applied; resend"
        )
        return self._answer(received, "AR", error)

    def _in_one_transaction(
        self,
        received: Received,
        user: Principal,
        apply: Callable[[Session, Received, Principal, list[str]], Applied],
    ) -> Applied:
        """The change, the message's row and its audit event commit together, or nothing."""
        try:
            with self.sessions.begin() as session:
                existing = _find(session, received, lock=True)
                if existing is not None and existing.ack_code == "AA":
                    raise Duplicate(existing)
                applied: Applied = apply(session, received, user, self.areas)
                _write_row(session, received, existing, "AA", None, applied.case_id)
                return applied
        except IntegrityError:
            # The same message on another connection committed first.
            with self.sessions() as session:
                row = _find(session, received)
            if row is None or row.ack_code != "AA":
                raise
            raise Duplicate(row) from None

    def _dispatch(self, case_id: int) -> None:
        """After the commit, like the web: if Redis is down the reconciler sends it later."""
        if self.dispatcher is None:
            return
        with self.sessions() as session:
            case = session.get(Case, case_id)
            if case is not None and not self.dispatcher.send(case.id, case.acuity):
                log.warning("hl7: case %s saved; dispatch pending", case_id)

    def _record(
        self, received: Received, code: str, error: Hl7Error | None, case_id: int | None
    ) -> None:
        """The row and audit event of a message handled outside `_in_one_transaction` (an
        A04, whose case `create_case` commits itself, and refusals)."""
        for _attempt in range(2):  # a second try when another connection inserted it first
            try:
                with self.sessions.begin() as session:
                    existing = _find(session, received, lock=True)
                    if existing is not None and existing.ack_code == "AA":
                        if code == "AA":
                            raise Duplicate(existing)  # the same A04 on two connections
                        return  # never overwrite the record of a message that was applied
                    _write_row(session, received, existing, code, error, case_id)
                    return
            except IntegrityError:
                continue


# --- helpers ---------------------------------------------------------------------------


def _loggable(text: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in text)[:64]


def _about(header: hl7.Header) -> dict[str, Any]:
    return {
        "control_id": header.control_id,
        "message_type": header.message_type,
        "sending_application": header.sending_application,
        "sending_facility": header.sending_facility,
    }


def _iso(row: Seen) -> str:
    return row.received_at.astimezone(dt.UTC).isoformat()


def _find(session: Session, received: Received, lock: bool = False) -> Hl7Message | None:
    h = received.header
    query = select(Hl7Message).where(
        Hl7Message.sending_application == h.sending_application,
        Hl7Message.sending_facility == h.sending_facility,
        Hl7Message.control_id == h.control_id,
    )
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.scalar(query)


def _write_row(
    session: Session,
    received: Received,
    row: Hl7Message | None,
    code: str,
    error: Hl7Error | None,
    case_id: int | None,
) -> None:
    """The message's row (a resend of a refused message updates it) and its audit event."""
    h = received.header
    if row is None:
        row = Hl7Message(
            sending_application=h.sending_application,
            sending_facility=h.sending_facility,
            control_id=h.control_id,
        )
        session.add(row)
    row.message_type = h.message_type
    row.message_hash = received.digest
    row.received_at = utcnow()
    row.ack_code = code
    row.error = error.text[:500] if error else None
    row.case_id = case_id
    action = {"AA": "hl7.accepted", "AE": "hl7.error", "AR": "hl7.rejected"}[code]
    detail = {**_about(h), "ack_code": code}
    if error is not None:
        detail.update(reason=error.text, error_code=error.code)
    session.flush()
    audit.record(session, actor=h.actor, action=action, case_id=case_id, detail=detail)
