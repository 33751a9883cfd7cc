"""CTAS pain modifiers (CLINICAL.md v2): central and peripheral pain by score and by words,
chronic pain one level less urgent, a flare called new or the worst ever stays acute."""

from __future__ import annotations

import pytest

from tests.unit.clinical.cases import assess, expect, fired, reason, shown


@pytest.mark.parametrize(
    ("complaint", "score", "level"),
    [
        ("headache", 10, 2),
        ("headache", 8, 2),
        ("headache", 7, 3),
        ("headache", 4, 3),
        ("headache", 3, 4),
        ("headache", 1, 4),
        ("back pain", 8, 2),
        ("back pain", 5, 3),
        ("testicular pain", 5, 3),
    ],
)
def test_acute_central_pain(complaint, score, level):
    result = assess(complaint, pain=score)
    expect(result, level, "pain")
    assert result.pain is not None and result.pain.location == "central"
    assert result.pain.score == score and not result.pain.chronic


@pytest.mark.parametrize(
    ("complaint", "score", "level"),
    [
        ("ankle pain", 10, 3),
        ("ankle pain", 8, 3),
        ("ankle pain", 7, 4),
        ("ankle pain", 4, 4),
        ("toothache", 8, 3),
        ("earache", 8, 3),
    ],
)
def test_acute_peripheral_pain(complaint, score, level):
    result = assess(complaint, pain=score)
    expect(result, level, "pain")
    assert result.pain is not None and result.pain.location == "peripheral"


@pytest.mark.parametrize("score", [3, 1])
def test_mild_peripheral_pain_gives_5_but_the_case_stays_4_without_a_minor_complaint(score):
    result = assess("ankle pain", pain=score)
    assert reason(result, "pain").acuity == 5
    assert result.acuity == 4, shown(result)


def test_no_pain_gives_no_pain_reason():
    assert "pain" not in fired(assess("knee pain", pain=0))


def test_eye_pain_follows_its_own_rules():
    result = assess("eye pain", pain=8)
    assert "pain" not in fired(result), shown(result)


@pytest.mark.parametrize(
    ("complaint", "level", "severity"),
    [
        ("severe headache", 2, "severe"),
        ("excruciating headache", 2, "severe"),
        ("moderate headache", 3, "moderate"),
        ("mild headache", 4, "mild"),
        ("slight headache", 4, "mild"),
        ("severe ankle pain", 3, "severe"),
        ("moderate ankle pain", 4, "moderate"),
    ],
)
def test_pain_words_without_a_score(complaint, level, severity):
    result = assess(complaint)
    expect(result, level, "pain")
    assert result.pain is not None and result.pain.severity == severity


def test_worst_pain_counts_as_severe():
    result = assess("back pain", "worst pain of her life")
    assert reason(result, "pain").acuity == 2
    assert result.pain is not None and result.pain.severity == "severe"


def test_mild_peripheral_pain_words_give_5():
    result = assess("mild ankle pain")
    assert reason(result, "pain").acuity == 5


@pytest.mark.parametrize(
    ("complaint", "note", "score", "level"),
    [
        ("back pain", "chronic low back pain", 8, 3),
        ("back pain", "long-standing back pain", 5, 4),
        ("knee pain", "chronic knee pain", 8, 4),
        ("headache", "chronic daily headache", 2, 5),
    ],
)
def test_chronic_pain_is_one_level_less_urgent(complaint, note, score, level):
    result = assess(complaint, note, pain=score)
    assert reason(result, "pain").acuity == level, shown(result)
    assert result.pain is not None and result.pain.chronic


def test_a_flare_of_chronic_pain_is_chronic():
    result = assess("back pain", "flare of chronic low back pain", pain=8)
    expect(result, 3, "pain")
    assert result.pain is not None and result.pain.chronic


@pytest.mark.parametrize(
    "note",
    [
        "flare of chronic back pain, not like her usual pain",
        "chronic back pain, worse than usual",
        "flare of chronic back pain, worst ever",
        "flare of chronic back pain, this is a new pain",
        "flare of chronic back pain, different from usual",
    ],
)
def test_a_flare_called_new_different_or_worst_stays_acute(note):
    result = assess("back pain", note, pain=8)
    expect(result, 2, "pain")
    assert result.pain is not None and not result.pain.chronic


def test_chronic_words_about_another_pain_leave_this_one_acute():
    result = assess("back pain", "fell at work today. Also has chronic knee pain.", pain=8)
    expect(result, 2, "pain")
    assert result.pain is not None and not result.pain.chronic
