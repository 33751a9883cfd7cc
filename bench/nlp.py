"""Context classifier benchmark: ours vs negspacy (NegEx) vs medspaCy's ConText, same run.

Run: `.venv/bin/python bench/nlp.py [--repeat 9]` (needs the bench extra: negspacy, medspacy).

Every sentence of our annotated sets (tests/data/context_*.jsonl) is classified by all three:
spaCy blank English with the target set as the only entity for the peers, the raw text and
the target's character span for ours. Prints accuracy and F1 per property on each set, and
sentences per second (document building included for the peers, as they need it). The last
line is one JSON object with `ratio_vs_negspacy` (our sentences/s over negspacy's).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared.nlp.context import assess_context  # noqa: E402
from tests.support.context_eval import evaluate, load_sentences  # noqa: E402

PROPERTIES = ("negated", "historical", "hypothetical", "family")
SETS = {
    "development": ROOT / "tests" / "data" / "context_sentences.jsonl",
    "held-out": ROOT / "tests" / "data" / "context_heldout.jsonl",
}
Classifier = Callable[[str, int, int], Any]


def _spacy_classifier(
    component: str, config: dict[str, Any], read: Callable[[Any], Any]
) -> Classifier:
    """Blank English, a sentencizer and `component`, the target set as the only entity;
    `read` turns that entity into the four properties."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe(component, config=config)
    steps = [proc for _, proc in nlp.pipeline]

    def classify(text: str, start: int, end: int) -> Any:
        doc = nlp.make_doc(text)
        doc.ents = [doc.char_span(start, end, label="TARGET", alignment_mode="expand")]
        for step in steps:
            doc = step(doc)
        return read(doc.ents[0])

    return classify


def make_negspacy() -> Classifier:
    """NegEx via negspacy; it answers negation only."""
    from negspacy.negation import Negex  # noqa: F401 - registers the "negex" factory

    return _spacy_classifier(
        "negex",
        {"ent_types": ["TARGET"]},
        lambda ent: SimpleNamespace(
            negated=bool(ent._.negex), historical=False, hypothetical=False, family=False
        ),
    )


def make_medspacy() -> Classifier:
    """medspaCy's ConText with its default rules."""
    from medspacy.context import ConText  # noqa: F401 - registers "medspacy_context"

    return _spacy_classifier(
        "medspacy_context",
        {},
        lambda ent: SimpleNamespace(
            negated=bool(ent._.is_negated),
            historical=bool(ent._.is_historical),
            hypothetical=bool(ent._.is_hypothetical),
            family=bool(ent._.is_family),
        ),
    )


def throughputs(
    classifiers: dict[str, Classifier], sentences: list[dict[str, Any]], rounds: int
) -> dict[str, float]:
    """Sentences per second for each classifier: passes interleaved round by round, median
    taken, so a change in the machine's load hits all three alike."""
    rates: dict[str, list[float]] = {name: [] for name in classifiers}
    for round_ in range(rounds + 1):
        for name, classify in classifiers.items():
            started = time.perf_counter()
            for s in sentences:
                classify(s["text"], s["start"], s["end"])
            if round_:  # the first round warms up
                rates[name].append(len(sentences) / (time.perf_counter() - started))
    return {name: statistics.median(values) for name, values in rates.items()}


def notes_per_second(sentences: list[dict[str, Any]], notes: int = 1000) -> float:
    """Full-note throughput of `medtriage analyze`, as the command itself reports it."""
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        source, results = Path(tmp) / "notes.jsonl", Path(tmp) / "results.jsonl"
        with source.open("w") as out:
            for _ in range(notes):
                note = " ".join(s["text"] for s in rng.sample(sentences, 6))
                case = {"age_years": rng.randint(1, 95), "chief_complaint": "review",
                        "note": note[:20_000]}  # fmt: skip
                out.write(json.dumps(case) + "\n")
        done = subprocess.run(
            [str(Path(sys.executable).parent / "medtriage"), "analyze", "--in", str(source),
             "--out", str(results)],
            capture_output=True, text=True, check=True, cwd=ROOT,
        )  # fmt: skip
    match = re.search(r"\(([\d.]+) notes/s\)", done.stdout)
    if match is None:
        raise RuntimeError(f"no rate in the output of medtriage analyze:\n{done.stdout}")
    print(f"\nmedtriage analyze on {notes} notes of 6 sentences: {match.group(1)} notes/s")
    return float(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, help="timed rounds (median taken)")
    args = parser.parse_args()

    classifiers = {"ours": assess_context, "negspacy": make_negspacy(), "medspacy": make_medspacy()}
    loaded = {name: load_sentences(path) for name, path in SETS.items() if path.exists()}
    everything = [s for sentences in loaded.values() for s in sentences]
    summary: dict[str, Any] = {}
    for set_name, sentences in loaded.items():
        print(f"\n{set_name} set: {len(sentences)} sentences")
        print(f"{'classifier':<10}" + "".join(f"{p + ' F1':>16}" for p in PROPERTIES)
              + f"{'all four acc':>14}")  # fmt: skip
        for name, classify in classifiers.items():
            scores = evaluate(classify, sentences)
            row = "".join(f"{scores[p]['f1']:>16.3f}" for p in PROPERTIES)
            print(f"{name:<10}{row}{scores['overall']['accuracy']:>14.3f}")
            summary[f"{set_name}_{name}_negation_f1"] = round(scores["negated"]["f1"], 3)
            summary[f"{set_name}_{name}_accuracy"] = round(scores["overall"]["accuracy"], 3)
    print(f"\nthroughput over {len(everything)} sentences, median of {args.repeat} rounds:")
    rates = throughputs(classifiers, everything, args.repeat)
    for name, rate in rates.items():
        print(f"  {name:<10}{rate:>10.0f} sentences/s")
    summary.update(
        ratio_vs_negspacy=round(rates["ours"] / rates["negspacy"], 2),
        ratio_vs_medspacy=round(rates["ours"] / rates["medspacy"], 2),
        ours_sentences_per_s=round(rates["ours"]),
        negspacy_sentences_per_s=round(rates["negspacy"]),
        medspacy_sentences_per_s=round(rates["medspacy"]),
        notes_per_s=notes_per_second(everything),
    )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
