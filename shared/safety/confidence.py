"""Layer 2, confidence: at most 0.95, derived from what the case had, and a visible caution
when it is low.

It starts from the engine's confidence (shared.clinical.confidence: lower when vital signs
are missing or conflict, or when the level rests on one weak phrase) and is lowered again for
what makes a model's output less trustworthy: disagreement with the rules, fallbacks taken
on the way to an answer, claims not found in the record, and an output that needed repair.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.clinical.confidence import MAX_CONFIDENCE as MAX_CONFIDENCE
from shared.schemas import Assessment

LOW_CONFIDENCE = 0.7  # below this the output carries a caution
FLOOR = 0.1
DISAGREEMENT_PER_LEVEL = 0.1  # per acuity level between the model and the rules, up to 0.2
FALLBACK = 0.05  # per fallback taken, up to 0.15
UNGROUNDED = 0.05  # per ungrounded claim or invented statistic, up to 0.25
REPAIRED = 0.1


def cap(value: float) -> float:
    """Never above 0.95, never below the floor."""
    return round(max(FLOOR, min(MAX_CONFIDENCE, value)), 2)


def caution(value: float) -> str | None:
    """The sentence shown beside a low confidence (its reasons are in the confidence note),
    None when it is not low."""
    if value >= LOW_CONFIDENCE:
        return None
    return (
        f"Caution: low confidence ({value:.2f}); check every point against the record before "
        "relying on it."
    )


def model_confidence(
    assessment: Assessment,
    *,
    engine_acuity: int,
    suggested_acuity: int,
    fallbacks: Sequence[str] = (),
    ungrounded: int = 0,
    repaired: bool = False,
) -> tuple[float, str]:
    """The confidence of a checked model output and one sentence saying why."""
    value = assessment.confidence
    why: list[str] = []
    levels = abs(engine_acuity - suggested_acuity)
    if levels:
        value -= min(0.2, DISAGREEMENT_PER_LEVEL * levels)
        side = "less" if suggested_acuity > engine_acuity else "more"
        why.append(f"the model suggested a {side} urgent level than the rules")
    if fallbacks:
        value -= min(0.15, FALLBACK * len(fallbacks))
        why.append(f"{len(fallbacks)} fallback(s) taken ({'; '.join(fallbacks)})")
    if ungrounded:
        value -= min(0.25, UNGROUNDED * ungrounded)
        why.append(f"{ungrounded} statement(s) not found in the record")
    if repaired:
        value -= REPAIRED
        why.append("the model's output needed a repair")
    value = cap(value)
    engine_note = assessment.confidence_note.strip()
    if not why:
        return value, engine_note or "The model agrees with the rules and its claims are grounded."
    sentence = "Lower confidence in the model's output: " + "; ".join(why) + "."
    return value, f"{engine_note} {sentence}".strip()
