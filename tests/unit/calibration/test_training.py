"""Training on simulated cases whose outcome follows known coefficients: the model finds
their signs and order, is calibrated on the held-out months, and the report's figures say so."""

from __future__ import annotations

import datetime as dt

import pytest

from shared.calibration.features import feature_names
from shared.calibration.simulator import TRUE_COEFFICIENTS, simulate
from shared.calibration.training import Dataset, TrainingError, train


def test_the_simulator_has_a_realistic_event_rate(site):
    assert 0.04 <= site.events / len(site.rows) <= 0.15
    assert len(set(site.levels)) == 5  # every level occurs


def test_training_recovers_the_signs_and_order_of_the_known_coefficients(trained):
    learned = {name: trained.model["coefficients"][name] for name in TRUE_COEFFICIENTS}
    for name, truth in TRUE_COEFFICIENTS.items():
        assert (learned[name] > 0) == (truth > 0), (name, learned[name], truth)
    by_truth = sorted(TRUE_COEFFICIENTS, key=TRUE_COEFFICIENTS.__getitem__)
    by_learned = sorted(learned, key=learned.__getitem__)
    assert by_learned == by_truth, learned
    for name, truth in TRUE_COEFFICIENTS.items():  # and near the truth, not merely ordered
        assert abs(learned[name] - truth) < 0.5 * abs(truth) + 0.1, (name, learned[name], truth)


def test_held_out_months_are_calibrated_and_the_full_model_beats_the_rules(trained):
    split = trained.metrics["split"]
    assert split["test_cases"] == round(0.2 * trained.n_cases)
    assert split["test_since"] > trained.since.isoformat()  # the most recent months
    models = trained.metrics["models"]
    logistic = models["logistic"]
    assert 0.8 <= logistic["calibration_slope"] <= 1.2
    assert abs(logistic["calibration_intercept"]) < 0.3
    assert logistic["auroc_ci"][0] < logistic["auroc"] < logistic["auroc_ci"][1]
    assert logistic["auroc"] > models["rules_recalibrated"]["auroc"] + 0.05
    assert logistic["auprc"] > trained.n_events / trained.n_cases  # better than chance
    assert 0.7 < models["gradient_boosting"]["auroc"] < 1
    assert logistic["brier"] < models["rules_recalibrated"]["brier"]
    recalibration = trained.model["recalibration"]
    assert recalibration["slope"] > 0  # more urgent levels do mean more critical outcomes


def test_the_nudge_never_adds_under_triage(trained):
    under = trained.metrics["under_triage"]
    assert under["after"]["rate"] <= under["before"]["rate"]
    rates = [row["rate"] for row in under["by_threshold"]]
    assert rates == sorted(rates)  # a lower threshold nudges more cases, misses fewer
    assert rates[0] < under["before"]["rate"]


def test_the_stored_model_is_json_with_its_provenance(trained, site):
    import json

    json.dumps(trained.model)
    json.dumps(trained.metrics)
    assert trained.features == list(feature_names())
    assert trained.data_hash == site.data_hash() and len(trained.data_hash) == 64
    assert trained.sklearn_version[0].isdigit()
    assert trained.n_events == site.events


def test_the_data_hash_changes_with_one_outcome(site):
    other = Dataset(site.names, list(site.rows), list(site.outcomes), site.times, site.levels)
    other.outcomes[0] = not other.outcomes[0]
    assert other.data_hash() != site.data_hash()


def test_too_little_data_is_refused_in_words():
    data = Dataset(feature_names())
    until = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    for sim in simulate(60, seed=1, until=until):
        data.add(sim.features, False, sim.arrived, int(sim.assessment.acuity))
    with pytest.raises(TrainingError, match="no critical outcomes"):
        train(data, threshold=0.3)
    with pytest.raises(TrainingError, match="too few"):
        train(Dataset(feature_names()), threshold=0.3)
