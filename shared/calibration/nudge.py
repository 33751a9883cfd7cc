"""Scoring a case with a stored site model, and the nudge: above the site's threshold the
level becomes one more urgent, never less urgent (like a model's layer in shared.safety)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.calibration.features import feature_label, vector
from shared.schemas import Acuity

MODEL_NAME = "site-calibration"
TOP_FEATURES = 3


@dataclass(frozen=True)
class Score:
    probability: float
    # The features that moved this case's probability most from the training average:
    # {"feature", "label", "value", "contribution"} (log-odds), largest first.
    top_features: list[dict[str, Any]]


@dataclass(frozen=True)
class Scorer:
    """A logistic model from its stored JSON: coefficients, intercept and training means."""

    version: int
    features: tuple[str, ...]
    intercept: float
    coefficients: tuple[float, ...]
    means: tuple[float, ...]

    @classmethod
    def from_json(cls, version: int, features: Sequence[str], model: Mapping[str, Any]) -> Scorer:
        if model.get("kind") != "logistic":
            raise ValueError(f"model kind {model.get('kind')!r} cannot score cases")
        names = tuple(features)
        return cls(
            version=version,
            features=names,
            intercept=float(model["intercept"]),
            coefficients=tuple(float(model["coefficients"][n]) for n in names),
            means=tuple(float(model["means"][n]) for n in names),
        )

    @property
    def name(self) -> str:
        return f"{MODEL_NAME} v{self.version}"

    def score(self, row: Mapping[str, float | None]) -> Score:
        """The probability of a critical outcome; MissingFeature if the row lacks one."""
        values = vector(row, self.features)
        z = self.intercept + sum(c * x for c, x in zip(self.coefficients, values, strict=True))
        probability = 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0
        moves = [
            (name, x, c * (x - m))
            for name, x, c, m in zip(
                self.features, values, self.coefficients, self.means, strict=True
            )
        ]
        moves.sort(key=lambda item: abs(item[2]), reverse=True)
        top = [
            {"feature": n, "label": feature_label(n), "value": x, "contribution": round(d, 4)}
            for n, x, d in moves[:TOP_FEATURES]
            if d != 0
        ]
        return Score(probability, top)


def nudge(level: Acuity | int, probability: float, threshold: float) -> Acuity:
    """One level more urgent when the probability is above the threshold; otherwise the
    level as it was. Never less urgent, never past level 1."""
    level = Acuity(level)
    if probability > threshold and level > Acuity.RESUSCITATION:
        return Acuity(level - 1)
    return level
