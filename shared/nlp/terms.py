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
