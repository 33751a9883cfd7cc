"""One realistic case, read by the engine once per session (the drug dictionary takes seconds)."""

from __future__ import annotations

import pytest

from shared.clinical.engine import assess_case
from shared.safety.record import Record
from shared.schemas import Assessment, CaseIn, ModelInfo

NOTE = (
    "67F PMH HTN, DM2. c/o crushing chest pain and SOB x2h, denies fever. "
    "BP 88/50 HR 128 RR 26 sats 90% on RA. Takes metformin 500 mg. NKDA. "
    "ECG: ST elevation V2-V4. Mother had a stroke."
)


@pytest.fixture(scope="session")
def case() -> CaseIn:
    return CaseIn(age_years=67, sex="female", chief_complaint="chest pain", note=NOTE,
                  vitals={"temperature_c": 37.1})  # fmt: skip


@pytest.fixture(scope="session")
def assessment(case: CaseIn) -> Assessment:
    return assess_case(case)


@pytest.fixture(scope="session")
def record(case: CaseIn, assessment: Assessment) -> Record:
    return Record.of(case, assessment)


@pytest.fixture
def medgemma() -> ModelInfo:
    return ModelInfo(name="google/medgemma-4b-it", version="1.0.1", revision="a1b2c3d4e5f6a7b8",
                     dtype="bfloat16", quantization="4-bit nf4")  # fmt: skip


def model_output(**changes: object) -> dict[str, object]:
    """A plausible, well-grounded model output for the case above, with changes."""
    out: dict[str, object] = {
        "summary": "67-year-old woman with crushing chest pain and shortness of breath for 2 "
        "hours; HR 128, BP 88/50, SpO2 90% on room air.",
        "key_findings": [{"finding": "Crushing chest pain", "evidence": "crushing chest pain"}],
        "next_steps": ["Obtain a 12-lead ECG within 10 minutes"],
        "suggested_acuity": 2,
        "acuity_reason": "Hypotension and tachycardia with chest pain.",
        "uncertainties": ["Possible pulmonary embolism"],
    }
    out.update(changes)
    return out
