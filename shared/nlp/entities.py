"""Symptoms, conditions, medications and allergies in a note, each with its span and its
ConText verdict. Medications come from the drug-named-entity-recognition dictionary (loaded
lazily: it takes seconds, so only the worker and the batch command pay for it)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Literal

from shared.nlp.context import Asserted, ContextResult, assess_context
from shared.nlp.terms import term_pattern

EntityKind = Literal["symptom", "condition", "medication", "allergy"]

# concept -> (words in any case, abbreviations matched case-sensitively)
SYMPTOMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "shortness of breath": (r"short(?:ness)?\s+of\s+breath|dyspn(?:o)?ea|breathless(?:ness)?",
                            ("SOB", "DOE")),
    "chest pain": (r"chest\s+(?:pain|pressure|tightness)", ("CP",)),
    "nausea and vomiting": (r"nausea\s+(?:and|&)\s+vomiting", ("N/V", "NV", "N&V")),
    "nausea": (r"nause(?:a|ated|ous)", ()),
    "vomiting": (r"vomit(?:ing|ed|s)?|emesis", ()),
    "abdominal pain": (r"(?:abdominal|abd|belly|stomach)\s+pain", ()),
    "headache": (r"headaches?", ("HA",)),
    "fever": (r"fevers?|febrile|pyrexia", ()),
    "cough": (r"cough(?:ing)?", ()),
    "dizziness": (r"dizz(?:y|iness)|light[- ]?headed(?:ness)?|vertigo", ()),
    "syncope": (r"syncop(?:e|al)|passed\s+out|faint(?:ed|ing)?", ("LOC",)),
    "palpitations": (r"palpitations?", ()),
    "weakness": (r"weak(?:ness)?", ()),
    "numbness": (r"numb(?:ness)?|tingling", ()),
    "confusion": (r"confus(?:ed|ion)|disoriented", ()),
    "diarrhea": (r"diarrh(?:o)?ea", ()),
    "rash": (r"rash(?:es)?|hives|urticaria", ()),
    "bleeding": (r"bleed(?:ing)?|ha?emorrhage|ha?ematemesis|melena", ()),
    "back pain": (r"back\s+pain", ()),
    "fatigue": (r"fatigue|tired(?:ness)?|malaise", ()),
    "sore throat": (r"sore\s+throat", ()),
    "dysuria": (r"dysuria|burning\s+(?:on|with)\s+urination", ()),
    "seizure": (r"seizures?|convulsions?", ()),
}  # fmt: skip
CONDITIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "hypertension": (r"hypertension", ("HTN",)),
    "diabetes": (r"diabetes(?:\s+mellitus)?|diabetic", ("DM", "DM2", "T2DM", "T1DM", "IDDM")),
    "myocardial infarction": (r"myocardial\s+infarction|heart\s+attack", ("MI", "STEMI", "NSTEMI")),
    "stroke": (r"stroke", ("CVA", "TIA")),
    "COPD": (r"chronic\s+obstructive\s+pulmonary\s+disease|emphysema", ("COPD",)),
    "asthma": (r"asthma(?:tic)?", ()),
    "heart failure": (r"(?:congestive\s+)?heart\s+failure", ("CHF", "HFrEF", "HFpEF")),
    "atrial fibrillation": (r"atrial\s+fibrillation|a-?fib", ("AF",)),
    "coronary artery disease": (r"coronary\s+artery\s+disease", ("CAD",)),
    "chronic kidney disease": (r"chronic\s+kidney\s+disease|renal\s+failure", ("CKD", "ESRD")),
    "cancer": (r"cancer|malignancy|carcinoma|lymphoma|leukemia", ()),
    "epilepsy": (r"epilepsy|seizure\s+disorder", ()),
    "hyperlipidemia": (r"hyperlipid(?:a)?emia|high\s+cholesterol", ("HLD",)),
    "dementia": (r"dementia|alzheimer'?s", ()),
    "depression": (r"depression", ("MDD",)),
}  # fmt: skip

_ALLERGY = re.compile(
    r"\b(?:allergic\s+to|allerg(?:y|ies)\s*(?:to|:)?)\s*"
    r"(?P<list>[A-Za-z][\w\- ]*(?:\s*(?:,|and|/)\s*[A-Za-z][\w\- ]*){0,5})",
    re.I,
)
# One allergen: a word, or two ("sulfa drugs"), never swallowing the "and" of a list.
_ALLERGEN = re.compile(r"\b(?!and\b)[A-Za-z][\w\-]*(?:\s+(?!and\b)[A-Za-z][\w\-]*)?", re.I)
_NO_ALLERGIES = re.compile(r"\b(?:NKDA|NKA|no\s+known\s+(?:drug\s+)?allergies)\b", re.I)
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9\-']*")


@dataclass(frozen=True)
class Entity(Asserted):
    kind: EntityKind
    concept: str
    text: str
    start: int
    end: int
    context: ContextResult


@cache
def _lexicon() -> list[tuple[EntityKind, str, re.Pattern[str]]]:
    out: list[tuple[EntityKind, str, re.Pattern[str]]] = []
    out += [("symptom", c, term_pattern(w, a)) for c, (w, a) in SYMPTOMS.items()]
    out += [("condition", c, term_pattern(w, a)) for c, (w, a) in CONDITIONS.items()]
    return out


def _entity(kind: EntityKind, concept: str, text: str, start: int, end: int) -> Entity:
    return Entity(kind, concept, text[start:end], start, end, assess_context(text, start, end))


def find_medications(text: str) -> list[tuple[str, int, int]]:
    """(generic name, start, end) for each drug the dictionary knows, brand names included."""
    from drug_named_entity_recognition import find_drugs  # seconds to load: only when used

    tokens = list(_TOKEN.finditer(text))
    found = find_drugs([t.group(0) for t in tokens], is_ignore_case=True)
    return [(drug["name"], tokens[first].start(), tokens[last - 1].end())
            for drug, first, last in found]  # fmt: skip


def find_entities(text: str, medications: bool = True) -> list[Entity]:
    """Every symptom, condition, medication and allergy mention, in order of appearance."""
    found: list[Entity] = []
    taken: list[tuple[int, int]] = []
    for kind, concept, pattern in _lexicon():
        for m in pattern.finditer(text):
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue  # a longer concept already covers it ("chest pain" vs "pain")
            taken.append((m.start(), m.end()))
            found.append(_entity(kind, concept, text, m.start(), m.end()))
    allergy_spans = []
    for m in _ALLERGY.finditer(text):
        allergy_spans.append((m.start("list"), m.end("list")))
        for item in _ALLERGEN.finditer(m.group("list")):
            start = m.start("list") + item.start()
            found.append(_entity("allergy", item.group(0).lower(), text, start,
                                 start + len(item.group(0))))  # fmt: skip
    if medications:
        for name, start, end in find_medications(text):
            if not any(s <= start < e for s, e in allergy_spans):
                found.append(_entity("medication", name, text, start, end))
    return sorted(found, key=lambda e: e.start)


def no_known_allergies(text: str) -> bool:
    return _NO_ALLERGIES.search(text) is not None
