"""CTAS pain modifiers (CLINICAL.md v2): acute central pain 8-10 -> 2, 4-7 -> 3, 1-3 -> 4;
acute peripheral pain 8-10 -> 3, 4-7 -> 4, 1-3 -> 5; chronic pain one level less urgent."""

from __future__ import annotations

from collections.abc import Iterator

from shared.clinical.facts import Facts, Mention
from shared.clinical.rules import rule
from shared.schemas import Acuity, PainAssessment, Reason

CENTRAL_FINDINGS = ("chest_pain", "headache", "abdominal_or_back_pain", "testicular_pain",
                    "epigastric_ruq_pain")  # fmt: skip
WORD_SCORES = {"severe": 8, "moderate": 5, "mild": 2}
# (lowest score of the band, acuity for central pain, acuity for peripheral pain)
BANDS = ((8, Acuity.EMERGENT, Acuity.URGENT), (4, Acuity.URGENT, Acuity.LESS_URGENT),
         (1, Acuity.LESS_URGENT, Acuity.NON_URGENT))  # fmt: skip


def severity_of(score: int) -> str:
    if score >= 8:
        return "severe"
    if score >= 4:
        return "moderate"
    return "mild" if score >= 1 else "none"


def _anchors(f: Facts) -> list[Mention]:
    """Pain mentions, central ones first."""
    central = f.all(*CENTRAL_FINDINGS)
    return central + [m for m in f.all("pain") if m not in central]


def _location(f: Facts) -> str:
    if f.has(*CENTRAL_FINDINGS):
        return "central"
    classes = {
        c.pain_class for c in f.complaints if c.pain_class in ("central", "peripheral", "eye")
    }
    for cls in ("central", "peripheral", "eye"):
        if cls in classes:
            return cls
    return "peripheral" if f.has("peripheral_site") else "unknown"


def _word_score(f: Facts, anchors: list[Mention]) -> tuple[int, str] | None:
    for words, finding in (("severe", "pain_severe"), ("moderate", "pain_moderate"),
                           ("mild", "pain_mild")):  # fmt: skip
        for anchor in anchors:
            found = f.modifier(anchor, finding)
            if found:
                digits = [int(x) for x in found.replace("/", " ").split() if x.isdigit()]
                return (min(10, digits[0]) if digits else WORD_SCORES[words]), found
    return None


def assess_pain(f: Facts) -> PainAssessment | None:
    """The pain that counts: score from the vital signs, else from words near a pain mention."""
    anchors = _anchors(f)
    score, source = f.vitals.pain, "vital signs"
    if score is None:
        scored = _word_score(f, anchors)
        if scored is None:
            return None
        score, source = scored[0], f'words "{scored[1]}"'
    if not anchors and score == 0:
        return PainAssessment(
            score=0, severity="none", location="unknown", chronic=False, source=source
        )
    # Chronic only when each pain with a site is called chronic somewhere (the chief
    # complaint "back pain" and the note's "chronic low back pain" are one pain), so that
    # "back pain; also chronic knee pain" stays an acute back pain.
    sited = [a for a in anchors if a.finding != "pain"] or anchors
    chronic_findings = {a.finding for a in sited if f.modifier(a, "chronic")}
    chronic = (
        bool(sited)
        and all(a.finding in chronic_findings for a in sited)
        and not any(f.modifier(a, "pain_new_or_worst") for a in anchors)
    )
    location = _location(f)
    return PainAssessment(
        score=score,
        severity=severity_of(score),  # type: ignore[arg-type]
        location=location,
        chronic=chronic,
        source=source,
    )  # type: ignore[arg-type]


@rule(
    "pain",
    "CTAS pain: central 8-10 -> 2, 4-7 -> 3, 1-3 -> 4; peripheral 8-10 -> 3, "
    "4-7 -> 4, 1-3 -> 5; chronic one level less urgent",
)
def pain(f: Facts) -> Iterator[Reason]:
    p = f.pain
    if p is None or not p.score or p.location == "eye":
        return
    for lowest, central, peripheral in BANDS:
        if p.score >= lowest:
            # A site the engine cannot place counts as central: under-triage is the worse error.
            level = peripheral if p.location == "peripheral" else central
            break
    place = "site not recognised, taken as central" if p.location == "unknown" else p.location
    if p.chronic:
        level = Acuity(min(level + 1, Acuity.NON_URGENT))
    chronic = "chronic " if p.chronic else "acute "
    yield f.reason("pain", level, f"{chronic}{place} pain {p.score}/10 ({p.source})", p.score)
