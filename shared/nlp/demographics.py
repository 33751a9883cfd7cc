"""Patient facts from free text, for when the typed fields are absent: age, sex, pregnancy.

Triage notes and published vignettes write them in many ways: "56-year-old", "9- year-old",
"3-month-old", "eight-year-old", "45 yo", "45 y/o", "72M", "F 34", "newborn"; "28 weeks
pregnant", "G2P1 at 32 weeks", "10 days post partum", "positive pregnancy test". Pure
regular expressions, compiled once at import. Pregnancy mentions go through ConText, so
"denies pregnancy", "previous ectopic pregnancy" and "her sister is pregnant" do not count.
"""

from __future__ import annotations

import re

from shared.nlp.context import assess_context
from shared.schemas import Sex

_DAYS_PER_YEAR = 365.25
_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_WORD_VALUES = {word: n for n, word in enumerate(_ONES)} | {
    word: 20 + 10 * n for n, word in enumerate(_TENS)
}
_WORD_NUMBER = (
    rf"(?:(?:{'|'.join(_TENS)})(?:[\s-]?(?:{'|'.join(_ONES[1:10])}))?|{'|'.join(_ONES)}|an?)"
)


def _number_group(name: str) -> str:
    return rf"(?P<{name}>\d{{1,3}}(?:\.\d)?|{_WORD_NUMBER})"


_N = _number_group("n")
_UNIT = r"(?P<u>years?|yrs?|months?|mos?|weeks?|wks?|days?)"
_DASH = r"\s*-?\s*"

# "56-year-old", "9- year-old", "27-year- old", "a 2 week old", "eight-year-old", "6 mo old"
_AGE_OLD = re.compile(rf"\b{_N}{_DASH}{_UNIT}{_DASH}old\b", re.IGNORECASE)
# "45 yo", "45yo", "45 y/o", "45 y.o.", "45 years of age", "6 m/o"
_AGE_YO = re.compile(
    rf"\b{_N}\s*(?:y\.?\s?o\b\.?|y/o\b|(?:yrs?|years?)\.?\s+of\s+age\b|(?P<u>m)\s*/\s*o\b)",
    re.IGNORECASE,
)
# "age 45", "aged 45", "Age: 3 months"
_AGE_LABEL = re.compile(rf"\bage[d:]?\s*:?\s*{_N}(?:\s*{_UNIT})?\b(?!\s*-?\s*old)", re.I)
# "3/12 old" (months), "2/52 old" (weeks), as UK notes write an infant's age
_AGE_FRACTION = re.compile(r"\b(?P<n>\d{1,2})/(?P<u>12|52)\s*(?:old|baby|infant)\b", re.I)
# "72M", "72 F", "F 34", "M/72": only at the start of the text, a line or a sentence, or
# after "pt"/"patient", and never after a temperature, so "T 99.1 F" is no age
_AGE_SEX = re.compile(
    r"(?:^|(?<!\d)[.;]\s+|\b(?:pt|patient)\s+)"
    r"(?:(?P<n>\d{1,3})\s?(?P<s>[MF])\b(?!\s*[°/])"
    r"|(?P<s2>[MF])\s?[/,]?\s?(?P<n2>\d{1,3})\b(?!\s*(?:°|%|mmhg|bpm|kg|lb|mg|/|\.\d)))",
    re.IGNORECASE | re.MULTILINE,
)
_TEMPERATURE_BEFORE = re.compile(r"(?:temp\w*|\bt)\W*$", re.IGNORECASE)
_NEWBORN = re.compile(r"\b(?:newborn|new-born|neonate)\b", re.IGNORECASE)
_AGE_PATTERNS = (_AGE_OLD, _AGE_YO, _AGE_LABEL, _AGE_FRACTION)


def _number(word: str) -> float | None:
    word = word.lower().replace("-", " ").strip()
    try:
        return float(word)
    except ValueError:
        pass
    if word in ("a", "an"):
        return 1.0
    parts = word.split()
    if parts and all(p in _WORD_VALUES for p in parts):
        return float(sum(_WORD_VALUES[p] for p in parts))
    return None


def _years(value: float, unit: str | None) -> float:
    unit = (unit or "year").lower()
    if unit.startswith(("w", "52")):
        return round(value * 7 / _DAYS_PER_YEAR, 4)
    if unit.startswith("d"):
        return round(value / _DAYS_PER_YEAR, 4)
    if unit.startswith(("m", "12")):
        return round(value / 12, 4)
    return value


def _age_matches(text: str) -> list[tuple[int, int, float]]:
    """(start, end, years) of every age written in `text`."""
    found: list[tuple[int, int, float]] = []
    for pattern in _AGE_PATTERNS:
        for m in pattern.finditer(text):
            value = _number(m.group("n"))
            if value is not None:
                found.append((m.start(), m.end(), _years(value, m.group("u"))))
    for m in _AGE_SEX.finditer(text):
        if not _TEMPERATURE_BEFORE.search(text[max(0, m.start() - 12) : m.start()]):
            found.append((m.start(), m.end(), float(m.group("n") or m.group("n2"))))
    found.extend((m.start(), m.end(), 0.0) for m in _NEWBORN.finditer(text))
    return sorted((f for f in found if 0 <= f[2] <= 120), key=lambda f: (f[0], -f[1]))


