"""One simulated site, trained once for the module's tests (the engine runs on every case)."""

from __future__ import annotations

import datetime as dt

import pytest

from shared.calibration.features import feature_names
from shared.calibration.simulator import simulate
from shared.calibration.training import Dataset, Trained, train

SIMULATED_CASES = 12_000


@pytest.fixture(scope="session")
def site() -> Dataset:
    data = Dataset(feature_names())
    until = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    for sim in simulate(SIMULATED_CASES, seed=7, since=until - dt.timedelta(days=300), until=until):
        data.add(sim.features, sim.outcome, sim.arrived, int(sim.assessment.acuity))
    return data


@pytest.fixture(scope="session")
def trained(site: Dataset) -> Trained:
    return train(site, threshold=0.3)
