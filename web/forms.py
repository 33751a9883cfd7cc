"""The intake form as a `CaseIn`, and Pydantic's errors in words a nurse uses.

The form's strings are converted here explicitly (numbers, the combined blood pressure, the
temperature unit), so the schema can stay strict for the JSON API. Both the form and the API
describe a rejected field with `describe`, never with Pydantic's "Value error, ...".
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from werkzeug.datastructures import MultiDict

from shared.schemas import CaseIn, VitalSigns

# Path in CaseIn -> (label, unit) as the form shows them.
LABELS: dict[str, tuple[str, str]] = {
    "patient_ref": ("Patient reference", ""),
    "age_years": ("Age", "years"),
    "sex": ("Sex", ""),
    "pregnant": ("Pregnant or postpartum", ""),
    "chief_complaint": ("Chief complaint", ""),
    "note": ("Note", ""),
    "vitals": ("Vital signs", ""),
    "vitals.respiratory_rate": ("Respiratory rate", "/min"),
    "vitals.spo2": ("SpO2", "%"),
    "vitals.spo2_scale2": ("SpO2 scale 2", ""),
    "vitals.on_oxygen": ("Air or oxygen", ""),
    "vitals.systolic_bp": ("Systolic BP", "mmHg"),
    "vitals.diastolic_bp": ("Diastolic BP", "mmHg"),
    "vitals.heart_rate": ("Heart rate", "/min"),
    "vitals.consciousness": ("Consciousness (ACVPU)", ""),
    "vitals.temperature_c": ("Temperature", "°C"),
    "vitals.pain": ("Pain score", ""),
    "vitals.gcs": ("GCS", ""),
}

# Numeric form fields -> whole numbers or not. Temperature and blood pressure have their own.
INTEGER_VITALS = ("respiratory_rate", "spo2", "heart_rate", "pain")
BP_RE = re.compile(r"^\s*(\d{1,3})\s*(?:/\s*(\d{1,3})?)?\s*$")
TEMPERATURE_RE = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*°?\s*([CcFf])?\s*$")

# Plausible ranges: a value outside is allowed but the browser asks "is that right?".
PLAUSIBLE = {
    "age_years": (0, 105),
    "respiratory_rate": (6, 50),
    "spo2": (70, 100),
    "systolic_bp": (60, 250),
    "diastolic_bp": (30, 150),
    "heart_rate": (30, 220),
    "temperature_c": (32, 42),
}


def _fmt(value: float) -> str:
    return f"{value:g}"


def c_to_f(value: float) -> float:
    return round(value * 9 / 5 + 32, 1)


def limits() -> dict[str, tuple[float, float]]:
    """Hard limits from the schema (what the server refuses), by form field name."""
    out: dict[str, tuple[float, float]] = {}
    fields = {"age_years": CaseIn.model_fields["age_years"], **VitalSigns.model_fields}
    for name, field in fields.items():
        low = next((m.ge for m in field.metadata if hasattr(m, "ge")), None)
        high = next((m.le for m in field.metadata if hasattr(m, "le")), None)
        if low is not None and high is not None:
            out[name] = (float(low), float(high))
    return out


def describe(err: ErrorDetails, fahrenheit: bool = False) -> str:
    """One error in plain words: what is wrong and what to do, never the rejected input."""
    path = ".".join(str(part) for part in err["loc"])
    label, unit = LABELS.get(path, (path.rsplit(".", 1)[-1].replace("_", " ").capitalize(), ""))
    kind, ctx = err["type"], err.get("ctx", {})
    unit = " " + unit if unit else ""
    if fahrenheit and path == "vitals.temperature_c":
        ctx = {key: c_to_f(value) for key, value in ctx.items() if key in ("ge", "le")}
        unit = " °F"
    tail = " is not possible; check the value" + (
        " and the unit." if path == "vitals.temperature_c" else "."
    )
    if kind in ("less_than_equal", "less_than"):
        return f"{label} over {_fmt(ctx.get('le', ctx.get('lt', 0)))}{unit}{tail}"
    if kind in ("greater_than_equal", "greater_than"):
        return f"{label} below {_fmt(ctx.get('ge', ctx.get('gt', 0)))}{unit}{tail}"
    if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1):
        return (
            f"Enter the {label[0].lower() + label[1:]}."
            if path != "age_years"
            else "Enter the age in years."
        )
    if kind == "string_too_long":
        return f"{label} is too long: at most {ctx['max_length']} characters."
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"{label} must be a whole number."
    if kind in ("float_type", "float_parsing", "finite_number"):
        return f"{label} must be a number."
    if kind in ("bool_type", "bool_parsing"):
        return f"{label} must be true or false."
    if kind in ("string_type", "string_unicode"):
        return f"{label} must be text."
    if kind == "enum":
        return f"{label} must be one of {ctx.get('expected', 'the listed values')}."
    if kind == "extra_forbidden":
        return f"Unknown field {path!r}; remove it."
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"{label} must be an object."
    if kind == "value_error":
        reason = str(ctx.get("error", "")) or err["msg"]
        if reason.startswith("contains"):
            return f"{label} {reason} (invisible characters from copy and paste); remove them."
        return reason[0].upper() + reason[1:] + "."
    return f"{label}: {err['msg'].removeprefix('Value error, ')}."


def field_errors(exc: ValidationError) -> list[dict[str, str]]:
    """For the API: the field's path, a message in words, Pydantic's error type; no input."""
    return [
        {
            "field": ".".join(str(part) for part in err["loc"]) or "body",
            "message": describe(err),
            "type": err["type"],
        }
        for err in exc.errors()
    ]


def _blank_to_none(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


class FormReader:
    """Reads one submitted form; `errors` maps form field names to messages."""

    def __init__(self, form: MultiDict[str, str]) -> None:
        self.form = form
        self.errors: dict[str, str] = {}
        self.fahrenheit = form.get("temperature_unit") == "F"
        self.bp_field: str | None = None  # "blood_pressure" when the combined field was used

    def number(self, name: str, label: str, whole: bool) -> int | float | None:
        raw = _blank_to_none(self.form.get(name))
        if raw is None:
            return None
        try:
            value = float(raw.replace(",", "."))
        except ValueError:
            self.errors[name] = f"{label} must be a number."
            return None
        if value != value or value in (float("inf"), float("-inf")):
            self.errors[name] = f"{label} must be a number."
            return None
        if whole:
            if not value.is_integer():
                self.errors[name] = f"{label} must be a whole number."
                return None
            return int(value)
        return value

    def blood_pressure(self) -> tuple[int | None, int | None]:
        systolic = self.number("systolic_bp", "Systolic BP", whole=True)
        diastolic = self.number("diastolic_bp", "Diastolic BP", whole=True)
        combined = _blank_to_none(self.form.get("blood_pressure"))
        if combined is None:
            return systolic, diastolic  # type: ignore[return-value]
        self.bp_field = "blood_pressure"
        match = BP_RE.match(combined)
        if match is None:
            self.errors["blood_pressure"] = (
                "Blood pressure: write systolic/diastolic in mmHg, for example 120/80."
            )
            return None, None
        top, bottom = int(match.group(1)), match.group(2)
        pair = (top, int(bottom) if bottom else None)
        if (systolic, diastolic) != (None, None) and (systolic, diastolic) != pair:
            self.errors["blood_pressure"] = (
                "Blood pressure and the separate systolic and diastolic fields disagree; "
                "clear one of them."
            )
            return None, None
        return pair

    def temperature_c(self) -> float | None:
        raw = _blank_to_none(self.form.get("temperature"))
        if raw is None:
            return None
        match = TEMPERATURE_RE.match(raw)
        if match is None:
            self.errors["temperature"] = "Temperature must be a number, for example 37.2."
            return None
        value = float(match.group(1).replace(",", "."))
        if match.group(2):  # "101.3F" says its own unit
            self.fahrenheit = match.group(2).upper() == "F"
        if self.fahrenheit:
            value = (value - 32) * 5 / 9
        return round(value, 1)

    def field_for(self, loc: tuple[int | str, ...]) -> str:
        """The form field a schema error belongs to."""
        parts = [str(part) for part in loc]
        if parts[0] != "vitals" or len(parts) < 2:
            return parts[0]
        name = parts[1]
        if name == "temperature_c":
            return "temperature"
        if name in ("systolic_bp", "diastolic_bp") and self.bp_field:
            return self.bp_field
        return name


def case_from_form(form: MultiDict[str, str]) -> tuple[CaseIn | None, dict[str, str]]:
    reader = FormReader(form)
    vitals: dict[str, Any] = {
        name: reader.number(name, LABELS[f"vitals.{name}"][0], whole=True)
        for name in INTEGER_VITALS
    }
    systolic, diastolic = reader.blood_pressure()
    vitals.update(
        systolic_bp=systolic,
        diastolic_bp=diastolic,
        temperature_c=reader.temperature_c(),
        spo2_scale2=form.get("spo2_scale2") == "on",
        on_oxygen={"oxygen": True, "air": False}.get(form.get("on_oxygen", "")),
        consciousness=_blank_to_none(form.get("consciousness")),
    )
    data = {
        "patient_ref": _blank_to_none(form.get("patient_ref")),
        "age_years": reader.number("age_years", "Age", whole=False),
        "sex": form.get("sex") or "unknown",
        "pregnant": form.get("pregnant") == "on",
        "chief_complaint": form.get("chief_complaint", ""),
        "note": form.get("note", ""),
        "vitals": vitals,
    }
    if data["age_years"] is None:
        data.pop("age_years")  # "Enter the age", or the parse error already noted
    try:
        case_in = CaseIn.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            name = reader.field_for(err["loc"])
            reader.errors.setdefault(name, describe(err, fahrenheit=reader.fahrenheit))
        return None, reader.errors
    if reader.errors:
        return None, reader.errors
    return case_in, reader.errors
