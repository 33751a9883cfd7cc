"""The hand-annotated ConText evaluation set, and the helper that scores a classifier on it.

Pseudo-trigger sentences carry ``"pseudo": true`` (see tests/support/context_eval.py).
"""

from __future__ import annotations

import json
from collections import Counter
from types import SimpleNamespace

import pytest

from tests.support.case_reports import FOLDER, TYPES, load_maccrobat, negation_scores
from tests.support.context_eval import (
    DATA_PATH,
    PROPERTIES,
    evaluate,
    format_report,
    load_sentences,
    target_starts,
)

ALLOWED_KEYS = {"id", "text", "target", "occurrence", "pseudo", "note", *PROPERTIES}


@pytest.fixture(scope="module")
def sentences():
    return load_sentences()


def test_every_line_parses_with_the_expected_fields():
    lines = DATA_PATH.read_text(encoding="utf-8").splitlines()
    assert lines, "empty data file"
    for n, line in enumerate(lines, 1):
        row = json.loads(line)
        assert isinstance(row, dict), n
        assert set(row) <= ALLOWED_KEYS, (n, set(row) - ALLOWED_KEYS)
        for key in ("id", "text", "target"):
            assert isinstance(row[key], str) and row[key], (n, key)
        for prop in PROPERTIES:
            assert isinstance(row[prop], bool), (n, prop)
        assert isinstance(row.get("pseudo", False), bool), n
        assert isinstance(row.get("note", ""), str), n


def test_ids_are_unique(sentences):
    dupes = [i for i, c in Counter(s["id"] for s in sentences).items() if c > 1]
    assert not dupes


def test_targets_resolve(sentences):
    for s in sentences:
        assert s["text"][s["start"] : s["end"]] == s["target"], s["id"]
        n = len(target_starts(s["text"], s["target"]))
        # An ambiguous target must say which mention it means.
        assert n == 1 or "occurrence" in s, s["id"]


def test_enough_sentences_and_positives(sentences):
    assert len(sentences) >= 230
    positives = {p: sum(s[p] for s in sentences) for p in PROPERTIES}
    assert positives["negated"] >= 40
    assert positives["historical"] >= 25
    assert positives["hypothetical"] >= 20
    assert positives["family"] >= 25
    assert sum(s.get("pseudo", False) for s in sentences) >= 15
    # Plenty of plain affirmed findings too, or "always say something" would look good.
    assert sum(not any(s[p] for p in PROPERTIES) for s in sentences) >= 60


def test_load_sentences_rejects_a_missing_target(tmp_path):
    bad = tmp_path / "bad.jsonl"
    row = {"id": "x1", "text": "No fever.", "target": "Fever"}
    row |= dict.fromkeys(PROPERTIES, False)
    bad.write_text(json.dumps(row) + "\n")
    with pytest.raises(AssertionError):
        load_sentences(bad)


def test_load_sentences_uses_the_occurrence(tmp_path):
    path = tmp_path / "ok.jsonl"
    row = {"id": "x1", "text": "hx of seizures, seizure today", "target": "seizure"}
    row |= dict.fromkeys(PROPERTIES, False) | {"occurrence": 1}
    path.write_text(json.dumps(row) + "\n")
    [s] = load_sentences(path)
    assert (s["start"], s["end"]) == (16, 23)


def _toy():
    def row(negated=False, historical=False, hypothetical=False, family=False):
        text = "Pt c/o pain."
        return {
            "text": text,
            "target": "pain",
            "start": 7,
            "end": 11,
            "negated": negated,
            "historical": historical,
            "hypothetical": hypothetical,
            "family": family,
        }

    return [row(negated=True), row(negated=True, historical=True), row(family=True), row()]


def test_evaluate_everything_negated():
    def classify(text, start, end):
        return SimpleNamespace(negated=True, historical=False, hypothetical=False, family=False)

    scores = evaluate(classify, _toy())
    neg = scores["negated"]
    assert (neg["tp"], neg["fp"], neg["fn"], neg["tn"]) == (2, 2, 0, 0)
    assert neg["precision"] == pytest.approx(0.5)
    assert neg["recall"] == pytest.approx(1.0)
    assert neg["f1"] == pytest.approx(2 / 3)
    hist = scores["historical"]
    assert (hist["tp"], hist["fp"], hist["fn"], hist["tn"]) == (0, 0, 1, 3)
    # Zero denominators give 0.0, not an exception.
    assert hist["precision"] == hist["recall"] == hist["f1"] == 0.0
    hyp = scores["hypothetical"]
    assert (hyp["tp"], hyp["fp"], hyp["fn"], hyp["tn"]) == (0, 0, 0, 4)
    assert hyp["f1"] == 0.0
    # Only the first row (negated, nothing else) is right on all four.
    assert scores["overall"]["accuracy"] == pytest.approx(0.25)
    assert scores["overall"]["correct"] == 1
    assert scores["overall"]["total"] == 4


