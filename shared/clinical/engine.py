"""The deterministic clinical engine on the whole case: structured vitals, vitals read from
the note (structured wins), red flags asserted in the chief complaint or the note, NEWS2 and
danger-zone rules, qSOFA and shock index. Used at intake and by the worker's pipeline."""

from __future__ import annotations

from typing import Literal

from shared.clinical.risk import assess
from shared.clinical.scores import qsofa, shock_index
from shared.nlp.redflags import find_red_flags
from shared.nlp.vitals import merge_vitals
from shared.schemas import Acuity, Assessment, CaseIn, NoteVital, Reason


def red_flag_reasons(case: CaseIn) -> list[Reason]:
    reasons = []
    sources: tuple[tuple[Literal["chief_complaint", "note"], str], ...] = (
        ("chief_complaint", case.chief_complaint),
        ("note", case.note),
    )
    for source, text in sources:
        seen = set()
        for mention in find_red_flags(text):
            if mention.asserted and mention.flag not in seen:
                seen.add(mention.flag)
                reasons.append(
                    Reason(
                        rule=f"red_flag_{mention.flag}",
                        detail=f"red flag: {mention.label} ({source.replace('_', ' ')} "
                        f'mentions "{mention.text}")',
                        acuity=Acuity.EMERGENT,
                        value=mention.text,
                        source=source,
                        start=mention.start,
                        end=mention.end,
                        evidence=mention.text,
                    )
                )
    return reasons


def assess_case(case: CaseIn) -> Assessment:
    """The engine's floor for this case, every level with its reasons."""
    merged = merge_vitals(case.vitals, case.note)
    with_note_vitals = case.model_copy(update={"vitals": merged.vitals})
    base = assess(with_note_vitals)
    reasons = red_flag_reasons(case) + base.reasons
    used = {f.field: f for f in merged.findings if merged.sources.get(f.field) == "note"}
    conflicts = {(c.field, c.start): c.structured for c in merged.conflicts}
    note_vitals = [
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
    level = Acuity.most_urgent(base.acuity, *(r.acuity for r in reasons))
    return Assessment(
        acuity=level,
        news2=base.news2,
        reasons=sorted(reasons, key=lambda r: r.acuity),
        qsofa=qsofa(merged.vitals),
        shock_index=shock_index(merged.vitals),
        note_vitals=note_vitals,
    )
