"""What the acuity rules know about one case: the merged vital signs, the age, pregnancy,
NEWS2, and the findings asserted in the chief complaint and the note. Built once per case;
every rule reads it and none changes it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Literal

from shared.clinical.news2 import ADULT_AGE_YEARS, score_news2
from shared.nlp.complaints import ComplaintMatch, get_vocabulary, match_complaints, match_features
from shared.nlp.context import ContextResult
from shared.nlp.findings import FINDINGS, IMPLIES, FindingMention, find_findings, in_span
from shared.nlp.vitals import MergedVitals
from shared.schemas import (
    Acuity,
    CaseIn,
    ComplaintFound,
    Consciousness,
    NEWS2Result,
    PainAssessment,
    Reason,
    VitalSigns,
)

Source = Literal["chief_complaint", "note"]
# How far (characters) a modifier may stand from its anchor, inside one sentence.
NEAR_CHARS = 160
_SENTENCE_END = re.compile(r"[.!?;\n](?=\s|$)")
# Said of a deficit or a state of consciousness, these make it the patient's usual state.
_BASELINE = re.compile(
    r"\b(?:usual(?:ly)?|baseline|unchanged|chronic(?:ally)?|residual|always|long[- ]standing|"
    r"since\s+(?:(?:his|her|their)\s+)?(?:stroke|CVA|birth)|normal\s+for\s+(?:him|her|them)|"
    r"at\s+(?:his|her|their)\s+norm)\b",
    re.I,
)
_NOT_BASELINE = re.compile(
    r"\b(?:than\s+(?:usual|baseline|normal)|from\s+(?:(?:his|her|their)\s+)?baseline|"
    r"not\s+(?:at\s+)?(?:(?:his|her|their)\s+)?(?:usual|baseline|normal)|unusual(?:ly)?|"
    r"change\s+from)\b",
    re.I,
)


# Modifiers that make a presentation more urgent. A chief complaint's modifier may stand
# anywhere in the note; the ones that make it less urgent ("chronic", "controlled") must
# stand beside it, so that a word about something else cannot lower the level.
ESCALATING = frozenset(
    {
        "sudden", "acs_features", "tearing_pain", "pain_severe", "worst_ever", "suicide_plan",
        "lethal_means", "major_bleeding_word", "diaphoresis", "dyspnoea", "vomiting",
        "pain_new_or_worst", "overdose_intent",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Mention:
    """An asserted finding and which text it came from."""

    finding: str
    label: str
    text: str
    start: int
    end: int
    source: Source
    # Not asserted only because someone wants it ruled out ("r/o SAH", "to rule out"): a
    # suspicion. Read only by rules for diagnoses that are high risk when merely suspected.
    suspected: bool = False


@dataclass
class Facts:
    case: CaseIn
    merged: MergedVitals
    pregnant: bool
    postpartum: bool = False
    mentions: list[Mention] = field(default_factory=list)
    negated: list[Mention] = field(default_factory=list)  # found but not asserted
    historical: list[Mention] = field(default_factory=list)  # the patient's own past only
    complaints: list[ComplaintFound] = field(default_factory=list)
    minor_complaint: bool = False  # only complaints on the level-5 minor list
    pain: PainAssessment | None = None
    features: list[Mention] = field(default_factory=list)  # complaint high-risk features
    feature_levels: dict[int, int] = field(default_factory=dict)  # id(mention) -> acuity
    typed: CaseIn | None = None  # as typed, when `case` is its normalised copy (same offsets)

    def complaint(self, *ids: str) -> ComplaintFound | None:
        """The first asserted complaint with one of these ids."""
        return next((c for c in self.complaints if c.id in ids), None)

    @property
    def vitals(self) -> VitalSigns:
        return self.merged.vitals

    @property
    def age(self) -> float:
        return self.case.age_years

    @property
    def adult(self) -> bool:
        return self.age >= ADULT_AGE_YEARS

    @cached_property
    def news2(self) -> NEWS2Result:
        return score_news2(self.vitals, age_years=self.age, pregnant=self.pregnant)

    def text_of(self, source: Source) -> str:
        return self.case.chief_complaint if source == "chief_complaint" else self.case.note

    def all(self, *findings: str) -> list[Mention]:
        """Asserted mentions of any of these findings, chief complaint first."""
        return [m for m in self.mentions if m.finding in findings]

    def first(self, *findings: str) -> Mention | None:
        return next(iter(self.all(*findings)), None)

    def has(self, *findings: str) -> bool:
        return self.first(*findings) is not None

    def first_suspected(self, *findings: str) -> Mention | None:
        """Asserted now, or sent in to be ruled out ("r/o SAH")."""
        return self.first(*findings) or next(
            (m for m in self.negated if m.finding in findings and m.suspected), None
        )

    def first_any_time(self, *findings: str) -> Mention | None:
        """Asserted now, or in the patient's own history (a drug list under "PMH")."""
        return self.first(*findings) or next(
            (m for m in self.historical if m.finding in findings), None
        )

    def sentence(self, mention: Mention) -> tuple[int, int]:
        """Bounds of the stretch around a mention where its modifiers may stand."""
        text = self.text_of(mention.source)
        left = max(0, mention.start - NEAR_CHARS)
        right = min(len(text), mention.end + NEAR_CHARS)
        for end in _SENTENCE_END.finditer(text, left, mention.start):
            left = end.end()
        stop = _SENTENCE_END.search(text, mention.end, right)
        return left, stop.start() if stop else right

    def at_baseline(self, mention: Mention) -> bool:
        """Whether the text calls this state the patient's usual one ("confused as usual",
        "usually unresponsive", "aphasic since her stroke, unchanged")."""
        text = self.text_of(mention.source)
        left, right = self.sentence(mention)
        after = _SENTENCE_END.search(text, right + 1)
        right = after.start() if after else len(text)  # the next sentence too
        stretch = text[left:right]
        return bool(_BASELINE.search(stretch)) and not _NOT_BASELINE.search(stretch)

    def new(self, *findings: str) -> list[Mention]:
        """Asserted mentions not described as the patient's usual state."""
        return [m for m in self.all(*findings) if not self.at_baseline(m)]

    def modifier(self, mention: Mention, finding: str) -> str | None:
        """The words of `finding` near the mention (same sentence), when asserted there. For
        a chief complaint, the note describes it: a modifier that makes the case more urgent
        ("sudden", "crushing", "severe") counts anywhere in the note too."""
        left, right = self.sentence(mention)
        found = self._modifier_in(mention.source, finding, left, right)
        if found is None and mention.source == "chief_complaint" and finding in ESCALATING:
            found = self._modifier_in("note", finding, 0, len(self.case.note))
        return found

    def _modifier_in(self, source: Source, finding: str, left: int, right: int) -> str | None:
        for m in self.all(finding):
            if m.source == source and left <= m.start and m.end <= right:
                return m.text
        match = in_span(finding, self.text_of(source), left, right)
        if match is not None and not self._negated_at(source, match.start()):
            return match.group(0)
        return None

    def with_modifier(
        self, anchors: tuple[str, ...], finding: str
    ) -> Iterator[tuple[Mention, str]]:
        for anchor in self.all(*anchors):
            words = self.modifier(anchor, finding)
            if words is not None:
                yield anchor, words

    def _negated_at(self, source: Source, start: int) -> bool:
        return any(m.source == source and m.start <= start < m.end for m in self.negated)

    @property
    def consciousness(self) -> Consciousness | None:
        return self.vitals.consciousness

    def reason(
        self,
        rule: str,
        acuity: Acuity,
        detail: str,
        value: float | int | str | None = None,
        mention: Mention | None = None,
    ) -> Reason:
        """A reason; with a mention, the evidence and its span in the source text."""
        if mention is None:
            return Reason(rule=rule, acuity=acuity, detail=detail, value=value)
        if self.typed is not None:  # cite the words as the nurse typed them
            typed = self.typed.chief_complaint if mention.source == "chief_complaint" else (
                self.typed.note
            )  # fmt: skip
            mention = replace(mention, text=typed[mention.start : mention.end])
        return Reason(
            rule=rule,
            acuity=acuity,
            detail=f'{detail} ({mention.source.replace("_", " ")} mentions "{mention.text}")',
            value=mention.text if value is None else value,
            source=mention.source,
            start=mention.start,
            end=mention.end,
            evidence=mention.text,
        )


