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
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import NamedTuple

from shared.nlp.terms import expand_alternatives as _expand
from shared.nlp.terms import first_letter as _first_letter


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


class Trigger(NamedTuple):
    text: str
    start: int
    end: int
    kind: Kind
    category: Category | None  # None: terminates every category
    bit: int  # the category as a bit (15: all), so the hot loop needs no enum hashing
    scope: int = 0  # how far a forward trigger reaches: _PHRASE, _LIST or _BARE_NOT_SCOPE


_BIT = {Category.NEGATED: 1, Category.HISTORICAL: 2, Category.HYPOTHETICAL: 4, Category.FAMILY: 8}
_PHRASE, _LIST, _BARE_NOT_SCOPE = 0, 1, 2


class ContextResult(NamedTuple):
    """Each property with the trigger phrase that decided it (None when not triggered)."""

    negated: bool
    historical: bool
    hypothetical: bool
    family: bool
    negated_by: str | None = None
    historical_by: str | None = None
    hypothetical_by: str | None = None
    family_by: str | None = None

    @property
    def asserted(self) -> bool:
        """About this patient, now: not negated, historical, hypothetical or someone else's."""
        return not (self.negated or self.historical or self.hypothetical or self.family)


class Asserted:
    """For a mention that carries its ConText verdict as `context`."""

    context: ContextResult

    @property
    def asserted(self) -> bool:
        return self.context.asserted


_RELATIVE = (
    r"mother|mom|mum|father|dad|sister|brother|siblings?|sons?|daughters?|aunt|uncle|"
    r"grand(?:mother|father|parents?|ma|pa)|cousin|parents?|wife|husband|spouse|partner"
)
# People other than the patient who may have had the finding.
_OTHERS = (
    r"roommates?|co-?workers?|classmates?|friends?|neighbou?rs?|sick contacts?|contacts?|"
    r"no one else|someone else|others? at home|household members?"
)
# People who bring, find or speak for the patient (informants when they do).
_COMPANIONS = (
    r"roommates?|flatmates?|co-?workers?|colleagues?|classmates?|friends?|neighbou?rs?|carers?|"
    r"care\s?givers?|bystanders?"
)
_YEAR = r"in\s+(?:19|20)\d\d"
_MONTH = (
    r"in (?:january|february|march|april|may|june|july|august|september|october|november|"
    r"december)"
)
_CHILDHOOD = r"as an? (?:child|kid|toddler|baby|infant|teen(?:ager)?)|in childhood"
_COUNT = r"\d+|one|two|three|four|five|six|seven|eight|nine|ten|few|several|couple of"
_UNIT = r"minute|min|hour|hr|h|day|d|week|wk"
_INFORMANT_VERBS = (
    r"reports?|reported|states?|stated|says?|said|notes?|noted|noticed|saw|witnessed|observed|"
    r"thinks|thought|describes|described|heard|called|brought|found|"
    r"concerned|told|advised|instructed|educated|asked|requests?"
)

# "isn't", "doesn't", ...: a bare "not" in another spelling ("can't breathe" is not one).
_NOT_CONTRACTED = r"(?:does|did|do|is|was|has|have|had)n['\u2019]?t"
_SAY = r"have|has|complain of|report|endorse|exhibit|show|describe"
_SEEN = (
    r"seen|present|found|noted|observed|detected|demonstrated|identified|evident|apparent|"
    r"visible|appreciated|elicited|reported|palpable|palpated|heard"
)
# Said after a finding, these say it is over: "chest pain now resolved" (not "resolving").
_GONE = (
    r"(?:(?:now|since|completely|fully|spontaneously|subsequently|rapidly|gradually|all|"
    r"then|had|has|have|eventually|quickly) )?(?:resolved|disappeared|subsided|abated)"
)

