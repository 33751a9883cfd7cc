"""Patterns for lexicon terms: words in any case, abbreviations exactly as written."""

from __future__ import annotations

import re


def term_pattern(words: str, abbreviations: tuple[str, ...] = ()) -> re.Pattern[str]:
    """`words` (a regex) in any case; `abbreviations` case-sensitive ("SI" is suicidal
    ideation, "si" in "sinus" is not); both only as whole terms."""
    alternatives = [f"(?i:{words})", *abbreviations]
    return re.compile(rf"(?<![\w/])(?:{'|'.join(alternatives)})(?![\w/])")


def split_alternatives(pattern: str) -> list[str]:
    """Split a regular expression on its top-level alternation bars."""
    parts, depth, current = [], 0, ""
    for char in pattern:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "|" and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]


def expand_alternatives(phrase: str) -> list[str]:
    """Rewrite alternations at the start of a phrase into separate phrases, so that each
    can be filed under its first letter ("(?:was|is) absent" -> "was absent", "is absent")."""
    parts = split_alternatives(phrase)
    if len(parts) > 1:
        return [x for part in parts for x in expand_alternatives(part)]
    if not phrase.startswith("(?:"):
        return [phrase]
    depth, close = 0, 0
    for close, char in enumerate(phrase):  # noqa: B007 - close is read after the loop
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            break
    inner, rest = phrase[3:close], phrase[close + 1 :]
    optional = rest.startswith("?")
    rest = rest[1:] if optional else rest
    if rest[:1] in ("*", "+", "{"):
        return [phrase]
    out = [x for alt in split_alternatives(inner) for x in expand_alternatives(alt + rest)]
    return out + expand_alternatives(rest.lstrip()) if optional and rest.strip() else out


def first_letter(phrase: str) -> str:
    """The letter every match of `phrase` starts with, or "" when that is not certain."""
    first = phrase[0].lower()
    optional = len(phrase) > 1 and phrase[1] in "?*+{"
    return (
        first if first.isalpha() and not optional and len(split_alternatives(phrase)) == 1 else ""
    )


# Abbreviations of two or more capitals joined by slashes: "SI/HI", "CP/SOB", "ETOH/SI".
# (Single letters stay joined: "N/V", "H/A", "A/O" are abbreviations of their own.)
_ABBREVIATION_LIST = re.compile(r"(?<![\w/])[A-Z]{2,6}(?:/[A-Z]{2,6})+(?![\w/])")


def split_abbreviation_lists(text: str) -> str:
    """ "SI/HI" -> "SI HI": each abbreviation of a slash-joined list becomes a term of its own
    (term patterns treat a slash as part of a word, so that "s/p" or "120/80" stay whole).
    Same length, so every offset into the result is an offset into `text`."""
    if "/" not in text:
        return text
    return _ABBREVIATION_LIST.sub(lambda m: m.group(0).replace("/", " "), text)


_LETTERS = re.compile(r"(?<![\w/])[A-Za-z][a-z]{1,5}(?![\w/])")


def restore_abbreviation_case(text: str, abbreviations: frozenset[str]) -> str:
    """ "Ams" or "ams" -> "AMS" when the capitals are a known abbreviation: some triage
    systems title-case or lower-case the chief complaint, and abbreviations are matched as
    written ("SI" is suicidal ideation, "si" in "sinus" is not). For the chief complaint only,
    a short field; same length."""
    return _LETTERS.sub(
        lambda m: m.group(0).upper() if m.group(0).upper() in abbreviations else m.group(0), text
    )