# In a chief complaint, "s/p fall" or "status post MVC" is why the patient came today, not
# their history (in a note's history, "s/p CABG" stays history).
_STATUS_POST = re.compile(r"s/p|status\s+post", re.IGNORECASE)


def _presenting(source: Source, context: ContextResult) -> ContextResult:
    if source == "chief_complaint" and context.historical_by is not None:
        if _STATUS_POST.fullmatch(context.historical_by):
            return context._replace(historical=False, historical_by=None)
    return context


# "OD" is an overdose, or the right eye (oculus dexter) where the case is about an eye.
_EYE_WORDS = re.compile(
    r"\b(?:eyes?|vision|visual|ocular|conjunctiv\w*|corne\w*|pupils?|acuity|iritis|uveitis|"
    r"floaters|eyelids?|OS|OU|VA)\b",
    re.IGNORECASE,
)


def _eye_side(case: CaseIn, finding_or_complaint: str, text: str) -> bool:
    """An "OD" overdose that is the right eye of an eye complaint."""
    return (
        finding_or_complaint == "overdose"
        and text == "OD"
        and _EYE_WORDS.search(f"{case.chief_complaint} {case.note}") is not None
    )


def read_mentions(case: CaseIn) -> tuple[list[Mention], list[Mention], list[Mention]]:
    """(asserted, not asserted, the patient's own history) findings in the chief complaint
    and the note."""
    asserted: list[Mention] = []
    other: list[Mention] = []
    history: list[Mention] = []
    sources: tuple[tuple[Source, str], ...] = (
        ("chief_complaint", case.chief_complaint),
        ("note", case.note),
    )
    for source, text in sources:
        for found in find_findings(text):
            if _eye_side(case, found.finding, found.text):
                continue
            found = replace(found, context=_presenting(source, found.context))
            mention = _mention(found, source)
            (asserted if found.asserted else other).append(mention)
            c = found.context
            if c.historical and not (c.negated or c.hypothetical or c.family):
                history.append(mention)
    return asserted, other, history


