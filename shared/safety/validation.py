"""Layer 4, clinical validation: a model may make the level more urgent than the rules, never
less urgent; a model that says less urgent is shown to the clinician as a disagreement.
Every output carries the disclaimer (`SafeTriageOutput` refuses to exist without it)."""

from __future__ import annotations

from shared.safety.schema import SAFETY_DISCLAIMER
from shared.schemas import Acuity


def applied_acuity(engine: int, model: int) -> tuple[int, str | None]:
    """The level to apply (the more urgent: 1 is most urgent) and, when the model said less
    urgent, the sentence that shows the disagreement."""
    engine_level, model_level = Acuity(engine), Acuity(model)
    if model_level <= engine_level:
        return int(model_level), None
    return int(engine_level), (
        f"The model suggested {model_level.label}, less urgent than the rules' "
        f"{engine_level.label}; the rules' level stands (a model may raise the urgency, "
        "never lower it). A clinician decides."
    )


def with_disclaimer(text: str) -> str:
    """The text with the decision-support disclaimer, added once."""
    return text if SAFETY_DISCLAIMER in text else f"{text} {SAFETY_DISCLAIMER}".strip()


def has_disclaimer(text: str) -> bool:
    return SAFETY_DISCLAIMER in text
