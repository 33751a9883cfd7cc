"""Layer 1, language framing: diagnostic and absolutely certain wording becomes assistive.

`frame(text)` rewrites a model's (or a template's) sentences: "diagnosed with X" becomes
"clinical history includes X", "he has pneumonia" becomes "findings may be consistent with
pneumonia", "the ECG confirms a STEMI" becomes "the ECG may be consistent with a STEMI", and
absolute certainty ("definitely", "without doubt", "100% certain") goes. Words in quotation
marks (the note's own words) and any `keep` strings are left exactly as written, and nothing
is rewritten inside a negation ("was never diagnosed with", "does not have"): denying a
diagnosis is not making one. Rewriting twice changes nothing more.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from shared.safety.lexicon import ACUTE_DIAGNOSIS, DIAGNOSIS

Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]

_I = re.IGNORECASE
# Quotations: straight or curly double quotes; single quotes only as a pair around words
# (an apostrophe inside "patient's" is not a quotation mark).
_QUOTED = re.compile(
    r"\"[^\"\n]*\"|\u201c[^\u201d\n]*\u201d|\u2018[^\u2019\n]*\u2019|(?<![\w'])'[^'\n]+'(?![\w'])"
)
_MASK = "\ue000{}\ue001"
_MASKED = re.compile("\ue000(\\d+)\ue001")
# A negation earlier in the same clause: leave the clause alone.
_NEGATED_BEFORE = re.compile(
    r"\b(?:not|never|no|neither|nor|without|denies|denied|cannot)\b[^.;:!?\n]*$|n't\b[^.;:!?\n]*$",
    _I,
)
_SUBJECT = (
    r"(?P<subj>\b(?:he|she|they|who|(?:the\s+)?(?:patient|pt)|"
    r"(?:this|the|a)\s+\d+[- ](?:year|month|week)[- ]old(?:\s+(?:man|woman|male|female|boy|"
    r"girl|child|infant|baby|gentleman|lady|patient))?)\s+)"
)
_POSSESSIVE = {"he": "his", "she": "her", "they": "their", "who": "whose"}
_PRONOUN = re.compile(r"(?:he|she|they|(?:the\s+)?(?:patient|pt))", _I)


def _starts_sentence(text: str, at: int) -> bool:
    before = text[:at].rstrip()
    return not before or before[-1] in ".!?\n:"


def _negated(m: re.Match[str]) -> bool:
    before = m.string[max(0, m.start() - 60) : m.start()]
    return _NEGATED_BEFORE.search(before) is not None


def _cap(text: str, m: re.Match[str]) -> str:
    if text and _starts_sentence(m.string, m.start()):
        return text[0].upper() + text[1:]
    return text


def _possessive(subject: str | None) -> str:
    if not subject:
        return ""
    word = subject.strip()
    lower = word.lower()
    if lower in _POSSESSIVE:
        return _POSSESSIVE[lower] + " "
    return word + "'s "


def _diagnosed(m: re.Match[str]) -> str:
    if _negated(m):
        return m.group(0)
    adjective = {"recently": "recent ", "newly": "new "}.get((m.group("adv") or "").strip().lower())
    subject = _possessive(m.group("subj"))
    return _cap(f"{subject}clinical history includes {adjective or ''}", m)


def _had(m: re.Match[str]) -> str:
    if _negated(m):
        return m.group(0)
    return _cap(f"{_possessive(m.group('subj'))}clinical history includes {m.group('rest')}", m)


def _asserted(m: re.Match[str]) -> str:
    """ "has pneumonia", "is having an MI", "is suffering from sepsis"."""
    before = m.string[max(0, m.start() - 20) : m.start()].lower()
    if _negated(m) or re.search(r"(?:consistent|keeping|suggestive)\s*$", before):
        return m.group(0)
    what, subject = m.group("what"), m.group("subj")
    verb = re.sub(r"\s+", " ", m.group("verb").lower())
    if verb in ("with", "presents with", "presenting with", "suffering from"):
        lead = {"presents with": "presents ", "presenting with": "presenting "}.get(verb, "")
        return f"{subject or ''}{lead}with findings that may be consistent with {what}"
    if subject is None:
        return f"has findings that may be consistent with {what}"
    who = subject.strip()
    if who.lower() == "who":
        return f"who has findings that may be consistent with {what}"
    if _PRONOUN.fullmatch(who):
        return _cap(f"findings may be consistent with {what}", m)
    return _cap(f"in {who[0].lower()}{who[1:]}, findings may be consistent with {what}", m)


def _guarded(replacement: str) -> Callable[[re.Match[str]], str]:
    def replace(m: re.Match[str]) -> str:
        if _negated(m):
            return m.group(0)
        return _cap(m.expand(replacement), m)

    return replace


def _removed(m: re.Match[str]) -> str:
    return ""


_DX = rf"(?P<what>(?:(?:a|an|the|acute|an\s+acute|new|ongoing|active|severe|early)\s+)*{DIAGNOSIS})"
_ACUTE_DX = (
    rf"(?P<what>(?:(?:a|an|the|acute|an\s+acute|new|ongoing|active|severe|early)\s+)*"
    rf"{ACUTE_DIAGNOSIS})"
)
_BE = r"(?:is|are|was|were|has\s+been|have\s+been)"
_AFTER_NOT = r"(?<!\bnot\s)(?<!n't\s)(?<!\bnot\s\s)"

RULES: list[tuple[str, Rule]] = [
    # Absolute certainty, removed.
    ("certain that", (re.compile(
        r"\b(?:it\s+is|it's)\s+(?:absolutely\s+|completely\s+|quite\s+|very\s+)?(?:certain|clear|"
        r"definite|obvious|evident|undeniable|beyond\s+(?:any\s+)?doubt)\s+that\s+|"
        r"\bthere\s+is\s+(?:no|little)\s+(?:doubt|question)\s+that\s+|"
        r"\b(?:I\s+am|I'm|we\s+are|we're)\s+(?:100\s?%\s+|absolutely\s+|completely\s+|quite\s+)?"
        r"(?:certain|sure|confident)\s+(?:that\s+)?", _I), _removed)),
    ("without doubt", (re.compile(
        r"\b(?:without\s+(?:a|any)\s+doubt|beyond\s+(?:any|a|all)\s+(?:reasonable\s+)?doubt|"
        r"with\s+(?:absolute\s+|complete\s+|total\s+|100\s?%\s+)?certainty|for\s+certain|"
        r"for\s+sure|no\s+doubt)\b,?\s*", _I), _removed)),
    ("certainty adverbs", (re.compile(
        _AFTER_NOT + r"\b(?:definitely|certainly|clearly|undoubtedly|unequivocally|absolutely|"
        r"obviously|surely|conclusively|definitively|unquestionably|indisputably|undeniably|"
        r"categorically)\b,?\s*", _I), _removed)),
    ("100 percent", (re.compile(
        r"\b100\s?%\s+(?=(?:a|an|the)\s|(?:consistent|diagnostic|typical|certain|sure|"
        r"confirmed|likely)\b)", _I), _removed)),
    ("is certain", (re.compile(
        rf"\b(?P<be>{_BE})\s+(?:100\s?%\s+)?(?:certain|definite|conclusive|beyond\s+doubt|"
        r"established|proven)\b", _I), _guarded(r"\g<be> possible, not confirmed"))),
    # Diagnostic wording, made assistive.
    ("diagnosed with", (re.compile(
        rf"{_SUBJECT}?(?:(?:was|were|is|has\s+been|had\s+been|have\s+been)\s+)?"
        r"(?P<adv>(?:recently|previously|newly|already|formally)\s+)?"
        r"diagnosed\s+(?:with|as\s+having|as)\s+", _I), _diagnosed)),
    ("has had", (re.compile(
        rf"{_SUBJECT}?(?:has|have)\s+had\s+(?P<rest>{_DX})", _I), _had)),
    ("patient confirms", (re.compile(
        r"(?P<who>\b(?:he|she|they|(?:the\s+)?(?:patient|pt)|mother|father|parents?|family|"
        r"wife|husband|partner)\s+)confirms\b", _I), lambda m: f"{m.group('who')}reports")),
    ("confirms that", (re.compile(
        r"\b(?:confirms|confirmed|proves|proved|establishes|established)\s+that\b", _I),
        _guarded("suggests that"))),
    ("confirms", (re.compile(
        r"\b(?:confirms|proves|establishes|is\s+diagnostic\s+of|is\s+pathognomonic\s+(?:of|for))"
        r"\s+(?:(?:the|a)\s+diagnosis\s+of\s+)?", _I), _guarded("may be consistent with "))),
    ("confirming", (re.compile(
        r"\bconfirming\s+(?:(?:the|a)\s+diagnosis\s+of\s+)?", _I),
        _guarded("possibly consistent with "))),
    ("is confirmed", (re.compile(rf"\b(?P<be>{_BE})\s+confirmed\b", _I),
                      _guarded(r"\g<be> suggested"))),
    ("confirmed diagnosis", (re.compile(rf"\bconfirmed\s+(?=(?:diagnosis\b|{DIAGNOSIS}))", _I),
                             _guarded("possible "))),
    ("the diagnosis is", (re.compile(
        r"\b(?:the\s+|a\s+)?(?:(?:most\s+)?likely\s+|probable\s+|working\s+|final\s+|definitive\s+|"
        r"primary\s+|clinical\s+|presumptive\s+)?diagnosis(?:\s*:|\s+is)\s+"
        r"(?!possible|uncertain|unclear|unknown|not\b|likely\b|open\b)", _I),
        _guarded("findings may be consistent with "))),
    ("diagnosis of", (re.compile(
        r"(?P<lead>\b(?:consistent\s+with|suggest(?:s|ive\s+of)?|supports?|possible|probable)\s+)"
        r"(?:a\s+|the\s+)?diagnosis\s+of\s+", _I), lambda m: m.group("lead"))),
    ("has pneumonia", (re.compile(
        rf"{_SUBJECT}?(?:(?:likely|probably|most\s+likely|possibly)\s+)?"
        r"(?P<verb>has|have|is\s+having|is\s+suffering\s+from|suffers\s+from|suffering\s+from|"
        r"has\s+developed|is\s+developing|is\s+in|is\s+experiencing|presents\s+with|"
        rf"presenting\s+with|with)\s+{_ACUTE_DX}", _I), _asserted)),
    ("this is a STEMI", (re.compile(
        r"\b(?P<this>this|it|that|the\s+(?:clinical\s+)?(?:picture|presentation|history|story))\s+"
        r"(?:is|must\s+be|will\s+be|represents)\s+(?:(?:likely|probably)\s+)?"
        rf"{_DX}", _I), lambda m: m.group(0) if _negated(m) else
        f"{m.group('this')} may be consistent with {m.group('what')}")),
    ("is septic", (re.compile(
        r"\b(?:is|are|appears|looks)\s+(?:(?:likely|probably)\s+)?(?P<adj>septic|anaphylactic)\b"
        r"(?!\s+shock)", _I), lambda m: m.group(0) if _negated(m) else
        "has findings that may be consistent with "
        + {"septic": "sepsis", "anaphylactic": "anaphylaxis"}[m.group("adj").lower()])),
    ("is consistent with", (re.compile(
        rf"\b{_BE}\s+(?:highly\s+|entirely\s+|fully\s+|most\s+)?(?:consistent\s+with|classic\s+"
        r"(?:for|of)|typical\s+of|diagnostic\s+of|indicative\s+of|in\s+keeping\s+with|"
        r"characteristic\s+of|pathognomonic\s+(?:of|for))\b", _I),
        _guarded("may be consistent with"))),
    ("due to", (re.compile(
        r"(?<!possibly\s)\b(?P<why>secondary\s+to|due\s+to|caused\s+by|as\s+a\s+result\s+of)\s+"
        rf"(?={_DX})", _I), _guarded(r"possibly \g<why> "))),
    ("ruled out", (re.compile(rf"\b(?P<be>{_BE})\s+(?:now\s+)?(?:ruled\s+out|excluded)\b", _I),
                   _guarded(r"\g<be> considered less likely (not excluded)"))),
    ("rules out", (re.compile(rf"\brules\s+out\s+{_DX}", _I),
                   _guarded(r"may make \g<what> less likely"))),
]  # fmt: skip

_SPACES = re.compile(r"[ \t]{2,}")
_SPACE_BEFORE = re.compile(r"[ \t]+([,.;:!?])")


def _mask(text: str, keep: Iterable[str]) -> tuple[str, list[str]]:
    saved: list[str] = []

    def hide(words: str) -> str:
        saved.append(words)
        return _MASK.format(len(saved) - 1)

    for words in sorted({k for k in keep if k and k.strip()}, key=len, reverse=True):
        text = text.replace(words, hide(words))
    return _QUOTED.sub(lambda m: hide(m.group(0)), text), saved


def frame(text: str, keep: Iterable[str] = ()) -> str:
    """The text with diagnostic and absolutely certain wording made assistive."""
    masked, saved = _mask(text, keep)
    for _, (pattern, replace) in RULES:
        masked = pattern.sub(replace, masked)
    masked = _SPACE_BEFORE.sub(r"\1", _SPACES.sub(" ", masked)).strip()
    if masked and text.strip() and text.strip()[0].isupper() and masked[0].islower():
        masked = masked[0].upper() + masked[1:]
    return _MASKED.sub(lambda m: saved[int(m.group(1))], masked)


def rules_applied(text: str, keep: Iterable[str] = ()) -> list[str]:
    """The names of the rules that change this text (for tests and the audit trail)."""
    masked, _ = _mask(text, keep)
    names = []
    for name, (pattern, replace) in RULES:
        changed = pattern.sub(replace, masked)
        if changed != masked:
            names.append(name)
        masked = changed
    return names
