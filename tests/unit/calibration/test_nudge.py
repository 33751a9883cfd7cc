"""The nudge may only make a level more urgent, by one level, above the threshold; a model
refuses a case that lacks one of its features."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.calibration.features import MissingFeature, extract, feature_names
from shared.calibration.nudge import Scorer, nudge
from shared.clinical.engine import assess_case
from shared.schemas import Acuity, CaseIn

levels = st.sampled_from(list(Acuity))
probabilities = st.floats(min_value=0, max_value=1, allow_nan=False)
thresholds = st.floats(min_value=0.001, max_value=0.999, allow_nan=False)


@given(levels, probabilities, thresholds)
def test_the_nudge_never_makes_a_level_less_urgent(level, probability, threshold):
    after = nudge(level, probability, threshold)
    assert after <= level  # 1 is the most urgent
    assert level - after <= 1
    assert after == (max(level - 1, 1) if probability > threshold else level)


def case_row(**vitals):
    case = CaseIn(age_years=72, sex="male", chief_complaint="chest pain", vitals=vitals)
    return extract(assess_case(case), age_years=72, sex="male", arrival_hour=3)


def scorer(features, intercept=-3.0, coefficient=0.5):
    model = {
        "kind": "logistic",
        "intercept": intercept,
        "coefficients": dict.fromkeys(features, coefficient),
        "means": dict.fromkeys(features, 0.0),
    }
    return Scorer.from_json(4, features, model)


def test_features_are_the_engines_outputs_and_never_text():
    row = case_row(heart_rate=130, systolic_bp=95, respiratory_rate=24, spo2=93)
    assert set(row) == set(feature_names())
    assert all(isinstance(v, float) for v in row.values())
    assert row["shock_index"] == pytest.approx(1.37) and row["shock_index_unknown"] == 0
    assert row["complaint:cardiovascular"] == 1 and row["rule:acs_chest_pain"] == 1
    assert row["age_band"] == 4 and row["sex_male"] == 1 and row["arrival_night"] == 1
    assert not any("chest pain" in name or "note" in name for name in row)
    unmeasured = case_row()
    assert unmeasured["shock_index_unknown"] == 1 and unmeasured["news2_missing"] == 7


def test_a_model_refuses_a_case_missing_one_of_its_features():
    model = scorer(["news2_total", "shock_index", "rule:a_rule_since_removed"])
    row = case_row(heart_rate=130, systolic_bp=95)
    with pytest.raises(MissingFeature, match="rule:a_rule_since_removed") as refused:
        model.score(row)
    assert refused.value.missing == ["rule:a_rule_since_removed"]
    assert "cannot be scored" in str(refused.value)
    with pytest.raises(MissingFeature, match="shock_index"):
        model.score({**row, "shock_index": None})


def test_score_names_the_three_features_that_moved_it_most():
    model = scorer(["news2_total", "shock_index", "age_band", "qsofa_score"])
    score = model.score(case_row(heart_rate=130, systolic_bp=95, respiratory_rate=24, spo2=93))
    assert 0 < score.probability < 1
    assert [f["feature"] for f in score.top_features] == ["news2_total", "age_band", "qsofa_score"]
    assert score.top_features[0]["label"] == "NEWS2 total"
    assert model.name == "site-calibration v4"


def test_a_model_of_another_kind_is_refused_when_loaded():
    with pytest.raises(ValueError, match="cannot score"):
        Scorer.from_json(1, ["acuity"], {"kind": "pickle"})
