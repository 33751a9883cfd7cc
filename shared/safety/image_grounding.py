"""Layer 3 for image+text output: what a model may and may not say about an image.

- A measurement ("3.2 cm", "EF 40%", "a 4 x 3 mm nodule", "CTR 0.6") is ungrounded unless the
  note or the fields hold the same value and unit: the model saw a resized picture with no
  scale, so it cannot have measured anything.
- Left and right must match the DICOM laterality tag of the image they are said of: a "left"
  observation on an image labelled R is withheld (and the reverse).
- What the model reads on the image (a condition, a finding, a qualitative result such as "the
  X-ray shows consolidation") is not in the note by nature: it is kept, marked as the model's
  interpretation of the image. Numbers, vital signs, drugs, doses and statistics follow the
  text rules (shared.safety.grounding).
- The text part (summary, findings, next steps, acuity reason, uncertainties) is checked
  against the record alone (note, structured fields, the deterministic extraction), never
  against the model's own observations: a condition or finding that only the model's kept
  image observations support is its interpretation, kept hedged and marked so, never
  "grounded" (`text_claims`, `check_text_part`).
"""

from __future__ import annotations

import re

from shared.safety.grounding import Claim, find_claims, sentences, withhold
from shared.safety.record import Record
from shared.safety.schema import CheckedClaim

_I = re.IGNORECASE
_UNIT = (
    r"(?:cm|mm|centimet(?:re|er)s?|millimet(?:re|er)s?|%|percent|per\s+cent|HU|"
    r"hounsfield\s+units?|ml|cc|degrees?|°)"
)
_NUM = r"\d+(?:\.\d+)?"
MEASUREMENT = re.compile(
    rf"(?<![\w.])(?P<nums>{_NUM}(?:\s*(?:x|\u00d7|by)\s*{_NUM})*)\s*(?P<unit>{_UNIT})(?![\w])|"
    rf"\b(?P<name>LVEF|EF|ejection\s+fraction|CTR|cardiothoracic\s+ratio)\b"
    rf"(?:\s+(?:of|is|was|about|approximately|estimated\s+at))?\s*[=:~]?\s*(?P<value>{_NUM})"
    r"\s*%?",
    _I,
)
SIDE = re.compile(r"\b(?P<side>left|right|lt|rt)\b(?:[- ]sided)?", _I)
SIDE_NAMES = {"L": "left", "R": "right"}
_UNIT_KEYS = {"centimetre": "cm", "centimeter": "cm", "millimetre": "mm", "millimeter": "mm",
              "percent": "%", "per cent": "%", "hounsfield unit": "hu", "degree": "°",
              "cc": "ml"}  # fmt: skip
NO_SCALE = "a measurement the image cannot give (no scale was sent) and the record does not hold"


def _unit(unit: str) -> str:
    u = " ".join(unit.lower().split())
    u = u[:-1] if u.endswith("s") and len(u) > 3 else u
    return _UNIT_KEYS.get(u, u)


def measurement_key(m: re.Match[str]) -> tuple[tuple[float, ...], str]:
    """(the numbers, the unit): '4 x 3 mm' -> ((4.0, 3.0), 'mm'); 'EF of 40%' -> ((40.0,), '%')."""
    if m["name"]:
        name = m["name"].lower()
        return (float(m["value"]),), ("ratio" if name.startswith(("ctr", "cardio")) else "%")
    numbers = tuple(float(n) for n in re.findall(_NUM, m["nums"]))
    return numbers, _unit(m["unit"])


def record_measurements(record: Record) -> set[tuple[tuple[float, ...], str]]:
    return {measurement_key(m) for m in MEASUREMENT.finditer(record.text)}


def side_of(word: str) -> str:
    return "L" if word.lower() in ("left", "lt") else "R"


def rule_claims(text: str, record: Record, laterality: str | None) -> list[Claim]:
    """The image rules alone: measurements the record does not hold, and a side that is not
    the image's label. `laterality`: the DICOM tag of the image(s) the text speaks of (L or
    R; anything else is not checked)."""
    known = record_measurements(record)
    claims: list[Claim] = []
    for m in MEASUREMENT.finditer(text):
        ok = measurement_key(m) in known
        grounding, reason = ("grounded", "") if ok else ("ungrounded", NO_SCALE)
        claims.append(
            Claim(m.group(0).strip(), "measurement", m.start(), m.end(), grounding, reason)
        )
    if laterality in SIDE_NAMES:
        for m in SIDE.finditer(text):
            said = side_of(m["side"])
            if said != laterality:
                reason = (f"the image is labelled {SIDE_NAMES[laterality]} (DICOM laterality "
                          f"{laterality}), not {SIDE_NAMES[said]}")  # fmt: skip
                claims.append(Claim(m.group(0), "laterality", m.start(), m.end(), "ungrounded",
                                    reason))  # fmt: skip
    return claims


