"""The live board: which cases, in what order, counted how, and what each row shows.

Levels 1-2 are never paged or filtered away: every open case of those levels is a row.
Levels 3-5 are filtered (area, level, status of care, mine) and paged, and the answer says
how many open cases there are, how many match and how many are shown, so nothing is dropped
silently.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from sqlalchemy import ColumnElement, Integer, Text, and_, cast, false, func, or_, select, true
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session, aliased

from shared.db.models import CareStatus, Case, CaseStatus, Image, User
from shared.schemas import Acuity, Assessment, VitalConflict

OPEN_STATUSES = (CaseStatus.QUEUED, CaseStatus.RUNNING, CaseStatus.ANALYZED, CaseStatus.FAILED)
ALWAYS_SHOWN = (Acuity.RESUSCITATION, Acuity.EMERGENT)  # never paged or filtered away
LEVEL_NAMES = {1: "Resuscitation", 2: "Emergent", 3: "Urgent", 4: "Less urgent", 5: "Non-urgent"}
CARE_FILTERS = ("waiting", "in_assessment", "retriage_due", "overdue")
# The clock-dependent filters: their answer changes as time passes with no write.
TIMED_FILTERS = ("retriage_due", "overdue")

# Short names as nurses write them, for the board's conflict line.
VITAL_LABELS = {
    "heart_rate": "HR",
    "respiratory_rate": "RR",
    "spo2": "SpO2",
    "systolic_bp": "systolic BP",
    "diastolic_bp": "diastolic BP",
    "temperature_c": "temp",
    "consciousness": "AVPU",
    "on_oxygen": "oxygen",
    "gcs": "GCS",
    "pain": "pain",
}


def stored_conflicts(assessment: Assessment) -> list[dict[str, Any]]:
    """What the board needs of each conflict, kept on the case so the board reads one table."""
    return [
        c.model_dump(mode="json", include={"field", "structured", "note", "used"})
        for c in assessment.conflicts
    ]


def _shown(field: str, value: Any) -> str:
    if field == "on_oxygen" and isinstance(value, bool):
        return "on oxygen" if value else "air"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def conflict_view(conflict: dict[str, Any] | VitalConflict) -> dict[str, Any]:
    """A conflict with both values and the sentence a nurse reads, e.g.
    "HR 150 in note vs 80 typed — re-measure"."""
    data = conflict.model_dump(mode="json") if isinstance(conflict, VitalConflict) else conflict
    field = str(data["field"])
    label = VITAL_LABELS.get(field, field.replace("_", " "))
    note, typed = _shown(field, data["note"]), _shown(field, data["structured"])
    return {
        "field": field,
        "label": label,
        "note": data["note"],
        "structured": data["structured"],
        "used": data.get("used"),
        "text": f"{label} {note} in note vs {typed} typed — re-measure",
    }


@dataclasses.dataclass(frozen=True)
class BoardFilter:
    """What one terminal asked to see of levels 3-5, and how many of those rows."""

    limit: int
    area: str | None = None
    level: int | None = None  # 3, 4 or 5; None: all
    care: str | None = None  # one of CARE_FILTERS; None: all
    mine: bool = False

    @classmethod
    def parse(cls, args: Mapping[str, str], page_size: int, max_rows: int) -> BoardFilter:
        """From query arguments; a ValueError says which one is wrong, in words."""
        level = args.get("level") or None
        if level is not None and level not in ("3", "4", "5"):
            raise ValueError("level must be 3, 4 or 5 (levels 1 and 2 are always shown)")
        care = args.get("status") or None
        if care is not None and care not in CARE_FILTERS:
            raise ValueError(f"status must be one of {', '.join(CARE_FILTERS)}")
        limit_arg = args.get("limit") or str(page_size)
        if not limit_arg.isdigit() or not 1 <= int(limit_arg) <= max_rows:
            raise ValueError(f"limit must be a whole number from 1 to {max_rows}")
        mine = args.get("mine", "")
        if mine not in ("", "0", "1"):
            raise ValueError("mine must be 0 or 1")
        area = (args.get("area") or "").strip() or None
        return cls(int(limit_arg), area, int(level) if level else None, care, mine == "1")

    @property
    def active(self) -> bool:
        return any((self.area, self.level, self.care, self.mine))

    @property
    def timed(self) -> bool:
        return self.care in TIMED_FILTERS

    def key(self, user_id: int) -> tuple[Any, ...]:
        """Everything that changes the answer for the same database state."""
        return (self.limit, self.area, self.level, self.care, user_id if self.mine else None)

    def condition(
        self, user_id: int, now: dt.datetime, targets: Mapping[int, int]
    ) -> ColumnElement[bool]:
        parts: list[ColumnElement[bool]] = []
        if self.area:
            parts.append(Case.area == self.area)
        if self.level:
            parts.append(Case.acuity == Acuity(self.level))
        if self.mine:
            parts.append(Case.assigned_to_id == user_id)
        if self.care in ("waiting", "in_assessment"):
            parts.append(Case.care_status == CareStatus(self.care))
        elif self.care == "retriage_due":
            parts.append(_past_target(Case.last_assessed_at, now, targets, skip_zero=True))
        elif self.care == "overdue":
            parts.append(Case.care_status == CareStatus.WAITING)
            parts.append(_past_target(Case.created_at, now, targets, skip_zero=False))
        return and_(true(), *parts)


def _past_target(
    column: Any, now: dt.datetime, targets: Mapping[int, int], skip_zero: bool
) -> ColumnElement[bool]:
    """`column` is further back than the case's level's target."""
    return or_(
        false(),
        *(
            and_(Case.acuity == Acuity(level), column < now - dt.timedelta(minutes=minutes))
            for level, minutes in targets.items()
            if not (skip_zero and minutes == 0)
        ),
    )


def is_open() -> ColumnElement[bool]:
    return and_(Case.status.in_(OPEN_STATUSES), Case.care_status != CareStatus.DISPOSED)


def board_version(session: Session) -> tuple[Any, ...]:
    """A cheap fingerprint of everything the board shows; any change moves it."""
    # Not only the latest update: a transaction that commits late with an earlier
    # timestamp still moves the counts and sums of what changed.
    in_assessment = sql_case((Case.care_status == CareStatus.IN_ASSESSMENT, 1), else_=0)
    row = session.execute(
        select(
            func.count(Case.id),
            func.max(Case.updated_at),
            func.max(Case.id),
            func.sum(Case.id, type_=Integer),
            func.count(Case.started_at),
            func.count(Case.analyzed_at),
            func.count(Case.last_error),
            func.sum(Case.acuity, type_=Integer),
            func.sum(Case.engine_acuity, type_=Integer),
            func.sum(Case.override_acuity, type_=Integer),
            func.sum(sql_case((Case.vitals_documented.is_(False), 1), else_=0)),
            func.sum(Case.attempts),
            func.sum(in_assessment),
            func.sum(Case.assigned_to_id, type_=Integer),
            func.count(Case.area),
            func.max(Case.last_assessed_at),
            func.count(Case.escalated_at),
        ).where(is_open())
    ).one()
    return tuple(row)


@dataclasses.dataclass
class Board:
    rows: list[str]  # each row as JSON (see board_row), in board order
    counts: dict[str, int]  # open cases per level, all of them
    matching: dict[str, int]  # open cases per level the filter lets through
    shown_counts: dict[str, int]  # rows per level
    areas: list[str]  # the areas of open cases, for the filter

    def summary(self) -> dict[str, Any]:
        return {
            "total": sum(self.counts.values()),
            "matching": sum(self.matching.values()),
            "shown": len(self.rows),
            "shown_counts": self.shown_counts,
        }


class RowCache:
    """Rows already turned into JSON, by everything they are made of: between two polls most
    rows of a busy board are unchanged, and only the changed ones are built again."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._entries: dict[tuple[Any, ...], str] = {}

    def json(self, row: Any, targets: Mapping[int, int]) -> str:
        key = (tuple(row), tuple(targets.items()))
        found = self._entries.get(key)
        if found is None:
            fields = dict(row._mapping)
            fields["provisional_reasons"] = json.loads(fields.pop("reasons_json") or "[]")
            fields["vital_conflicts"] = json.loads(fields.pop("conflicts_json") or "[]")
            found = json.dumps(board_row(SimpleNamespace(**fields), targets), separators=(",", ":"))
            if len(self._entries) >= self.max_entries:
                self._entries.clear()  # full: the next builds fill it again
            self._entries[key] = found
        return found


