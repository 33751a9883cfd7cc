"""Age, sex and pregnancy read from free text, at the boundaries of each way of writing them."""

from __future__ import annotations

import pytest

from shared.nlp.demographics import read_age, read_pregnancy, read_sex
from shared.schemas import Sex


@pytest.mark.parametrize(
    ("text", "years"),
    [
        ("A 56-year-old male presents", 56),
        ("EMS radios in with a 21- year-old with a gunshot wound", 21),
        ("reports a 27-year- old female", 27),
        ("A-25-year-old  female presented", 25),
        ("a 3-month-old brought by mum", 0.25),
        ("an eight-year-old boy fell", 8),
        ("a forty-five-year-old woman", 45),
        ("45 yo with CP", 45),
        ("45yo, SOB", 45),
        ("45 y/o male", 45),
        ("45 y.o. F", 45),
        ("72M c/o CP x 2 days", 72),
        ("F 34, abd pain since am", 34),
        ("Pt 80F, found on floor", 80),
        ("newborn, not feeding", 0),
        ("aged 3 months, fever", 0.25),
        ("Age: 67", 67),
        ("3/12 old baby with cough", 0.25),
        ("a healthy 19-month-old", 19 / 12),
        ("the daughter of a 72-year-old female says", 72),
        ("101 years old", 101),
    ],
)
def test_age_written_many_ways(text: str, years: float) -> None:
    assert read_age(text) == pytest.approx(years, abs=1e-3)


def test_age_in_weeks_and_days_is_a_fraction_of_a_year() -> None:
    assert read_age("a 2 week old with poor feeding") == pytest.approx(14 / 365.25, abs=1e-3)
    assert read_age("10-day-old infant") == pytest.approx(10 / 365.25, abs=1e-3)


@pytest.mark.parametrize(
    "text",
    [
        "smoked for 20 years",
        "symptoms for 3 days",
        "T 99.1 F. Well looking",
        "temp 101 F, HR 110",
        "Temp: 98 F",
        "HR 88. 5 mg morphine given",
        "",
        "young male with a gunshot wound",
        "150 years old",  # not a human age: a typo, not a fact
    ],
)
def test_no_age_where_none_is_written(text: str) -> None:
    assert read_age(text) is None


def test_first_age_written_is_the_patients() -> None:
    assert read_age("34-year-old woman with her 3-month-old baby") == 34


@pytest.mark.parametrize(
    ("text", "sex"),
    [
        ("A 56-year-old male", Sex.MALE),
        ("A 52-year-old obese female", Sex.FEMALE),
        ("72M c/o CP", Sex.MALE),
        ("F 34, abd pain", Sex.FEMALE),
        ("45 yo F with SOB", Sex.FEMALE),
        ("an eight-year-old boy", Sex.MALE),
        ("the son of a 72-year-old woman reports", Sex.FEMALE),
        ("EMS arrives with a man found down", Sex.MALE),
        ("28 weeks pregnant, headache", Sex.FEMALE),
        ("Pt fell. She hit her head.", Sex.FEMALE),
        ("Pt fell. He says his arm hurts.", Sex.MALE),
    ],
)
def test_sex(text: str, sex: Sex) -> None:
    assert read_sex(text) == sex


@pytest.mark.parametrize(
    "text",
    [
        "Pt c/o CP, SOB",
        "Found down. He was with her at the time.",  # pronouns disagree: the text does not say
        "manage pain",  # "man" inside a word
    ],
)
def test_sex_unknown(text: str) -> None:
    assert read_sex(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "She is 28 weeks pregnant",
        "G2P1 at 32 weeks with headache",
        "G3P2 32/40 ... at 32/40 with headache",
        "Pt is pregnant, unsure of dates",
        "2 weeks postpartum, SOB",
        "10 days post partum, heavy bleeding",
        "postpartum day 3",
        "I had a baby 5 weeks ago and I am exhausted",
        "positive pregnancy test at home yesterday",
        "UPT +ve",
        "hCG positive",
        "LMP 7 weeks ago, abd pain",
        "missed her period, now pelvic pain",
        "This is my first pregnancy, and I am scared.",
        "first trimester, vomiting",
        "possibly pregnant",
        "suspected ectopic pregnancy",
        # One for each word the patterns are gated on (read_pregnancy tries a pattern only
        # on a text holding one of its words).
        "3 days pp, fever",
        "gravid, abdo pain",
        "IUP on scan last week",
        "at 12+3/40 with bleeding",
        "c-section 2 weeks ago, wound red",
        "caesarean 4 weeks ago",
        "gave birth 10 days ago",
        "delivered 3 days ago",
        "2 weeks post natal, SOB",
        "beta-hCG positive",
    ],
)
def test_current_pregnancy_or_within_six_weeks(text: str) -> None:
    assert read_pregnancy(text) is True


@pytest.mark.parametrize(
    "text",
    [
        "denies pregnancy",
        "not pregnant",
        "She is not pregnant.",
        "pregnancy test negative",
        "urine pregnancy test: neg",
        "negative hCG",
        "3 months postpartum",
        "had a baby 8 weeks ago",  # 56 days: past the six weeks
    ],
)
def test_pregnancy_ruled_out(text: str) -> None:
    assert read_pregnancy(text) is False


@pytest.mark.parametrize(
    "text",
    [
        "previous ectopic pregnancy",
        "hx of ectopic pregnancy, now LLQ pain",
        "her sister is pregnant",
        "hx of postpartum depression",
        "G3P3",
        "LMP 2 weeks ago",
        "BP 90/40, HR 120",
        "chest pain radiating to the jaw",
        "",
    ],
)
def test_pregnancy_not_said(text: str) -> None:
    assert read_pregnancy(text) is None


def test_six_weeks_postpartum_is_the_boundary() -> None:
    assert read_pregnancy("6 weeks postpartum") is True
    assert read_pregnancy("42 days postpartum") is True
    assert read_pregnancy("43 days postpartum") is False
    assert read_pregnancy("7 weeks postpartum") is False


def test_lmp_boundary_five_weeks() -> None:
    assert read_pregnancy("LMP 5 weeks ago") is True
    assert read_pregnancy("LMP 4 weeks ago") is None
