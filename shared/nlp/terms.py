"""Patterns for lexicon terms: words in any case, abbreviations exactly as written."""

from __future__ import annotations

import re


def term_pattern(words: str, abbreviations: tuple[str, ...] = ()) -> re.Pattern[str]:
    """`words` (a regex) in any case; `abbreviations` case-sensitive ("SI" is suicidal
    ideation, "si" in "sinus" is not); both only as whole terms."""
    alternatives = [f"(?i:{words})", *abbreviations]
    return re.compile(rf"(?<![\w/])(?:{'|'.join(alternatives)})(?![\w/])")
