"""Prompts over the context limit: never cut in the middle of clinical data.

Policy `note-head-tail-v1` (MEDTRIAGE_MODEL_LONG_NOTE=shorten, the default): everything but
the free-text note stays whole (age, sex, chief complaint, the structured vital signs, the
rule engine's level and findings, which it read from the whole note). The note keeps its
head (three fifths of what fits) and its tail (the rest), cut between words, with an
explicit `[... N words omitted ...]` marker where words were left out, as many words as fit.
Room is kept for the repair instruction, so a repair attempt fits too.
With `skip`, or when the prompt does not fit even with the note left out altogether, the
model step is skipped: the engine's result stands and records why.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

POLICY = "note-head-tail-v1"
MARKER = "[... {n} words omitted ...]"
HEAD_SHARE = 0.6
WORD = re.compile(r"\S+")

Messages = list[dict[str, Any]]


@dataclass(frozen=True)
class Fitted:
    """The prompt to send (None: skip the model step, `reason` says why) and what was done."""

    messages: Messages | None
    note: str
    tokens: int  # the full prompt's length, before any shortening
    limit: int
    words_omitted: int = 0
    reason: str = ""

    def record(self) -> dict[str, Any] | None:
        """What a result stores about it; None when the prompt was sent whole."""
        if self.messages is not None and not self.words_omitted:
            return None
        return {
            "policy": POLICY,
            "prompt_tokens": self.tokens,
            "limit": self.limit,
            "words_omitted": self.words_omitted,
            "skipped": self.messages is None,
        }


def shorten(note: str, keep: int) -> tuple[str, int]:
    """The note's first and last words (`keep` in all) around the marker; original spacing
    kept on each side. Returns the text and how many words were left out."""
    words = list(WORD.finditer(note))
    if keep >= len(words):
        return note, 0
    head = math.ceil(keep * HEAD_SHARE)
    tail = keep - head
    omitted = len(words) - keep
    parts = [note[: words[head - 1].end()]] if head else []
    parts.append(MARKER.format(n=omitted))
    if tail:
        parts.append(note[words[len(words) - tail].start() :])
    return " ".join(parts), omitted


def fit(
    note: str,
    build: Callable[[str, bool], Messages],
    count: Callable[[Messages], int],
    limit: int,
    mode: str = "shorten",
) -> Fitted:
    """The longest prompt within `limit` tokens under the policy above.

    `build(note, repair)` makes the prompt with that note (repair: with the longest repair
    instruction, which must fit too); `count` gives a prompt's length in tokens."""
    full = build(note, False)
    tokens = count(full)
    if count(build(note, True)) <= limit:
        return Fitted(full, note, tokens, limit)
    if mode == "skip":
        return Fitted(None, note, tokens, limit, reason=_too_long(tokens, limit, "skip"))
    words = len(WORD.findall(note))
    empty, omitted = shorten(note, 0)
    if count(build(empty, True)) > limit:
        return Fitted(None, note, tokens, limit, reason=_too_long(tokens, limit, "no note"))
    # A word is at least one token: no more than `limit` words can fit. Bisect the count.
    low, high = 0, min(words - 1, limit)
    while low < high:
        middle = (low + high + 1) // 2
        if count(build(shorten(note, middle)[0], True)) <= limit:
            low = middle
        else:
            high = middle - 1
    short, omitted = shorten(note, low)
    return Fitted(build(short, False), short, tokens, limit, words_omitted=omitted)


def _too_long(tokens: int, limit: int, why: str) -> str:
    because = {
        "skip": "MEDTRIAGE_MODEL_LONG_NOTE=skip",
        "no note": "too long even with the note left out",
    }[why]
    return f"prompt of {tokens} tokens over the limit of {limit} ({because}): model step skipped"


def estimate_tokens(messages: Messages) -> int:
    """For a backend without a local tokenizer (a server): about 3 bytes a token, which
    over-counts English for Gemma's tokenizer (about 4), so the estimate errs long."""
    text = "".join(
        part.get("text", "") if isinstance(part, dict) else str(part)
        for message in messages
        for part in (
            message["content"] if isinstance(message["content"], list) else [message["content"]]
        )
    )
    return len(text.encode()) // 3 + 16
