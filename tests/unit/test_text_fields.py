"""Every text field of a case refuses invisible control and direction-changing characters."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.schemas import CaseIn

TEXT_FIELDS = ("patient_ref", "chief_complaint", "note")

CONTROL = ["\x00", "\x07", "\x1b", "\x7f", "\x80", "\x85", "\x9b", "\x9f"]
# Embeddings and overrides (LRE RLE PDF LRO RLO) and isolates (LRI RLI FSI PDI): issue 8,
# a note could render reversed on the case page.
DIRECTION = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]


def case(**text: str) -> dict[str, object]:
    return {"age_years": 40, "chief_complaint": "cough", **text}


def error_for(field: str, value: str) -> str:
    with pytest.raises(ValidationError) as caught:
        CaseIn.model_validate(case(**{field: value}))
    (error,) = caught.value.errors()
    assert error["loc"] == (field,)
    return str(error["ctx"]["error"])


@pytest.mark.parametrize("field", TEXT_FIELDS)
@pytest.mark.parametrize("char", CONTROL, ids=lambda c: f"U+{ord(c):04X}")
def test_control_characters_are_refused_in_every_text_field(field, char):
    assert error_for(field, f"pain{char}left") == "contains control characters"


@pytest.mark.parametrize("field", TEXT_FIELDS)
@pytest.mark.parametrize("char", DIRECTION, ids=lambda c: f"U+{ord(c):04X}")
def test_direction_overrides_are_refused_in_every_text_field(field, char):
    message = error_for(field, f"pain left{char}thgir")
    assert message == "contains characters that change the direction of text"


@pytest.mark.parametrize(
    "text",
    [
        "line one\nline two\r\n\tindented",
        "ألم في الصدر",  # right-to-left script itself is text, not a control
        "כאב בחזה",
        "café, naïve, 37.5 °C, SpO₂ 94 %, 😷",
        "mark\u200fed",  # RLM/LRM marks only set the direction of neutral characters
        "non\u00a0breaking space",
    ],
)
def test_ordinary_text_in_any_script_is_kept(text):
    for field in TEXT_FIELDS:
        value = getattr(CaseIn.model_validate(case(**{field: text})), field)
        assert value == text.strip()
