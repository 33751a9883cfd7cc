"""Turning the intake form into a `CaseIn`, with messages a nurse can act on."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from werkzeug.datastructures import MultiDict

from shared.schemas import CaseIn

# form field -> (path in CaseIn, label shown next to the error)
VITAL_FIELDS = {
    "respiratory_rate": "Respiratory rate",
    "spo2": "SpO2",
    "systolic_bp": "Systolic BP",
    "diastolic_bp": "Diastolic BP",
    "heart_rate": "Heart rate",
    "temperature": "Temperature",
    "pain": "Pain",
}


def field_errors(exc: ValidationError) -> list[dict[str, str]]:
    """Location and message only: the rejected input is never echoed back."""
    return [
        {"field": ".".join(str(part) for part in err["loc"]), "message": err["msg"]}
        for err in exc.errors()
    ]


def _blank_to_none(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _temperature_c(form: MultiDict[str, str], errors: dict[str, str]) -> float | None:
    raw = _blank_to_none(form.get("temperature"))
    if raw is None:
        return None
    try:
        value = float(raw.replace(",", "."))
    except ValueError:
        errors["temperature"] = "Temperature must be a number."
        return None
    if form.get("temperature_unit") == "F":
        value = (value - 32) * 5 / 9
    return round(value, 1)


def case_from_form(form: MultiDict[str, str]) -> tuple[CaseIn | None, dict[str, str]]:
    errors: dict[str, str] = {}
    oxygen = form.get("on_oxygen", "")
    vitals: dict[str, Any] = {
        name: _blank_to_none(form.get(name)) for name in VITAL_FIELDS if name != "temperature"
    }
    vitals.update(
        temperature_c=_temperature_c(form, errors),
        spo2_scale2=form.get("spo2_scale2") == "on",
        on_oxygen={"oxygen": True, "air": False}.get(oxygen),
        consciousness=_blank_to_none(form.get("consciousness")),
    )
    data = {
        "patient_ref": _blank_to_none(form.get("patient_ref")),
        "age_years": _blank_to_none(form.get("age_years")),
        "sex": form.get("sex") or "unknown",
        "pregnant": form.get("pregnant") == "on",
        "chief_complaint": form.get("chief_complaint", ""),
        "note": form.get("note", ""),
        "vitals": vitals,
    }
    try:
        case_in = CaseIn.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = [str(part) for part in err["loc"]]
            name = loc[-1] if loc[0] == "vitals" and len(loc) > 1 else loc[0]
            name = "temperature" if name == "temperature_c" else name
            errors.setdefault(name, err["msg"])
        return None, errors
    if errors:
        return None, errors
    return case_in, errors
