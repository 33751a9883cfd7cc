"""Layer 3, hallucination and grounding: every number, drug, dose, vital sign, condition,
finding and investigation result in a model's text is checked against the case's record
(shared.safety.record). A claim the record does not hold is ungrounded: the sentence it
stands in is withheld from what the board and the case page show as fact, and the claim is
kept, marked, for the clinician and the audit. Invented statistics ("90% of patients ...")
are always ungrounded: a population figure cannot come from one patient's note.

A condition, finding or drug the model only raises as a possibility ("may be consistent
with pneumonia", "consider aspirin", "rule out PE") is an interpretation, not a statement
about the record: it is kept and marked so. Doses are never interpretations: a dose the
record does not hold is withheld wherever it stands.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shared.nlp.context import assess_context
from shared.nlp.entities import find_entities
from shared.nlp.findings import find_findings
from shared.nlp.vitals import read_note
from shared.safety.lexicon import find_terms
from shared.safety.record import DOSE, NUMBER, Record, drug_keys, unit_key, words
from shared.safety.schema import CheckedClaim
from shared.schemas import Consciousness

_I = re.IGNORECASE
STATISTIC = re.compile(
    r"\b\d+(?:\.\d+)?\s*%\s+of\s+(?:all\s+)?(?:patients|people|cases|adults|children|women|men|"
    r"those|individuals|presentations)\b|"
    r"\b(?:mortality|risk|chance|probability|likelihood|sensitivity|specificity|incidence|"
    r"prevalence|survival|odds|mortality\s+rate)\b[^.;%]{0,60}?\d+(?:\.\d+)?\s*%|"
    r"\b\d+\s+(?:in|out\s+of)\s+\d+\s+(?:patients|people|cases|adults|children)\b|"
    r"\b\d+(?:\.\d+)?(?:-fold|\s*x|\s+times)\s+(?:more|less|higher|lower|increased|greater)\b|"
    r"\b(?:studies|research|trials|evidence|literature|data)\s+(?:show|shows|suggest|suggests|"
    r"have\s+shown|has\s+shown|indicate|indicates)\b",
    _I,
)
_QUOTED = re.compile(r"\"([^\"\n]+)\"|“([^”\n]+)”|(?<![\w'])'([^'\n]+)'(?![\w'])")
_HEDGE = re.compile(
    r"\b(?:may|might|could|possible|possibly|probable|probably|likely|unlikely|suspect\w*|"
    r"suspicion|consider\w*|concern\w*|query|r/o|rule\s+out|ruling\s+out|exclude|excluding|"
    r"differential|consistent\s+with|suggest\w*|versus|vs|risk\s+of|evaluate|assess\s+for|"
    r"screen\s+for|look\s+for|if)\b|\?",
    _I,
)
_CLAUSE_START = re.compile(r"[.;!?\n](?=\s|$)")
_SENTENCE = re.compile(r"(?:[^.!?\n]|[.!?](?![.!?]*(?:\s|$)))+[.!?]*|[.!?]+")
# Findings that stand alone as claims (the rest of the lexicon are modifiers: "severe",
# "sudden", "significant", body sites).
FINDINGS_CHECKED = frozenset(
    {"cardiac_arrest", "apnoea", "intubated", "seizing", "post_ictal", "seizure",
     "uncontrolled_bleeding", "gi_bleed", "rectal_bleeding", "anaphylaxis", "allergic_reaction",
     "airway_swelling", "voice_change", "wheeze", "severe_resp_distress", "dyspnoea",
     "poor_perfusion", "diaphoresis", "collapse", "altered_mental", "unresponsive",
     "stroke_signs", "headache", "neck_stiffness", "photophobia", "non_blanching_rash", "rash",
     "head_injury", "vomiting", "fever_word", "suicidal", "overdose", "homicidal",
     "hypoglycaemia", "vaginal_bleeding", "visual_disturbance", "chest_pain",
     "abdominal_or_back_pain", "testicular_pain", "floppy_infant", "deformity", "laceration",
     "anuria", "dizziness", "pale"}
)  # fmt: skip
_RESULT_AFTER = re.compile(
    r"\s*(?:level|levels|value|count|result)?\s*(?:is|was|of|at|=|:)?\s*(?:about\s+|around\s+|~)?"
    r"(?P<num>\d+(?:\.\d+)?)(?!\s*(?:min\w*|hours?|hrs?|h\b|days?|weeks?|-lead))|"
    r"[^.;,]{0,30}?\b(?P<verb>shows?|showed|showing|reveals?|revealed|demonstrat\w+|"
    r"(?:is|was|are|were)\s+(?:elevated|raised|high|low|normal|abnormal|positive|negative|"
    r"unremarkable))\b(?P<what>[^.;]{0,60})",
    _I,
)
_RESULT_BEFORE = re.compile(
    r"\b(?P<verb>elevated|raised|high|low|normal|abnormal|positive|negative|unremarkable)\s+$", _I
)
_SYNONYMS = {"elevated": {"raised", "high", "elevated"}, "raised": {"raised", "high", "elevated"},
             "high": {"raised", "high", "elevated"}}  # fmt: skip
_STOP = {"a", "an", "the", "of", "in", "on", "with", "and", "is", "was", "are", "were", "to",
         "shows", "showed", "showing", "reveals", "revealed", "demonstrates",
         "demonstrated"}  # fmt: skip
_EXEMPT_BEFORE = re.compile(
    r"(?:level|acuity|ESI|CTAS|category|triage|priority)\s*(?:of\s+)?$|"
    r"(?:within|every|after|in\s+the\s+next|for\s+the\s+next|q|at)\s*$",
    _I,
)


@dataclass
class Claim:
    text: str
    kind: str
    start: int
    end: int
    grounding: str
    reason: str = ""


def hedged(text: str, start: int, end: int) -> bool:
    """Raised as a possibility: a hedge word earlier in its clause, or ConText's hypothetical."""
    left = 0
    for m in _CLAUSE_START.finditer(text, 0, start):
        left = m.end()
    if _HEDGE.search(text, left, start) or "?" in text[end : end + 3]:
        return True
    return assess_context(text, start, end).hypothetical


