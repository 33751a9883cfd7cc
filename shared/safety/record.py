"""What the case's own data hold, for the grounding layer to check a model's claims against:
the chief complaint and the note, the typed vital signs, and what the deterministic engine
read from them (vital signs, findings, complaints, entities, scores). Built once per case
with the same readers the engine uses (shared.nlp), so a model's "SOB" and the note's
"shortness of breath" are the same thing."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from shared.clinical.facts import COMPLAINT_FINDINGS
from shared.nlp.context import assess_context
from shared.nlp.entities import find_entities
from shared.nlp.findings import find_findings
from shared.nlp.vitals import read_note
from shared.safety.lexicon import find_terms
from shared.schemas import Assessment, CaseIn, Consciousness

NUMBER = re.compile(r"(?<![\d.])\d+(?:\.\d+)?")
WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
DOSE = re.compile(
    r"(?<![\w.])(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>mg/kg|mcg/kg|ml/kg|mg|mcg|µg|ug|micrograms?|"
    r"milligrams?|grams?|g|ml|millilit(?:re|er)s?|L/min|litres?|liters?|L|units?|IU|mmol|mEq|"
    r"puffs?|tablets?|tabs?)(?![\w/])(?!\s*/\s*d?[lL]\b)",
    re.IGNORECASE,
)
_UNITS = {"µg": "mcg", "ug": "mcg", "microgram": "mcg", "milligram": "mg", "gram": "g",
          "millilitre": "ml", "milliliter": "ml", "litre": "l", "liter": "l", "tab": "tablet",
          "unit": "unit", "iu": "unit"}  # fmt: skip


def unit_key(unit: str) -> str:
    u = unit.lower()
    u = u[:-1] if u.endswith("s") and len(u) > 2 and u not in ("mcg/kgs",) else u
    return _UNITS.get(u, u)


def words(text: str) -> set[str]:
    return set(WORD.findall(text.lower()))


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Consciousness) else value


def drug_keys(text: str) -> list[tuple[set[str], int, int]]:
    """Each drug named in the text: its keys (our canonical name and the dictionary's generic
    name, lower case) and its span."""
    from shared.nlp.entities import find_medications  # the dictionary loads once, lazily

    found: list[tuple[set[str], int, int]] = [
        ({name, text[s:e].lower()}, s, e) for name, s, e in find_terms("drug", text)
    ]
    for generic, s, e in find_medications(text):
        hit = next((f for f in found if f[1] < e and s < f[2]), None)
        if hit is not None:
            hit[0].add(generic.lower())
        else:
            found.append(({generic.lower(), text[s:e].lower()}, s, e))
    return found


@dataclass
class Record:
    text: str  # chief complaint and note
    numbers: set[float] = field(default_factory=set)
    vitals: dict[str, list[Any]] = field(default_factory=dict)  # field -> values on record
    findings: dict[str, set[bool]] = field(default_factory=dict)  # id -> {not negated?}
    concepts: dict[str, set[bool]] = field(default_factory=dict)  # entity concept -> same
    diagnoses: set[str] = field(default_factory=set)
    diagnosis_polarity: dict[str, set[bool]] = field(default_factory=dict)  # name -> same
    drugs: set[str] = field(default_factory=set)
    doses: set[tuple[float, str]] = field(default_factory=set)
    investigations: set[str] = field(default_factory=set)
    words: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, case: CaseIn, assessment: Assessment) -> Record:
        text = f"{case.chief_complaint}\n{case.note}"
        record = cls(text=text, words=words(text))
        record.numbers = {float(n) for n in NUMBER.findall(text)}
        record.numbers |= {float(case.age_years), float(int(case.age_years))}
        for name, value in case.vitals.model_dump().items():
            if value is not None:
                record.vitals.setdefault(name, []).append(_plain(value))
        read = read_note(text)
        for f in (*read.plausible, *read.implausible, *read.baseline):
            record.vitals.setdefault(f.field, []).append(_plain(f.value))
        for values in record.vitals.values():
            record.numbers |= {
                float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)
            }
        record.numbers |= _scores(assessment)
        for mention in find_findings(case.chief_complaint) + find_findings(case.note):
            record.findings.setdefault(mention.finding, set()).add(not mention.context.negated)
        for complaint in assessment.complaints:  # the engine's complaints, misspellings too
            finding = COMPLAINT_FINDINGS.get(complaint.id)
            if finding:
                record.findings.setdefault(finding, set()).add(True)
        for source in (case.chief_complaint, case.note):
            for entity in find_entities(source):
                if entity.kind == "medication":
                    record.drugs.add(entity.concept.lower())
                else:
                    negated = entity.context.negated
                    record.concepts.setdefault(entity.concept, set()).add(not negated)
        for kind in ("acute", "chronic"):
            for name, start, end in find_terms(kind, text):
                record.diagnoses.add(name)
                negated = assess_context(text, start, end).negated
                record.diagnosis_polarity.setdefault(name, set()).add(not negated)
        for keys, _, _ in drug_keys(text):
            record.drugs |= keys
        record.doses = {(float(m["value"]), unit_key(m["unit"])) for m in DOSE.finditer(text)}
        record.investigations = {name for name, _, _ in find_terms("investigation", text)}
        return record


def _scores(a: Assessment) -> set[float]:
    """Numbers the engine worked out and the model was shown (NEWS2, qSOFA, shock index)."""
    out: set[float] = {float(a.acuity)}
    if a.news2.total is not None:
        out.add(float(a.news2.total))
    if a.qsofa is not None:
        out.add(float(a.qsofa.score))
    if a.shock_index is not None:
        out |= {round(a.shock_index.value, 1), round(a.shock_index.value, 2)}
    if a.pain is not None and a.pain.score is not None:
        out.add(float(a.pain.score))
    return out
