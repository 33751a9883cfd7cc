"""The findings scanner: one pattern per word, phrases led by a digit or a sign reached at
digits and signs, and no phrase that could never be reached."""

from __future__ import annotations

import pytest

from shared.nlp import findings
from shared.nlp.findings import find_findings


def found(text: str) -> list[tuple[str, str]]:
    return [(m.finding, m.text) for m in find_findings(text)]


@pytest.mark.parametrize(
    ("text", "finding", "words"),
    [
        ("+ve pregnancy test, lower abdominal pain", "early_pregnancy", "+ve pregnancy test"),
        ("3 episodes of vomiting since noon", "repeated_vomiting", "3 episodes of vomiting"),
        ("pain 9/10", "pain_severe", "9/10"),
        ("visual hallucinations since last night", "alcohol_withdrawal", "visual hallucinations"),
        ("hallucinating, tremor", "alcohol_withdrawal", "hallucinating"),
    ],
)
def test_phrases_are_reached_whatever_they_start_with(text, finding, words):
    assert (finding, words) in found(text), found(text)


@pytest.mark.parametrize(
    ("text", "specific"),
    [
        # The specific finding wins over the general word it starts with.
        ("fell down 10 stairs", "high_risk_mechanism"),
        ("fell off a ladder", "high_risk_mechanism"),
        ("tourniquet applied for an arterial bleed", "controlled_bleeding"),
        ("intentional overdose of paracetamol", "overdose"),
    ],
)
def test_the_specific_finding_is_read(text, specific):
    assert specific in {f for f, _ in found(text)}, found(text)


def test_a_phrase_no_word_start_can_reach_is_refused(monkeypatch):
    monkeypatch.setitem(findings.FINDINGS, "unreachable", ("test", r"\s*odd", ()))
    findings._scanner.cache_clear()
    try:
        with pytest.raises(ValueError, match="unreachable"):
            findings._scanner()
    finally:
        monkeypatch.undo()
        findings._scanner.cache_clear()
