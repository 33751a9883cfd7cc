"""Red flags in free text (CLINICAL.md): High whatever the vital signs, but only when the
note asserts them for this patient now; ConText decides, and says why when it does not."""

from __future__ import annotations

from dataclasses import dataclass

from shared.nlp.context import ContextResult, assess_context
from shared.nlp.terms import term_pattern

# flag id -> (label, words in any case, abbreviations matched case-sensitively: "SI" is
# suicidal ideation, "si" in "sinus" is not).
RED_FLAGS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "acs_chest_pain": (
        "chest pain suspicious for acute coronary syndrome",
        r"chest\s+(?:pain|pressure|tightness|heaviness)|crushing\s+chest(?:\s+(?:pain|pressure))?|"
        r"substernal\s+(?:pain|pressure|discomfort)|angina",
        ("CP",),
    ),
    "stroke_signs": (
        "stroke signs (BE-FAST)",
        r"(?:facial|face)\s+droop(?:ing)?|slurred\s+speech|aphasia|dysarthria|"
        r"(?:arm|leg|one[- ]sided|unilateral|left[- ]sided|right[- ]sided)\s+weakness|"
        r"hemiparesis|hemiplegia|(?:sudden\s+)?vision\s+loss|stroke",
        ("CVA",),
    ),
    "anaphylaxis": (
        "anaphylaxis",
        r"anaphyla(?:xis|ctic(?:\s+reaction)?)|(?:throat|tongue)\s+swelling|angioedema",
        (),
    ),
    "respiratory_distress": (
        "severe respiratory distress",
        r"(?:severe\s+)?respiratory\s+distress|can'?t\s+breathe|cannot\s+breathe|"
        r"unable\s+to\s+speak\s+in\s+full\s+sentences|gasping|accessory\s+muscle\s+use|"
        r"cyano(?:sis|tic)",
        (),
    ),
    "altered_mental_status": (
        "new altered mental status",
        r"altered\s+mental\s+status|acutely\s+confused|new\s+confusion|obtunded|unresponsive",
        ("AMS",),
    ),
    "active_seizure": (
        "active seizure",
        r"(?:actively\s+)?seizing|seizure\s+(?:ongoing|activity)|status\s+epilepticus|"
        r"seizures?|convulsions?|convulsing",
        (),
    ),
    "major_haemorrhage": (
        "major haemorrhage",
        r"(?:massive|major|uncontrolled|heavy)\s+bleeding|ha?emorrhage|ha?ematemesis|"
        r"vomiting\s+blood|coffee[- ]ground\s+emesis|melena|bleeding\s+heavily|GI\s+bleed",
        (),
    ),
    "suicidal_homicidal": (
        "actively suicidal or homicidal",
        r"suicidal(?:\s+ideation)?|homicidal(?:\s+ideation)?|suicide\s+attempt|"
        r"wants?\s+to\s+(?:kill|hurt)\s+(?:him|her|them|my)sel(?:f|ves)",
        ("SI", "HI"),
    ),
    "suspected_sepsis": ("suspected sepsis", r"sepsis|septic(?:\s+shock)?|urosepsis", ()),
}


@dataclass(frozen=True)
class RedFlagMention:
    flag: str
    label: str
    text: str
    start: int
    end: int
    context: ContextResult

    @property
    def asserted(self) -> bool:
        return self.context.asserted


_COMPILED = {flag: (label, term_pattern(w, a)) for flag, (label, w, a) in RED_FLAGS.items()}


def find_red_flags(text: str) -> list[RedFlagMention]:
    """Every red-flag mention, asserted or not, in order, each with its ConText verdict."""
    mentions = []
    for flag, (label, pattern) in _COMPILED.items():
        for match in pattern.finditer(text):
            context = assess_context(text, match.start(), match.end())
            mentions.append(
                RedFlagMention(flag, label, match.group(0), match.start(), match.end(), context)
            )
    return sorted(mentions, key=lambda m: m.start)
