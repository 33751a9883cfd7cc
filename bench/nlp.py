"""Context classifier benchmark: ours vs negspacy (NegEx) vs medspaCy's ConText, same run.

Run: `.venv-bench/bin/python bench/nlp.py [--repeat 9] [--no-notes]` (the bench venv, README:
negspacy, medspacy).

The annotated sets are tests/data/context_*.jsonl: 511 targets in 358 distinct texts. The
peers are set up the way their users set them up: spaCy blank English with a sentencizer,
one document per text with all of that text's targets as entities. Ours runs two ways: per
text (`ContextDocument(text)`, then each target), the fair match for the peers, and per
target (`assess_context(text, start, end)`, the call the engine makes; it keeps the last few
texts' documents, so targets of one text share the work there too).

Scoring is the same for all: medspaCy's `is_uncertain` counts as hypothetical (as does its
`is_hypothetical`), and for every system a finding that is a relative's is not the patient's
own history. negspacy attempts negation only: its other properties are "n/a", not zeros.

The held-out set is the headline. The development set is in-sample (the lexicon was tuned on
it) and is labelled so. The held-out set was written independently and not for tuning, but
one lexicon change (e65900a, the comma-scope change) altered eight of its verdicts (four
fixed, four broken); its score from before that change is printed beside today's, measured
from that commit's context.py taken out of git into a temporary folder.

The last line is one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared.nlp.context import ContextDocument, assess_context, context_document  # noqa: E402
from tests.support.context_eval import evaluate, load_sentences  # noqa: E402

PROPERTIES = ("negated", "historical", "hypothetical", "family")
SETS = {
    "held-out": ROOT / "tests" / "data" / "context_heldout.jsonl",
    "development (in-sample)": ROOT / "tests" / "data" / "context_sentences.jsonl",
}
ATTEMPTS = {"negspacy": ("negated",)}  # properties a peer does not attempt print "n/a"
# Earlier versions of our context.py, scored on the held-out set beside today's.
EARLIER = {"before e65900a (comma scope)": "e65900a~1", "before issue 6 fixes": "c7fcbad~1"}

Span = tuple[int, int]
TextClassifier = Callable[[str, Sequence[Span]], list[Any]]


def _result(negated: bool, historical: bool, hypothetical: bool, family: bool) -> Any:
    # One convention for all: a relative's finding is not the patient's own history.
    return SimpleNamespace(
        negated=negated, historical=historical and not family, hypothetical=hypothetical,
        family=family,
    )  # fmt: skip


def _spacy_classifier(
    component: str, config: dict[str, Any], read: Callable[[Any], Any]
) -> TextClassifier:
    """Blank English, a sentencizer and `component`; one document per text with every
    target of the text as an entity; `read` turns an entity into the four properties."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe(component, config=config)
    steps = [proc for _, proc in nlp.pipeline]

    def classify(text: str, spans: Sequence[Span]) -> list[Any]:
        doc = nlp.make_doc(text)
        ents = [doc.char_span(s, e, label="TARGET", alignment_mode="expand") for s, e in spans]
        # Overlapping targets cannot share a document: spaCy entities may not overlap.
        kept = {}
        for i, ent in sorted(enumerate(ents), key=lambda p: (p[1].start, -p[1].end)):
            if all(ent.start >= k.end or ent.end <= k.start for k in kept.values()):
                kept[i] = ent
        doc.ents = list(kept.values())
        for step in steps:
            doc = step(doc)
        by_span = {(ent.start_char, ent.end_char): read(ent) for ent in doc.ents}
        answers = []
        for i, ent in enumerate(ents):
            if i in kept:
                answers.append(by_span[(ent.start_char, ent.end_char)])
            else:  # a second document for the overlapped one, as a user would have to
                answers.append(classify(text, [spans[i]])[0])
        return answers

    return classify


def make_negspacy() -> TextClassifier:
    """NegEx via negspacy; it answers negation only."""
    from negspacy.negation import Negex  # noqa: F401 - registers the "negex" factory

    return _spacy_classifier(
        "negex", {"ent_types": ["TARGET"]}, lambda ent: _result(bool(ent._.negex), *[False] * 3)
    )


def make_medspacy() -> TextClassifier:
    """medspaCy's ConText with its default rules; uncertain counts as hypothetical."""
    from medspacy.context import ConText  # noqa: F401 - registers "medspacy_context"

    return _spacy_classifier(
        "medspacy_context",
        {},
        lambda ent: _result(
            bool(ent._.is_negated),
            bool(ent._.is_historical),
            bool(ent._.is_hypothetical or ent._.is_uncertain),
            bool(ent._.is_family),
        ),
    )


def ours_per_text(text: str, spans: Sequence[Span]) -> list[Any]:
    document = ContextDocument(text)
    return [document.assess(s, e) for s, e in spans]


def ours_per_target(text: str, spans: Sequence[Span]) -> list[Any]:
    return [assess_context(text, s, e) for s, e in spans]


def by_text(sentences: list[dict[str, Any]]) -> list[tuple[str, list[Span]]]:
    """The distinct texts, each with all its targets, in first-seen order."""
    grouped: dict[str, list[Span]] = {}
    for s in sentences:
        grouped.setdefault(s["text"], []).append((s["start"], s["end"]))
    return list(grouped.items())