# (phrases, kind, category). Phrases are regular expressions; spaces match any whitespace.
LEXICON: list[tuple[list[str], Kind, Category | None]] = [
    (
        ["no", "not", _NOT_CONTRACTED, "nor", "neither", "never", "nil", "denies", "denied",
         "deny", "denying", "deneis", "dneies", "denys", "never (?:had|having|been)", "without",
         "w/o", "w/out",
         "negative for", "negitive for", "neg for", "free of", "free from", "absence of",
         "no evidence of", "no signs? of", "no complaints? of", "no longer", "resolution of",
         "fails to reveal", "rules out", "ruled out", "no one else", "none of", "lack of",
         "(?:was|were|is|are) negative for", "(?:(?:was|were|is|are) )?not associated with",
         "(?:never|not|did not|didn't) develop(?:ed)?",
         f"(?:does|did|do|is|was) not (?:{_SAY})", f"(?:{_NOT_CONTRACTED}) (?:{_SAY})",
         "not complaining of"],
        Kind.FORWARD, Category.NEGATED,
    ),
    (
        ["(?:was|were|is|been|has been|have been) ruled out", "ruled out", "(?:is|was|were) absent",
         "absent", "(?:was|were|is|are) negative", "negative", "none", "denied",
         f"(?:(?:was|were|is|are|been|be|has been|have been) )?not (?:{_SEEN})",
         f"(?:(?:was|were|is|are|has been|have been) )?(?:{_GONE})",
         "(?:did|does|has|have) not (?:appear|occur|develop|recur|progress|return)",
         "(?:was|were|is|are|been|has been|have been) excluded", "excluded",
         "free(?<=-free)", "free(?<=symptom[ ]free)", "free(?<=pain[ ]free)",
         "free(?<=seizure[ ]free)"],
        Kind.BACKWARD, Category.NEGATED,
    ),
    (
        ["history of", "hx of", "hx\\.? of", "hx", "h/o", "h/0", "histroy of", "hisotry of",
         "past (?:medical )?history(?: of)?", "pmhx?", "pshx?", "previous(?:ly)?", "prior",
         "status post", "s/p", "known", "remote", _YEAR, "last (?:year|month|week|winter|summer)",
         "(?:admitted|hospitali[sz]ed|treated|seen)(?: \\w+){0,3} for", "ever (?:had|having|been)",
         "never (?:had|having|been)",
         _CHILDHOOD],
        Kind.FORWARD, Category.HISTORICAL,
    ),
    (
        ["\\d+ (?:years?|yrs?|months?|weeks?) ago", "years ago", "in the past", _CHILDHOOD,
         "last (?:year|month|winter|summer)", "previously", _YEAR, "in (?:the )?(?:19|20)\\d0s",
         _MONTH, "\\((?:19|20)\\d\\d\\)"],
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
         "(?:does|did|do) not know", "not know",
         "not (?:been )?ruled out", "not excluded", "cannot be ruled out", "gram negative",
         "no further (?:workup|work-up|imaging|testing|tests|investigations?|treatment|action|"
         "intervention|management|follow-?up)", "not drain", "without difficulty",
         "not (?:improved|relieved)",
         "no (?:improvement|relief)", "if any", "whether or not", "prior to arrival",
         "history and physical", "hx and px", "no known allergies",
         # A duration makes it the present illness: "2-day history of chest pain".
         f"(?:{_COUNT})[- ]?(?:{_UNIT})s?[- ](?:history|hx|h/o)(?: of)?",
         "(?:short|brief|few|several|couple of) (?:hours?'?|days?'?|weeks?'?) (?:history|hx) of",
         "(?:short|brief) (?:history|hx) of",
         "(?:history|hx) of (?:the )?present(?:ing)? (?:illness|complaint)", "presenting history"],
        Kind.PSEUDO, None,
    ),
    (
        # A relative who reports, brings or is told something is an informant, not the experiencer.
        [f"(?:{_RELATIVE}|{_COMPANIONS}) (?:who |were |was )?(?:{_INFORMANT_VERBS})",
         f"(?:brought in by|found by|lives with|living with|accompanied by|with|by) "
         f"(?:his |her |their |the |a )?(?:{_RELATIVE}|{_COMPANIONS})"],
        Kind.PSEUDO, Category.FAMILY,
    ),
    (
        ["but", "however", "although", "though", "yet", "except(?: for)?", "apart from",
         "aside from", "besides", "other than", "which", "whereas", "while", "presents?(?: with)?",
         "presenting(?: with)?", "presented", "reports?", "reported", "complains? of",
         "complaining of", "c/o", "admits(?: to)?", "endorses", "states", "notes", "says"],
        Kind.TERMINATE, None,
    ),
    (
        # A new finding after a denial: "without past history developed pneumonia",
        # "no focal findings and only slight neck stiffness".
        ["positive for", "has", "now", "developed", "suggest(?:s|ed|ing)", "confirm(?:s|ed|ing)",
         "consistent with", "only"],
        Kind.TERMINATE, Category.NEGATED,
    ),
    (
        ["now", "today", "tonight", "currently", "this (?:morning|evening|afternoon)",
         "since", "new", "again", "recurrent", "current"],
        Kind.TERMINATE, Category.HISTORICAL,
    ),
    (["patient", "pt", "the patient", "client", "himself", "herself"],
     Kind.TERMINATE, Category.FAMILY),
]  # fmt: skip
# Scope over commas. A list trigger ("denies fever, chills, vomiting", "no fever, cough, rash",
# "PMH: HTN, DM, CVA") reaches past commas, item after item, until an item opens a new clause:
# one that asserts something ("has", "started", "+", a duration, radiation) or starts with a
# word nobody puts in a list of denials ("No fever, crushing chest pain"). Every other forward
# trigger modifies the phrase after it, a bare "not" only the few words after it ("did not
# take her meds and chest pain started"), and a backward trigger only the phrase before it.
# Terminators ("but", "reports", "presents with"), full stops, semicolons and new lines end
# every scope. An unnegated red flag over-triages; a wrongly negated one hides a sick patient,
# so when an item looks like a new clause, it is one.
_LIST_TRIGGER = re.compile(
    r"no|nor|neither|never|never (?:had|having|been)|nil|none of|without|w/o|w/out|-ve for|"
    r"den(?:ies|ied|y|ying|eis|ys)|dneies|neg(?:ative|itive)? for|free (?:of|from)|"
    r"absence of|no (?:evidence|signs?|complaints?) of|fails to reveal|rules? out|ruled out|"
    r"lack of|(?:was|were|is|are) negative for|(?:(?:was|were|is|are) )?not associated with|"
    r"history of|hx\.? of|hx|h/[o0]|his(?:tr|ot)ry of|past (?:medical )?history(?: of)?|"
    r"pmhx?|pshx?|family (?:history|hx) of|fhx?(?: of)?|fam hx of|"
    r"if|return if|return (?:to (?:the )?\w+ )?for|call if|come back (?:if|for)|watch for|"
    r"monitor for|look out for|r/o|(?:to )?rule out|in case(?: of)?|"
    r"(?:return )?precautions (?:given )?for|observe(?: \S+){0,3} for",
    re.I,
)
_GONE_RE = re.compile(rf"(?:(?:was|were|is|are|has been|have been)\s+)?{_GONE}", re.I)
_BARE_NOT = re.compile(rf"not|{_NOT_CONTRACTED}", re.I)
_BARE_NOT_WORDS = 3  # "does not have any chest pain"; not "did not take her meds and ..."
_LIST_CLOSE = re.compile(r"\b(?:or|nor)\b", re.I)
_LIST_ITEM_WORDS = 4  # for non-list triggers closed by "or": "no droop, slurred speech, or ..."
# A list item that starts with one of these words, or holds one of the later ones, opens a
# new clause ("No fever, crushing chest pain", "denies SOB, chest pain x2h").
_NEW_CLAUSE_START = re.compile(
    r"\s*(?:(?:and|or|with|w/)\s+)?(?:crushing|severe|sudden|acute|worst|new|newly|worsening|"
    r"increasing|tearing|ripping|ongoing|persistent|constant|intense|excruciating|massive|"
    r"profuse|heavy|actively|active|still|now|\+)(?![\w/])",
    re.I,
)
_NEW_CLAUSE = re.compile(
    r"\b(?:has|have|having|had|is|are|feels|felt|started|began|begun|developed|woke|"
    r"radiat\w*|since|c/o|complains?|complaining|reports|endorses|presents|presenting|today|"
    r"tonight|currently|x\s*\d|for\s+(?:the\s+)?(?:past\s+|last\s+)?(?:\d+|an?|one|two|three|"
    r"few|several|couple)\s)",
    re.I,
)


