"""What a site model sees of a case: the clinical engine's own outputs (NEWS2 and its
sub-scores, each rule that fired, acuity, qSOFA, shock index, pain) and age band, sex, arrival
hour and complaint group. Never free text, never an identifier. Every feature is a number;
what could not be measured has its own indicator, so a model always gets a full row. NEWS2's
sub-scores enter as "red score" indicators (a parameter scoring 3) beside the total: the raw
sub-scores add up to the total, and a model cannot tell apart weights on collinear columns."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

from shared.schemas import Assessment

NEWS2_PARAMETERS = (
    "respiratory_rate", "spo2", "air_or_oxygen", "systolic_bp", "heart_rate", "consciousness",
    "temperature",
)  # fmt: skip
AGE_BANDS = (1, 16, 40, 65, 80)  # band 0: under 1 year ... band 5: 80 and over
NIGHT_HOURS = frozenset({22, 23, 0, 1, 2, 3, 4, 5, 6, 7})


class MissingFeature(ValueError):
    """A model was asked to score a case without one of the features it was trained on."""

    def __init__(self, missing: Sequence[str]) -> None:
        self.missing = list(missing)
        shown = ", ".join(self.missing[:5]) + (" ..." if len(self.missing) > 5 else "")
        super().__init__(
            f"the case lacks {len(self.missing)} feature(s) this model was trained on: {shown}; "
            "it cannot be scored (train a model on the current feature set)"
        )


@functools.cache
def feature_names() -> tuple[str, ...]:
    """The current feature set, in a fixed order (rules and complaint groups from their
    registries, so a new rule is a new feature)."""
    from shared.clinical.rules import RULES
    from shared.nlp.complaints import GROUPS

    return (
        "acuity", "news2_total", "news2_not_applicable", "news2_missing",
        *(f"news2_{p}_red" for p in NEWS2_PARAMETERS),
        "qsofa_score", "shock_index", "shock_index_unknown", "pain_score", "pain_unknown",
        "age_band", "sex_male", "sex_female", "arrival_night",
        *(f"complaint:{g}" for g in GROUPS),
        *(f"rule:{r}" for r in RULES),
    )  # fmt: skip


def age_band(age_years: float) -> int:
    return sum(age_years >= edge for edge in AGE_BANDS)


def extract(
    assessment: Assessment, *, age_years: float, sex: str, arrival_hour: int
) -> dict[str, float]:
    """The feature row of one analysis (arrival hour in the site's time zone)."""
    row = dict.fromkeys(feature_names(), 0.0)
    news2 = assessment.news2
    row["acuity"] = float(assessment.acuity)
    row["news2_not_applicable"] = float(not news2.applicable)
    row["news2_total"] = float(news2.total or 0)
    row["news2_missing"] = float(len(news2.missing)) if news2.applicable else 0.0
    for parameter in news2.parameters:  # a single parameter scoring 3 (the "red score")
        row[f"news2_{parameter.parameter}_red"] = float(parameter.score >= 3)
    row["qsofa_score"] = float(assessment.qsofa.score) if assessment.qsofa else 0.0
    if assessment.shock_index is None:
        row["shock_index_unknown"] = 1.0
    else:
        row["shock_index"] = float(assessment.shock_index.value)
    pain = assessment.pain.score if assessment.pain else None
    row["pain_score"], row["pain_unknown"] = (0.0, 1.0) if pain is None else (float(pain), 0.0)
    row["age_band"] = float(age_band(age_years))
    row["sex_male"] = float(sex == "male")
    row["sex_female"] = float(sex == "female")
    row["arrival_night"] = float(arrival_hour in NIGHT_HOURS)
    if assessment.complaints:
        key = f"complaint:{assessment.complaints[0].group}"
        if key in row:
            row[key] = 1.0
    for reason in assessment.reasons:
        key = f"rule:{reason.rule}"
        if key in row:
            row[key] = 1.0
    return row


def vector(row: Mapping[str, float | None], names: Sequence[str]) -> list[float]:
    """The row's values in the model's order; MissingFeature names what is absent."""
    missing = [name for name in names if row.get(name) is None]
    if missing:
        raise MissingFeature(missing)
    return [float(row[name]) for name in names]  # type: ignore[arg-type]


def feature_label(name: str) -> str:
    """How the case page names a feature: 'rule fired: shock index', 'NEWS2 total'."""
    kind, _, rest = name.partition(":")
    if rest:
        words = rest.replace("_", " ")
        return f"rule fired: {words}" if kind == "rule" else f"complaint group: {words}"
    if name.startswith("news2_"):
        words = name.removeprefix("news2_").removesuffix("_red").replace("_", " ")
        return f"NEWS2 {words} scored 3" if name.endswith("_red") else f"NEWS2 {words}"
    return name.replace("_", " ").replace("qsofa", "qSOFA")