def _taken(claims: list[Claim], start: int, end: int) -> bool:
    return any(c.start < end and start < c.end for c in claims)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return abs(float(a) - float(b)) < 0.051
    return bool(a == b)


def _vitals(text: str, record: Record, claims: list[Claim]) -> None:
    read = read_note(text)
    findings = [*read.plausible, *read.implausible]
    gcs_spans = {(f.start, f.end) for f in findings if f.field == "gcs"}
    for f in findings:
        if f.field == "consciousness" and (f.start, f.end) in gcs_spans:
            continue  # read from the GCS, checked as the GCS
        if _taken(claims, f.start, f.end):
            continue  # inside a quotation or a statistic, checked as that
        value = f.value.value if isinstance(f.value, Consciousness) else f.value
        on_record = record.vitals.get(f.field, [])
        if any(_same(value, v) for v in on_record):
            claims.append(Claim(f.text, "vital_sign", f.start, f.end, "grounded"))
            continue
        label = f.field.replace("_", " ")
        said = ", ".join(str(v) for v in on_record)
        reason = f"the record has {label} {said}" if on_record else f"no {label} on record"
        claims.append(Claim(f.text, "vital_sign", f.start, f.end, "ungrounded", reason))


def _results(text: str, record: Record, claims: list[Claim]) -> None:
    for name, start, end in find_terms("investigation", text):
        after = _RESULT_AFTER.match(text, end)
        before = _RESULT_BEFORE.search(text, max(0, start - 20), start)
        if after is None and before is None:
            continue
        stop = after.end() if after else end
        first = before.start() if before else start
        claim_text = text[first:stop].strip()
        if name not in record.investigations:
            reason = f"no {name} in the record"
        elif after is not None and after.group("num") is not None:
            ok = float(after.group("num")) in record.numbers
            reason = "" if ok else f"{name} value {after.group('num')} is not in the record"
        else:
            said = before.group("verb") if before else ""
            if after is not None:
                said += " " + (after.group("what") or "")
            wanted = {w for w in words(said) if w not in _STOP}
            if after is not None and after.group("verb"):
                wanted |= words(after.group("verb").split()[-1]) - _STOP
            found = {w for w in wanted if _SYNONYMS.get(w, {w}) & record.words}
            reason = "" if not wanted or found else f"the record does not report this {name} result"
        grounding = "ungrounded" if reason else "grounded"
        claims.append(Claim(claim_text, "result", first, stop, grounding, reason))


def _doses(text: str, record: Record, claims: list[Claim]) -> None:
    for m in DOSE.finditer(text):
        if _taken(claims, m.start(), m.end()):
            continue
        key = (float(m["value"]), unit_key(m["unit"]))
        ok = key in record.doses
        reason = "" if ok else "this dose is not in the record"
        claims.append(Claim(m.group(0), "dose", m.start(), m.end(),
                            "grounded" if ok else "ungrounded", reason))  # fmt: skip