# Said after the target before the next comma, these put it in the present ("h/o seizures, had
# a seizure today", "hx of chest pain since yesterday", "h/o CP x2 days"), whatever history
# trigger came before. Months and years stay history: "asthma for 10 years".
_PRESENT_TIME = re.compile(
    r"\b(?:today|tonight|now|currently|this (?:morning|evening|afternoon)|since arrival|"
    r"on arrival|in triage|in (?:the )?(?:ED|ER|waiting room)|"
    r"since (?:yesterday|last night|this|today|tonight|(?:this |the )?(?:am|pm|morning|"
    r"evening|afternoon|noon|midnight|lunch|breakfast|dinner|waking)|\d{1,2}(?::?\d\d)?\b|"
    r"(?:mon|tues|wednes|thurs|fri|satur|sun)day|(?:\d+|an?|one|two|three|few|several) "
    r"(?:hours?|hrs?|days?|weeks?) ago)|"
    r"x\s*(?:\d+|one|two|three|few|several)\s*(?:d|days?|h|hrs?|hours?|wks?|weeks?|mins?|"
    r"minutes?)|"
    r"for (?:the )?(?:past |last )?(?:\d+|an?|one|two|three|four|five|six|seven|few|several|"
    r"couple of) (?:minutes?|mins?|hours?|hrs?|days?|weeks?|wks?))(?!\w)",
    re.I,
)

