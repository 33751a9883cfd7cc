"""MACCROBAT 2020 (brat standoff) as negation targets, and negation scores on them.

The corpus lives beside the repo, in ``../shared/data/maccrobat2020/`` (see that folder's
README): per case report a ``.txt`` and an ``.ann``. An ``.ann`` names entity spans
(``T7<TAB>Sign_symptom 78 90<TAB>palpitations``), events on them
(``E4<TAB>Sign_symptom:T7``) and attributes of events (``A1<TAB>POLARITY E4 NEG``).

A target is a Sign_symptom or Disease_disorder span; it is negated when its event carries
``POLARITY NEG``. ``MAYBE_NEG`` (22 in the corpus) counts as not negated: the authors were
not sure, and neither should a triage engine be. A discontinuous span (``12 20;25 31``) is
taken from its first start to its last end.

    docs = load_maccrobat()
    scores = negation_scores(lambda text, start, end: assess_context(text, start, end))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

FOLDER = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "maccrobat2020"
TYPES: tuple[str, ...] = ("Sign_symptom", "Disease_disorder")


@dataclass(frozen=True)
class Target:
    start: int
    end: int
    type: str
    text: str
    negated: bool


@dataclass(frozen=True)
class Doc:
    id: str
    text: str
    targets: tuple[Target, ...]


def _parse(ann: str, text: str, types: Sequence[str]) -> tuple[Target, ...]:
    spans: dict[str, tuple[str, int, int]] = {}
    event_of: dict[str, str] = {}  # event id -> text-bound id
    negated_events: set[str] = set()
    for line in ann.splitlines():
        fields = line.split("\t")
        if line.startswith("T") and len(fields) >= 2:
            kind, _, offsets = fields[1].partition(" ")
            pieces = [piece.split() for piece in offsets.split(";")]
            spans[fields[0]] = (kind, int(pieces[0][0]), int(pieces[-1][1]))
        elif line.startswith("E") and len(fields) >= 2:
            trigger = fields[1].split()[0]  # "Sign_symptom:T7", then any arguments
            event_of[fields[0]] = trigger.partition(":")[2]
        elif line.startswith("A") and len(fields) >= 2:
            attribute = fields[1].split()
            if attribute[:1] == ["POLARITY"] and attribute[2:3] == ["NEG"]:
                negated_events.add(attribute[1])
    negated_spans = {event_of[e] for e in negated_events if e in event_of}
    targets = [
        Target(start, end, kind, text[start:end], tid in negated_spans)
        for tid, (kind, start, end) in spans.items()
        if kind in types
    ]
    return tuple(sorted(targets, key=lambda t: (t.start, t.end)))


@cache
def _load(folder: Path, types: tuple[str, ...]) -> tuple[Doc, ...]:
    docs = []
    for ann_path in sorted(folder.glob("*.ann")):
        text = ann_path.with_suffix(".txt").read_text(encoding="utf-8")
        targets = _parse(ann_path.read_text(encoding="utf-8"), text, types)
        docs.append(Doc(ann_path.stem, text, targets))
    if not docs:
        raise FileNotFoundError(f"no .ann files in {folder}")
    return tuple(docs)


def load_maccrobat(folder: str | Path | None = None, types: Iterable[str] = TYPES) -> list[Doc]:
    """Every case report in `folder` with its targets of `types`, sorted by position."""
    path = Path(folder) if folder is not None else FOLDER
    return list(_load(path.resolve(), tuple(types)))


Predict = Callable[[str, int, int], Any]
PredictDoc = Callable[[Doc], Sequence[Any]]


def _negated(answer: Any) -> bool:
    return bool(getattr(answer, "negated", answer))


def negation_scores(
    predict: Predict | None = None,
    docs: Sequence[Doc] | None = None,
    *,
    predict_doc: PredictDoc | None = None,
) -> dict[str, Any]:
    """Negation precision, recall and F1 over every target, overall and per type.

    Give either `predict(text, start, end)`, answering a bool or an object with a
    ``negated`` attribute (``assess_context`` itself will do), or `predict_doc(doc)`,
    answering one such value per target of the doc in order (for classifiers that build one
    document per text, as spaCy pipelines do). ``scores["overall"]`` and
    ``scores[type]`` each hold tp, fp, fn, tn, precision, recall and f1 (0.0 for a zero
    denominator); ``scores["targets"]`` and ``scores["docs"]`` count what was scored.
    """
    if (predict is None) == (predict_doc is None):
        raise ValueError("give exactly one of predict and predict_doc")
    docs = load_maccrobat() if docs is None else docs
    counts: dict[str, dict[str, int]] = {}
    for doc in docs:
        if predict_doc is not None:
            answers = list(predict_doc(doc))
            if len(answers) != len(doc.targets):
                raise ValueError(f"{doc.id}: {len(answers)} answers for {len(doc.targets)}")
        else:
            assert predict is not None
            answers = [predict(doc.text, t.start, t.end) for t in doc.targets]
        for target, answer in zip(doc.targets, answers, strict=True):
            pred = _negated(answer)
            key = ("tp" if target.negated else "fp") if pred else ("fn" if target.negated else "tn")
            for group in ("overall", target.type):
                counts.setdefault(group, {"tp": 0, "fp": 0, "fn": 0, "tn": 0})[key] += 1
    scores: dict[str, Any] = {group: _rates(c) for group, c in counts.items()}
    scores["targets"] = sum(len(doc.targets) for doc in docs)
    scores["docs"] = len(docs)
    return scores


def _rates(c: dict[str, int]) -> dict[str, float]:
    precision = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0
    recall = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {**c, "precision": precision, "recall": recall, "f1": f1}