def image_claims(
    text: str,
    record: Record,
    laterality: str | None,
    reading: bool = True,
    advice: bool = False,
) -> list[Claim]:
    """Every claim in one piece of model text about images: the image rules, then the text
    rules. `reading`: text that reads the image (an observation, an agreement), whose
    conditions and findings are the model's interpretation of the image. `advice`: a next
    step or the acuity reason ("level 2", "within 15 minutes" are the model's own advice)."""
    claims = rule_claims(text, record, laterality)
    for c in find_claims(text, record, advice):
        if any(o.start < c.end and c.start < o.end for o in claims if o.kind == "measurement"):
            continue  # the number of a measurement: checked as the measurement
        if reading and c.grounding == "ungrounded" and _read_on_image(c):
            c.grounding, c.reason = "interpretation", "read on the image by the model"
        claims.append(c)
    return sorted(claims, key=lambda c: c.start)


def _read_on_image(claim: Claim) -> bool:
    """A condition or finding, or a result without a number: what an image can show."""
    if claim.kind in ("condition", "finding"):
        return True
    return claim.kind == "result" and not re.search(r"\d", claim.text)


def check_image_text(
    text: str, record: Record, where: str, laterality: str | None, reading: bool = True
) -> tuple[str, list[CheckedClaim]]:
    return withhold(text, image_claims(text, record, laterality, reading), where)


# Why a statement the record lacks is kept: the model's own image observation says it.
SEEN_ONLY = "only the model's own reading of the image says so, not the record"
# The words a sentence resting on such a statement is shown after: hedged, the model's.
SEEN_HEDGE = "The model's own reading of the image, not found in the record: "
# The record says the opposite: withheld, whatever the model read on the image.
_CONTRADICTED = ("the record says it is absent", "the record says it is present")


def text_claims(
    text: str,
    record: Record,
    seen: Record | None,
    laterality: str | None,
    advice: bool = False,
) -> list[Claim]:
    """The claims of the text part, grounded against the real `record` only. `seen`: the
    record plus the model's kept image observations. A condition or finding (or a result
    without a number) that the record does not mention but `seen` holds rests on the model's
    own reading: an interpretation (reason SEEN_ONLY), never grounded. Quotations, numbers,
    vital signs, drugs and doses are never helped by `seen`: evidence comes from the record."""
    claims = image_claims(text, record, laterality, reading=False, advice=advice)
    if seen is None:
        return claims
    by_span = {
        (c.start, c.end, c.kind): c
        for c in image_claims(text, seen, laterality, reading=False, advice=advice)
    }
    for c in claims:
        other = by_span.get((c.start, c.end, c.kind))
        if (
            c.grounding == "ungrounded"
            and c.reason not in _CONTRADICTED
            and _read_on_image(c)
            and other is not None
            and other.grounding == "grounded"
        ):
            c.grounding, c.reason = "interpretation", SEEN_ONLY
    return claims


def check_text_part(
    text: str,
    record: Record,
    seen: Record | None,
    where: str,
    laterality: str | None,
    advice: bool = False,
) -> tuple[str, list[CheckedClaim]]:
    """`text` without its sentences that hold an ungrounded claim (against the record alone),
    a sentence that rests on the model's own image reading hedged (SEEN_HEDGE), and the
    checked claims."""
    claims = text_claims(text, record, seen, laterality, advice)
    kept: list[str] = []
    out: list[CheckedClaim] = []
    for start, end in sentences(text):
        sentence = text[start:end].strip()
        inside = [c for c in claims if start <= c.start < end]
        withheld = any(c.grounding == "ungrounded" for c in inside)
        if not withheld:
            read = any(c.reason == SEEN_ONLY for c in inside)
            kept.append(SEEN_HEDGE + sentence if read else sentence)
        for c in inside:
            out.append(CheckedClaim(text=c.text, kind=c.kind, grounding=c.grounding,  # type: ignore[arg-type]
                                    where=where, reason=c.reason,
                                    sentence=sentence if withheld and c.grounding == "ungrounded"
                                    else ""))  # fmt: skip
    return " ".join(kept), out