# A seizure a patient is "post-ictal" from is over: historical, not seizing now (CLINICAL.md:
# seizing now is level 1). Not when the seizure's own phrase says it is going on.
_SEIZURE = re.compile(r"(?:seizures?|seizure activity|sz|fits?|convulsions?|ictal)", re.I)
_POSTICTAL = re.compile(r"\bpost[- ]?(?:ictal|ictally|seizure|sz|convulsion|fit)\b", re.I)
_ONGOING = re.compile(r"\b(?:actively|still|again|another|ongoing|continuing|status)\b", re.I)

# Sentence and clause boundaries: end punctuation before a capital or digit, ; or a new line.
# A full stop ends a sentence whatever follows ("No LOC. facial droop" is two), except after
# a few abbreviations triage notes use.
# The lookahead up front only lets the regex engine skip, in C, the many positions that no
# branch can start at; it matches exactly what the branches match.
_BOUNDARY = re.compile(r"(?=[.!?;\n:\s])(?:[.!?]+(?=\s)|[;\n]+|\s[-\u2013]\s|:(?=\s*\n))")
_ABBREVIATION = re.compile(r"\b(?:dr|mr|mrs|ms|vs|pt|hx|st|approx|e\.g|i\.e)$", re.I)


def _wrap(alternation: str, kind: Kind, category: Category | None) -> str:
    pattern = rf"(?<![\w/])(?:{alternation})(?![\w/])"
    if kind == Kind.TERMINATE and category == Category.NEGATED:
        pattern += r"|(?<=\s)\+(?=\w)"  # "no SOB, +CP": a plus sign asserts what follows
    return pattern


# Signs the word scanner cannot see: "+CP" asserts what follows; "-ve for" negates a list
# after it, a bare "-ve" the phrase before it ("troponin -ve"); "+ve" asserts. Looked for
# only in the few sentences that hold a "+" or a "-ve".
_SIGNS = re.compile(r"(?<!\S)(?:-ve(?:\s+for)?(?![\w/])|\+(?=\w))", re.I)


