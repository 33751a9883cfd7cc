"""apply_image_safety on hand-written multimodal outputs: what the case page may show of a
model's reading of a case and its images (measurements, sides, acuity, framing, confidence)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.clinical.engine import assess_case
from shared.safety import OutputRefused
from shared.safety.image_apply import apply_image_safety
from shared.safety.image_schema import ImageFacts
from shared.safety.schema import SAFETY_DISCLAIMER
from shared.schemas import CaseIn, ModelInfo

ANKLE = CaseIn(
    age_years=34,
    chief_complaint="right ankle injury",
    note="Twisted right ankle playing football, swelling, walking with a limp. "
    "Echo last year: EF 40%.",
    vitals={"heart_rate": 88, "respiratory_rate": 16, "systolic_bp": 128, "spo2": 98},
)
MEDGEMMA = ModelInfo(name="google/medgemma-4b-it", version="1.0", revision="abc123",
                     quantization="4bit")  # fmt: skip
RIGHT = ImageFacts(number=1, image_type="xray", kind="dicom", laterality="R",
                   quality_verdict="usable")  # fmt: skip


def output(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "image_observations": [
            {"image": 1, "observation": "Soft tissue swelling around the right ankle."}
        ],
        "summary": "Right ankle injury with swelling after football.",
        "key_findings": [{"finding": "ankle swelling", "evidence": "swelling"}],
        "cross_modal_agreements": ["The swelling on the image matches the note."],
        "cross_modal_disagreements": [],
        "next_steps": ["Consider an orthopaedic review."],
        "suggested_acuity": 4,
        "acuity_reason": "Limb injury, able to walk.",
        "uncertainties": [],
    }
    return base | changes


def check(raw: Any, images: list[ImageFacts] | None = None):  # type: ignore[no-untyped-def]
    assessment = assess_case(ANKLE)
    return apply_image_safety(raw, case=ANKLE, assessment=assessment, model=MEDGEMMA,
                              images=images or [RIGHT])  # fmt: skip


def withheld(safe, kind: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [c.text for c in safe.claims if c.kind == kind and c.grounding == "ungrounded"]


def test_a_faithful_reading_passes_marked_with_model_licence_and_disclaimer() -> None:
    safe = check(json.dumps(output()))
    assert [o.text for o in safe.image_observations] == [
        "Soft tissue swelling around the right ankle."
    ]
    assert safe.summary == "Right ankle injury with swelling after football."
    assert safe.cross_modal_agreements == ["The swelling on the image matches the note."]
    assert safe.ai_generated_by.startswith("google/medgemma-4b-it, version 1.0")
    assert "4bit quantized" in safe.ai_generated_by
    assert "Health AI Developer Foundations" in safe.licence_notice
    assert "modified" in safe.licence_notice
    assert safe.disclaimer == SAFETY_DISCLAIMER and safe.confidence <= 0.95
    assert not [c for c in safe.claims if c.grounding == "ungrounded"]


@pytest.mark.parametrize(
    "said",
    [
        "A 3.2 cm fracture line of the distal fibula.",
        "The effusion measures 12 mm.",
        "A 4 x 3 mm bone fragment.",
        "Cardiothoracic ratio 0.6 on this film.",
        "EF 55% by appearance.",
    ],
)
def test_a_measurement_the_image_cannot_give_is_withheld(said: str) -> None:
    safe = check(output(image_observations=[
        {"image": 1, "observation": f"{said} Soft tissue swelling is seen."}
    ]))  # fmt: skip
    assert [o.text for o in safe.image_observations] == ["Soft tissue swelling is seen."]
    (claim,) = [c for c in safe.claims if c.kind == "measurement"]
    assert claim.grounding == "ungrounded" and "no scale" in claim.reason
    assert claim.sentence == said


def test_a_measurement_the_note_holds_is_kept_and_the_summary_is_checked_too() -> None:
    safe = check(output(
        image_observations=[{"image": 1, "observation": "Known EF 40% fits a normal heart size."}],
        summary="Ankle injury with swelling. A 2.5 cm fracture is seen.",
    ))  # fmt: skip
    assert safe.image_observations[0].text == "Known EF 40% fits a normal heart size."
    assert safe.summary == "Ankle injury with swelling."
    assert any(c.where == "summary" and c.grounding == "ungrounded" for c in safe.claims)


def test_a_side_against_the_dicom_laterality_tag_is_withheld() -> None:
    safe = check(output(image_observations=[
        {"image": 1, "observation": "Swelling over the left lateral malleolus."},
        {"image": 1, "observation": "The right ankle mortise appears congruent."},
    ]))  # fmt: skip
    assert [o.text for o in safe.image_observations] == [
        "The right ankle mortise appears congruent."
    ]
    (claim,) = [c for c in safe.claims if c.kind == "laterality"]
    assert claim.text == "left" and claim.where == "image_observations[0]"
    assert claim.reason == "the image is labelled right (DICOM laterality R), not left"


def test_a_side_is_not_checked_without_a_lateral_tag_and_disagreements_may_name_it() -> None:
    untagged = ImageFacts(number=1, image_type="photo", kind="png")
    observation = [{"image": 1, "observation": "Swelling over the left lateral malleolus."}]
    safe = check(output(image_observations=observation), [untagged])
    assert len(safe.image_observations) == 1 and not withheld(safe, "laterality")
    disagreement = "The note says right; the film is of the left ankle."
    safe = check(output(cross_modal_disagreements=[disagreement]))
    assert safe.cross_modal_disagreements == [disagreement]


def test_an_observation_of_an_image_never_sent_is_withheld() -> None:
    safe = check(output(image_observations=[{"image": 3, "observation": "Fracture."}]))
    assert safe.image_observations == [] and withheld(safe, "image") == ["image 3"]


def test_readings_are_interpretations_but_invented_numbers_and_drugs_are_not() -> None:
    safe = check(output(image_observations=[
        {"image": 1, "observation": "The X-ray shows a fracture of the distal fibula."},
        {"image": 1, "observation": "Heart rate 130 on the monitor strip."},
        {"image": 1, "observation": "Morphine 10 mg was given."},
    ]))  # fmt: skip
    assert [o.text for o in safe.image_observations] == [
        "The X-ray shows a fracture of the distal fibula."
    ]
    reading = next(c for c in safe.claims if c.where == "image_observations[0]")
    assert reading.text == "X-ray shows a fracture of the distal fibula"
    assert reading.grounding == "interpretation" and "image" in reading.reason
    assert withheld(safe, "vital_sign") and withheld(safe, "dose")


def test_diagnostic_language_is_framed_in_observations() -> None:
    safe = check(output(image_observations=[
        {"image": 1, "observation": "The patient has a fracture of the fibula."}
    ]))  # fmt: skip
    (kept,) = safe.image_observations
    assert "has a fracture" not in kept.text and "may be consistent with" in kept.text


def test_more_urgent_is_applied_and_less_urgent_is_a_disagreement() -> None:
    engine = int(assess_case(ANKLE).acuity)
    raised = check(output(suggested_acuity=engine - 1))
    assert raised.applied_acuity == engine - 1 and raised.disagreement is None
    lowered = check(output(suggested_acuity=5))
    assert lowered.applied_acuity == engine and lowered.suggested_acuity == 5
    assert lowered.disagreement and "never lower it" in lowered.disagreement


def test_a_degraded_image_caps_the_confidence_with_a_caution() -> None:
    degraded = RIGHT.model_copy(update={"quality_verdict": "degraded"})
    safe = check(output(), [degraded])
    assert safe.confidence <= 0.6 and safe.caution
    assert safe.image_caution == (
        "Image 1 is technically degraded: what the model read on it is less reliable."
    )


@pytest.mark.parametrize(
    "raw",
    ['{"image_observations": [], "summary": "cut', json.dumps(output(suggested_acuity=0)),
     json.dumps(output(extra="field"))],
)  # fmt: skip
def test_an_invalid_output_is_refused(raw: str) -> None:
    with pytest.raises(OutputRefused):
        check(raw)


def test_a_statement_only_the_models_own_observation_supports_is_never_grounded() -> None:
    """The model's own image reading is not the record: a summary, finding or evidence quote
    resting on it alone is its interpretation (hedged), or withheld, never grounded."""
    observation = "displaced fracture of the distal tibia with a pneumothorax"
    raw = output(
        image_observations=[{"image": 1, "observation": observation}],
        summary="Displaced fracture of the distal tibia and pneumothorax.",
        key_findings=[
            {"finding": "pneumothorax", "evidence": "pneumothorax"},
            {"finding": "ankle swelling", "evidence": "swelling"},
        ],
        acuity_reason="Pneumothorax on the image.",
    )
    safe = check(raw)
    assert safe.image_observations[0].text.startswith("displaced fracture")
    # Kept, but hedged as the model's reading and marked an interpretation, never grounded.
    assert safe.summary == (
        "The model's own reading of the image, not found in the record: "
        "Displaced fracture of the distal tibia and pneumothorax."
    )
    summary = [c for c in safe.claims if c.where == "summary"]
    assert summary and {c.grounding for c in summary} == {"interpretation"}
    assert all("model's own reading" in c.reason for c in summary)
    assert safe.acuity_reason.startswith("The model's own reading of the image")
    reason = [c for c in safe.claims if c.where == "acuity_reason"]
    assert reason and all(c.grounding != "grounded" for c in reason)
    # The evidence quote comes from the model's text, not the record: the finding is withheld.
    (evidence,) = [c for c in safe.claims if c.where == "key_findings[0].evidence"]
    assert evidence.grounding == "ungrounded" and evidence.text == "pneumothorax"
    assert [f.evidence for f in safe.key_findings] == ["swelling"]
    # Nothing the note does not hold is marked grounded anywhere in the text part.
    grounded = [c.text.lower() for c in safe.claims if c.grounding == "grounded"]
    assert not [g for g in grounded if "pneumothorax" in g or "fracture" in g]