def _named(text: str, record: Record, claims: list[Claim]) -> None:
    """Drugs, diagnoses, findings and entities, by name."""
    for keys, s, e in drug_keys(text):
        if _taken(claims, s, e):
            continue
        if keys & record.drugs:
            grounding, reason = "grounded", ""
        elif hedged(text, s, e):
            grounding, reason = "interpretation", ""
        else:
            grounding, reason = "ungrounded", "this drug is not in the record"
        claims.append(Claim(text[s:e], "drug", s, e, grounding, reason))
    for kind in ("acute", "chronic"):
        for name, s, e in find_terms(kind, text):
            if not _taken(claims, s, e):
                _polar(text, s, e, "condition", name in record.diagnoses,
                       record.diagnosis_polarity.get(name), claims)  # fmt: skip
    for f in find_findings(text):
        if f.finding in FINDINGS_CHECKED and not _taken(claims, f.start, f.end):
            polarity = record.findings.get(f.finding, set())
            _polar(text, f.start, f.end, "finding", bool(polarity), polarity, claims,
                   negated=f.context.negated)  # fmt: skip
    for entity in find_entities(text, medications=False):
        if entity.kind in ("symptom", "condition") and not _taken(claims, entity.start, entity.end):
            polarity = record.concepts.get(entity.concept, set())
            kind = "finding" if entity.kind == "symptom" else "condition"
            _polar(text, entity.start, entity.end, kind, bool(polarity), polarity, claims,
                   negated=entity.context.negated)  # fmt: skip


def _polar(
    text: str,
    s: int,
    e: int,
    kind: str,
    present: bool,
    polarity: set[bool] | None,
    claims: list[Claim],
    negated: bool | None = None,
) -> None:
    if negated is None:
        negated = assess_context(text, s, e).negated
    if hedged(text, s, e) and not negated:
        claims.append(Claim(text[s:e], kind, s, e, "interpretation"))
        return
    reason = ""
    if not present:
        reason = "not mentioned in the record"
    elif polarity is not None and (not negated) not in polarity:
        reason = "the record says it is absent" if not negated else "the record says it is present"
    claims.append(Claim(text[s:e], kind, s, e, "ungrounded" if reason else "grounded", reason))


def _numbers(text: str, record: Record, claims: list[Claim], advice: bool) -> None:
    for m in NUMBER.finditer(text):
        s, e = m.start(), m.end()
        glued = s > 0 and text[s - 1].isalpha()
        hyphened = s > 1 and text[s - 1] == "-" and text[s - 2].isalpha()
        if _taken(claims, s, e) or glued or hyphened:
            continue  # SpO2, NEWS2, COVID-19: part of a name
        if text[e : e + 5].lower() == "-lead":
            continue
        if advice and _EXEMPT_BEFORE.search(text[max(0, s - 25) : s]):
            continue  # "level 2", "within 15 minutes": the model's own suggestion
        ok = float(m.group(0)) in record.numbers
        reason = "" if ok else "this number is not in the record"
        claims.append(Claim(m.group(0), "number", s, e, "grounded" if ok else "ungrounded", reason))


def _quotes(text: str, record: Record, claims: list[Claim]) -> None:
    flat = " ".join(record.text.lower().split())
    for m in _QUOTED.finditer(text):
        quoted = next(g for g in m.groups() if g is not None)
        wanted = words(quoted)
        ok = " ".join(quoted.lower().split()) in flat or (bool(wanted) and wanted <= record.words)
        reason = "" if ok else "these words are not in the note"
        claims.append(Claim(quoted, "quote", m.start(), m.end(),
                            "grounded" if ok else "ungrounded", reason))  # fmt: skip


def find_claims(text: str, record: Record, advice: bool = False) -> list[Claim]:
    """Every checkable claim in one piece of model text, in order. `advice`: a next step or
    the acuity reason, where "level 2" and "within 15 minutes" are the model's own advice."""
    claims: list[Claim] = []
    for m in STATISTIC.finditer(text):
        claims.append(Claim(m.group(0), "statistic", m.start(), m.end(), "ungrounded",
                            "a population statistic cannot come from the record"))  # fmt: skip
    _quotes(text, record, claims)
    _vitals(text, record, claims)
    _results(text, record, claims)
    _doses(text, record, claims)
    _named(text, record, claims)
    _numbers(text, record, claims, advice)
    return sorted(claims, key=lambda c: c.start)


def sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans (a decimal point does not end one)."""
    return [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if m.group(0).strip()]


def check(
    text: str, record: Record, where: str, advice: bool = False
) -> tuple[str, list[CheckedClaim]]:
    """The text with every sentence that holds an ungrounded claim withheld, and the claims."""
    return withhold(text, find_claims(text, record, advice), where)


def withhold(text: str, claims: Sequence[Claim], where: str) -> tuple[str, list[CheckedClaim]]:
    """The text without its sentences that hold an ungrounded claim, and the checked claims."""
    kept: list[str] = []
    out: list[CheckedClaim] = []
    for start, end in sentences(text):
        sentence = text[start:end].strip()
        inside = [c for c in claims if start <= c.start < end]
        if not any(c.grounding == "ungrounded" for c in inside):
            kept.append(sentence)
        for c in inside:
            withheld = c.grounding == "ungrounded"
            out.append(CheckedClaim(text=c.text, kind=c.kind, grounding=c.grounding,  # type: ignore[arg-type]
                                    where=where, reason=c.reason,
                                    sentence=sentence if withheld else ""))  # fmt: skip
    return " ".join(kept), out
