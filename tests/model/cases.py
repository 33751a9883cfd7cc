"""Cases the model tests send: real clinical wording, asserted on for structure only."""

from shared.schemas import CaseIn

CHEST_PAIN = CaseIn(
    age_years=54,
    sex="male",
    chief_complaint="chest pain",
    note="Central chest pain radiating to the left arm for 1 hour, sweaty. Takes aspirin.",
    vitals={"heart_rate": 110, "systolic_bp": 100, "respiratory_rate": 22, "spo2": 95},
)
ANKLE = CaseIn(
    age_years=30,
    chief_complaint="ankle pain",
    note="Twisted right ankle playing football, walking with a limp.",
    vitals={"heart_rate": 80, "systolic_bp": 125, "respiratory_rate": 14, "spo2": 99},
)
