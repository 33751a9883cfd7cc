"""Vital signs from HL7 v2 OBX segments: LOINC codes and their units onto `VitalSigns`
fields, checked with the intake's own bounds. Errors name the OBX segment, never its value."""

from __future__ import annotations

from typing import Any

import hl7 as hl7lib
from pydantic import ValidationError

from shared.interop.hl7 import DATA_TYPE_ERROR, REQUIRED_FIELD_MISSING, not_applied, segments, value
from shared.schemas import VitalSigns

# LOINC code -> (VitalSigns field, accepted units; "" = no unit sent).
PER_MIN = {"", "/min", "{beats}/min", "{beat}/min", "{breaths}/min", "{breath}/min", "bpm"}
MM_HG = {"", "mm[Hg]", "mmHg"}
LOINC: dict[str, tuple[str, set[str]]] = {
    "8867-4": ("heart_rate", PER_MIN),
    "9279-1": ("respiratory_rate", PER_MIN),
    "2708-6": ("spo2", {"", "%"}),
    "59408-5": ("spo2", {"", "%"}),
    "8310-5": ("temperature_c", {"Cel", "[degF]", "degC", "degF"}),
    "8480-6": ("systolic_bp", MM_HG),
    "8462-4": ("diastolic_bp", MM_HG),
    "85354-9": ("blood_pressure", MM_HG),  # the panel as one value, systolic/diastolic
    "9269-2": ("gcs", {"", "{score}"}),
    "72514-3": ("pain", {"", "{score}"}),
    "3151-8": ("on_oxygen", {"", "L/min"}),  # inhaled oxygen flow rate
}
# OBX-11 result status (HL7 table 0085) of an observation that is no measurement to apply:
# I pending (no result yet), D deleted, X cannot be obtained, W posted wrong, N not asked.
NOT_A_VALUE = {"I", "D", "X", "W", "N"}


def skipped(obx: Any) -> bool:
    """A vital sign's OBX whose result status says it holds no value to apply."""
    return value(obx, 3, 1) in LOINC and value(obx, 11).upper() in NOT_A_VALUE


def _number(text: str, where: tuple[str, int, int], name: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise not_applied(DATA_TYPE_ERROR, f"OBX-5 {name} is not a number", where) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise not_applied(DATA_TYPE_ERROR, f"OBX-5 {name} is not a number", where)
    return number


def _observation(obx: Any, sequence: int) -> tuple[str, Any] | None:
    code = value(obx, 3, 1)
    if code not in LOINC or skipped(obx):
        return None
    name, units = LOINC[code]
    where = ("OBX", sequence, 5)
    unit = value(obx, 6, 1)
    if unit not in units:
        raise not_applied(
            DATA_TYPE_ERROR,
            f"OBX-6 unit of {code} must be one of {', '.join(sorted(u for u in units if u))}",
            ("OBX", sequence, 6),
        )
    if value(obx, 2).upper() == "SN":  # structured numeric: comparator^num^separator^num
        if value(obx, 5, 1) not in ("", "="):
            raise not_applied(DATA_TYPE_ERROR, f"OBX-5 {name} is not an exact value", where)
        parts = (
            [value(obx, 5, 2), value(obx, 5, 4)] if name == "blood_pressure" else [value(obx, 5, 2)]
        )
    elif name == "blood_pressure":
        parts = value(obx, 5).split("/")
    else:
        parts = [value(obx, 5)]
    if not all(parts) or (name == "blood_pressure" and len(parts) != 2):
        raise not_applied(REQUIRED_FIELD_MISSING, f"OBX-5 {name} has no value", where)
    numbers = [_number(part, where, name) for part in parts]
    if name == "blood_pressure":
        return name, (round(numbers[0]), round(numbers[1]))
    if name == "temperature_c":
        fahrenheit = unit in ("[degF]", "degF")
        return name, round((numbers[0] - 32) * 5 / 9, 1) if fahrenheit else numbers[0]
    if name == "on_oxygen":
        return name, numbers[0] > 0
    return name, round(numbers[0])


def vital_signs(message: hl7lib.Message, required: bool = True) -> dict[str, Any]:
    """VitalSigns fields from the OBX segments with a LOINC code known here (a later value
    of the same sign wins); validated with the intake's own bounds."""
    found: dict[str, Any] = {}
    sequence_of: dict[str, int] = {}
    for sequence, obx in enumerate(segments(message, "OBX"), 1):
        observed = _observation(obx, sequence)
        if observed is None:
            continue
        name, number = observed
        if name == "blood_pressure":
            found["systolic_bp"], found["diastolic_bp"] = number
            sequence_of["systolic_bp"] = sequence_of["diastolic_bp"] = sequence
        else:
            found[name] = number
            sequence_of[name] = sequence
    if required and not found:
        if any(skipped(obx) for obx in segments(message, "OBX")):
            raise not_applied(
                REQUIRED_FIELD_MISSING,
                "no usable vital sign: OBX-11 says pending (I), deleted (D) or not obtained (X)",
            )
        raise not_applied(
            REQUIRED_FIELD_MISSING, "no OBX segment holds a vital sign with a LOINC code known here"
        )
    try:
        VitalSigns.model_validate(found)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]) if error["loc"] else "vitals"
        message_text = str(error["msg"]).removeprefix("Value error, ")
        where = ("OBX", sequence_of.get(name, 1), 5)
        raise not_applied(DATA_TYPE_ERROR, f"OBX {name}: {message_text}", where) from None
    return found
