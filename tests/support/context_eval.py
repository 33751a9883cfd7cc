"""Scoring a ConText classifier against the hand-annotated sentences in tests/data.

Each line of ``tests/data/context_sentences.jsonl`` is one JSON object::

    {"id": "n001", "text": "Pt denies chest pain.", "target": "chest pain",
     "negated": true, "historical": false, "hypothetical": false, "family": false,
     "note": "optional short reason"}

- ``target`` occurs in ``text`` exactly (case-sensitive). When it occurs more than once,
  ``"occurrence": k`` (0-based, counting every start position left to right) says which.
- Labels describe the target for *this patient now*: "return if chest pain" is hypothetical
  and not negated; "hx of seizures, had a seizure today" (second mention) is affirmed.
  ``historical`` is about the patient's own past only, so "mother had a stroke" and
  "family history of stroke" are family but not historical.
- ``"pseudo": true`` marks a sentence whose trigger-looking phrase must not change the
  target ("no increase in chest pain", "gram negative", "not ruled out", "poor historian",
  "family history non-contributory"); absent means false.
- The id's letter says which part of the set the sentence was written for:
  ``a`` affirmed, ``n`` negated, ``p`` pseudo-triggers, ``t`` termination, ``h`` historical,
  ``y`` hypothetical, ``f`` family or someone else, ``c`` combinations,
  ``m`` misspellings and odd casing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

DATA_PATH = Path(__file__).resolve().parent.parent / "data" / "context_sentences.jsonl"
PROPERTIES: tuple[str, ...] = ("negated", "historical", "hypothetical", "family")


def target_starts(text: str, target: str) -> list[int]:
    """Every start position of ``target`` in ``text``, left to right (overlaps included)."""
    starts: list[int] = []
    i = text.find(target)
    while i != -1:
        starts.append(i)
        i = text.find(target, i + 1)
    return starts


def load_sentences(path: str | Path | None = None) -> list[dict[str, Any]]:
    """The annotated sentences, each with ``start`` and ``end`` of its target added."""
    path = Path(path) if path is not None else DATA_PATH
    sentences: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            text, target = row["text"], row["target"]
            starts = target_starts(text, target)
            assert starts, f"line {lineno} ({row.get('id')}): {target!r} not in {text!r}"
            k = row.get("occurrence", 0)
            assert 0 <= k < len(starts), (
                f"line {lineno} ({row.get('id')}): occurrence {k} of {target!r}, "
                f"but it occurs {len(starts)} time(s)"
            )
            row["start"] = starts[k]
            row["end"] = starts[k] + len(target)
            sentences.append(row)
    return sentences


def _ratio(num: float, den: float) -> float:
    return num / den if den else 0.0


def evaluate(
    classify: Callable[[str, int, int], Any], sentences: list[dict[str, Any]]
) -> dict[str, dict[str, float]]:
    """Per-property precision, recall and F1 (with tp/fp/fn/tn), and overall accuracy.

    ``classify(text, start, end)`` returns an object whose boolean attributes ``negated``,
    ``historical``, ``hypothetical`` and ``family`` describe the span ``text[start:end]``.
    A ratio with a zero denominator is 0.0. ``scores["overall"]`` holds ``accuracy`` (all
    four properties right), ``correct`` and ``total``.
    """
    counts = {p: {"tp": 0, "fp": 0, "fn": 0, "tn": 0} for p in PROPERTIES}
    correct = 0
    for s in sentences:
        result = classify(s["text"], s["start"], s["end"])
        all_right = True
        for prop in PROPERTIES:
            gold = bool(s[prop])
            pred = bool(getattr(result, prop))
            key = ("tp" if gold else "fp") if pred else ("fn" if gold else "tn")
            counts[prop][key] += 1
            all_right = all_right and gold == pred
        correct += all_right

    scores: dict[str, dict[str, float]] = {}
    for prop, c in counts.items():
        precision = _ratio(c["tp"], c["tp"] + c["fp"])
        recall = _ratio(c["tp"], c["tp"] + c["fn"])
        scores[prop] = {
            **c,
            "precision": precision,
            "recall": recall,
            "f1": _ratio(2 * precision * recall, precision + recall),
        }
    scores["overall"] = {
        "accuracy": _ratio(correct, len(sentences)),
        "correct": correct,
        "total": len(sentences),
    }
    return scores


def format_report(scores: dict[str, dict[str, float]]) -> str:
    """A small aligned table of the scores from :func:`evaluate`."""
    header = f"{'property':<13}{'tp':>5}{'fp':>5}{'fn':>5}{'prec':>8}{'recall':>8}{'f1':>8}"
    lines = [header, "-" * len(header)]
    for prop in PROPERTIES:
        if prop not in scores:
            continue
        s = scores[prop]
        lines.append(
            f"{prop:<13}{int(s['tp']):>5}{int(s['fp']):>5}{int(s['fn']):>5}"
            f"{s['precision']:>8.3f}{s['recall']:>8.3f}{s['f1']:>8.3f}"
        )
    if "overall" in scores:
        o = scores["overall"]
        lines.append("-" * len(header))
        lines.append(
            f"{'all four':<13}{'':>15}{o['accuracy']:>8.3f}"
            f"  ({int(o['correct'])}/{int(o['total'])} right)"
        )
    return "\n".join(lines)