ROWS = RowCache()


def load_board(
    session: Session,
    board_filter: BoardFilter,
    user_id: int,
    targets: Mapping[int, int],
    now: dt.datetime,
) -> Board:
    """Every open level 1-2 case, then a page of the level 3-5 cases the filter lets through,
    each in board order: most urgent first; within a level, "vital signs not documented"
    above complete cases; then longest waiting (the target is the same within a level)."""
    matches = board_filter.condition(user_id, now, targets)
    counts = {str(level): 0 for level in range(1, 6)}
    matching = dict(counts)
    areas: set[str] = set()
    # One query for the counts per level and the areas of open cases (for the filter).
    for acuity, area, total, matched in session.execute(
        select(Case.acuity, Case.area, func.count(Case.id),
               func.sum(sql_case((matches, 1), else_=0)))
        .where(is_open())
        .group_by(Case.acuity, Case.area)
    ):  # fmt: skip
        level = str(int(acuity))
        counts[level] += total
        matching[level] += total if acuity in ALWAYS_SHOWN else int(matched or 0)
        if area:
            areas.add(area)
    assignee = aliased(User)
    columns = select(
        *ROW_COLUMNS, assignee.username.label("assigned_to_name"), matches.label("in_filter")
    ).outerjoin(assignee, assignee.id == Case.assigned_to_id)
    order = (Case.acuity, Case.vitals_documented, Case.created_at, Case.id)
    # Levels 1-2 sort first, so one query with room for all of them and a page of the rest
    # returns every one (a level 1-2 case that arrived since the counts pushes out the last
    # level 3-5 row, never a level 1-2 one).
    urgent = sum(counts[str(int(level))] for level in ALWAYS_SHOWN)
    found = session.execute(
        columns.where(is_open(), or_(Case.acuity.in_(ALWAYS_SHOWN), matches))
        .order_by(*order)
        .limit(urgent + board_filter.limit)
    ).all()
    shown = {str(level): 0 for level in range(1, 6)}
    for row in found:
        shown[str(int(row.acuity))] += 1
    rows = [ROWS.json(row, targets) for row in found]
    return Board(rows, counts, matching, shown, sorted(areas))