@dataclass(frozen=True)
class _Scanner:
    """One pattern for every phrase, pseudo-triggers first, then the longest, so the phrase
    that should win is the one that matches. It is matched on lower-cased text without
    IGNORECASE and factored by first letter ("n(?:o longer|ot|o)|d(?:enies|...)"), so the
    regex engine rejects most positions and most alternatives on one character, in C.
    `ignorecase` is the same for the rare text that lower-casing would change in length."""

    folded: re.Pattern[str]
    ignorecase: re.Pattern[str]
    entries: list[tuple[re.Pattern[str], Kind, Category | None]]


@cache
def _compiled() -> _Scanner:
    entries = []
    alternatives = []
    for phrases, kind, category in LEXICON:
        spaced = [p.replace(" ", r"\s+") for p in phrases]
        entries.append((re.compile(_wrap("|".join(spaced), kind, category), re.I), kind, category))
        for phrase in phrases:
            alternatives += [
                (kind != Kind.PSEUDO, -len(x), x.replace(" ", r"\s+")) for x in _expand(phrase)
            ]
    alternatives.sort(key=lambda a: (a[0], a[1]))
    groups: dict[str, list[str]] = {}
    for _, _, phrase in alternatives:
        letter = _first_letter(phrase)
        groups.setdefault(letter, []).append(phrase[1:] if letter else phrase)
    misc = groups.pop("", [])
    factored = [f"{letter}(?:{'|'.join(rest)})" for letter, rest in groups.items()]
    source = rf"(?<![\w/])(?:{'|'.join(factored + misc)})(?![\w/])"
    return _Scanner(folded=re.compile(source), ignorecase=re.compile(source, re.I), entries=entries)


@cache
def _owners(phrase: str) -> tuple[tuple[Kind, Category | None, int, int], ...]:
    """The lexicon entries a matched phrase belongs to, with each category's bit and how
    far the phrase reaches forward; pseudo-triggers hide the rest."""
    scope = (
        _BARE_NOT_SCOPE
        if _BARE_NOT.fullmatch(phrase)
        else _LIST
        if _LIST_TRIGGER.fullmatch(phrase)
        else _PHRASE
    )
    owners = [
        (kind, category, 15 if category is None else _BIT[category], scope)
        for pattern, kind, category in _compiled().entries
        if pattern.fullmatch(phrase)
    ]
    if any(kind == Kind.PSEUDO for kind, _, _, _ in owners):
        owners = [owner for owner in owners if owner[0] == Kind.PSEUDO]
    return tuple(owners)


_SIGN_OWNERS = {
    "+": ((Kind.TERMINATE, Category.NEGATED, 1, _PHRASE),),
    "-ve for": ((Kind.FORWARD, Category.NEGATED, 1, _LIST),),
    "-ve": ((Kind.BACKWARD, Category.NEGATED, 1, _PHRASE),),
}


@cache
def _phrase_owners(raw: str) -> tuple[tuple[Kind, Category | None, int, int], ...]:
    """`_owners` of a phrase as matched, lower-cased; whitespace is folded here, once."""
    phrase = " ".join(raw.split())
    return _SIGN_OWNERS.get(phrase) or _owners(phrase)


def find_triggers(sentence: str, offset: int = 0) -> list[Trigger]:
    """Every trigger in the sentence, left to right; at one place the longest phrase wins."""
    scanner = _compiled()
    lowered = sentence.lower()
    folded = len(lowered) == len(sentence)  # nearly always: offsets in one are in both
    pattern, subject = (scanner.folded, lowered) if folded else (scanner.ignorecase, sentence)
    matches = list(pattern.finditer(subject))
    if "+" in lowered or "-ve" in lowered:
        matches += _SIGNS.finditer(subject)
        matches.sort(key=lambda m: m.start())
    found = []
    new = Trigger.__new__
    for match in matches:
        start, end = match.span()
        raw = match.group() if folded else match.group().lower()
        if raw == "reported" and _list_item_start(sentence, start):
            continue  # "denies fever, reported weight loss": a list item, not a new clause
        text = sentence[start:end]
        for kind, category, bit, scope in _phrase_owners(raw):
            found.append(
                new(Trigger, text, offset + start, offset + end, kind, category, bit, scope)
            )
    return found


