"""Image+text generation: a multimodal profile (MedGemma 4B in process, or served by vLLM)
reads the case and its images into one `ModelImageTextOutput`.

The same backends as the text model (shared.inference.local / .server): in process the
processor takes the PIL images from the chat content; a server gets `image_url` parts. As for
text: decoding constrained to the schema, re-validated with Pydantic, one repair attempt with
a tighter schema, else the deterministic output stands and the reason is recorded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from shared.inference.backend import Backend, GenerationError, GenerationRequest, ModelIdentity
from shared.inference.chain import FallbackTaken, LoadedChain, load_profile, make_backend
from shared.inference.image_prompt import (
    IMAGE_PROMPT_VERSION,
    PromptImage,
    compact_schema,
    image_part,
    messages,
    output_schema,
    prompt_text,
)
from shared.inference.profiles import DETERMINISTIC, multimodal_chain_names
from shared.inference.structured import Outcome, OutputCache, VerdictCache, parse
from shared.safety.image_schema import ModelImageTextOutput
from shared.schemas import Assessment, CaseIn

if TYPE_CHECKING:
    from shared.config import Settings

log = logging.getLogger(__name__)


@dataclass
class ImageTextStep:
    """What one case's image+text step produced, with every number a result records."""

    outcome: Outcome
    output: ModelImageTextOutput | None
    reason: str = ""
    raw: list[str] = field(default_factory=list)
    tokens_in: int = 0
    tokens_out: int = 0
    timings_ms: dict[str, float] = field(default_factory=dict)
    cache_hit: bool = False
    attempts: int = 0


class StepCache(VerdictCache[ImageTextStep]):
    """Verdicts by (prompt text, image hashes, model revision, prompt version): in the
    worker's memory only, never in Redis (it holds what a model wrote about a patient)."""


class ImageTextRunner:
    """One multimodal backend, one case at a time, with the cache in front of it."""

    def __init__(
        self,
        backend: Backend,
        model: ModelIdentity,
        max_new_tokens: int,
        cache: StepCache,
        constrained: bool = True,
    ) -> None:
        self.backend = backend
        self.model = model
        self.max_new_tokens = max_new_tokens
        self.cache = cache
        self.constrained = constrained

    def cache_key(self, case: CaseIn, assessment: Assessment, images: Sequence[PromptImage]) -> str:
        # The text and the images' pixel hashes (a PIL object has no stable text form).
        material: list[object] = [IMAGE_PROMPT_VERSION, prompt_text(case, assessment, images)]
        return OutputCache.key(self.model, material + [i.sha256 for i in images], self.constrained)

    def run(
        self, case: CaseIn, assessment: Assessment, images: Sequence[PromptImage]
    ) -> ImageTextStep:
        started = time.perf_counter()
        key = self.cache_key(case, assessment, images)
        cached = self.cache.get(key)
        if cached is not None:
            ms = round((time.perf_counter() - started) * 1000, 3)
            return ImageTextStep(cached.outcome, cached.output, cached.reason, list(cached.raw),
                                 cache_hit=True, timings_ms={"cache": ms})  # fmt: skip
        result = ImageTextStep("deterministic", None)
        reason = ""
        kind = self.backend.profile.backend
        for attempt, schema in enumerate((output_schema(), compact_schema())):
            prompt = messages(case, assessment, images, kind, repair_reason=reason)
            request = GenerationRequest(
                prompt, self.max_new_tokens, schema if self.constrained else None
            )
            try:
                generation = self.backend.generate(request)
            except GenerationError as exc:
                result.reason = f"model call failed: {exc}"
                break
            result.attempts += 1
            result.raw.append(generation.text)
            result.tokens_in += generation.tokens_in
            result.tokens_out += generation.tokens_out
            for stage, ms in generation.timings_ms.items():
                name = stage if not attempt else f"repair_{stage}"
                result.timings_ms[name] = result.timings_ms.get(name, 0) + ms
            output, reason = parse(ModelImageTextOutput, generation.text, generation.finish_reason)
            if output is not None:
                result.outcome, result.output = ("repaired" if attempt else "model"), output
                self.cache.put(key, result)
                return result
            result.reason = f"invalid after repair: {reason}" if attempt else reason
        if result.attempts == 2:  # written twice and invalid twice: the same next time
            self.cache.put(key, result)
        return result


def warm_up(backend: Backend) -> None:
    """One short generation with a small grey image: the vision tower runs once too."""
    from PIL import Image

    from shared.safety.image_schema import ImageFacts

    image = PromptImage(
        Image.new("RGB", (32, 32), (128, 128, 128)), "warm-up", ImageFacts(number=1)
    )
    content = [image_part(image, backend.profile.backend), {"type": "text", "text": "Ready?"}]
    backend.generate(GenerationRequest([{"role": "user", "content": content}], 4))


def load_image_text_chain(settings: Settings, reuse: LoadedChain | None = None) -> LoadedChain:
    """The first profile of MEDTRIAGE_MULTIMODAL_CHAIN that loads (reusing the text model's
    backend when it is the same profile: one copy of the weights); each skipped is recorded.
    Raises ModelLoadError when nothing loads and the chain does not end in 'deterministic'."""
    from shared.inference.backend import ModelLoadError

    names = multimodal_chain_names(settings.multimodal_chain)
    fallbacks: list[FallbackTaken] = []
    started = time.perf_counter()

    def make(name: str) -> Backend:
        return make_backend(name, settings, first_local=False)

    for name in names:
        if name == DETERMINISTIC:
            log.warning("no image+text model loaded: images get quality (and encoder) only")
            return LoadedChain(None, None, fallbacks, (time.perf_counter() - started) * 1000)
        if reuse is not None and reuse.model is not None and reuse.model.profile == name:
            log.info("image+text profile %s shares the text model's backend", name)
            return LoadedChain(reuse.backend, reuse.model, fallbacks, 0.0, 0.0)
        chain = load_profile(name, make, warm_up, started, fallbacks, log, "image+text profile")
        if chain is not None:
            return chain
    raise ModelLoadError(
        "no model in MEDTRIAGE_MULTIMODAL_CHAIN could be loaded (end the chain with "
        f"'{DETERMINISTIC}' to allow images without it): "
        + "; ".join(f"{f.profile}: {f.reason}" for f in fallbacks)
    )
