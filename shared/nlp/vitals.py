"""Vital signs from free-text triage notes, each with its character span.

A note value that disagrees with a typed field is a conflict: the more urgent of the two counts
(the higher NEWS2 parameter score, then the one further from normal) and both are reported.
Values outside the physically possible ranges of `VitalSigns` are reported as implausible and
not used. Within the note, a value that is explicitly earlier ("on arrival", "initial") yields
to a later one; otherwise the last plausible mention counts (for consciousness, the most
urgent current mention). Consciousness words are read through ConText, and confusion the note
calls the patient's baseline is reported, not scored as new.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from pydantic import ValidationError

from shared.nlp.context import assess_context
from shared.schemas import Consciousness, VitalConflict, VitalSigns

Timing = Literal["earlier", "current", "later"]
Source = Literal["structured", "note"]


@dataclass(frozen=True)
class VitalFinding:
    """One value read from the note: which field, what value, where."""

    field: str
    value: Any
    start: int
    end: int
    text: str
    timing: Timing = "current"  # "earlier": on arrival, initial...; "later": now, repeat...
    reading: int = -1  # systolic and diastolic of one blood-pressure reading share this


@dataclass(frozen=True)
class Conflict:
    """A note value that disagrees with a typed field, and which of the two counted."""

    field: str
    structured: Any
    note: Any
    used: Source
    start: int
    end: int

    def as_schema(self) -> VitalConflict:
        def plain(value: Any) -> float | int | str | bool:
            return value.value if isinstance(value, Consciousness) else value

        return VitalConflict(
            field=self.field,
            structured=plain(self.structured),
            note=plain(self.note),
            used=self.used,
            start=self.start,
            end=self.end,
        )


@dataclass(frozen=True)
class NoteVitals:
    plausible: list[VitalFinding]
    implausible: list[VitalFinding]
    baseline: list[VitalFinding]  # consciousness the note calls usual or chronic, not scored


@dataclass(frozen=True)
class MergedVitals:
    vitals: VitalSigns
    sources: dict[str, str]  # field -> "structured" or "note"
    findings: list[VitalFinding]
    conflicts: list[Conflict]
    implausible: list[VitalFinding]
    documented: frozenset[str] = frozenset()  # fields present in the fields or the note
    chosen: dict[str, VitalFinding] | None = None  # field -> the note finding that counted
    baseline: tuple[VitalFinding, ...] = ()  # "confused as usual": not new confusion


# --- patterns, compiled once -------------------------------------------------------------

_SEP = (
    r"\.?\s*[:=,-]?\s*(?:(?:of|is|was|were|are|at|to|about|around|in\s+the|~)\s*[:=]?\s*)?"
    # "sats high 80s", "SBP low 70s": the decade is read (its lower end, the more urgent one
    # for pressure and saturation)
    r"(?:(?:low|mid|high|upper|lower)[- ]?\s*(?=\d{2,3}'?s\b))?"
)
_DEGREE = r"(?:\s*[°˚º]\s*|\s*deg(?:rees?)?\.?\s*|\s*)"
# A number followed by one of these is a dose, an age or a duration, not a vital sign.
_NOT_A_VITAL = (
    r"(?!\s*(?:ms|msec|mg|mcg|mmol|meq|kg|lbs?|ml|cm|mm(?!hg)|years?|yrs?|yo|y/o|days?|hours?|"
    r"hrs?|weeks?|wks?|months?|mos|minutes?|mins?|units?|times|x)\b)"
)
_LABEL_END = r"(?![A-Za-z])"


def _vital(label: str, value: str) -> re.Pattern[str]:
    """`label`, an optional "of/is/:/=", then `value` (whose group `v` is the span kept)."""
    return re.compile(rf"(?<![A-Za-z0-9])(?:{label}){_LABEL_END}{_SEP}{value}", re.I)


_BP_LABEL = r"BP|B/P|NIBP|blood\s+pressures?|hypotensive|hypertensive"
_SBP_LABEL = r"SBP|systolic(?:\s+(?:BP|blood\s+pressure))?"
_HR_LABEL = (
    r"HR|heart\s*rate|pulse(?:\s*rate)?(?!\s*ox)|(?-i:PR|P)|tachycardic|tachycardia|tachy|"
    r"bradycardic|bradycardia|brady|apical\s+(?:pulse|rate)"
)
_RR_LABEL = (
    r"RR|resp(?:iratory|irations?|s)?(?:\s*rate)?|breathing\s+(?:rate|at)|tachypn(?:o)?eic|(?-i:R)"
)
_SPO2_LABEL = (
    r"SpO2|SpO₂|SaO2|O2\s*sat(?:uration)?s?|oxygen\s+sat(?:uration)?s?|sat(?:uration)?s?|"
    r"sat'?s|saturating|sat'?ing|pulse\s*ox(?:imetry|imeter)?|POx|O2(?=\s*[:=]?\s*\d{2,3}\s*%)"
)
_TEMP_LABEL = r"temp(?:erature)?|T\s*max|(?-i:T)|febrile|fever|pyrexial?"
_PAIN_LABEL = r"pain\s+(?:score|scale|rating|level|severity)|NRS|VAS"
_GCS_LABEL = r"GCS|Glasgow\s+coma\s+(?:scale|score)(?:\s+score)?"

_HR_VALUE = rf"(?P<v>\d{{2,3}})(?:'?s)?\b(?!\s*/\s*\d){_NOT_A_VITAL}"
_RR_VALUE = rf"(?P<v>\d{{1,3}})(?:'?s)?\b(?!\s*/\s*\d){_NOT_A_VITAL}"
_SPO2_VALUE = (
    rf"(?P<v>\d{{2,3}})(?:'?s)?\s*(?:%|percent|per\s*cent|pct)?(?![\d.])(?!\s*/\s*\d)"
    rf"{_NOT_A_VITAL}"
)
_TEMP_VALUE = rf"(?P<v>\d{{2,3}}(?:\.\d{{1,2}})?)(?!\s*/\s*\d){_DEGREE}(?P<u>[CF](?![A-Za-z]))?"
_GCS_VALUE = r"(?P<v>\d{1,2})(?:\s*/\s*15)?T?\b"
_ON_DEVICE = r"(?:\s+on\s+(?:RA|room\s+air|\d+(?:\.\d+)?\s*L\w*(?:\s*(?:NC|nasal\s+cannula))?))?"

_PATTERNS: dict[str, tuple[str, re.Pattern[str]]] = {
    "bp": (
        "bp",
        _vital(
            _BP_LABEL,
            r"(?P<v>\d{2,3})(?:'?s)?(?:\s*/\s*(?P<v2>\d{2,3})(?:'?s)?\b(?!\s*/)|\s*/?\s*"
            r"(?:palp\w*|by\s+palp\w*|systolic|doppler)\b)",
        ),
    ),
    "sbp": ("bp", _vital(_SBP_LABEL, r"(?P<v>\d{2,3})(?:'?s)?\b(?!\s*/\s*\d)")),
    "hr": ("heart_rate", _vital(_HR_LABEL, _HR_VALUE)),
    "rr": ("respiratory_rate", _vital(_RR_LABEL, _RR_VALUE)),
    "spo2": ("spo2", _vital(_SPO2_LABEL, _ON_DEVICE + _SEP + _SPO2_VALUE)),
    "temp": ("temperature_c", _vital(_TEMP_LABEL, _TEMP_VALUE)),
    "pain": ("pain", _vital(_PAIN_LABEL, r"(?P<v>\d{1,2})\b(?!\s*/\s*\d)")),
    "gcs": ("gcs", _vital(_GCS_LABEL, _GCS_VALUE)),
}
# "then 120, now 88" after a labelled value: the same vital, measured later.
_LATER_VALUE = re.compile(
    r"(?P<gap>[^\d;\n]{0,40}?)\b(?:now|then|currently|repeat(?:ed)?|re-?check(?:ed)?|"
    r"improved\s+to|(?:down|up|dropped|fell|rose|increased|decreased)\s+to)\b"
    r"\s*(?:is|of|at|:|=)?\s*",
    re.I,
)
_VALUE_ONLY = {
    "heart_rate": re.compile(_HR_VALUE, re.I),
    "respiratory_rate": re.compile(_RR_VALUE, re.I),
    "spo2": re.compile(_SPO2_VALUE, re.I),
    "temperature_c": re.compile(_TEMP_VALUE, re.I),
    "gcs": re.compile(_GCS_VALUE, re.I),
}
# Every label, each in its group (named as in _PATTERNS): one pass finds them all. "pulse ox"
# is tried before "pulse"; a bare "pain" only stops a later value from crossing it.
_ANY_LABEL = re.compile(
    r"(?=[abfghnoprstvABFGHNOPRSTV])"  # fails fast where no label can start
    rf"(?<![A-Za-z0-9])(?:(?P<spo2>{_SPO2_LABEL})|(?P<bp>{_BP_LABEL})|(?P<sbp>{_SBP_LABEL})|"
    rf"(?P<gcs>{_GCS_LABEL})|(?P<pain>{_PAIN_LABEL})|(?P<hr>{_HR_LABEL})|(?P<rr>{_RR_LABEL})|"
    rf"(?P<temp>{_TEMP_LABEL})|(?P<painword>pain)){_LABEL_END}",
    re.I,
)
_NOT_BP_BEFORE = re.compile(r"(?:ratio|score|grade|dose)\s*[:=]?\s*$", re.I)
_GAP = re.compile(r"\s*[:=]?\s*")
_BARE_PAIR = re.compile(
    rf"(?=\d)(?<![\d/.:])(?P<v>\d{{2,3}})\s*/\s*(?P<v2>\d{{2,3}})(?!\d|\s*/|\.\d|\s*%){_NOT_A_VITAL}",
    re.I,
)
# "VS 120/80 88 18 98%": blood pressure, pulse, respirations, saturation, [temperature].
_POSITIONAL = re.compile(
    r"(?=[Vv])(?<![A-Za-z])(?:VS|V/S|vitals|vital\s+signs)\b\s*(?:(?:are|were|on\s+arrival)\s*)?[:\-]?\s*"
    r"(?P<sys>\d{2,3})\s*/\s*(?P<dia>\d{2,3})[,;\s]+(?P<hr>\d{2,3})[,;\s]+(?P<rr>\d{1,2})"
    r"[,;\s]+(?P<spo2>\d{2,3})\s*%?(?:[,;\s]+(?P<t>\d{2,3}(?:\.\d)?)"
    r"(?:\s*[°˚º]\s*|\s*)(?P<tu>[CF](?![A-Za-z]))?(?![\d/]))?",
    re.I,
)
# "VS 36.4 88 18 124/76 98%", "vitals 98.6/112/22/130/80/94%": temperature (with its
# decimal point), pulse, respirations, blood pressure, saturation.
_POSITIONAL_T_FIRST = re.compile(
    r"(?=[Vv])(?<![A-Za-z])(?:VS|V/S|vitals|vital\s+signs)\b\s*(?:(?:are|were|on\s+arrival)\s*)?"
    r"[:\-]?\s*(?P<t>\d{2,3}\.\d)(?:\s*[°˚º]?\s*(?P<tu>[CF](?![A-Za-z])))?"
    r"\s*[,;/\-]?\s*(?P<hr>\d{2,3})\s*[,;/\-]?\s*(?P<rr>\d{1,2})\s*[,;/\-]?\s*"
    r"(?P<sys>\d{2,3})\s*/\s*(?P<dia>\d{2,3})\s*[,;/\-]?\s*(?P<spo2>\d{2,3})\s*%?(?![\d/])",
    re.I,
)
_TEMP_WITH_UNIT = re.compile(
    r"(?=\d)(?<![\d.])(?:(?P<v>\d{2,3}(?:\.\d{1,2})?)(?:\s*[°˚º]\s*|\s*deg(?:rees?)?\.?\s*)"
    r"|(?P<w>\d{2,3}\.\d{1,2})\s?)(?P<u>[CF])(?![A-Za-z])"
)
_PAIN_FRACTION = re.compile(
    r"(?=[\d\u201c\"'\u2018])(?<![\d/.])[\u201c\"'\u2018]?(?P<v>\d{1,2})\+?[\u201d\"'\u2019]?"
    r"\s*(?:/\s*10|out\s+of\s+(?:10|ten)|of\s+10)\b"
    r"(?!\s*/|\.\d)",
    re.I,
)
_PAIN_WORD = re.compile(
    r"\b(?:pain|rates?|rated|rating|score|hurts?|aches?|aching|cramp\w*|discomfort|intensity|"
    r"severity|NRS|VAS)\b",
    re.I,
)
_PAIN_AFTER = re.compile(r"\s*pain\b", re.I)
_GCS_PARTS = re.compile(
    r"(?=[Ee])(?<![A-Za-z0-9])E\s*(?P<e>[1-4])\s*,?\s*V\s*(?P<vv>[1-5]|T)\s*,?\s*M\s*(?P<m>[1-6])"
    r"(?![A-Za-z0-9])",
    re.I,
)

_ROOM_AIR = re.compile(
    r"(?=[oOrR%pP])(?:(?<![A-Za-z])(?:(?:on\s+)?room\s+air|on\s+RA\b)"
    r"|(?:%|percent)\s*,?\s*(?P<ra>(?-i:RA))\b)",
    re.I,
)
_FLOW = (
    r"\d+(?:\.\d+)?\s*(?:L(?:PM)?|l/min|liters?|litres?)(?![A-Za-z])"
    r"(?!\s*(?:of\s+)?(?:NS|NSS|saline|LR|RL|fluids?|bolus|IVF|D5\w*|water|urine))"
)
_DEVICE = (
    r"(?:NC|nasal\s+cannula|O2|oxygen|FM|face\s*mask|(?:simple\s+)?mask|NRBM?|"
    r"non-?\s*rebreather(?:\s+mask)?|venturi|HFNC|high[- ]flow(?:\s+(?:O2|oxygen))?|"
    r"BiPAP|CPAP|NIV)\b"
)
_OXYGEN = re.compile(
    r"\b(?=[oOhH\d])"
    rf"\bon\s+(?:(?:her|his|their|the|a|an|usual|home|regular|baseline|supplemental)\s+){{0,3}}"
    rf"(?:{_FLOW}(?:\s*{_DEVICE})?|{_DEVICE})|\b{_FLOW}\s*(?:of\s+)?{_DEVICE}"
    rf"|\bhome\s+(?:O2|oxygen)\b(?:\s*(?:at\s+)?{_FLOW})?",
    re.I,
)
_NIGHT_ONLY = re.compile(r"\s*(?:at\s+night|nightly|overnight|qhs|for\s+sleep)", re.I)

_RESPONDS = r"(?:responds?|responsive|responding|reacts?|rousable|arousable)\s+(?:only\s+)?to\s+"
_PAINFUL = r"(?:painful\s+stimul\w*|pain(?:ful)?|sternal\s+rub|noxious\s+stimul\w*)"
_VOICE = r"(?:voice|verbal\w*(?:\s+stimul\w*)?|speech|(?:her|his)\s+name|loud\s+voice|commands)"
# Most specific first: "does not respond to voice" is P, not V; "not alert" is C, not A.
_ACVPU_PHRASES: list[tuple[Consciousness, str]] = [
    (Consciousness.PAIN, rf"(?:does\s+not|doesn't|not)\s+respond\w*\s+to\s+{_VOICE}"),
    (
        Consciousness.UNRESPONSIVE,
        rf"(?:no\s+response|(?:does\s+not|doesn't|not)\s+respond\w*)\s+to\s+{_PAINFUL}|"
        r"unresponsive|unrousable|unarousable|unconscious|"
        r"not\s+responding(?!\s+to\s+(?!voice|verbal|pain|stimul|commands))",
    ),
    (
        Consciousness.PAIN,
        rf"{_RESPONDS}{_PAINFUL}|withdraws?\s+(?:only\s+)?(?:from|to)\s+pain\w*|"
        r"locali[sz]es\s+to\s+pain",
    ),
    (Consciousness.VOICE, rf"(?:{_RESPONDS}|opens\s+eyes\s+to\s+){_VOICE}"),
    (
        Consciousness.CONFUSION,
        r"changes?\s+in\s+mental\s+status|mental\s+status\s+changes?|"
        r"altered\s+(?:mental\s+status|mentation|level\s+of\s+consciousness|LOC|"
        r"consciousness|sensorium)|disoriented|confused|confusion|delirious|"
        r"(?:not|less)\s+(?:fully\s+|as\s+)?alert|(?-i:AMS)|"
        r"A\s*(?:&|\+|/|and)?\s*O\s*x\s*[0-2]|oriented\s*x\s*[0-2]",
    ),
    (
        Consciousness.ALERT,
        r"alert|A\s*(?:&|\+|/|and)?\s*O\s*x\s*[34]|A\s*&\s*O(?!\s*x)|oriented\s*x\s*[34]|"
        r"oriented\s+to\s+person,?\s+place,?\s+(?:and\s+)?time",
    ),
]
_ACVPU_LEVEL = {f"g{i}": level for i, (level, _) in enumerate(_ACVPU_PHRASES)}
# The leading character class lets the regex engine skip to possible first letters.
_ACVPU = re.compile(
    r"(?=[acdlmnoruwACDLMNORUW])\b(?:"
    + "|".join(f"(?P<g{i}>{phrase})" for i, (_, phrase) in enumerate(_ACVPU_PHRASES))
    + r")\b",
    re.I,
)
_NOT_AN_ALERT_STATE = re.compile(
    r"(?:stroke|trauma|sepsis|STEMI|code|medic(?:al)?|fall|allergy|safety|an|the|EMS)\s*$", re.I
)
_ALERT_CALLED = re.compile(r"\s*(?:called|activated|paged|bracelet|band|issued)\b", re.I)
_URGENCY_ORDER = {c: i for i, c in enumerate(Consciousness)}  # A C V P U

# Consciousness described as the usual state ("usually alert"): not the state now.
_HABITUAL = re.compile(
    r"\b(?:usually|normally|typically|always|premorbid(?:ly)?|when\s+well|baseline\s*(?::|is|was)|"
    r"at\s+(?:(?:her|his|their)\s+)?baseline,?\s+(?:she|he|they|pt|the\s+patient)\s+(?:is|was))\b"
    r"[^.;\n]*$",
    re.I,
)
# Confusion the note calls the patient's baseline or chronic is not new confusion...
_BASELINE = re.compile(
    r"\b(?:as\s+usual|baseline|chronic(?:ally)?\s+(?:confus\w*|disorient\w*|altered|dementia)|"
    r"long[- ]?standing\s+(?:confusion|dementia)|(?:her|his|their)\s+usual\s+(?:self|state|"
    r"mental\s+status)|normal\s+for\s+(?:her|him|them)|always\s+(?:confused|like\s+this)|"
    r"pleasantly\s+confused)\b",
    re.I,
)
# ...unless the same sentence says it is new or worse.
_NEW = re.compile(
    r"\b(?:new(?:ly)?|acute(?:ly)?|sudden(?:ly)?|increasing(?:ly)?|worse(?:ning)?|now|today|"
    r"more\s+\w+\s+than|than\s+(?:usual|baseline|normal)|(?:not|no\s+longer)\s+(?:at|back\s+to)\s+"
    r"(?:(?:her|his|their)\s+)?baseline|(?:change|deviation|different|decline|departure)\s+from|"
    r"not\s+(?:her|his|their)\s+(?:usual|normal))\b",
    re.I,
)
# Words that place a measurement in time, found once per note.
_WHEN = re.compile(
    r"(?=[aefiloprsuyAEFILOPRSUY])\b(?:(?P<earlier>on\s+arrival|at\s+arrival|upon\s+arrival|initial(?:ly)?|earlier|previously|prior|"
    r"pre-?hospital|EMS|(?:in\s+the\s+)?field|on\s+scene|at\s+(?:the\s+)?scene|en\s+route|"
    r"at\s+home|at\s+(?:the\s+)?(?:GP|clinic|nursing\s+home|urgent\s+care|OSH)|found|"
    r"yesterday|last\s+night)|"
    r"(?P<later>now|currently|current|repeat(?:ed)?|re-?check(?:ed)?|at\s+triage|"
    r"on\s+reassessment|reassessed|latest|most\s+recent|improved\s+to))\b",
    re.I,
)
_CLAUSE_END = re.compile(r"[;,\n]|\.(?!\d)")
_SENTENCE_END = re.compile(r"[;\n]|\.(?!\d)(?=\s|$)")


# --- reading the note --------------------------------------------------------------------


@dataclass
class _Raw:
    field: str
    value: Any
    start: int
    end: int
    text: str
    label_start: int
    reading: int = -1
    timing: Timing = "current"
    stop: int = -1  # where the whole value ends (a blood pressure's diastolic)

    def __post_init__(self) -> None:
        if self.stop < 0:
            self.stop = self.end


def _temperature(raw: str, unit: str | None) -> float:
    value = float(raw)
    # A bare 101.3 is Fahrenheit: no living patient has 101 C.
    if (unit or "").upper() == "F" or (unit is None and value > 50):
        value = (value - 32) * 5 / 9
    return round(value, 1)


def _bp(m: re.Match[str], systolic: str, diastolic: str | None, label_start: int) -> list[_Raw]:
    reading = m.start(systolic)
    found = [_Raw("systolic_bp", int(m[systolic]), reading, m.end(systolic), m[0], label_start)]
    if diastolic is not None and m.groupdict().get(diastolic) is not None:
        found.append(
            _Raw(
                "diastolic_bp",
                int(m[diastolic]),
                m.start(diastolic),
                m.end(diastolic),
                m[0],
                label_start,
            )
        )
    for raw in found:
        raw.reading, raw.stop = reading, m.end()
    return found


def _from_match(field: str, m: re.Match[str]) -> list[_Raw]:
    if field == "bp":
        return _bp(m, "v", "v2", m.start())
    if field == "temperature_c":
        value: Any = _temperature(m["v"], m["u"])
    else:
        value = int(m["v"])
    return [_Raw(field, value, m.start("v"), m.end("v"), m[0], m.start())]


def _later_values(text: str, raw: _Raw) -> Iterator[_Raw]:
    """ "HR 150 on arrival, now 88": 88 is a later heart rate."""
    value_only = _VALUE_ONLY.get(raw.field)
    while value_only is not None:
        link = _LATER_VALUE.match(text, raw.end)
        if link is None or _ANY_LABEL.search(link["gap"]):
            return
        m = value_only.match(text, link.end())
        if m is None:
            return
        value = _temperature(m["v"], m["u"]) if raw.field == "temperature_c" else int(m["v"])
        raw = _Raw(
            raw.field, value, m.start("v"), m.end("v"), text[raw.end : m.end()], link.end("gap")
        )
        raw.timing = "later"
        yield raw


def _labelled(text: str, labels: list[re.Match[str]]) -> Iterator[_Raw]:
    for label in labels:
        field_pattern = _PATTERNS.get(label.lastgroup or "")
        if field_pattern is None:
            continue
        field, pattern = field_pattern
        m = pattern.match(text, label.start())
        if m is not None:
            for raw in _from_match(field, m):
                yield raw
                yield from _later_values(text, raw)
    positional = [*_POSITIONAL.finditer(text), *_POSITIONAL_T_FIRST.finditer(text)]
    for m in positional:
        yield from _bp(m, "sys", "dia", m.start())
        for field in ("heart_rate", "respiratory_rate", "spo2"):
            key = {"heart_rate": "hr", "respiratory_rate": "rr", "spo2": "spo2"}[field]
            yield _Raw(field, int(m[key]), m.start(key), m.end(key), m[0], m.start())
        if m["t"] is not None:
            yield _Raw(
                "temperature_c",
                _temperature(m["t"], m["tu"]),
                m.start("t"),
                m.end("t"),
                m[0],
                m.start(),
            )
    for m in _GCS_PARTS.finditer(text):
        verbal = 1 if m["vv"].upper() == "T" else int(m["vv"])
        yield _Raw("gcs", int(m["e"]) + verbal + int(m["m"]), m.start(), m.end(), m[0], m.start())


def _unlabelled(text: str, labels: list[re.Match[str]]) -> Iterator[_Raw]:
    """Blood pressures standing alone, temperatures with a unit, pain scores."""
    label_ends = [label.end() for label in labels]
    for m in _BARE_PAIR.finditer(text):
        systolic, diastolic = int(m["v"]), int(m["v2"])
        if 60 <= systolic <= 300 and 30 <= diastolic < systolic:
            # "HR 110/72": a pair right after another vital's label is no blood pressure.
            i = bisect_right(label_ends, m.start())
            before = labels[i - 1] if i else None
            if (
                before is not None
                and before.lastgroup not in ("bp", "sbp")
                and _GAP.fullmatch(text, before.end(), m.start())
            ) or _NOT_BP_BEFORE.search(text, max(0, m.start() - 12), m.start()):
                continue
            yield from _bp(m, "v", "v2", m.start())
    for m in _TEMP_WITH_UNIT.finditer(text):
        group = "v" if m["v"] is not None else "w"
        yield _Raw(
            "temperature_c",
            _temperature(m[group], m["u"]),
            m.start(group),
            m.end(group),
            m[0],
            m.start(),
        )
    for m in _PAIN_FRACTION.finditer(text):
        lead = _SENTENCE_END.split(text[max(0, m.start() - 80) : m.start()])[-1]
        if _PAIN_WORD.search(lead) or _PAIN_AFTER.match(text, m.end()):
            # "20/10" is the top of the scale, said loudly.
            yield _Raw("pain", min(int(m["v"]), 10), m.start("v"), m.end("v"), m[0], m.start())


def _oxygen(text: str) -> Iterator[_Raw]:
    for m in _ROOM_AIR.finditer(text):
        start = m.start("ra") if m["ra"] else m.start()
        yield _Raw("on_oxygen", False, start, m.end(), text[start : m.end()], start)
    for m in _OXYGEN.finditer(text):
        if _NIGHT_ONLY.match(text, m.end()) is None and _asserted(text, m.start(), m.end()):
            yield _Raw("on_oxygen", True, m.start(), m.end(), m[0], m.start())


def _asserted(text: str, start: int, end: int) -> bool:
    """ConText on a window around the mention (its scopes never leave the sentence)."""
    left = max(0, start - 300)
    window = text[left : end + 300]
    return assess_context(window, start - left, end - left).asserted


def _sentence(text: str, start: int, end: int) -> str:
    left = max(0, start - 200)
    right = end + 200
    head = _SENTENCE_END.split(text[left:start])[-1]
    tail = _SENTENCE_END.split(text[end:right], maxsplit=1)[0]
    return head + text[start:end] + tail


def _consciousness(text: str, baseline: list[_Raw]) -> Iterator[_Raw]:
    for m in _ACVPU.finditer(text):
        level = _ACVPU_LEVEL[m.lastgroup or ""]
        if level is Consciousness.ALERT and (
            _NOT_AN_ALERT_STATE.search(text, max(0, m.start() - 12), m.start())
            or _ALERT_CALLED.match(text, m.end())
        ):
            continue
        raw = _Raw("consciousness", level, m.start(), m.end(), m[0], m.start())
        habitual = _HABITUAL.search(text, max(0, raw.start - 60), raw.start)
        if habitual and not _CLAUSE_END.search(text, habitual.end(), raw.start):
            baseline.append(raw)
            continue
        if raw.value is Consciousness.CONFUSION:
            sentence = _sentence(text, raw.start, raw.end)
            if _BASELINE.search(sentence) and not _NEW.search(sentence):
                baseline.append(raw)
                continue
        if _asserted(text, raw.start, raw.end):
            yield raw


def _gcs_consciousness(raws: list[_Raw]) -> Iterator[_Raw]:
    for raw in raws:
        if raw.field == "gcs" and 3 <= raw.value <= 15:
            # GCS below 15 counts as not alert (NEWS2); it scores like new confusion.
            level = Consciousness.ALERT if raw.value == 15 else Consciousness.CONFUSION
            yield _Raw(
                "consciousness",
                level,
                raw.start,
                raw.end,
                raw.text,
                raw.label_start,
                timing=raw.timing,
            )


class _Marks:
    """Where one kind of time word stands in the note, for "is there one in start:end"."""

    def __init__(self, matches: list[re.Match[str]]) -> None:
        self.starts = [m.start() for m in matches]
        self.ends = [m.end() for m in matches]

    def within(self, start: int, end: int) -> bool:
        i = bisect_left(self.starts, start)
        return i < len(self.starts) and self.ends[i] <= end


def _timing(text: str, raws: list[_Raw]) -> None:
    """Mark values the note calls earlier ("on arrival", "initial") or later ("now", "repeat").

    The words are looked for in the value's clause, but not past a neighbouring value, and in
    a heading such as "Vital signs on arrival:" before it in the same sentence.
    """

    # Only a field mentioned more than once needs to know which mention came later (a GCS
    # counts as a mention of consciousness).
    def kind(raw: _Raw) -> str:
        return "consciousness" if raw.field == "gcs" else raw.field

    counts: dict[str, int] = {}
    for raw in raws:
        counts[kind(raw)] = counts.get(kind(raw), 0) + 1
    undecided = [r for r in raws if counts[kind(r)] > 1 and r.timing == "current"]
    when = list(_WHEN.finditer(text)) if undecided else []
    if not when:
        return
    later = _Marks([m for m in when if m.lastgroup == "later"])
    earlier = _Marks([m for m in when if m.lastgroup == "earlier"])
    clause_starts = [m.start() for m in _CLAUSE_END.finditer(text)]
    sentence_ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    stops = sorted(r.stop for r in raws)
    label_starts = sorted(r.label_start for r in raws)
    for raw in undecided:
        at, stop = raw.label_start, raw.stop
        i = bisect_left(clause_starts, at)  # the clause: from the boundary before the label...
        clause_start = clause_starts[i - 1] + 1 if i else 0
        j = bisect_left(clause_starts, stop)  # ...to the boundary after the value
        clause_end = clause_starts[j] if j < len(clause_starts) else len(text)
        i = bisect_right(stops, at)
        before = max(clause_start, stops[i - 1] if i else 0, at - 60)
        j = bisect_left(label_starts, stop)
        after = min(clause_end, label_starts[j] if j < len(label_starts) else len(text), stop + 60)
        if later.within(before, at) or later.within(stop, after):
            raw.timing = "later"
            continue
        i = bisect_right(sentence_ends, at)
        sentence_start = max(sentence_ends[i - 1] if i else 0, at - 120)
        colon = text.rfind(":", sentence_start, at)
        if (
            earlier.within(before, at)
            or earlier.within(stop, after)
            or (colon >= 0 and earlier.within(sentence_start, colon))
        ):
            raw.timing = "earlier"


@lru_cache(maxsize=4096)
def _plausible_value(field: str, value: Any) -> bool:
    try:
        VitalSigns.model_validate({field: value})
    except ValidationError:
        return False
    return True


def read_note(text: str) -> NoteVitals:
    """Every vital-sign mention in the note: plausible, implausible, and baseline states."""
    labels = list(_ANY_LABEL.finditer(text))
    raws = list(_labelled(text, labels))
    raws.extend(_unlabelled(text, labels))
    raws.extend(_oxygen(text))
    baseline: list[_Raw] = []
    raws.extend(_consciousness(text, baseline))
    seen: set[tuple[str, int]] = set()
    unique = []
    for raw in raws:
        if (raw.field, raw.start) not in seen:
            seen.add((raw.field, raw.start))
            unique.append(raw)
    _timing(text, unique)
    unique.extend(_gcs_consciousness([r for r in unique if _plausible_value(r.field, r.value)]))
    unique.sort(key=lambda r: (r.start, r.field))
    bad_readings = _impossible_pairs(unique)
    plausible, implausible = [], []
    for raw in unique:
        finding = _finding(raw)
        if raw.reading not in bad_readings and _plausible_value(raw.field, raw.value):
            plausible.append(finding)
        else:
            implausible.append(finding)
    return NoteVitals(plausible, implausible, [_finding(r) for r in baseline])


def _impossible_pairs(raws: list[_Raw]) -> set[int]:
    systolic = {r.reading: r.value for r in raws if r.field == "systolic_bp"}
    return {
        r.reading
        for r in raws
        if r.field == "diastolic_bp" and r.value >= systolic.get(r.reading, math.inf)
    }


def _finding(raw: _Raw) -> VitalFinding:
    return VitalFinding(raw.field, raw.value, raw.start, raw.end, raw.text, raw.timing, raw.reading)


def extract_vitals(text: str) -> tuple[list[VitalFinding], list[VitalFinding]]:
    """All (plausible, implausible) vital-sign mentions, in the order they appear."""
    read = read_note(text)
    return read.plausible, read.implausible


def choose(findings: list[VitalFinding]) -> dict[str, VitalFinding]:
    """The note's value for each field: later beats earlier, then the last mention counts
    (for consciousness the most urgent current mention); diastolic comes with its systolic."""
    by_field: dict[str, list[VitalFinding]] = {}
    for finding in findings:
        by_field.setdefault(finding.field, []).append(finding)
    chosen: dict[str, VitalFinding] = {}
    for field, items in by_field.items():
        if field == "diastolic_bp":
            continue
        pool = (
            [f for f in items if f.timing == "later"]
            or [f for f in items if f.timing != "earlier"]
            or items
        )
        if field == "consciousness":
            chosen[field] = max(pool, key=lambda f: (_URGENCY_ORDER[f.value], f.start))
        else:
            chosen[field] = pool[-1]
    systolic = chosen.get("systolic_bp")
    if systolic is not None:
        for finding in by_field.get("diastolic_bp", []):
            if finding.reading == systolic.reading:
                chosen["diastolic_bp"] = finding
    return chosen


# --- merging with the typed fields -------------------------------------------------------

# NEWS2 (RCP 2017) parameter bands, (inclusive upper bound, score), the same tables as
# shared/clinical/news2.py (a test keeps them equal): nlp sits below clinical, never imports it.
_BANDS: dict[str, Bands] = {
    "respiratory_rate": ((8, 3), (11, 1), (20, 0), (24, 2), (math.inf, 3)),
    "heart_rate": ((40, 3), (50, 1), (90, 0), (110, 1), (130, 2), (math.inf, 3)),
    "systolic_bp": ((90, 3), (100, 2), (110, 1), (219, 0), (math.inf, 3)),
    "temperature_c": ((35.0, 3), (36.0, 1), (38.0, 0), (39.0, 1), (math.inf, 2)),
}
Bands = tuple[tuple[float, int], ...]
_SPO2_SCALE1: Bands = ((91, 3), (93, 2), (95, 1), (math.inf, 0))
_SPO2_SCALE2_AIR: Bands = ((83, 3), (85, 2), (87, 1), (math.inf, 0))
_SPO2_SCALE2_OXYGEN: Bands = ((83, 3), (85, 2), (87, 1), (92, 0), (94, 1), (96, 2), (math.inf, 3))
# Normal range and its centre: ties between equal NEWS2 scores, and values NEWS2 does not score,
# go to the value further from normal.
_NORMAL: dict[str, tuple[float, float, float]] = {
    "respiratory_rate": (12, 20, 16),
    "heart_rate": (51, 90, 70),
    "systolic_bp": (111, 219, 120),
    "diastolic_bp": (60, 89, 75),
    "temperature_c": (36.1, 38.0, 37.0),
    "spo2": (96, 100, 100),
    "pain": (0, 0, 0),
    "gcs": (15, 15, 15),
}
_NOT_ALERT_SCORE = 3
_OXYGEN_SCORE = 2
_MERGED_ONE_BY_ONE = (
    "on_oxygen",
    "consciousness",
    "gcs",
    "respiratory_rate",
    "spo2",
    "heart_rate",
    "temperature_c",
    "pain",
)  # oxygen first: SpO2 on scale 2 scores by it


def _band_score(value: float, table: Bands) -> int:
    return next(score for upper, score in table if value <= upper)


def urgency(field: str, value: Any, vitals: dict[str, Any] | None = None) -> tuple[float, ...]:
    """Sort key, higher is more urgent: NEWS2 parameter score, distance outside the normal
    range, distance from its centre. `vitals` gives the SpO2 scale and oxygen."""
    if value is None:
        return (-1, 0, 0)
    if field == "consciousness":
        level = Consciousness(value)
        return (0 if level is Consciousness.ALERT else _NOT_ALERT_SCORE, _URGENCY_ORDER[level], 0)
    if field == "on_oxygen":
        return (_OXYGEN_SCORE if value else 0, 0, 0)
    low, high, centre = _NORMAL[field]
    score = 0
    if field in _BANDS:
        score = _band_score(value, _BANDS[field])
    elif field == "spo2":
        vitals = vitals or {}
        table = _SPO2_SCALE1
        if vitals.get("spo2_scale2"):
            table = _SPO2_SCALE2_OXYGEN if vitals.get("on_oxygen") else _SPO2_SCALE2_AIR
            low, high, centre = 88, 92, 90
        score = _band_score(value, table)
    return (score, max(low - value, value - high, 0), abs(value - centre))


def _bp_urgency(systolic: int | None, diastolic: int | None) -> tuple[float, ...]:
    s = urgency("systolic_bp", systolic) if systolic is not None else (0, 0, 0)
    d = urgency("diastolic_bp", diastolic) if diastolic is not None else (0, 0, 0)
    return (s[0], s[1], d[1], s[2], d[2])


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return abs(float(a) - float(b)) < 0.05
    return bool(a == b)


def _merge_blood_pressure(
    values: dict[str, Any],
    sources: dict[str, str],
    chosen: dict[str, VitalFinding],
    conflicts: list[Conflict],
) -> None:
    """Systolic and diastolic always come from one reading, typed or noted."""
    systolic = chosen.get("systolic_bp")
    if systolic is None:
        return
    diastolic = chosen.get("diastolic_bp")
    note = (systolic.value, diastolic.value if diastolic else None)
    typed = (values["systolic_bp"], values["diastolic_bp"])
    fields = ("systolic_bp", "diastolic_bp")
    differ = [
        (f, t, n, finding)
        for f, t, n, finding in zip(fields, typed, note, (systolic, diastolic), strict=True)
        if t is not None and n is not None and t != n and finding is not None
    ]
    if not differ:  # agree wherever both are known: fill the gaps from the same reading
        filled = tuple(t if t is not None else n for t, n in zip(typed, note, strict=True))
        if filled[0] is None or filled[1] is None or filled[1] < filled[0]:
            for f, t, n in zip(fields, typed, note, strict=True):
                if t is None and n is not None:
                    values[f], sources[f] = n, "note"
        return
    note_wins = _bp_urgency(*note) > _bp_urgency(*typed)
    used: Source = "note" if note_wins else "structured"
    for f, t, n, finding in differ:
        conflicts.append(Conflict(f, t, n, used, finding.start, finding.end))
    if note_wins:
        for f, n in zip(fields, note, strict=True):
            values[f] = n
            if n is None:
                sources.pop(f, None)
            else:
                sources[f] = "note"


# A re-triage adds its note line under this prefix, after the intake note and any earlier
# re-triage lines (shared/lifecycle.py); its vital signs arrive as the typed fields.
RETRIAGE_PREFIX = "Re-triage:"
_RETRIAGE_LINE = re.compile(rf"^{RETRIAGE_PREFIX}", re.MULTILINE)


def retriage_line(text: str | None) -> str:
    """The note line one re-triage adds (written even when the nurse adds no words, since it
    marks where the values measured now begin)."""
    return f"{RETRIAGE_PREFIX} {text}" if text else RETRIAGE_PREFIX


def _measured_now_from(note: str) -> int | None:
    """Where the latest re-triage line starts (None when the note has none): a note value
    before it was measured earlier than the typed fields, which came with that re-triage."""
    starts = [m.start() for m in _RETRIAGE_LINE.finditer(note)]
    return starts[-1] if starts else None


def merge_vitals(structured: VitalSigns, note: str) -> MergedVitals:
    """The typed fields and the note's vital signs, one value per field.

    A note value fills a missing field; where the two disagree the more urgent one counts and
    the conflict is kept with both values (CLINICAL.md) — unless the note's value is earlier
    than the typed one: written before the latest re-triage line, whose vital signs are the
    typed fields ("HR 150" at intake, HR 88 measured at re-triage: 88 counts, no conflict).
    Blood pressure is merged as a pair. Whatever the note says the merge never fails: values
    that cannot stand together fall back to the typed blood pressure, then to the typed
    fields alone.
    """
    read = read_note(note)
    chosen = choose(read.plausible)
    now = _measured_now_from(note)
    if now is not None:  # typed values outrank what the note measured before this re-triage
        typed = {k for k, v in structured.model_dump().items() if v is not None}
        pressure = {"systolic_bp", "diastolic_bp"}
        earlier = {f for f, found in chosen.items() if f in typed and found.start < now}
        systolic = chosen.get("systolic_bp")
        if systolic is not None and systolic.start < now and typed & pressure:
            earlier |= pressure  # a pressure is one reading: typed or noted, not mixed
        chosen = {f: found for f, found in chosen.items() if f not in earlier}
    values = structured.model_dump()
    sources = {k: "structured" for k, v in values.items() if v is not None and k != "spo2_scale2"}
    conflicts: list[Conflict] = []
    for field in _MERGED_ONE_BY_ONE:
        finding = chosen.get(field)
        if finding is None:
            continue
        typed = values[field]
        if typed is None:
            values[field], sources[field] = finding.value, "note"
        elif not _same(typed, finding.value):
            note_wins = urgency(field, finding.value, values) > urgency(field, typed, values)
            used: Source = "note" if note_wins else "structured"
            conflicts.append(
                Conflict(field, typed, finding.value, used, finding.start, finding.end)
            )
            if note_wins:
                values[field], sources[field] = finding.value, "note"
    _merge_blood_pressure(values, sources, chosen, conflicts)
    merged = _validated(structured, values, sources)
    documented = frozenset(
        k for k, v in merged.model_dump().items() if v is not None and k != "spo2_scale2"
    )
    used_findings = {k: f for k, f in chosen.items() if sources.get(k) == "note"}
    return MergedVitals(
        vitals=merged,
        sources=sources,
        findings=read.plausible,
        conflicts=conflicts,
        implausible=read.implausible,
        documented=documented,
        chosen=used_findings,
        baseline=tuple(read.baseline),
    )


def _validated(
    structured: VitalSigns, values: dict[str, Any], sources: dict[str, str]
) -> VitalSigns:
    try:
        return VitalSigns.model_validate(values)
    except ValidationError:
        pass
    typed = structured.model_dump()
    for field in ("systolic_bp", "diastolic_bp"):
        values[field] = typed[field]
        if typed[field] is None:
            sources.pop(field, None)
        else:
            sources[field] = "structured"
    try:
        return VitalSigns.model_validate(values)
    except ValidationError:
        for field in [k for k, v in sources.items() if v == "note"]:
            del sources[field]
        return structured