def _list_item_start(sentence: str, at: int) -> bool:
    """Whether `at` opens a list item: a comma, or "no", "any", "self-" just before it."""
    before = sentence[:at].rstrip().lower()
    return before.endswith((",", " no", " any", "self-")) or before in ("no", "any")


def _commas(text: str, left: int, right: int) -> list[int]:
    found, at = [], text.find(",", left, right)
    while at >= 0:
        found.append(at)
        at = text.find(",", at + 1, right)
    return found


def _short_items(text: str, start: int, stop: int) -> bool:
    return all(len(item.split()) <= _LIST_ITEM_WORDS for item in text[start:stop].split(","))


def _list_reaches(text: str, commas: list[int], start: int, end: int, right: int) -> bool:
    """Whether every list item after the trigger's own, up to and including the target's,
    is a list item and not a new clause. `commas` are those after the trigger."""
    stop = next((c for c in commas if c >= end), right)
    for i, comma in enumerate(commas):
        if comma >= start:
            break
        item_end = commas[i + 1] if i + 1 < len(commas) else right
        item_end = min(item_end, stop)
        if _NEW_CLAUSE_START.match(text, comma + 1, item_end) or _NEW_CLAUSE.search(
            text, comma + 1, item_end
        ):
            return False
    return True


def _reaches(
    text: str, trigger: Trigger, start: int, end: int, commas: list[int], right: int
) -> bool:
    """Whether a scope trigger's scope can reach the target across what lies between."""
    if trigger.kind is Kind.BACKWARD:
        return not any(end <= c < trigger.start for c in commas)
    if trigger.kind is not Kind.FORWARD:
        return True  # terminators and pseudo-triggers apply wherever they are
    if trigger.scope == _BARE_NOT_SCOPE:
        between = text[trigger.end : start]
        return "," not in between and len(between.split()) <= _BARE_NOT_WORDS
    if not any(trigger.end <= c < start for c in commas):
        return True
    if trigger.scope == _LIST:
        after = [c for c in commas if c >= trigger.end]
        return _list_reaches(text, after, start, end, right)
    # Any other trigger crosses commas only in a list closed by "or"/"nor" that holds the
    # target ("no facial droop, slurred speech, or arm drift"), never into a new phrase
    # ("Previously healthy 58M, crushing chest pain").
    item_start = max(c for c in commas if c < start) + 1  # the target's own list item
    closing = _LIST_CLOSE.search(text, item_start, right)
    if closing is None:
        return False
    stop = next((c for c in commas if c >= max(closing.end(), end)), right)
    return _short_items(text, trigger.end, stop)


