"""A case's care as people read it: state, override beside the engine, NEWS2 trend,
observations, notes, pertinent negatives, and the timeline of results and actions.

Times stay UTC (ISO 8601) here, as the API and the audit trail keep them; the case page
shows them in the site's time zone (`local_time`).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.board import iso
from shared.clinical.engine import assess_case
from shared.db.models import AuditEvent, CareStatus, Case, CaseNote, Observation, Result, User
from shared.lifecycle import intake_fields
from shared.nlp.complaints import match_complaints
from shared.nlp.findings import find_findings
from shared.safety.schema import MODEL_OUTPUT_KEY, SafeTriageOutput
from shared.schemas import Acuity, CaseIn

CONSCIOUSNESS = {
    "A": "alert",
    "C": "new confusion",
    "V": "responds to voice",
    "P": "responds to pain",
    "U": "unresponsive",
}


# Field and NEWS2 parameter names as people read them.
FIELD_LABELS = {
    "respiratory_rate": "Respiratory rate",
    "spo2": "SpO2",
    "spo2_scale2": "SpO2 scale 2",
    "air_or_oxygen": "Air or oxygen",
    "on_oxygen": "Oxygen",
    "systolic_bp": "Systolic blood pressure",
    "diastolic_bp": "Diastolic blood pressure",
    "heart_rate": "Heart rate",
    "consciousness": "Consciousness (ACVPU)",
    "temperature": "Temperature",
    "temperature_c": "Temperature",
    "pain": "Pain",
    "gcs": "GCS",
}


def field_label(name: str) -> str:
    return FIELD_LABELS.get(name, name.replace("_", " ").capitalize())


def _number(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def readable_vitals(vitals: dict[str, Any]) -> list[dict[str, str]]:
    """Label and value as a nurse writes them; a value not measured says so."""

    def show(key: str, unit: str = "") -> str:
        value = vitals.get(key)
        return "not documented" if value is None else f"{_number(value)}{unit}"

    systolic, diastolic = vitals.get("systolic_bp"), vitals.get("diastolic_bp")
    if systolic is not None and diastolic is not None:
        pressure = f"{_number(systolic)}/{_number(diastolic)} mmHg"
    elif systolic is not None:
        pressure = f"{_number(systolic)} mmHg systolic"
    elif diastolic is not None:
        pressure = f"{_number(diastolic)} mmHg diastolic"
    else:
        pressure = "not documented"
    on_oxygen = vitals.get("on_oxygen")
    oxygen = "not documented" if on_oxygen is None else "on oxygen" if on_oxygen else "room air"
    scale = "scale 2 (target 88-92%)" if vitals.get("spo2_scale2") else "scale 1"
    avpu = vitals.get("consciousness")
    rows = [
        ("Respiratory rate", show("respiratory_rate", "/min")),
        ("SpO2", show("spo2", "%") + (f", {scale}" if vitals.get("spo2") is not None else "")),
        ("Oxygen", oxygen),
        ("Blood pressure", pressure),
        ("Heart rate", show("heart_rate", "/min")),
        ("Consciousness (ACVPU)", CONSCIOUSNESS.get(str(avpu), "not documented")),
        ("Temperature", show("temperature_c", " °C")),
        ("Pain", show("pain", "/10")),
    ]
    if vitals.get("gcs") is not None:
        rows.append(("GCS", show("gcs", "/15")))
    return [{"label": label, "value": value} for label, value in rows]


def local_time(value: str | dt.datetime | None, zone: str) -> str:
    """'2026-12-09 14:03 GMT' in the site's zone; '—' for no time."""
    if value is None:
        return "—"
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(zoneinfo.ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")


def pertinent_negatives(texts: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """What the text denies ("denies SOB", "no fever"): complaints and findings the engine
    read as negated, each once, with the words and the negating cue."""
    out: list[dict[str, Any]] = []
    for source, text in texts:
        taken: list[tuple[int, int]] = []
        found = [
            (m.start, m.end, m.complaint.name, m.text, m.context.negated_by)
            for m in match_complaints(text)
            if m.context.negated
        ]
        found += [
            (f.start, f.end, f.label, f.text, f.context.negated_by)
            for f in find_findings(text)
            if f.context.negated
        ]
        for start, end, what, words, cue in found:
            if any(start < b and a < end for a, b in taken):
                continue  # one mention, read by both the vocabulary and the findings
            taken.append((start, end))
            out.append({"what": what, "words": words, "cue": cue, "source": source})
    return out


def _intake_news2(case: Case, results: list[Result]) -> int | None:
    intake = [r for r in results if "/obs" not in r.analysis_key]
    if intake:
        total = (intake[-1].payload.get("assessment") or {}).get("news2", {}).get("total")
        return total if isinstance(total, int) else None
    try:
        case_in = CaseIn.model_validate(intake_fields(case))
    except ValidationError:
        return None
    return assess_case(case_in).news2.total


def model_output_view(payload: dict[str, Any] | None) -> dict[str, Any] | None:
    """A result's checked model output for the case page: what may be shown, and the claims
    not found in the record grouped by the withheld sentence (None when no model wrote)."""
    raw = ((payload or {}).get("details") or {}).get(MODEL_OUTPUT_KEY)
    if not raw:
        return None
    try:
        safe = SafeTriageOutput.model_validate(raw)
    except ValidationError:
        return None  # never show an output that fails the safety schema
    withheld: dict[tuple[str, str], list[str]] = {}
    for c in safe.claims:
        if c.grounding == "ungrounded":
            reason = f"{c.text} ({c.reason})" if c.reason else c.text
            withheld.setdefault((c.where, c.sentence or c.text), []).append(reason)
    return {
        **safe.model_dump(mode="json"),
        "applied_label": Acuity(safe.applied_acuity).label,
        "suggested_label": Acuity(safe.suggested_acuity).label,
        "not_found": [
            {"where": where, "sentence": sentence, "claims": claims}
            for (where, sentence), claims in withheld.items()
        ],
        "interpretations": sorted({c.text for c in safe.claims if c.grounding == "interpretation"}),
        # The model read a shortened note (shared.inference.fit): say so beside what it wrote.
        "words_omitted": _words_omitted(payload),
    }


def _words_omitted(payload: dict[str, Any] | None) -> int:
    run = ((payload or {}).get("details") or {}).get("model_run") or {}
    return int((run.get("prompt_truncation") or {}).get("words_omitted", 0))


def _names(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(session.execute(select(User.id, User.username).where(User.id.in_(wanted))).all())


def _label(level: Any) -> str:
    return Acuity(int(level)).label if level is not None else "—"


def describe(event: AuditEvent, notes: dict[int, str]) -> str:
    """One timeline line for an audit event."""
    d, who = event.detail or {}, event.actor
    match event.action:
        case "case.submitted":
            return f"Triaged at intake by {who}: {_label(d.get('provisional_acuity'))}"
        case "case.analyzed":
            text = f"Analysis result: {_label(d.get('acuity'))} ({d.get('pipeline')})"
            if d.get("observation_id"):
                text += " for the re-triage"
            return text + (" — superseded by a later re-triage" if d.get("superseded") else "")
        case "case.failed":
            return f"Analysis failed: {d.get('error')}"
        case "case.acknowledged":
            text = f"Acknowledged by {who}, assigned to {d.get('assigned_to')}"
            text += f", area {d['area']}" if d.get("area") else ""
            return text + ("; escalation acknowledged" if d.get("escalation_acknowledged") else "")
        case "case.moved":
            return f"Moved by {who} from {d.get('from') or 'no area'} to {d.get('to')}"
        case "case.retriaged":
            news2 = d.get("news2_total")
            return (
                f"Re-triaged by {who}: {_label(d.get('engine_acuity'))}"
                f" (NEWS2 {'—' if news2 is None else news2})"
            )
        case "case.escalated":
            return f"Escalated: {_label(d.get('from_acuity'))} → {_label(d.get('to_acuity'))}"
        case "case.overridden":
            return (
                f"Acuity overridden by {who} to {_label(d.get('acuity'))} "
                f"(engine {_label(d.get('engine_acuity'))}): {d.get('reason')}"
            )
        case "case.override_withdrawn":
            return f"Override withdrawn by {who}: {d.get('reason')}"
        case "case.disposed":
            text = f"Disposition by {who}: {str(d.get('disposition')).replace('_', ' ')}"
            care = d.get("level_of_care")
            return text + (f" ({str(care).upper()})" if care else "")
        case "case.followed_up":
            return f"Follow-up by {who}: {str(d.get('outcome')).replace('_', ' ')}"
        case "case.note_added":
            return f"Note by {who}: {notes.get(int(d.get('note_id') or 0), '')}"
    return f"{event.action} by {who}"


def care_view(session: Session, case: Case, targets: dict[int, int]) -> dict[str, Any]:
    """The lifecycle part of a case for the API and the case page (UTC times)."""
    results = list(session.scalars(select(Result).where(Result.case_id == case.id)))
    observations = list(
        session.scalars(
            select(Observation).where(Observation.case_id == case.id).order_by(Observation.id)
        )
    )
    notes = list(
        session.scalars(select(CaseNote).where(CaseNote.case_id == case.id).order_by(CaseNote.id))
    )
    events = session.scalars(  # the care steps; who read the case is for the audit trail
        select(AuditEvent)
        .where(AuditEvent.case_id == case.id, AuditEvent.action != "case.viewed")
        .order_by(AuditEvent.id)
    ).all()
    names = _names(
        session,
        {case.assigned_to_id, case.override_by_id, case.disposed_by_id}
        | {o.recorded_by_id for o in observations}
        | {n.author_id for n in notes},
    )
    now = dt.datetime.now(dt.UTC)
    target = targets[int(case.acuity)]
    end = case.disposed_at or now
    waited = max((end - case.created_at).total_seconds() / 60, 0)
    due = case.last_assessed_at + dt.timedelta(minutes=target)
    trend = [{"at": iso(case.created_at), "total": _intake_news2(case, results), "of": "intake"}]
    trend += [
        {"at": iso(o.recorded_at), "total": o.news2_total, "of": "re-triage"} for o in observations
    ]
    lines = [("re-triage line", o.note_line) for o in observations if o.note_line]
    note_text = {n.id: n.text for n in notes}
    return {
        "care_status": case.care_status.value,
        "care_status_label": case.care_status.label,
        "assigned_to": names.get(case.assigned_to_id or 0),
        "area": case.area,
        "acknowledged_at": iso(case.acknowledged_at),
        "last_assessed_at": iso(case.last_assessed_at),
        "reassess_due_at": iso(due) if case.care_status == CareStatus.WAITING else None,
        "waited_minutes": int(waited),
        "target_minutes": target,
        "overdue": case.care_status == CareStatus.WAITING and waited > target,
        "engine_acuity": int(case.engine_acuity),
        "engine_acuity_label": case.engine_acuity.label,
        "override": None
        if case.override_acuity is None
        else {
            "acuity": int(case.override_acuity),
            "acuity_label": case.override_acuity.label,
            "reason": case.override_reason,
            "by": names.get(case.override_by_id or 0),
            "at": iso(case.override_at),
        },
        "escalation": None
        if case.escalated_at is None
        else {
            "from_acuity": int(case.escalated_from or case.engine_acuity),
            "from_label": _label(case.escalated_from),
            "to_acuity": int(case.engine_acuity),
            "to_label": case.engine_acuity.label,
            "at": iso(case.escalated_at),
        },
        "disposition": case.disposition.value if case.disposition else None,
        "disposition_label": case.disposition.label if case.disposition else None,
        "disposed_at": iso(case.disposed_at),
        "disposed_by": names.get(case.disposed_by_id or 0),
        "level_of_care": case.level_of_care.value if case.level_of_care else None,
        "followup": case.followup.value if case.followup else None,
        "followup_label": case.followup.label if case.followup else None,
        "followup_at": iso(case.followup_at),
        "intake_vitals": readable_vitals(case.vitals),
        "news2_trend": trend,
        "news2_trend_text": " → ".join(
            "—" if p["total"] is None else str(p["total"]) for p in trend
        ),
        "observations": [
            {
                "id": o.id,
                "at": iso(o.recorded_at),
                "by": names.get(o.recorded_by_id),
                "vitals": o.vitals,
                "readable_vitals": readable_vitals(o.vitals),
                "note": o.note_line,
                "engine_acuity": int(o.engine_acuity),
                "engine_acuity_label": o.engine_acuity.label,
                "news2_total": o.news2_total,
                "analyzed": o.result_id is not None,
            }
            for o in observations
        ],
        "notes": [{"at": iso(n.at), "by": names.get(n.author_id), "text": n.text} for n in notes],
        "results": [
            {
                "at": iso(r.created_at),
                "acuity": int(r.acuity),
                "acuity_label": r.acuity.label,
                "pipeline": r.pipeline,
                "of": "re-triage" if "/obs" in r.analysis_key else "intake",
            }
            for r in sorted(results, key=lambda r: r.id)
        ],
        "model_output": model_output_view(max(results, key=lambda r: r.id).payload)
        if results
        else None,
        "pertinent_negatives": pertinent_negatives(
            [("chief complaint", case.chief_complaint), ("note", case.note), *lines]
        ),
        "timeline": [
            {"at": iso(e.at), "actor": e.actor, "action": e.action, "text": describe(e, note_text)}
            for e in events
        ],
    }
