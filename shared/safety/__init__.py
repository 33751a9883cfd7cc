"""Safety layers applied to every analysis output, deterministic or model-written.

`apply_safety` (shared.safety.apply) runs the five on a model's output; the modules are the
layers: framing (1), confidence (2), grounding with record and lexicon (3), validation (4),
provenance (5). The schema is in shared.safety.schema.
"""

from typing import TYPE_CHECKING, Any

from shared.safety.schema import (
    MODEL_OUTPUT_KEY,
    SAFETY_DISCLAIMER,
    CheckedClaim,
    ModelTriageOutput,
    SafeTriageOutput,
)

if TYPE_CHECKING:
    from shared.safety.apply import OutputRefused, apply_safety

__all__ = [
    "MODEL_OUTPUT_KEY",
    "SAFETY_DISCLAIMER",
    "CheckedClaim",
    "ModelTriageOutput",
    "OutputRefused",
    "SafeTriageOutput",
    "apply_safety",
]


def __getattr__(name: str) -> Any:
    # The entry point loads the clinical readers: only when asked for, so that importing the
    # schema (as every pipeline does) stays light.
    if name in ("apply_safety", "OutputRefused"):
        from shared.safety import apply

        return getattr(apply, name)
    raise AttributeError(name)