def test_evaluate_oracle_on_the_real_data(sentences):
    by_span = {(s["text"], s["start"], s["end"]): s for s in sentences}

    def oracle(text, start, end):
        s = by_span[(text, start, end)]
        return SimpleNamespace(**{p: s[p] for p in PROPERTIES})

    scores = evaluate(oracle, sentences)
    for prop in PROPERTIES:
        assert scores[prop]["f1"] == pytest.approx(1.0), prop
        assert scores[prop]["fp"] == scores[prop]["fn"] == 0
    assert scores["overall"]["accuracy"] == pytest.approx(1.0)


def test_evaluate_empty_input():
    scores = evaluate(lambda *a: None, [])
    assert scores["overall"]["accuracy"] == 0.0
    assert scores["negated"]["f1"] == 0.0


def test_format_report_is_aligned():
    def classify(text, start, end):
        return SimpleNamespace(negated=True, historical=False, hypothetical=False, family=True)

    report = format_report(evaluate(classify, _toy()))
    lines = report.splitlines()
    assert lines[0].split() == ["property", "tp", "fp", "fn", "prec", "recall", "f1"]
    rows = [ln for ln in lines if ln.split()[0] in PROPERTIES]
    assert [ln.split()[0] for ln in rows] == list(PROPERTIES)
    assert len({len(ln) for ln in rows}) == 1
    assert "0.500" in rows[0] and "1.000" in rows[0]
    assert "(0/4 right)" in report  # family=True is wrong on three rows, negated on one


# MACCROBAT 2020 case reports (../shared/data, development data): negation of Sign_symptom
# and Disease_disorder spans. Before issue 6's fixes: P 0.899, R 0.694, F1 0.783.
needs_maccrobat = pytest.mark.skipif(not FOLDER.exists(), reason="../shared/data absent")


@needs_maccrobat
def test_maccrobat_loader_reads_spans_types_and_negation():
    docs = load_maccrobat()
    assert len(docs) == 200
    targets = [t for doc in docs for t in doc.targets]
    assert {t.type for t in targets} == set(TYPES)
    assert sum(t.type == "Sign_symptom" for t in targets) == 3382
    assert sum(t.type == "Disease_disorder" for t in targets) == 1362
    assert 700 < sum(t.negated for t in targets) < 1049  # NEG also marks other event types
    for doc in docs[:20]:
        for t in doc.targets:
            assert doc.text[t.start : t.end] == t.text


def test_maccrobat_parse_and_scores_on_a_toy_corpus(tmp_path):
    text = "No fever. Cough and rash."
    (tmp_path / "1.txt").write_text(text)
    (tmp_path / "1.ann").write_text(
        "T1\tSign_symptom 3 8\tfever\nE1\tSign_symptom:T1 \nA1\tPOLARITY E1 NEG\n"
        "T2\tSign_symptom 10 15\tCough\nE2\tSign_symptom:T2 \n"
        "T3\tDisease_disorder 20 24\trash\nE3\tDisease_disorder:T3 \n"
        "T4\tLab_value 0 2\tNo\n"
    )
    [doc] = load_maccrobat(tmp_path)
    assert [(t.text, t.type, t.negated) for t in doc.targets] == [
        ("fever", "Sign_symptom", True), ("Cough", "Sign_symptom", False),
        ("rash", "Disease_disorder", False),
    ]  # fmt: skip
    everything = negation_scores(lambda text, start, end: True, [doc])
    assert (everything["overall"]["tp"], everything["overall"]["fp"]) == (1, 2)
    assert everything["overall"]["precision"] == pytest.approx(1 / 3)
    assert everything["Sign_symptom"]["recall"] == 1.0
    by_doc = negation_scores(predict_doc=lambda d: [t.negated for t in d.targets], docs=[doc])
    assert by_doc["overall"]["f1"] == 1.0 and by_doc["targets"] == 3
    with pytest.raises(ValueError):
        negation_scores(predict_doc=lambda d: [True], docs=[doc])


@needs_maccrobat
def test_maccrobat_negation_floor():
    from shared.nlp.context import assess_context

    scores = negation_scores(assess_context)
    assert scores["overall"]["precision"] >= 0.86, scores["overall"]
    assert scores["overall"]["recall"] >= 0.83, scores["overall"]
    assert scores["overall"]["f1"] >= 0.85, scores["overall"]