def read_age(text: str) -> float | None:
    """The patient's age in years (fractions under one) from the first age written, or None."""
    found = _age_matches(text)
    return found[0][2] if found else None


_FEMALE = r"female|woman|girl|lady|gravida"
_MALE = r"male|man|boy|gentleman|gent"
_SEX_NOUN = re.compile(rf"\b(?:(?P<f>{_FEMALE})|(?P<m>{_MALE}))\b", re.IGNORECASE)
# right after an age: "56-year-old obese male", "45 yo M", "72-year- old, female"
_AFTER_AGE = re.compile(
    rf"[\s,]*(?:(?P<f1>f)\b|(?P<m1>m)\b|(?:[a-z]+\s+){{0,3}}?(?:(?P<f>{_FEMALE})|(?P<m>{_MALE}))\b)",
    re.IGNORECASE,
)
_PRONOUN = re.compile(r"\b(?:(?P<f>she|her|hers|herself)|(?P<m>he|him|his|himself))\b", re.I)
_FEMALE_ONLY = re.compile(r"\b(?:pregnan\w*|G\d+\s*P\d+|post[\s-]?partum|vagina\w*)\b", re.I)


def _sex_of(m: re.Match[str]) -> Sex:
    groups = m.groupdict()
    return Sex.FEMALE if groups.get("f") or groups.get("f1") or groups.get("s") else Sex.MALE


def read_sex(text: str) -> Sex | None:
    """The patient's sex: a word next to the age ("72-year-old woman", "72M"), else the
    first sex noun, else female words (pregnant, G2P1), else the pronouns when they all
    agree; None when the text does not say."""
    for start, end, _ in _age_matches(text):
        short = _AGE_SEX.match(text, start)
        if short is not None and short.end() == end:
            letter = (short.group("s") or short.group("s2")).upper()
            return Sex.FEMALE if letter == "F" else Sex.MALE
        near = _AFTER_AGE.match(text, end)
        if near is not None:
            return Sex.FEMALE if near.group("f") or near.group("f1") else Sex.MALE
    noun = _SEX_NOUN.search(text)
    if noun is not None:
        return Sex.FEMALE if noun.group("f") else Sex.MALE
    if _FEMALE_ONLY.search(text):
        return Sex.FEMALE
    pronouns = {Sex.FEMALE if m.group("f") else Sex.MALE for m in _PRONOUN.finditer(text)}
    return pronouns.pop() if len(pronouns) == 1 else None


_POSTPARTUM_DAYS = 42  # "up to 6 weeks postpartum"
_LMP_DAYS_SUSPECT = 35  # a last period over five weeks ago is a missed period


def _span(k: str) -> str:
    """A duration, "10 days", "two wks", with numbered groups so one pattern can hold several."""
    return (
        rf"{_number_group('n' + k)}\s*-?\s*(?P<u{k}>days?|d|weeks?|wks?|w|months?|mos?|years?|yrs?)"
    )