class ContextDocument:
    """One text, split into sentences once and each sentence scanned for triggers once, so
    that every target in it shares that work. `assess_context` keeps the last few."""

    __slots__ = ("_ends", "_sentences", "_starts", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        starts, ends = [], []
        for match in _BOUNDARY.finditer(text):
            if match.group(0) == "." and _ABBREVIATION.search(
                text, max(0, match.start() - 8), match.start()
            ):
                continue  # "Dr. Lee", "hx. of"
            starts.append(match.start())
            ends.append(match.end())
        self._starts, self._ends = starts, ends
        self._sentences: dict[tuple[int, int], tuple[list[Trigger], list[int]]] = {}

    def sentence(self, start: int, end: int) -> tuple[int, int]:
        """Bounds of the sentence or clause holding the target."""
        if not self._starts:  # one sentence: most short texts
            return 0, len(self.text)
        i = bisect_right(self._ends, start) - 1
        j = bisect_left(self._starts, end)
        left = self._ends[i] if i >= 0 else 0
        right = self._starts[j] if j < len(self._starts) else len(self.text)
        return left, right

    def assess(self, start: int, end: int) -> ContextResult:
        """ConText properties of the target `text[start:end]`, with the deciding triggers."""
        text = self.text
        if not 0 <= start <= end <= len(text):
            raise ValueError(f"target span {start}:{end} is outside the text (length {len(text)})")
        left, right = self.sentence(start, end)
        scanned = self._sentences.get((left, right))  # each sentence is scanned once
        if scanned is None:
            scanned = self._sentences[(left, right)] = (
                find_triggers(text[left:right], left),
                _commas(text, left, right),
            )
        triggers, commas = scanned
        seizure = _SEIZURE.fullmatch(text, start, end) is not None
        if not (triggers or seizure):
            return _UNDECIDED
        # Walk away from the target on each side; per category, the first scoped trigger
        # met before a terminator of that category decides it. Backward triggers after the
        # target first; then the nearer, forward-scoped ones before it, which win.
        decided: dict[int, Trigger] = {}
        for scope_kind, side in (
            (Kind.BACKWARD, [t for t in triggers if t.start >= end]),
            (Kind.FORWARD, [t for t in reversed(triggers) if t.end <= start]),
        ):
            open_ = 15  # one bit per category still open
            for trigger in side:
                if trigger.kind is Kind.TERMINATE:
                    open_ &= ~trigger.bit
                elif (
                    trigger.kind is scope_kind
                    and open_ & trigger.bit
                    and _reaches(text, trigger, start, end, commas, right)
                ):
                    decided[trigger.bit] = trigger
                    open_ &= ~trigger.bit
                if not open_:
                    break
        historical = decided.get(2)
        if historical is not None:
            comma = text.find(",", end, right)
            if _PRESENT_TIME.search(text, end, right if comma < 0 else comma):
                historical = None
        elif seizure:
            historical = self._postictal(start, end, left, right, commas)
        family = decided.get(8)
        if family is not None:
            historical = None  # "historical" is the patient's own past; a relative's is family
        negated = decided.get(1)
        if negated is not None and historical is not None and _GONE_RE.fullmatch(negated.text):
            negated = None  # "a headache 2 years ago that resolved": history, not a denial
        hypothetical = decided.get(4)
        return ContextResult(
            negated is not None,
            historical is not None,
            hypothetical is not None,
            family is not None,
            None if negated is None else negated.text,
            None if historical is None else historical.text,
            None if hypothetical is None else hypothetical.text,
            None if family is None else family.text,
        )

    def _postictal(
        self, start: int, end: int, left: int, right: int, commas: list[int]
    ) -> Trigger | None:
        """A "post-ictal" or "post seizure" in the sentence: the seizure is over, unless its
        own phrase says it is going on ("post-ictal, then seizing again")."""
        match = _POSTICTAL.search(self.text, left, right)
        if match is None:
            return None
        item_left = max((c + 1 for c in commas if c < start), default=left)
        item_right = next((c for c in commas if c >= end), right)
        item = self.text[item_left:item_right]
        if _ONGOING.search(item) or _PRESENT_TIME.search(item):
            return None
        bit = _BIT[Category.HISTORICAL]
        return Trigger(
            match.group(0), match.start(), match.end(), Kind.FORWARD, Category.HISTORICAL, bit
        )


_UNDECIDED = ContextResult(negated=False, historical=False, hypothetical=False, family=False)


@lru_cache(maxsize=16)
def context_document(text: str) -> ContextDocument:
    """The `ContextDocument` of `text`, kept for the next target in the same text."""
    return ContextDocument(text)


def assess_context(text: str, start: int, end: int) -> ContextResult:
    """ConText properties of the target `text[start:end]`, with the deciding triggers."""
    return context_document(text).assess(start, end)
