"""The ConText algorithm: is a finding negated, historical, hypothetical, or someone else's?

`assess_context(text, start, end)` works on any target span, not only on the engine's own
vocabulary. Within the target's sentence, trigger phrases open a scope forward (after the
trigger) or backward (before it); a scope stops at a termination term ("but", "however",
"presents with", ...), at a sentence or clause boundary, and for family at a mention of the
patient. Pseudo-triggers ("no increase", "gram negative", "not ruled out") are matched first
and hide the real trigger inside them. The nearest trigger whose scope covers the target
decides each property and is reported with it.

The lexicon below is our own, written for triage notes (abbreviations and common misspellings
included).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from functools import cache


class Category(enum.Enum):
    NEGATED = "negated"
    HISTORICAL = "historical"
    HYPOTHETICAL = "hypothetical"
    FAMILY = "family"


class Kind(enum.Enum):
    FORWARD = "forward"
    BACKWARD = "backward"
    PSEUDO = "pseudo"
    TERMINATE = "terminate"


@dataclass(frozen=True)
class Trigger:
    text: str
    start: int
    end: int
    kind: Kind
    category: Category | None  # None: terminates every category


@dataclass(frozen=True)
class ContextResult:
    """Each property with the trigger phrase that decided it (None when not triggered)."""

    negated: bool
    historical: bool
    hypothetical: bool
    family: bool
    negated_by: str | None = None
    historical_by: str | None = None
    hypothetical_by: str | None = None
    family_by: str | None = None


_RELATIVE = (
    r"mother|mom|mum|father|dad|sister|brother|siblings?|sons?|daughters?|aunt|uncle|"
    r"grand(?:mother|father|parents?|ma|pa)|cousin|parents?|wife|husband|spouse|partner"
)
# People other than the patient who may have had the finding.
_OTHERS = (
    r"roommates?|co-?workers?|classmates?|friends?|neighbou?rs?|sick contacts?|contacts?|"
    r"no one else|someone else|others? at home|household members?"
)
_YEAR = r"in\s+(?:19|20)\d\d"
_MONTH = (
    r"in (?:january|february|march|april|may|june|july|august|september|october|november|"
    r"december)"
)
_CHILDHOOD = r"as an? (?:child|kid|toddler|baby|infant|teen(?:ager)?)|in childhood"
_INFORMANT_VERBS = (
    r"reports?|reported|states?|stated|says|said|notes?|noted|called|brought|found|"
    r"concerned|told|advised|instructed|educated|asked|requests?"
)

# (phrases, kind, category). Phrases are regular expressions; spaces match any whitespace.
LEXICON: list[tuple[list[str], Kind, Category | None]] = [
    (
        ["no", "not", "nor", "never", "denies", "denied", "deny", "denying", "deneis", "dneies",
         "denys", "without", "w/o", "w/out", "negative for", "negitive for", "neg for", "free of",
         "absence of", "no evidence of", "no signs? of", "no complaints? of", "no longer",
         "resolution of", "fails to reveal", "rules out", "ruled out", "no one else"],
        Kind.FORWARD, Category.NEGATED,
    ),
    (
        ["(?:was|were|is|been|has been|have been) ruled out", "ruled out", "(?:is|was|were) absent",
         "absent", "(?:was|were|is|are) negative", "not (?:seen|present|found|noted)", "denied"],
        Kind.BACKWARD, Category.NEGATED,
    ),
    (
        ["history of", "hx of", "hx\\.? of", "hx", "h/o", "h/0", "histroy of", "hisotry of",
         "past (?:medical )?history(?: of)?", "pmhx?", "pshx?", "previous(?:ly)?", "prior",
         "status post", "s/p", "known", "remote", _YEAR, "last (?:year|month|week|winter|summer)",
         "(?:admitted|hospitali[sz]ed|treated|seen)(?: \\w+){0,3} for", "ever (?:had|having|been)",
         _CHILDHOOD],
        Kind.FORWARD, Category.HISTORICAL,
    ),
    (
        ["\\d+ (?:years?|yrs?|months?|weeks?) ago", "years ago", "in the past", _CHILDHOOD,
         "last (?:year|month|winter|summer)", "previously", _YEAR, "in (?:the )?(?:19|20)\\d0s",
         _MONTH, "before", "\\((?:19|20)\\d\\d\\)"],
        Kind.BACKWARD, Category.HISTORICAL,
    ),
    (
        ["if", "return if", "return (?:to (?:the )?\\w+ )?for", "call if", "come back (?:if|for)",
         "should", "in case(?: of)?", "watch for", "monitor for", "look out for", "r/o",
         "rule out", "to rule out", "risk of", "to prevent", "prevention of", "may develop",
         "would", "could", "unless", "(?:return )?precautions (?:given )?for",
         "observe(?: \\S+){0,3} for", "recurrence of",
         "(?:discussed|reviewed|educated on|teaching on) (?:the )?(?:warning )?"
         "(?:signs|symptoms) of"],
        Kind.FORWARD, Category.HYPOTHETICAL,
    ),
    (["precautions", "(?:returns?|recurs?|worsens?|develops?) (?:again )?later"],
     Kind.BACKWARD, Category.HYPOTHETICAL),
    (
        [_RELATIVE, _OTHERS, "family history of", "family hx of", "fhx?(?: of)?", "fam hx of",
         "family members?", "relatives?"],
        Kind.FORWARD, Category.FAMILY,
    ),
    (
        [f"in (?:his|her|their|the patient's|pt's) (?:{_RELATIVE})", "runs in the family",
         "in the family", "in (?:his|her) family"],
        Kind.BACKWARD, Category.FAMILY,
    ),
    (
        # Hide the trigger inside: these do not negate, or are not about the past.
        ["no (?:significant |interval )?(?:increase|change)", "not only", "not necessarily",
         "not (?:certain|sure) (?:if|whether|when|why|how)", "not sure",
         "not (?:been )?ruled out", "not excluded", "cannot be ruled out", "gram negative",
         "no further", "not drain", "without difficulty", "not (?:improved|relieved)",
         "no (?:improvement|relief)", "if any", "whether or not", "prior to arrival",
         "history and physical", "hx and px", "no known allergies"],
        Kind.PSEUDO, None,
    ),
    (
        # A relative who reports, brings or is told something is an informant, not the experiencer.
        [f"(?:{_RELATIVE}) (?:who |were |was )?(?:{_INFORMANT_VERBS})"],
        Kind.PSEUDO, Category.FAMILY,
    ),
    (
        ["but", "however", "although", "though", "yet", "except(?: for)?", "apart from",
         "aside from", "which", "whereas", "while", "presents?(?: with)?",
         "presenting(?: with)?", "presented", "reports?", "reported", "complains? of",
         "complaining of", "c/o", "admits(?: to)?", "endorses", "states", "notes", "says"],
        Kind.TERMINATE, None,
    ),
    (["positive for", "has", "now"], Kind.TERMINATE, Category.NEGATED),
    (
        ["now", "today", "tonight", "currently", "this (?:morning|evening|afternoon)",
         "since", "new", "again", "recurrent", "current"],
        Kind.TERMINATE, Category.HISTORICAL,
    ),
    (["patient", "pt", "the patient", "client", "himself", "herself"],
     Kind.TERMINATE, Category.FAMILY),
]  # fmt: skip
# Said after the target before the next comma, these put it in the present ("h/o seizures, had
# a seizure today"), whatever history trigger came before.
_PRESENT_TIME = re.compile(
    r"\b(?:today|tonight|now|currently|this (?:morning|evening|afternoon)|since arrival)\b", re.I
)

# Sentence and clause boundaries: end punctuation before a capital or digit, ; or a new line.
_BOUNDARY = re.compile(r"[.!?]+(?=\s+[A-Z0-9\"'(])|[;\n]+|\s[-\u2013]\s|:(?=\s*\n)")


def _wrap(alternation: str, kind: Kind, category: Category | None) -> str:
    pattern = rf"(?<![\w/])(?:{alternation})(?![\w/])"
    if kind == Kind.TERMINATE and category == Category.NEGATED:
        pattern += r"|(?<=\s)\+(?=\w)"  # "no SOB, +CP": a plus sign asserts what follows
    return pattern


@cache
def _compiled() -> tuple[re.Pattern[str], list[tuple[re.Pattern[str], Kind, Category | None]]]:
    """One scanner over every phrase (one pass per sentence), and one pattern per entry.

    The scanner's alternatives go pseudo-triggers first, then longest first, so at any
    position the phrase that should win is the one that matches. The entry patterns tell
    which entries a matched phrase belongs to ("now" ends negation and history alike).
    """
    entries = []
    alternatives = []
    for phrases, kind, category in LEXICON:
        spaced = [p.replace(" ", r"\s+") for p in phrases]
        entries.append((re.compile(_wrap("|".join(spaced), kind, category), re.I), kind, category))
        alternatives += [(kind != Kind.PSEUDO, -len(p), p) for p in spaced]
    alternatives.sort(key=lambda a: (a[0], a[1]))
    # Python's re tries alternatives one by one; dispatching on the first letter first makes
    # a word start cost a few failed look-aheads instead of hundreds of failed phrases.
    by_letter: dict[str, list[str]] = {}
    for _, _, phrase in alternatives:
        by_letter.setdefault(_first_letter(phrase), []).append(rf"(?:{phrase})(?![\w/])")
    branches = [
        rf"(?=[{letter}{letter.upper()}])(?:{'|'.join(group)})" if letter else "|".join(group)
        for letter, group in sorted(by_letter.items(), key=lambda item: item[0] == "")
    ]
    # The word-start check once, outside the alternation: most positions fail it at once.
    scanner = re.compile(rf"(?<![\w/])(?:{'|'.join(branches)})|(?<=\s)\+(?=\w)", re.I)
    return scanner, entries


def _first_letter(phrase: str) -> str:
    """The letter every match of `phrase` starts with, or "" when that is not certain."""
    depth = 0
    for char in phrase:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "|" and depth == 0:
            return ""  # a top-level alternation may start with anything
    first = phrase[0].lower()
    optional = len(phrase) > 1 and phrase[1] in "?*{"
    return first if first.isalpha() and not optional else ""


@cache
def _owners(phrase: str) -> tuple[tuple[Kind, Category | None], ...]:
    """The lexicon entries a matched phrase belongs to; pseudo-triggers hide the rest."""
    _, entries = _compiled()
    owners = [(kind, category) for pattern, kind, category in entries if pattern.fullmatch(phrase)]
    if any(kind == Kind.PSEUDO for kind, _ in owners):
        owners = [(kind, category) for kind, category in owners if kind == Kind.PSEUDO]
    return tuple(owners)


def _sentence(text: str, start: int, end: int) -> tuple[int, int]:
    """Bounds of the sentence or clause holding the target."""
    left, right = 0, len(text)
    for match in _BOUNDARY.finditer(text):
        if match.end() <= start:
            left = match.end()
        elif match.start() >= end:
            right = match.start()
            break
    return left, right


def find_triggers(sentence: str, offset: int = 0) -> list[Trigger]:
    """Every trigger in the sentence, left to right; at one place the longest phrase wins."""
    scanner, _ = _compiled()
    found = []
    for match in scanner.finditer(sentence):
        # Whitespace folded and lower-cased, so the cache sees each phrase once.
        phrase = " ".join(match.group(0).lower().split())
        owners = ((Kind.TERMINATE, Category.NEGATED),) if phrase == "+" else _owners(phrase)
        for kind, category in owners:
            found.append(
                Trigger(
                    match.group(0), offset + match.start(), offset + match.end(), kind, category
                )
            )
    return found


def _terminates(trigger: Trigger, category: Category) -> bool:
    return trigger.kind == Kind.TERMINATE and trigger.category in (None, category)


def _decide(triggers: list[Trigger], start: int, end: int, category: Category) -> Trigger | None:
    """The nearest trigger of `category` whose scope reaches the target."""
    before = [t for t in triggers if t.end <= start]
    after = [t for t in triggers if t.start >= end]
    for trigger in reversed(before):  # nearest first, walking away from the target
        if _terminates(trigger, category):
            break
        if trigger.kind == Kind.FORWARD and trigger.category == category:
            return trigger
    for trigger in after:
        if _terminates(trigger, category):
            break
        if trigger.kind == Kind.BACKWARD and trigger.category == category:
            return trigger
    return None


def assess_context(text: str, start: int, end: int) -> ContextResult:
    """ConText properties of the target `text[start:end]`, with the deciding triggers."""
    if not 0 <= start <= end <= len(text):
        raise ValueError(f"target span {start}:{end} is outside the text (length {len(text)})")
    left, right = _sentence(text, start, end)
    triggers = [
        t for t in find_triggers(text[left:right], left) if t.end <= start or t.start >= end
    ]
    decided = {c: _decide(triggers, start, end, c) for c in Category}
    comma = text.find(",", end, right)
    if decided[Category.HISTORICAL] and _PRESENT_TIME.search(
        text, end, right if comma < 0 else comma
    ):
        decided[Category.HISTORICAL] = None
    if decided[Category.FAMILY]:
        # "historical" is the patient's own past; a relative's past is family history.
        decided[Category.HISTORICAL] = None
    return ContextResult(
        negated=decided[Category.NEGATED] is not None,
        historical=decided[Category.HISTORICAL] is not None,
        hypothetical=decided[Category.HYPOTHETICAL] is not None,
        family=decided[Category.FAMILY] is not None,
        negated_by=_text(decided[Category.NEGATED]),
        historical_by=_text(decided[Category.HISTORICAL]),
        hypothetical_by=_text(decided[Category.HYPOTHETICAL]),
        family_by=_text(decided[Category.FAMILY]),
    )


def _text(trigger: Trigger | None) -> str | None:
    return None if trigger is None else trigger.text
