"""Clinical benchmark: the engine's acuity on the ESI v4 handbook cases and on our vignettes,
and negation on MACCROBAT with our ConText and with negspacy, in one run.

Run: `.venv-bench/bin/python bench/clinical.py [--misses 40]` (the bench venv, README: negspacy,
scikit-learn).

ESI cases (../shared/data/esi_v4_handbook_train.csv): the vignette is the note, its first
sentence the chief complaint; age, sex and pregnancy are read from the text
(shared.nlp.demographics; age 40 when none is written, counted); no structured vitals, the
engine reads them from the note. Our vignettes (tests/data/vignettes.jsonl) go in as written.
For each set: exact 5-level agreement, linearly weighted Cohen's kappa, sensitivity for levels
1-2 (expected 1-2 found as 1-2), under-triage (the engine less urgent than expected) and
over-triage rates, the confusion matrix and the misses with the engine's top reasons.

MACCROBAT (../shared/data/maccrobat2020/): every Sign_symptom and Disease_disorder span, negated
or not (POLARITY NEG), classified by `assess_context` and by negspacy (spaCy blank English, a
sentencizer and NegEx over one document per text with the spans as entities; spans that
overlap go into further copies of the document, since spaCy entities cannot overlap).
The last line is one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sklearn.metrics import cohen_kappa_score  # noqa: E402

from shared.clinical.engine import assess_case  # noqa: E402
from shared.nlp.context import assess_context  # noqa: E402
from shared.nlp.demographics import read_age, read_pregnancy, read_sex  # noqa: E402
from shared.schemas import MAX_COMPLAINT_CHARS, MAX_NOTE_CHARS, CaseIn, Sex  # noqa: E402
from tests.support.case_reports import Doc, load_maccrobat, negation_scores  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
ESI_CSV = DATA / "esi_v4_handbook_train.csv"
VIGNETTES = ROOT / "tests" / "data" / "vignettes.jsonl"
LEVELS = (1, 2, 3, 4, 5)
DEFAULT_AGE = 40.0
_SENTENCE_END = re.compile("(?<=[.!?])[\u201d\u2019\"']?\\s+")  # a closing quote may follow


@dataclass
class Labelled:
    id: str
    case: CaseIn
    expected: int


@dataclass
class Outcome:
    item: Labelled
    got: int
    reasons: list[str]
    error: str | None = None


def first_sentence(text: str) -> str:
    sentence = _SENTENCE_END.split(text.strip(), maxsplit=1)[0].strip()
    return sentence[:MAX_COMPLAINT_CHARS].strip() or "see note"


def load_esi(path: Path = ESI_CSV) -> tuple[list[Labelled], int]:
    """The handbook cases as CaseIn, and how many had no age written (40 used)."""
    cases, defaulted = [], 0
    with path.open(encoding="utf-8", newline="") as f:
        for number, row in enumerate(csv.DictReader(f), start=1):
            text = " ".join(row["Clinical Vignettes"].split())
            age = read_age(text)
            if age is None:
                age, defaulted = DEFAULT_AGE, defaulted + 1
            case = CaseIn(
                age_years=age,
                sex=read_sex(text) or Sex.UNKNOWN,
                pregnant=bool(read_pregnancy(text)),
                chief_complaint=first_sentence(text),
                note=text[:MAX_NOTE_CHARS],
            )
            cases.append(Labelled(f"esi-{number:03d}", case, int(row["acuity"])))
    return cases, defaulted


def load_vignettes(path: Path = VIGNETTES) -> list[Labelled]:
    fields = set(CaseIn.model_fields)
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            case = CaseIn.model_validate({k: v for k, v in row.items() if k in fields})
            items.append(Labelled(row["id"], case, int(row["expected_acuity"])))
    return items


def run_engine(items: Sequence[Labelled]) -> list[Outcome]:
    outcomes = []
    for item in items:
        try:
            assessment = assess_case(item.case)
        except Exception as exc:  # noqa: BLE001 - an engine crash is a result to report
            outcomes.append(Outcome(item, 5, [], f"{type(exc).__name__}: {exc}"))
            continue
        top = sorted(assessment.reasons, key=lambda r: r.acuity)[:3]
        reasons = [f"{r.rule} ({int(r.acuity)})" for r in top]
        outcomes.append(Outcome(item, int(assessment.acuity), reasons))
    return outcomes


def agreement(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """Exact agreement, linear kappa, levels 1-2 sensitivity, under/over-triage, confusion."""
    expected = [o.item.expected for o in outcomes]
    got = [o.got for o in outcomes]
    n = len(outcomes)
    high = [g for e, g in zip(expected, got, strict=True) if e <= 2]
    confusion = [[0] * 5 for _ in LEVELS]
    for e, g in zip(expected, got, strict=True):
        confusion[e - 1][g - 1] += 1
    kappa = cohen_kappa_score(expected, got, labels=list(LEVELS), weights="linear")
    return {
        "n": n,
        "exact": sum(e == g for e, g in zip(expected, got, strict=True)) / n,
        "kappa_linear": float(kappa),
        "high_sensitivity": sum(g <= 2 for g in high) / len(high) if high else 0.0,
        "high_n": len(high),
        "under_triage": sum(g > e for e, g in zip(expected, got, strict=True)) / n,
        "over_triage": sum(g < e for e, g in zip(expected, got, strict=True)) / n,
        "confusion": confusion,
        "errors": sum(o.error is not None for o in outcomes),
    }


def report(title: str, outcomes: Sequence[Outcome], stats: dict[str, Any], misses: int) -> None:
    print(f"\n== {title}: {stats['n']} cases ==")
    print(
        f"exact {stats['exact']:.3f}   kappa (linear) {stats['kappa_linear']:.3f}   "
        f"levels 1-2 found as 1-2 {stats['high_sensitivity']:.3f} (of {stats['high_n']})   "
        f"under-triage {stats['under_triage']:.3f}   over-triage {stats['over_triage']:.3f}"
    )
    if stats["errors"]:
        print(f"ENGINE ERRORS: {stats['errors']} cases raised (counted as level 5)")
    print("confusion (rows expected 1-5, columns engine 1-5):")
    print("        " + "".join(f"{f'got {g}':>7}" for g in LEVELS))
    for level, row in zip(LEVELS, stats["confusion"], strict=True):
        print(f"  exp {level} " + "".join(f"{c:>7}" for c in row))
    wrong = [o for o in outcomes if o.got != o.item.expected]
    wrong.sort(key=lambda o: (o.item.expected - o.got, o.item.id))  # under-triage first
    print(f"misses ({len(wrong)}; under-triage first, {min(misses, len(wrong))} shown):")
    for o in wrong[:misses]:
        text = (o.item.case.note or o.item.case.chief_complaint).replace("\n", " ")
        why = o.error or ", ".join(o.reasons) or "no reasons"
        print(f"  {o.item.id:<10} exp {o.item.expected} got {o.got}  {text[:90]!r}")
        print(f"  {'':<10} {why}")


def _layers(spans: Sequence[tuple[int, int] | None]) -> list[list[int]]:
    """Indices of token spans (start, end) split so that no two in a layer overlap (spaCy
    entities cannot); a span that could not be aligned (None) goes nowhere."""
    layers: list[list[int]] = []
    ends: list[int] = []
    order = sorted((s[0], s[1], i) for i, s in enumerate(spans) if s is not None)
    for start, end, index in order:
        for number, last_end in enumerate(ends):
            if start >= last_end:
                layers[number].append(index)
                ends[number] = end
                break
        else:
            layers.append([index])
            ends.append(end)
    return layers


def make_negspacy_doc_classifier() -> Any:
    """negspacy over one spaCy document per text (and per layer of overlapping spans)."""
    import spacy
    from negspacy.negation import Negex  # noqa: F401 - registers the "negex" factory
    from spacy.tokens import Span

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("negex", config={"ent_types": ["TARGET"]})
    steps = [proc for _, proc in nlp.pipeline]

    def predict_doc(doc: Doc) -> list[bool]:
        answers = [False] * len(doc.targets)
        tokens = nlp.make_doc(doc.text)
        spans = []
        for t in doc.targets:
            span = tokens.char_span(t.start, t.end, alignment_mode="expand")
            spans.append(None if span is None or not len(span) else (span.start, span.end))
        for layer in _layers(spans):
            spacy_doc = nlp.make_doc(doc.text)
            spacy_doc.ents = [
                Span(spacy_doc, *spans[i], label="TARGET")  # type: ignore[misc]
                for i in layer
            ]
            for step in steps:
                spacy_doc = step(spacy_doc)
            for index, ent in zip(layer, spacy_doc.ents, strict=True):
                answers[index] = bool(ent._.negex)
        return answers

    return predict_doc


def maccrobat(folder: Path) -> dict[str, Any]:
    docs = load_maccrobat(folder)
    print(f"\n== MACCROBAT negation: {len(docs)} case reports ==")
    results = {}
    for name, kwargs in (
        ("ours", {"predict": assess_context}),
        ("negspacy", {"predict_doc": make_negspacy_doc_classifier()}),
    ):
        started = time.perf_counter()
        scores = negation_scores(docs=docs, **kwargs)
        elapsed = time.perf_counter() - started
        results[name] = scores
        print(f"{name} ({scores['targets']} spans, {elapsed:.1f} s):")
        for group in ("overall", "Sign_symptom", "Disease_disorder"):
            s = scores[group]
            print(
                f"  {group:<17} P {s['precision']:.3f}  R {s['recall']:.3f}  F1 {s['f1']:.3f}"
                f"  (tp {s['tp']}, fp {s['fp']}, fn {s['fn']})"
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", type=int, default=40, help="misses listed per set")
    parser.add_argument("--maccrobat", type=Path, default=DATA / "maccrobat2020")
    args = parser.parse_args()

    started = time.perf_counter()
    esi, defaulted = load_esi()
    vignettes = load_vignettes()
    print(f"ESI cases: {len(esi)} (no age in the text, 40 used: {defaulted}); "
          f"vignettes: {len(vignettes)}")  # fmt: skip
    esi_outcomes, vignette_outcomes = run_engine(esi), run_engine(vignettes)
    esi_stats, vignette_stats = agreement(esi_outcomes), agreement(vignette_outcomes)
    report("ESI v4 handbook", esi_outcomes, esi_stats, args.misses)
    report("our vignettes", vignette_outcomes, vignette_stats, args.misses)
    negation = maccrobat(args.maccrobat)
    print(f"\ntotal {time.perf_counter() - started:.1f} s")
    summary = {
        "esi_high_sensitivity": round(esi_stats["high_sensitivity"], 3),
        "esi_kappa_linear": round(esi_stats["kappa_linear"], 3),
        "esi_exact": round(esi_stats["exact"], 3),
        "under_triage": round(esi_stats["under_triage"], 3),
        "over_triage": round(esi_stats["over_triage"], 3),
        "vignette_high_sensitivity": round(vignette_stats["high_sensitivity"], 3),
        "vignette_exact": round(vignette_stats["exact"], 3),
        "vignette_under_triage": round(vignette_stats["under_triage"], 3),
        "vignette_over_triage": round(vignette_stats["over_triage"], 3),
        "maccrobat_negation_f1": round(negation["ours"]["overall"]["f1"], 3),
        "maccrobat_negation_f1_negspacy": round(negation["negspacy"]["overall"]["f1"], 3),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