_POSTPARTUM = re.compile(
    rf"\b(?:{_span('1')}\s*(?:post[\s-]?partum|pp|post[\s-]?(?:delivery|natal)|after\s+"
    rf"(?:delivery|giving\s+birth))"
    rf"|post[\s-]?partum\s+(?:day\s+(?P<day>\d{{1,3}})|{_span('2')})"
    rf"|(?:had\s+(?:a|her|my|the)\s+baby|gave\s+birth|delivered(?:\s+(?:a|her|my)\s+baby)?"
    rf"|(?:c-?section|caesarean|cesarean)(?:\s+section)?)\s+{_span('3')}\s+ago"
    r"|post[\s-]?partum)\b",
    re.IGNORECASE,
)
_ORDINAL = r"first|second|third|fourth|fifth|current|\d+(?:st|nd|rd|th)"
_PREGNANT = re.compile(
    r"\b(?:pregnant|gravid\b|\d{1,2}\s*(?:weeks?|wks?)\s*(?:'s?\s+)?gestation"
    r"|(?:first|second|third|1st|2nd|3rd)\s+trimester"
    r"|G\d+\s*P\d+\S*\s+(?:at\s+)?\d{1,2}\s*(?:\+\d\s*)?(?:weeks?|wks?|/40)"
    r"|(?:at|@)\s+\d{1,2}(?:\+\d)?/40\b|IUP\b"
    rf"|(?:this|current|my|her)\s+(?:(?:{_ORDINAL})\s+)?pregnancy\b(?!\s+test)"
    r"|(?:suspected|possible|early|ectopic)\s+pregnancy\b(?!\s+test))",
    re.IGNORECASE,
)
_PREGNANCY_WORD = re.compile(r"\bpregnan(?:t|cy)\b(?!\s+test)", re.IGNORECASE)
_TEST = r"(?:home\s+|urine\s+|serum\s+)?(?:pregnancy|preg|hcg|b-?hcg|beta-?hcg|upt)(?:\s+test)?"
_TEST_POSITIVE = re.compile(
    rf"(?:\bpositive|(?<!\w)\+ve?)\s*{_TEST}\b|\b{_TEST}\s*(?:was\s+|is\s+|:\s*)?"
    r"(?:positive\b|pos\b|\+ve?(?!\w))"
    r"|\bmissed\s+(?:her\s+|my\s+|a\s+)?(?:period|menses)\b"
    r"|\bperiods?\s+(?:is\s+|are\s+)?(?:\d+\s*(?:days?|weeks?)\s+)?(?:late|overdue)\b",
    re.IGNORECASE,
)
_TEST_NEGATIVE = re.compile(
    rf"(?:\bnegative|(?<!\w)-ve)\s*{_TEST}\b|\b{_TEST}\s*(?:was\s+|is\s+|:\s*)?"
    r"(?:negative\b|neg\b|-ve(?!\w))",
    re.IGNORECASE,
)
_LMP = re.compile(rf"\bLMP\s*:?\s*(?:was\s+)?(?:about\s+)?{_span('1')}\s+ago\b", re.I)
_EARLIER = re.compile(
    r"\b(?:previous|prior|past|last|earlier|former|old|history\s+of|hx\s+of|h/o)\s+(?:\w+\s+)?$",
    re.IGNORECASE,
)


def _days(m: re.Match[str]) -> float | None:
    """The duration a postpartum or LMP match gives, in days; None when it gives none."""
    groups = m.groupdict()
    if groups.get("day"):
        return float(groups["day"])
    for k in "123":
        if groups.get("n" + k):
            value = _number(groups["n" + k])
            if value is None:
                return None
            unit = groups["u" + k].lower()
            per = {"d": 1.0, "w": 7.0, "m": 30.44, "y": _DAYS_PER_YEAR}[unit[0]]
            return value * per
    return None


def _asserted(text: str, start: int, end: int) -> bool:
    ctx = assess_context(text, start, end)
    if ctx.negated or ctx.historical or ctx.hypothetical or ctx.family:
        return False
    return _EARLIER.search(text[max(0, start - 40) : start]) is None


# The words (lower-cased) each pattern above cannot match without: a pattern is tried only
# on a note holding one of its words, so a note that says nothing of pregnancy costs six
# substring checks, not six regex scans.
_POSTPARTUM_CUES = ("partum", "deliver", "natal", "birth", "baby", "section", "caesar", "cesar")
_PP = re.compile(r"pp\b", re.IGNORECASE)  # "3 days pp"; not the "pp" of "appendicitis"
_PREGNANT_CUES = ("preg", "gravid", "gestation", "trimester", "/40", "iup")
_TEST_CUES = ("preg", "hcg", "upt")
_TEST_POSITIVE_CUES = (*_TEST_CUES, "missed", "period")
_GRAVIDA = re.compile(r"\bG\d", re.IGNORECASE)  # "G2P1 at 12 weeks"


def _has(lowered: str, cues: tuple[str, ...]) -> bool:
    return any(cue in lowered for cue in cues)


def read_pregnancy(text: str) -> bool | None:
    """True for a current pregnancy (suspected included: a positive test, a missed period) or
    up to 6 weeks postpartum; False when the text rules it out (a negative test, "not
    pregnant", a delivery longer ago); None when it says nothing either way."""
    lowered = text.lower()
    ruled_out = False
    postpartum = _has(lowered, _POSTPARTUM_CUES) or _PP.search(text) is not None
    for m in _POSTPARTUM.finditer(text) if postpartum else ():
        if _asserted(text, m.start(), m.end()):
            days = _days(m)
            if days is None or days <= _POSTPARTUM_DAYS:
                return True
            ruled_out = True
    pregnant = _has(lowered, _PREGNANT_CUES) or _GRAVIDA.search(text) is not None
    for pattern, tried in (
        (_PREGNANT, pregnant),
        (_TEST_POSITIVE, _has(lowered, _TEST_POSITIVE_CUES)),
    ):
        for m in pattern.finditer(text) if tried else ():
            if _asserted(text, m.start(), m.end()):
                return True
    for m in _LMP.finditer(text) if "lmp" in lowered else ():
        days = _days(m)
        if days is not None and days >= _LMP_DAYS_SUSPECT:
            return True
    if _has(lowered, _TEST_CUES) and _TEST_NEGATIVE.search(text):
        return False
    for m in _PREGNANCY_WORD.finditer(text) if "preg" in lowered else ():
        if assess_context(text, m.start(), m.end()).negated:
            return False
    return False if ruled_out else None