def read_complaints(case: CaseIn) -> tuple[list[ComplaintFound], list[tuple[Mention, int]]]:
    """Asserted presenting complaints (chief complaint first) and their asserted high-risk
    features with each feature's acuity."""
    complaints: list[ComplaintFound] = []
    features: list[tuple[Mention, int]] = []
    sources: tuple[tuple[Source, str], ...] = (
        ("chief_complaint", case.chief_complaint),
        ("note", case.note),
    )
    for source, text in sources:
        matches: list[ComplaintMatch] = [
            replace(m, context=_presenting(source, m.context)) for m in match_complaints(text)
        ]
        matches = [m for m in matches if m.asserted and not _eye_side(case, m.complaint.id, m.text)]
        for m in matches:
            c = m.complaint
            complaints.append(
                ComplaintFound(
                    id=c.id,
                    name=c.name,
                    group=c.group,
                    pain_class=c.pain_class,
                    source=source,
                    text=m.text,
                    start=m.start,
                    end=m.end,
                    fuzzy=m.fuzzy,
                )
            )
        for feat in match_features(text, matches):
            if feat.asserted:
                label = f"{feat.complaint.name}: {feat.feature.label}"
                mention = Mention(feat.feature.id, label, feat.text, feat.start, feat.end, source)
                features.append((mention, feat.feature.acuity))
    return complaints, features


# Complaints that are the same thing as a finding the rules read. The complaint vocabulary
# knows coded order, lay words and misspellings ("chest pian", "testicular pian") that the
# findings lexicon does not; a complaint found this way stands in for its finding, so a typo
# cannot hide a red flag.
COMPLAINT_FINDINGS: dict[str, str] = {
    "cardiac_arrest": "cardiac_arrest",
    "chest_pain": "chest_pain",
    "headache": "headache",
    "shortness_of_breath": "dyspnoea",
    "abdominal_pain": "abdominal_or_back_pain",
    "back_pain": "abdominal_or_back_pain",
    "flank_pain": "abdominal_or_back_pain",
    "testicular_pain": "testicular_pain",
    "seizure": "seizure",
    "vomiting_blood": "gi_bleed",
    "black_stool": "gi_bleed",
    "rectal_bleeding": "rectal_bleeding",
    "syncope": "collapse",
    "allergic_reaction": "allergic_reaction",
    "suicidal_ideation": "suicidal",
    "overdose": "overdose",
    "head_injury": "head_injury",
    "focal_weakness": "stroke_signs",
    "visual_disturbance": "visual_disturbance",
    "wheeze": "wheeze",
    "stridor": "voice_change",
    "vaginal_bleeding": "vaginal_bleeding",
    "pregnancy_bleeding": "vaginal_bleeding",
    "dizziness": "dizziness",
    "fall": "fall",
    "limp_infant": "floppy_infant",
}


def complaint_mentions(complaints: list[ComplaintFound], mentions: list[Mention]) -> list[Mention]:
    """The findings that asserted complaints stand for (with the findings they imply), where
    no asserted mention of that finding already covers the complaint's words."""
    added: list[Mention] = []
    for c in complaints:
        finding = COMPLAINT_FINDINGS.get(c.id)
        if finding is None:
            continue
        for name in (finding, *IMPLIES.get(finding, ())):
            covered = any(
                m.finding == name and m.source == c.source and m.start < c.end and c.start < m.end
                for m in (*mentions, *added)
            )
            if not covered:
                added.append(Mention(name, FINDINGS[name][0], c.text, c.start, c.end, c.source))
    return added


# A cough that comes with a cold's other symptoms is part of the cold: "minor cold or
# sore-throat symptoms in a well adult" (CLINICAL.md, level 5).
COLD_SYMPTOMS = frozenset({"cold_symptoms", "nasal_congestion", "sore_throat"})


def is_minor(complaints: list[ComplaintFound], adult: bool = True) -> bool:
    """Every complaint found is on the level-5 minor list (and there is one); an adult's
    cough counts as minor beside a cold's other symptoms."""
    vocabulary = get_vocabulary()
    cold = adult and any(c.id in COLD_SYMPTOMS for c in complaints)
    return bool(complaints) and all(
        vocabulary.get(c.id).minor or (cold and c.id == "cough") for c in complaints
    )


# ConText's hypothetical triggers that mean "suspected, to be excluded".
_RULE_OUT = re.compile(r"r/o|(?:to\s+)?rule\s+out", re.IGNORECASE)


def _mention(found: FindingMention, source: Source) -> Mention:
    c = found.context
    suspected = (
        c.hypothetical
        and not (c.negated or c.historical or c.family)
        and _RULE_OUT.fullmatch(c.hypothetical_by or "") is not None
    )
    return Mention(
        found.finding, found.label, found.text, found.start, found.end, source, suspected
    )
