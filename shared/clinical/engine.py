"""The deterministic clinical engine on the whole case: vital signs from the fields and the
note (the more urgent value counts when they disagree), the findings asserted in the chief
complaint and the note, and the acuity rules of CLINICAL.md v2 (shared.clinical.rules).
Used at intake (provisional acuity) and by the worker's pipeline."""

from __future__ import annotations

import re
from functools import cache

from shared.clinical.confidence import confidence
from shared.clinical.facts import (
    Facts,
    complaint_mentions,
    is_minor,
    read_complaints,
    read_mentions,
)
from shared.clinical.rules import run_rules
from shared.clinical.rules.baseline import LABELS, missing_core_vitals, non_urgent
from shared.clinical.rules.pain import assess_pain
from shared.clinical.scores import qsofa, shock_index
from shared.nlp.complaints import get_vocabulary
from shared.nlp.demographics import read_pregnancy
from shared.nlp.findings import FINDINGS
from shared.nlp.terms import restore_abbreviation_case, split_abbreviation_lists
from shared.nlp.vitals import MergedVitals, merge_vitals
from shared.schemas import Acuity, Assessment, CaseIn, NoteVital, Reason, VitalConflict

_POSTPARTUM = re.compile(
    r"post[- ]?partum|had\s+(?:a|her|my)\s+baby|gave\s+birth|delivered|C-?section|caesarean",
    re.I,
)


def pregnancy_status(case: CaseIn) -> str | None:
    """ "pregnant", "postpartum" (up to 6 weeks) or None, from the field or the text."""
    if case.pregnant:
        return "pregnant"
    if case.sex.value == "male" or not 10 <= case.age_years <= 60:
        return None
    text = f"{case.chief_complaint}. {case.note}"
    if not read_pregnancy(text):
        return None
    return "postpartum" if _POSTPARTUM.search(text) else "pregnant"


# Abbreviations whose lower case is an English word a chief complaint may hold ("cap", "ha",
# "hi", "sh", "pea"): never capitalised from it.
_ENGLISH = frozenset({"CAP", "HA", "HI", "SH", "PEA", "SW", "VB", "DM"})


@cache
def _complaint_abbreviations() -> frozenset[str]:
    """Every all-capitals abbreviation of the findings and complaint lexicons."""
    found: set[str] = set()
    for _label, _words, abbreviations in FINDINGS.values():
        found.update(abbreviations)
    for complaint in get_vocabulary().complaints:
        found.update(complaint.abbreviations)
    return frozenset(a for a in found if a.isalpha() and a.isupper()) - _ENGLISH


def _terms_split(case: CaseIn) -> CaseIn:
    """The case with slash-joined abbreviations apart ("SI/HI" -> "SI HI") and the chief
    complaint's known abbreviations in capitals ("Ams" -> "AMS"), offsets kept."""
    complaint = restore_abbreviation_case(
        split_abbreviation_lists(case.chief_complaint), _complaint_abbreviations()
    )
    note = split_abbreviation_lists(case.note)
    if complaint == case.chief_complaint and note == case.note:
        return case
    return case.model_copy(update={"chief_complaint": complaint, "note": note})


def build_facts(case: CaseIn) -> Facts:
    """Everything the rules read, computed once."""
    typed, case = case, _terms_split(case)
    merged = merge_vitals(case.vitals, case.note)
    asserted, other, history = read_mentions(case)
    pregnancy = pregnancy_status(case)
    facts = Facts(
        case=case,
        merged=merged,
        pregnant=case.pregnant or bool(pregnancy),
        postpartum=pregnancy == "postpartum",
        mentions=asserted,
        negated=other,
        historical=history,
        typed=typed if case is not typed else None,
    )
    facts.complaints, features = read_complaints(case)
    bridged = complaint_mentions(facts.complaints, facts.mentions)
    if bridged:  # chief complaint first, then in the order of the text
        order = {"chief_complaint": 0, "note": 1}
        facts.mentions = sorted(
            [*facts.mentions, *bridged], key=lambda m: (order[m.source], m.start)
        )
    facts.features = [m for m, _ in features]
    facts.feature_levels = {id(m): level for m, level in features}
    facts.minor_complaint = is_minor(facts.complaints, adult=facts.adult)
    facts.pain = assess_pain(facts)
    return facts


def decide(facts: Facts, reasons: list[Reason]) -> Acuity:
    """The most urgent level any rule gives; 4 when none fires; 5 only for a minor complaint
    with documented normal vital signs."""
    level = Acuity.most_urgent(Acuity.NON_URGENT, *(r.acuity for r in reasons))
    if level == Acuity.NON_URGENT and not non_urgent(facts):
        level = Acuity.LESS_URGENT
    return level


def _note_vitals(merged: MergedVitals) -> list[NoteVital]:
    chosen = merged.chosen or {}
    used = {k: f for k, f in chosen.items() if merged.sources.get(k) == "note"}
    conflicts = {(c.field, c.start): c.structured for c in merged.conflicts}
    return [
        NoteVital(
            field=f.field,
            value=f.value.value if hasattr(f.value, "value") else f.value,
            start=f.start,
            end=f.end,
            used=used.get(f.field) is f,
            conflict_with_structured=conflicts.get((f.field, f.start)),
        )
        for f in merged.findings
    ]


def _conflicts(merged: MergedVitals) -> list[VitalConflict]:
    return [c.as_schema() for c in merged.conflicts]


def assess_case(case: CaseIn) -> Assessment:
    """The engine's acuity for this case, with every reason."""
    facts = build_facts(case)
    reasons = run_rules(facts)
    level = decide(facts, reasons)
    missing = missing_core_vitals(facts)
    conflicts = _conflicts(facts.merged)
    value, note = confidence(facts, reasons, level, conflicts)
    return Assessment(
        acuity=level,
        news2=facts.news2,
        reasons=reasons,
        qsofa=qsofa(facts.vitals),
        shock_index=shock_index(facts.vitals),
        note_vitals=_note_vitals(facts.merged),
        vitals_documented=len(missing) < len(LABELS),
        missing_vitals=missing,
        conflicts=conflicts,
        complaints=facts.complaints,
        pain=facts.pain,
        confidence=value,
        confidence_note=note,
    )
