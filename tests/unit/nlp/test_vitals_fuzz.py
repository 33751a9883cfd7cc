"""No note crashes the engine: notes built from every vital-sign label the reader knows,
numbers in every shape (decades, decimals, pairs, ranges, units) and separators, through the
whole engine. "SBP 88" once raised IndexError inside it, which intake would have answered 500."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.clinical.engine import assess_case
from shared.schemas import CaseIn

LABELS = [
    "HR", "heart rate", "pulse", "P", "PR", "tachy", "BP", "B/P", "NIBP", "SBP", "systolic",
    "systolic BP", "RR", "R", "resp", "resps", "SpO2", "sats", "O2 sat", "sat", "POx", "O2",
    "T", "temp", "Tmax", "febrile", "GCS", "pain score", "NRS", "VS", "V/S", "vitals",
    "vital signs", "BGL", "BS", "FSBG", "fingerstick glucose", "glucose", "CBG", "AVPU",
]  # fmt: skip
NUMBERS = st.one_of(
    st.integers(0, 400).map(str),
    st.integers(3, 40).map(lambda d: f"{d * 10}s"),
    st.floats(20, 110, allow_nan=False).map(lambda x: f"{x:.1f}"),
    st.tuples(st.integers(20, 300), st.integers(10, 200)).map(lambda p: f"{p[0]}/{p[1]}"),
    st.tuples(st.integers(50, 100), st.integers(50, 100)).map(lambda p: f"{p[0]}-{p[1]}%"),
    st.sampled_from(["palp", "/palp", "HI", "LO", "x3", "E1V1M3", "15/15", "98% RA", "4L NC"]),
)
WORDS = st.sampled_from(
    ["", ":", "=", " of", " is", " in the", " high", " low", " mid", "s", "%", " C", " F",
     " mmol/L", " mg/dL", " bpm", " on RA", ",", ";", ".", " /", "-", "  "]
)  # fmt: skip
PIECE = st.tuples(st.sampled_from(LABELS), WORDS, NUMBERS, WORDS).map(
    lambda t: f"{t[0]}{t[1]} {t[2]}{t[3]}"
)


@settings(
    max_examples=1500, derandomize=True, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip
@given(st.lists(PIECE, min_size=1, max_size=8), st.sampled_from([" ", ", ", "; ", "\n", " / "]))
def test_no_note_of_vital_signs_crashes_the_engine(pieces, joiner):
    note = joiner.join(pieces)[:4000]
    case = CaseIn(patient_ref="fuzz", age_years=50, sex="female", chief_complaint="review",
                  note=note, vitals={})  # fmt: skip
    result = assess_case(case)
    assert 1 <= result.acuity <= 5
