"""The versioned image+text prompt: the images (each where the chat template puts its image
placeholder), what is technically known of each, then the case as the text prompt writes it
(note, vital signs, the deterministic engine's findings), and what to write.

In process the image parts carry the PIL image itself (the processor expands each
`<start_of_image>` to the model's image tokens); for an OpenAI-compatible server (vLLM) they
are `image_url` parts with a base64 PNG data URI. Any change to the wording below is a new
IMAGE_PROMPT_VERSION (it keys the output cache and is recorded with every result).
"""

from __future__ import annotations

import base64
import copy
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shared.inference.prompt import case_text
from shared.safety.image_schema import ImageFacts, ModelImageTextOutput
from shared.schemas import Assessment, CaseIn

IMAGE_PROMPT_VERSION = "image-text-json-v1"
SERVER_IMAGE_SIDE = 896  # MedGemma reads 896 x 896: a larger PNG only costs bandwidth

INSTRUCTION = (
    "You assist emergency triage staff. You do not diagnose; a clinician decides. "
    "You are shown {count} medical image(s) of this patient, numbered in the order shown, and "
    "the case below. Answer with one JSON object only, with these keys: "
    '"image_observations" (what you see on each image: "image" is its number, 1 for the '
    "first; describe appearances only and give no measurements: the image has no scale), "
    '"summary" (two or three plain sentences bringing the images and the note together), '
    '"key_findings" (each a "finding" with the "evidence": words quoted from the note or the '
    'vital signs), "cross_modal_agreements" and "cross_modal_disagreements" (where the images '
    'and the note agree or disagree), "next_steps" (suggestions for the clinician), '
    '"suggested_acuity" (1 resuscitation, 2 emergent, 3 urgent, 4 less urgent, 5 non-urgent), '
    '"acuity_reason", "uncertainties". Left and right are as the image is labelled. Use only '
    "facts written in the case or visible on the images; never invent numbers, drugs or results."
)
REPAIR = (
    "Your previous answer could not be used ({reason}). Answer again with one short JSON "
    "object: at most one item in each list, short sentences."
)


@dataclass(frozen=True)
class PromptImage:
    """One image as the model gets it: RGB pixels, their hash (keys the cache), its facts."""

    pil: Any  # PIL.Image.Image, RGB
    sha256: str
    facts: ImageFacts


def data_uri(pil: Any) -> str:
    """A base64 PNG data URI, at most SERVER_IMAGE_SIDE on its longer side."""
    image = pil
    if max(image.size) > SERVER_IMAGE_SIDE:
        image = image.copy()
        image.thumbnail((SERVER_IMAGE_SIDE, SERVER_IMAGE_SIDE))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def image_part(image: PromptImage, backend: str) -> dict[str, Any]:
    if backend == "openai-compatible":
        return {"type": "image_url", "image_url": {"url": data_uri(image.pil)}}
    return {"type": "image", "image": image.pil}


def prompt_text(
    case: CaseIn, assessment: Assessment, images: Sequence[PromptImage], repair_reason: str = ""
) -> str:
    instruction = INSTRUCTION.format(count=len(images))
    if repair_reason:
        instruction += "\n\n" + REPAIR.format(reason=repair_reason)
    described = "\n".join(i.facts.describe() for i in images)
    return f"{instruction}\n\n{described}\n\n{case_text(case, assessment)}"


def messages(
    case: CaseIn,
    assessment: Assessment,
    images: Sequence[PromptImage],
    backend: str,
    repair_reason: str = "",
) -> list[dict[str, Any]]:
    """One user turn (Gemma has no system role): the images first, then the text."""
    content = [image_part(i, backend) for i in images]
    content.append({"type": "text", "text": prompt_text(case, assessment, images, repair_reason)})
    return [{"role": "user", "content": content}]


def output_schema() -> dict[str, Any]:
    return ModelImageTextOutput.model_json_schema()


def compact_schema() -> dict[str, Any]:
    """The repair attempt's schema: one item per list, short strings (every bound tighter,
    so still valid for ModelImageTextOutput), to fit the token limit the first ran into."""
    schema = copy.deepcopy(output_schema())
    props = schema["properties"]
    props["summary"]["maxLength"] = 160
    props["acuity_reason"]["maxLength"] = 80
    for name in ("image_observations", "key_findings", "cross_modal_agreements",
                 "cross_modal_disagreements", "next_steps", "uncertainties"):  # fmt: skip
        props[name]["maxItems"] = 1
    for name in ("cross_modal_agreements", "cross_modal_disagreements", "next_steps",
                 "uncertainties"):  # fmt: skip
        props[name]["items"]["maxLength"] = 80
    defs = schema["$defs"]
    defs["ModelImageObservation"]["properties"]["observation"]["maxLength"] = 100
    defs["KeyFinding"]["properties"]["finding"]["maxLength"] = 60
    defs["KeyFinding"]["properties"]["evidence"]["maxLength"] = 80
    return schema