ROW_COLUMNS = (
    Case.public_id,
    Case.patient_ref,
    Case.age_years,
    Case.sex,
    Case.chief_complaint,
    Case.status,
    Case.acuity,
    Case.engine_acuity,
    Case.override_acuity,
    Case.escalated_from,
    Case.care_status,
    Case.area,
    Case.created_at,
    Case.acknowledged_at,
    Case.last_assessed_at,
    Case.vitals_documented,
    # As text: hashable, so the row cache can key on them; decoded only for a new row.
    cast(Case.provisional_reasons, Text).label("reasons_json"),
    cast(Case.vital_conflicts, Text).label("conflicts_json"),
    # The row's image icon (issue 10): how many images the case carries.
    select(func.count(Image.id)).where(Image.case_id == Case.id).scalar_subquery().label("images"),
)


def board_row(case: Any, targets: Mapping[int, int]) -> dict[str, Any]:
    """One row as the board draws it, from a `Case` or a row of ROW_COLUMNS (JSON decoded)."""
    acuity = Acuity(case.acuity)
    target = targets[int(acuity)]
    engine = Acuity(case.engine_acuity) if case.engine_acuity is not None else acuity
    override = Acuity(case.override_acuity) if case.override_acuity is not None else None
    assigned = getattr(case, "assigned_to_name", None)
    if assigned is None and isinstance(case, Case) and case.assigned_to is not None:
        assigned = case.assigned_to.username
    reasons = sorted(case.provisional_reasons or [], key=lambda r: r.get("acuity") or 9)
    return {
        "id": case.public_id,
        "patient_ref": case.patient_ref,
        "age_years": case.age_years,
        "sex": case.sex,
        "area": case.area,
        "assigned_to": assigned,
        "chief_complaint": case.chief_complaint,
        "status": case.status.value,
        "care_status": case.care_status.value,
        "acuity": int(acuity),
        "acuity_name": LEVEL_NAMES[int(acuity)],
        "acuity_label": acuity.label,
        "engine_acuity": int(engine),
        "override_acuity": int(override) if override is not None else None,
        "escalated_from": int(case.escalated_from) if case.escalated_from else None,
        "risk_level": acuity.risk_level.value,
        "provisional": case.status in (CaseStatus.QUEUED, CaseStatus.RUNNING),
        "created_at": iso(case.created_at),
        "acknowledged_at": iso(case.acknowledged_at),
        "last_assessed_at": iso(case.last_assessed_at),
        "target_minutes": target,
        "due_at": iso(case.created_at + dt.timedelta(minutes=target)),
        # Level 1 (target 0) is re-assessed continuously: no clock to be due on.
        "retriage_due_at": (
            iso(case.last_assessed_at + dt.timedelta(minutes=target)) if target else None
        ),
        "reason": reasons[0]["detail"] if reasons else None,
        "reasons": [{"detail": r["detail"], "acuity": r.get("acuity")} for r in reasons],
        "vitals_documented": case.vitals_documented,
        "conflicts": [conflict_view(c) for c in case.vital_conflicts or []],
        "in_filter": bool(getattr(case, "in_filter", True)),
        "images": len(case.images) if isinstance(case, Case) else int(case.images or 0),
    }


def iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat() if value is not None else None
