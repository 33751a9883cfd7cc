"""Presenting complaints (a CEDIS-shaped vocabulary, `data/complaints.yaml`) found in a chief
complaint or a note, each with its span and ConText verdict, and the complaint-specific
high-risk features of the complaints a note asserts.

Matching is by whole words: each text token's first letters pick the few complaints whose
phrases can start there, and only those patterns are tried (compiled once). Misspellings are
corrected with rapidfuzz (edit distances) and only where one typo cannot turn one clinical
word into another: the clinical word has 7 letters or more, the token is no known word (nor
a plural of one), keeps the first letter and the ending, differs by one letter left out or
added or two neighbours swapped (a substitution makes other real words: "attached" and
"attacked"), is not as close to a listed clinical near-neighbour ("ileum"/"ilium"), and the
correction is not ambiguous between complaints. A short token is corrected only inside a
two-word phrase of 10 letters or more whose other word is exact ("abdominal pian").
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator
from rapidfuzz import process
from rapidfuzz.distance import OSA, Indel, Levenshtein

from shared.nlp.context import Asserted, ContextResult, assess_context
from shared.nlp.terms import term_pattern

VOCABULARY_PATH = Path(__file__).parent / "data" / "complaints.yaml"
GROUPS = (
    "cardiovascular", "ent_ears", "ent_mouth_throat_neck", "ent_nose", "environmental",
    "gastrointestinal", "genitourinary", "mental_health", "neurologic", "obstetrics_gynaecology",
    "ophthalmology", "orthopaedic", "respiratory", "skin", "substance_misuse", "trauma",
    "general_minor",
)  # fmt: skip
PainClass = Literal["central", "peripheral", "eye", "none"]
FUZZY_MIN_WORD = 7  # clinical words this long or longer may be reached by one typo
FUZZY_MIN_PHRASE = 10  # a two-word phrase this long may absorb one edit in its short word

_ID = r"^[a-z][a-z0-9_]*$"
_SIDE = r"(?:left|right|(?-i:Lt|Rt|L|R)\.?)"
_PAIN = r"(?:pains?|discomfort|aches?)"
_THE = r"(?:(?:the|an?|my|his|her|their)\s+)?"
_PHRASE_PART = re.compile(r"\{side\}|\{the\}\s*|[A-Za-z0-9]+\*?|,\s*|\s+|.")
_TOKEN = re.compile(r"[A-Za-z0-9]+")
_WORD = re.compile(r"[A-Za-z]+")


# ---------------------------------------------------------------- the public records
@dataclass(frozen=True)
class HighRiskFeature:
    id: str
    label: str
    acuity: int
    patterns: tuple[str, ...] = field(default=(), repr=False)
    abbreviations: tuple[str, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class Complaint:
    id: str
    name: str
    group: str
    pain_class: str
    minor: bool
    high_risk: tuple[HighRiskFeature, ...]
    synonyms: tuple[str, ...] = field(default=(), repr=False)
    abbreviations: tuple[str, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class Vocabulary:
    complaints: tuple[Complaint, ...]
    groups: dict[str, str]  # group id -> readable name
    near_neighbours: frozenset[str]
    known_words: frozenset[str]

    def get(self, complaint_id: str) -> Complaint:
        return next(c for c in self.complaints if c.id == complaint_id)


@dataclass(frozen=True)
class ComplaintMatch(Asserted):
    complaint: Complaint
    text: str
    start: int
    end: int
    fuzzy: bool
    context: ContextResult


@dataclass(frozen=True)
class FeatureMatch(Asserted):
    complaint: Complaint
    feature: HighRiskFeature
    text: str
    start: int
    end: int
    context: ContextResult


# ---------------------------------------------------------------- loading and validation
class _FeatureModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=_ID)
    label: str = Field(min_length=1)
    acuity: int = Field(ge=1, le=3)
    patterns: list[str] = Field(min_length=1)
    abbreviations: list[str] = []


class _ComplaintModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1)
    group: str
    pain_class: PainClass
    minor: bool = False
    synonyms: list[str] = Field(min_length=1)
    abbreviations: list[str] = []
    high_risk: list[_FeatureModel] = []


class _VocabularyModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int
    groups: dict[str, str]
    near_neighbours: list[str]
    known_words: list[str]
    complaints: list[_ComplaintModel]

    @model_validator(mode="after")
    def _consistent(self) -> _VocabularyModel:
        if set(self.groups) != set(GROUPS):
            raise ValueError(f"groups must be exactly {GROUPS}")
        owner: dict[str, str] = {}
        ids: set[str] = set()
        for c in self.complaints:
            if c.group not in self.groups:
                raise ValueError(f"{c.id}: unknown group {c.group!r}")
            if c.id in ids:
                raise ValueError(f"duplicate complaint id {c.id!r}")
            ids.add(c.id)
            feature_ids = [f.id for f in c.high_risk]
            if len(feature_ids) != len(set(feature_ids)):
                raise ValueError(f"{c.id}: duplicate high-risk feature id")
            for term in [*(_normal(s) for s in c.synonyms), *c.abbreviations]:
                if term in owner and owner[term] != c.id:
                    raise ValueError(f"{term!r} is a synonym of both {owner[term]} and {c.id}")
                owner[term] = c.id
        return self


def _normal(phrase: str) -> str:
    return " ".join(phrase.lower().split())


def load_vocabulary(source: str) -> Vocabulary:
    """Validate a vocabulary written as YAML text (raises pydantic's ValidationError)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser when PyYAML has it
    model = _VocabularyModel.model_validate(yaml.load(source, Loader=loader))  # noqa: S506
    complaints = tuple(
        Complaint(
            id=c.id, name=c.name, group=c.group, pain_class=c.pain_class, minor=c.minor,
            high_risk=tuple(HighRiskFeature(f.id, f.label, f.acuity, tuple(f.patterns),
                                            tuple(f.abbreviations)) for f in c.high_risk),
            synonyms=tuple(c.synonyms), abbreviations=tuple(c.abbreviations),
        )
        for c in model.complaints
    )  # fmt: skip
    return Vocabulary(
        complaints=complaints,
        groups=dict(model.groups),
        near_neighbours=frozenset(w.lower() for w in model.near_neighbours),
        known_words=frozenset(w.lower() for w in model.known_words),
    )


@cache
def get_vocabulary() -> Vocabulary:
    return load_vocabulary(VOCABULARY_PATH.read_text(encoding="utf-8"))


# ---------------------------------------------------------------- compiling phrases
def phrase_regex(phrase: str) -> str:
    """The regex of one vocabulary phrase, as the YAML header describes (any case is applied
    by `term_pattern`)."""
    parts: list[str] = []
    for part in _PHRASE_PART.findall(phrase.strip()):
        if part == "{side}":
            parts.append(_SIDE)
        elif part.startswith("{the}"):
            parts.append(_THE)  # takes its own trailing space
        elif part[0] == ",":
            parts.append(r"\s*,\s*")
        elif part.isspace():
            parts.append(r"\s+")
        elif part == "-":
            parts.append(r"(?:-\s*|\s+)?")
        elif part in "'\u2019":
            parts.append("['\u2019]?")
        elif part.endswith("*"):
            parts.append(re.escape(part[:-1].lower()) + r"\w*")
        elif part.lower() == "pain":
            parts.append(_PAIN)
        else:
            parts.append(re.escape(part.lower()))
    last = phrase.strip()[-1:]
    if last.isalpha() and not phrase.lower().endswith("pain"):
        parts.append("(?:s|es)?")
    return "".join(parts)


def _keys(phrase: str) -> set[str]:
    """The first letters (up to 3, lower case) that a text token starting this phrase has."""
    first = phrase.lstrip()
    if first.startswith("{the}"):
        return {"the", "a", "an", "my", "his", "her"} | _keys(first[len("{the}") :])
    if first.startswith("{side}"):
        return {"lef", "rig", "lt", "rt", "l", "r"}
    words = _TOKEN.findall(first)
    head = words[0].lower() if words else ""
    if head == "pain":
        return {"pai", "dis", "ach"}
    keys = {head[:3]}
    joined = re.match(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+", first)
    if joined:
        keys.add(joined.group(0).replace("-", "").lower()[:3])
    return keys


def _pattern(words: list[str], abbreviations: list[str] | tuple[str, ...]) -> re.Pattern[str]:
    alternation = "|".join(phrase_regex(w) for w in sorted(words, key=len, reverse=True))
    abbrs = tuple(re.escape(a) for a in sorted(abbreviations, key=len, reverse=True))
    return term_pattern(alternation, abbrs)


@dataclass(frozen=True)
class _Matcher:
    complaints: tuple[Complaint, ...]
    patterns: tuple[re.Pattern[str], ...]
    index: dict[str, tuple[int, ...]]  # token key -> complaints whose phrases start there
    features: dict[tuple[str, str], re.Pattern[str]]
    feature_index: dict[str, tuple[tuple[str, str], ...]]  # token key -> features starting there
    known: frozenset[str]  # words never corrected
    targets: dict[str, tuple[str, ...]]  # first letter -> long words a correction may reach
    owners: dict[str, frozenset[str]]  # long word -> complaints whose phrases use it
    near: tuple[str, ...]
    pairs: dict[tuple[int, str], tuple[str, ...]]  # (0|1, exact word) -> two-word phrases


@cache
def _matcher() -> _Matcher:
    vocab = get_vocabulary()
    index: dict[str, list[int]] = defaultdict(list)
    owners: dict[str, set[str]] = defaultdict(set)
    known = set(vocab.known_words | vocab.near_neighbours)
    pairs: dict[tuple[int, str], list[str]] = defaultdict(list)
    features = {}
    feature_index: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for i, c in enumerate(vocab.complaints):
        for key in set().union(*(_keys(p) for p in (*c.synonyms, *c.abbreviations))):
            index[key].append(i)
        for phrase in c.synonyms:
            words = [w.lower() for w in _WORD.findall(re.sub(r"\{\w+\}", "", phrase))]
            known.update(words)
            for w in words:
                owners[w].add(c.id)
            plain = _normal(phrase)  # placeholders and punctuation fail the test below
            if re.fullmatch(r"[a-z]+ [a-z]+", plain) and len(plain) >= FUZZY_MIN_PHRASE:
                first, second = plain.split()
                pairs[(0, first)].append(plain)
                pairs[(1, second)].append(plain)
        known.update(a.lower() for a in c.abbreviations)
        for f in c.high_risk:
            features[(c.id, f.id)] = _pattern(list(f.patterns), f.abbreviations)
            for key in set().union(*(_keys(p) for p in (*f.patterns, *f.abbreviations))):
                feature_index[key].append((c.id, f.id))
            for p in f.patterns:
                known.update(w.lower() for w in _WORD.findall(p))
    targets: dict[str, list[str]] = defaultdict(list)
    for word in sorted(owners):
        if len(word) >= FUZZY_MIN_WORD and word not in vocab.near_neighbours:
            targets[word[0]].append(word)
    return _Matcher(
        complaints=vocab.complaints,
        patterns=tuple(_pattern(list(c.synonyms), c.abbreviations) for c in vocab.complaints),
        index={k: tuple(v) for k, v in index.items()},
        features=features,
        feature_index={k: tuple(v) for k, v in feature_index.items()},
        known=frozenset(known),
        targets={k: tuple(v) for k, v in targets.items()},
        owners={w: frozenset(s) for w, s in owners.items()},
        near=tuple(sorted(vocab.near_neighbours)),
        pairs={k: tuple(v) for k, v in pairs.items()},
    )


# ---------------------------------------------------------------- misspellings
def _known(token: str) -> bool:
    """A word of the vocabulary (or its plural), a listed ordinary word or a near-neighbour."""
    known = _matcher().known
    return token in known or token[:-1] in known or (token[-2:] == "es" and token[:-2] in known)


@lru_cache(maxsize=65536)
def correct_word(token: str) -> str | None:
    """The vocabulary word a misspelled (lower-case) token stands for, or None."""
    m = _matcher()
    if len(token) < FUZZY_MIN_WORD - 1 or _known(token):
        return None
    found = process.extract(
        token, m.targets.get(token[0], ()), scorer=OSA.distance, score_cutoff=1, limit=5
    )
    words = [str(w) for w, _, _ in found if _typo(token, str(w))]
    if not words or len({m.owners[w] for w in words}) > 1:
        return None  # none, or as close to words of two different complaints
    if process.extractOne(token, m.near, scorer=OSA.distance, score_cutoff=1):
        return None  # as close to a clinical near-neighbour
    return words[0]


def _typo(token: str, word: str) -> bool:
    """One letter left out, added or two neighbours swapped, with the word's ending kept: a
    substitution or a new ending ("attached", "decrease") is another word, not a typo."""
    if token[-1] != word[-1] and sorted(token[-3:]) != sorted(word[-3:]):
        return False
    if Indel.distance(token, word) == 1:
        return True
    return OSA.distance(token, word) == 1 and Levenshtein.distance(token, word) == 2


@lru_cache(maxsize=65536)
def _correct_in_pair(token: str, neighbour: str, token_is_second: bool) -> str | None:
    m = _matcher()
    position = 0 if token_is_second else 1  # the neighbour's place in the phrase
    phrases = m.pairs.get((position, neighbour))
    if not phrases or _known(token) or len(token) < 3:
        return None
    window = f"{neighbour} {token}" if token_is_second else f"{token} {neighbour}"
    found = process.extract(window, phrases, scorer=OSA.distance, score_cutoff=1, limit=2)
    if len(found) != 1:
        return None  # none, or ambiguous
    corrected = str(found[0][0]).split()[1 if token_is_second else 0]
    return corrected if corrected[0] == token[0] and _typo(token, corrected) else None


def _corrections(text: str) -> list[tuple[int, int, str]]:
    words = [(w.start(), w.end(), w.group(0).lower()) for w in _WORD.finditer(text)]
    out = []
    for i, (start, end, token) in enumerate(words):
        if _known(token):
            continue
        fix = correct_word(token) if len(token) >= FUZZY_MIN_WORD - 1 else None
        if fix is None and i > 0 and text[words[i - 1][1] : start].isspace():
            fix = _correct_in_pair(token, words[i - 1][2], True)
        if fix is None and i + 1 < len(words) and text[end : words[i + 1][0]].isspace():
            fix = _correct_in_pair(token, words[i + 1][2], False)
        if fix is not None:
            out.append((start, end, fix))
    return out


# ---------------------------------------------------------------- matching
def _exact(text: str) -> list[tuple[int, int, int]]:
    """(start, end, complaint index) of every phrase, overlaps resolved to the longest."""
    m = _matcher()
    found = []
    for token in _TOKEN.finditer(text):
        for i in m.index.get(token.group(0)[:3].lower(), ()):
            hit = m.patterns[i].match(text, token.start())
            if hit is not None and hit.end() > hit.start():
                found.append((hit.start(), hit.end(), i))
    found.sort(key=lambda f: (f[0] - f[1], f[0], f[2]))
    kept: list[tuple[int, int, int]] = []
    for f in found:
        if all(f[1] <= k[0] or k[1] <= f[0] for k in kept):
            kept.append(f)
    return sorted(kept)


def find_complaint_spans(text: str) -> list[tuple[Complaint, int, int, bool]]:
    """(complaint, start, end, fuzzy) for every mention, without ConText (the fast part)."""
    m = _matcher()
    fixes = _corrections(text)
    if not fixes:
        return [(m.complaints[i], s, e, False) for s, e, i in _exact(text)]
    pieces, spans, at, shift = [], [], 0, 0  # spans: (corrected start, end, shift after)
    for start, end, word in fixes:
        pieces += [text[at:start], word]
        corrected_start = start + shift
        shift += len(word) - (end - start)
        spans.append((corrected_start, corrected_start + len(word), shift))
        at = end
    pieces.append(text[at:])

    def original(position: int) -> int:
        before = [s for s in spans if s[1] <= position]
        return position - (before[-1][2] if before else 0)

    out = []
    for s, e, i in _exact("".join(pieces)):
        fuzzy = any(s < ce and cs < e for cs, ce, _ in spans)
        out.append((m.complaints[i], original(s), original(e), fuzzy))
    return out


def match_complaints(text: str) -> list[ComplaintMatch]:
    """Every complaint mention, asserted or not, in order of appearance."""
    return [
        ComplaintMatch(c, text[s:e], s, e, fuzzy, assess_context(text, s, e))
        for c, s, e, fuzzy in find_complaint_spans(text)
    ]


def match_features(text: str, complaints: list[ComplaintMatch]) -> list[FeatureMatch]:
    """Mentions of the high-risk features of the asserted complaints, each with its ConText
    verdict (count only `.asserted` ones), in order of appearance.

    Like the complaints, a feature is tried only at the words its phrases can start with,
    each feature's mentions never overlapping (as `finditer` would find them)."""
    m = _matcher()
    wanted = {
        (c.id, f.id): (c, f)
        for c in dict.fromkeys(c.complaint for c in complaints if c.asserted)
        for f in c.high_risk
    }
    if not wanted:
        return []
    out = []
    resume: dict[tuple[str, str], int] = {}
    for token in _TOKEN.finditer(text):
        at = token.start()
        for key in m.feature_index.get(token.group(0)[:3].lower(), ()):
            if key not in wanted or at < resume.get(key, 0):
                continue
            hit = m.features[key].match(text, at)
            if hit is not None and hit.end() > at:
                resume[key] = hit.end()
                complaint, feature = wanted[key]
                context = assess_context(text, at, hit.end())
                out.append(FeatureMatch(complaint, feature, hit.group(0), at, hit.end(), context))
    return sorted(out, key=lambda f: (f.start, f.complaint.id, f.feature.id))
