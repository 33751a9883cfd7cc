"""Vital signs from free-text triage notes, each with its character span.

Structured intake fields win over the note; a note value that disagrees with a structured
one is reported as a conflict, never silently dropped. Values outside the physically
possible ranges of `VitalSigns` are reported as implausible and not used.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from shared.schemas import Consciousness, VitalSigns

_SEP = r"\s*(?:of|is|was|at|:|=|-)?\s*"


@dataclass(frozen=True)
class VitalFinding:
    """One value read from the note: which field, what value, where."""

    field: str
    value: Any
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Conflict:
    field: str
    structured: Any
    note: Any
    start: int
    end: int


@dataclass(frozen=True)
class MergedVitals:
    vitals: VitalSigns
    sources: dict[str, str]  # field -> "structured" or "note"
    findings: list[VitalFinding]
    conflicts: list[Conflict]
    implausible: list[VitalFinding]


def _fahrenheit_aware(raw: str, unit: str | None) -> float:
    value = float(raw)
    # A bare 101.3 is Fahrenheit: no living patient has 101 C.
    if (unit or "").upper() == "F" or (unit is None and value > 50):
        value = (value - 32) * 5 / 9
    return round(value, 1)


def _number(group: int = 1) -> Callable[[re.Match[str]], Any]:
    return lambda m: int(m.group(group))


def _vital(label: str, value: str) -> re.Pattern[str]:
    """`label`, an optional "of/is/:/=", then `value` (whose first group is the span kept)."""
    return re.compile(rf"\b(?:{label}){_SEP}{value}", re.I)


_BP = r"BP|B/P|blood\s+pressure"
# (field, pattern, value from match); the first group's span is kept.
_PATTERNS: list[tuple[str, re.Pattern[str], Callable[[re.Match[str]], Any]]] = [
    ("systolic_bp", _vital(_BP, r"(\d{2,3})\s*/\s*\d{2,3}\b"), _number()),
    ("diastolic_bp", _vital(_BP, r"\d{2,3}\s*/\s*(\d{2,3})\b"), _number()),
    ("heart_rate", _vital(r"HR|heart\s+rate|pulse|P", r"(\d{2,3})\b(?!\s*/)"), _number()),
    ("respiratory_rate", _vital(r"RR|resp(?:iratory)?\s*rate|resps?", r"(\d{1,2})\b"), _number()),
    (
        "spo2",
        _vital(r"SpO2|SaO2|O2\s*sats?|sats?|saturating|oxygen\s+saturation", r"(\d{2,3})\s*%?"),
        _number(),
    ),
    (
        "temperature_c",
        _vital(r"T|temp(?:erature)?|Tmax", r"(\d{2,3}(?:\.\d{1,2})?)\s*°?\s*([CF])?\b"),
        lambda m: _fahrenheit_aware(m.group(1), m.group(2)),
    ),
    ("pain", _vital(r"pain(?:\s*score)?", r"(\d{1,2})\s*/\s*10\b"), _number()),
]

_ROOM_AIR = re.compile(r"\b(?:on\s+)?(?:RA|room\s+air)\b", re.I)
_FLOW = r"\d+(?:\.\d+)?\s*(?:L|LPM|l/min)\b"
_DEVICE = r"(?:NC|nasal\s+cannula|O2|oxygen|FM|face\s*mask|NRB|non-rebreather|venturi)\b"
# "on 4L", "2L NC", "on O2"; a bare "1 L" (of fluid) is not oxygen.
_OXYGEN = re.compile(
    rf"\bon\s+{_FLOW}(?:\s*{_DEVICE})?|\b{_FLOW}\s*{_DEVICE}"
    rf"|\bon\s+(?:supplemental\s+|high[- ]flow\s+)?{_DEVICE}",
    re.I,
)
_GCS = re.compile(r"\bGCS" + _SEP + r"(\d{1,2})\b", re.I)
_RESPONDS = r"\b(?:responds?|responsive)\s+(?:only\s+)?to\s+"
_ACVPU: list[tuple[Consciousness, re.Pattern[str]]] = [
    (Consciousness.UNRESPONSIVE, re.compile(r"\b(?:unresponsive|unrousable|unconscious)\b", re.I)),
    (Consciousness.PAIN, re.compile(_RESPONDS + r"pain(?:ful\s+stimuli)?\b", re.I)),
    (Consciousness.VOICE, re.compile(_RESPONDS + r"(?:voice|verbal\s+stimuli)\b", re.I)),
    (
        Consciousness.CONFUSION,
        re.compile(r"\b(?:new(?:ly)?\s+)?(?:confused|confusion|disoriented)\b", re.I),
    ),
    (
        Consciousness.ALERT,
        re.compile(r"\b(?:alert\s+and\s+oriented|A\s*&\s*O\s*x\s*[34]|A\+?Ox[34])\b", re.I),
    ),
]
# A plain negation just before a consciousness word ("not confused"); full ConText comes later.
_NEGATED = re.compile(r"\b(?:not|no|denies|without)\s+(?:\w+\s+)?$", re.I)


def _iter_findings(text: str) -> Iterator[VitalFinding]:
    for field, pattern, value_of in _PATTERNS:
        for match in pattern.finditer(text):
            yield VitalFinding(field, value_of(match), match.start(1), match.end(1), match.group(0))
    for match in _ROOM_AIR.finditer(text):
        yield VitalFinding("on_oxygen", False, match.start(), match.end(), match.group(0))
    for match in _OXYGEN.finditer(text):
        yield VitalFinding("on_oxygen", True, match.start(), match.end(), match.group(0))
    for match in _GCS.finditer(text):
        gcs = int(match.group(1))
        if 3 <= gcs <= 15:
            # GCS below 15 counts as not alert (NEWS2); it scores like new confusion.
            level = Consciousness.ALERT if gcs == 15 else Consciousness.CONFUSION
            yield VitalFinding("consciousness", level, match.start(), match.end(), match.group(0))
    for level, pattern in _ACVPU:
        for match in pattern.finditer(text):
            if not _NEGATED.search(text[max(0, match.start() - 30) : match.start()]):
                yield VitalFinding(
                    "consciousness", level, match.start(), match.end(), match.group(0)
                )


def _plausible(finding: VitalFinding) -> bool:
    try:
        VitalSigns.model_validate({finding.field: finding.value})
    except ValidationError:
        return False
    return True


def extract_vitals(text: str) -> tuple[list[VitalFinding], list[VitalFinding]]:
    """All (plausible, implausible) vital-sign mentions, in the order they appear."""
    found = sorted(_iter_findings(text), key=lambda f: (f.start, f.field))
    return [f for f in found if _plausible(f)], [f for f in found if not _plausible(f)]


_BLOOD_PRESSURE = ("systolic_bp", "diastolic_bp")


def merge_vitals(structured: VitalSigns, note: str) -> MergedVitals:
    """Structured fields win; the last plausible mention in the note fills each gap.

    Blood pressure is taken as a pair: with either half typed in, the note's reading is only
    compared, so a typed 100 never meets a noted diastolic of 110. Whatever the note says,
    the merge never fails: if its values cannot stand together, the structured ones are used.
    """
    findings, implausible = extract_vitals(note)
    latest: dict[str, VitalFinding] = {}
    for finding in findings:
        latest[finding.field] = finding  # later measurements supersede earlier ones
    values = structured.model_dump()
    sources = {k: "structured" for k, v in values.items() if v is not None and k != "spo2_scale2"}
    typed_bp = any(values[f] is not None for f in _BLOOD_PRESSURE)
    conflicts = []
    for field, finding in latest.items():
        current = values.get(field)
        if current is None and not (typed_bp and field in _BLOOD_PRESSURE):
            values[field] = finding.value
            sources[field] = "note"
        elif current is not None and not _same(current, finding.value):
            conflicts.append(Conflict(field, current, finding.value, finding.start, finding.end))
    try:
        merged = VitalSigns.model_validate(values)
    except ValidationError:
        merged, sources = structured, {k: v for k, v in sources.items() if v == "structured"}
    return MergedVitals(merged, sources, findings, conflicts, implausible)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return abs(float(a) - float(b)) < 0.05
    return bool(a == b)
