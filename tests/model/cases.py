"""Cases the model tests send: real clinical wording, asserted on for structure only."""

import json
from typing import Any

from shared.schemas import CaseIn

CHEST_PAIN = CaseIn(
    age_years=54,
    sex="male",
    chief_complaint="chest pain",
    note="Central chest pain radiating to the left arm for 1 hour, sweaty. Takes aspirin.",
    vitals={"heart_rate": 110, "systolic_bp": 100, "respiratory_rate": 22, "spo2": 95},
)
ANKLE = CaseIn(
    age_years=30,
    chief_complaint="ankle pain",
    note="Twisted right ankle playing football, walking with a limp.",
    vitals={"heart_rate": 80, "systolic_bp": 125, "respiratory_rate": 14, "spo2": 99},
)

# What an image+text model might answer for ANKLE with one radiograph (ModelImageTextOutput's
# fields): the left-ankle observation contradicts the image's label, the other is grounded.
IMAGE_READING: dict[str, Any] = {
    "image_observations": [
        {"image": 1, "observation": "Soft tissue swelling around the left ankle."},
        {"image": 1, "observation": "Soft tissue swelling over the lateral malleolus."},
    ],
    "summary": "Twisted right ankle with swelling on the image.",
    "key_findings": [{"finding": "ankle injury", "evidence": "Twisted right ankle"}],
    "cross_modal_agreements": ["The image shows swelling where the note says."],
    "next_steps": ["Consider an ankle examination."],
    "suggested_acuity": 3,
    "acuity_reason": "Limb injury.",
    "uncertainties": [],
}


def image_reading(**changes: Any) -> str:
    """IMAGE_READING as the model's JSON text, with `changes` to its fields."""
    return json.dumps(IMAGE_READING | changes)