def score(classify: TextClassifier, sentences: list[dict[str, Any]]) -> dict[str, Any]:
    """The evaluate() scores, each text classified once with all its targets."""
    answers: dict[tuple[str, int, int], Any] = {}
    for text, spans in by_text(sentences):
        for span, answer in zip(spans, classify(text, spans), strict=True):
            answers[(text, *span)] = answer
    return evaluate(lambda text, start, end: answers[(text, start, end)], sentences)


def load_earlier(revision: str) -> ModuleType | None:
    """Our context.py as it was at `revision`, imported from a temporary file (git show);
    None when git or the revision is not there."""
    try:
        source = subprocess.run(
            ["git", "show", f"{revision}:shared/nlp/context.py"],
            capture_output=True, text=True, check=True, cwd=ROOT,
        ).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return None
    path = Path(tempfile.mkdtemp()) / "context_earlier.py"
    path.write_text(source)
    name = "context_at_" + re.sub(r"\W", "_", revision)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def throughputs(
    classifiers: dict[str, TextClassifier], texts: list[tuple[str, list[Span]]], rounds: int
) -> dict[str, float]:
    """Texts per second for each classifier: passes interleaved round by round, median
    taken, so a change in the machine's load hits all alike. Our document cache is emptied
    before each pass, so no pass reuses the one before."""
    rates: dict[str, list[float]] = {name: [] for name in classifiers}
    for round_ in range(rounds + 1):
        for name, classify in classifiers.items():
            context_document.cache_clear()
            started = time.perf_counter()
            for text, spans in texts:
                classify(text, spans)
            if round_:  # the first round warms up
                rates[name].append(len(texts) / (time.perf_counter() - started))
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


def _cell(name: str, prop: str, scores: dict[str, Any]) -> str:
    if prop not in ATTEMPTS.get(name, PROPERTIES):
        return f"{'n/a':>16}"
    return f"{scores[prop]['f1']:>16.3f}"


def print_scores(title: str, rows: dict[str, dict[str, Any]]) -> None:
    print(f"\n{title}")
    print(f"{'classifier':<34}" + "".join(f"{p + ' F1':>16}" for p in PROPERTIES)
          + f"{'all four acc':>14}")  # fmt: skip
    for name, scores in rows.items():
        row = "".join(_cell(name.split()[0], p, scores) for p in PROPERTIES)
        accuracy = scores["overall"]["accuracy"] if name.split()[0] not in ATTEMPTS else None
        shown = f"{accuracy:>14.3f}" if accuracy is not None else f"{'n/a':>14}"
        print(f"{name:<34}{row}{shown}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, help="timed rounds (median taken)")
    parser.add_argument("--no-notes", action="store_true", help="skip medtriage analyze")
    args = parser.parse_args()

    peers = {"negspacy": make_negspacy(), "medspacy": make_medspacy()}
    loaded = {name: load_sentences(path) for name, path in SETS.items()}
    summary: dict[str, Any] = {}
    for set_name, sentences in loaded.items():
        rows = {"ours": score(ours_per_text, sentences)}
        rows |= {name: score(classify, sentences) for name, classify in peers.items()}
        if set_name == "held-out":
            for label, revision in EARLIER.items():
                module = load_earlier(revision)
                if module is not None:
                    earlier = evaluate(module.assess_context, sentences)
                    rows[f"ours {label}"] = earlier
                    summary[f"heldout_ours_accuracy_{revision}"] = round(
                        earlier["overall"]["accuracy"], 3
                    )
        texts = len(by_text(sentences))
        print_scores(f"{set_name} set: {len(sentences)} targets in {texts} texts", rows)
        key = "heldout" if set_name == "held-out" else "development_in_sample"
        for name in ("ours", *peers):
            for prop in ATTEMPTS.get(name, PROPERTIES):
                summary[f"{key}_{name}_{prop}_f1"] = round(rows[name][prop]["f1"], 3)
            if name not in ATTEMPTS:
                summary[f"{key}_{name}_accuracy"] = round(rows[name]["overall"]["accuracy"], 3)

    everything = [s for sentences in loaded.values() for s in sentences]
    texts = by_text(everything)
    per_text = len(everything) / len(texts)
    classifiers = {"ours": ours_per_text, "ours per target": ours_per_target, **peers}
    rates = throughputs(classifiers, texts, args.repeat)
    print(f"\nthroughput over {len(everything)} targets in {len(texts)} texts "
          f"({per_text:.2f} targets per text), median of {args.repeat} rounds:")  # fmt: skip
    for name, rate in rates.items():
        how = "assess_context per target" if name == "ours per target" else "one doc per text"
        print(f"  {name:<16}{rate * per_text:>10.0f} targets/s{rate:>10.0f} texts/s   ({how})")
    for peer in peers:
        print(f"  ours / {peer}: {rates['ours'] / rates[peer]:.2f}x per text, "
              f"{rates['ours per target'] / rates[peer]:.2f}x with ours per target")  # fmt: skip
    for name, rate in rates.items():
        slug = name.replace(" ", "_")
        summary[f"{slug}_targets_per_s"] = round(rate * per_text)
        summary[f"{slug}_texts_per_s"] = round(rate)
    for peer in peers:
        summary[f"ratio_vs_{peer}"] = round(rates["ours"] / rates[peer], 2)
        summary[f"ratio_per_target_vs_{peer}"] = round(rates["ours per target"] / rates[peer], 2)
    if not args.no_notes:
        summary["notes_per_s"] = notes_per_second(everything)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
