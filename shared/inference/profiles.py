"""Named model profiles: which backend, which folder or served name, dtype, quantization and
limits. A registry (a dict), so a new model is one entry, never a new branch."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

Backend = Literal["transformers", "openai-compatible"]
Quantization = Literal["none", "8bit", "4bit"]

# The chain ends here when it names it: the deterministic engine alone, recorded as a fallback.
DETERMINISTIC = "deterministic"


@dataclass(frozen=True)
class ModelProfile:
    """One way to run a model. `folder` is under MEDTRIAGE_MODELS_DIR unless absolute."""

    name: str
    backend: Backend
    model_id: str  # the upstream id, recorded in every result
    folder: str = ""  # transformers: the local folder (never downloaded)
    served_name: str = ""  # openai-compatible: the server's --served-model-name
    dtype: str = "bfloat16"  # never float16: Gemma 3 overflows it
    quantization: Quantization = "none"
    max_new_tokens: int = 400
    max_input_tokens: int = 4096
    images: bool = False  # takes an image beside the text (a multimodal profile)
    max_images: int = 0  # images per prompt (vLLM: --limit-mm-per-prompt '{"image":N}')
    version: str = "1.0"  # the model's release, shown beside its output

    def path(self, models_dir: Path) -> Path:
        folder = Path(self.folder)
        return folder if folder.is_absolute() else models_dir / folder


def _medgemma_4b(name: str, quantization: Quantization) -> ModelProfile:
    return ModelProfile(
        name,
        "transformers",
        "google/medgemma-4b-it",
        folder="medgemma-4b-it",
        quantization=quantization,
        images=True,
        max_images=4,  # 256 tokens each
    )


def _medgemma_27b(name: str, quantization: Quantization) -> ModelProfile:
    return ModelProfile(
        name,
        "transformers",
        "google/medgemma-27b-text-it",
        folder="medgemma-27b-text-it",
        quantization=quantization,
    )


PROFILES: dict[str, ModelProfile] = {
    p.name: p
    for p in [
        _medgemma_4b("medgemma-4b", "none"),  # about 8.6 GB of weights
        _medgemma_4b("medgemma-4b-8bit", "8bit"),  # about 5 GB
        _medgemma_4b("medgemma-4b-4bit", "4bit"),  # about 3.3 GB
        _medgemma_27b("medgemma-27b-text", "none"),  # about 54 GB
        _medgemma_27b("medgemma-27b-text-8bit", "8bit"),  # 27-29 GB
        _medgemma_27b("medgemma-27b-text-4bit", "4bit"),  # 15-18 GB: a 24 GB card
        # Any local Gemma-family instruct model placed in models/gemma-local.
        ModelProfile(
            "gemma-local", "transformers", "local/gemma", folder="gemma-local", version="local"
        ),
        # The small real Gemma 3 (base, not instruction-tuned) the tests and benchmarks use.
        ModelProfile(
            "gemma3-270m",
            "transformers",
            "google/gemma-3-270m",
            folder="gemma3-270m",
            max_new_tokens=200,
            version="3",
        ),
        # Served by vLLM (README: the command lines); MEDTRIAGE_MODEL_BASE_URL says where.
        ModelProfile(
            "medgemma-4b-vllm",
            "openai-compatible",
            "google/medgemma-4b-it",
            served_name="medgemma-4b",
            images=True,
            max_images=4,
        ),
        ModelProfile(
            "medgemma-27b-vllm",
            "openai-compatible",
            "google/medgemma-27b-text-it",
            served_name="medgemma-27b",
        ),
    ]
}


class UnknownProfileError(ValueError):
    """A configured profile name is not in the registry."""


def get_profile(
    name: str, quantization: str = "", max_new_tokens: int = 0, max_input_tokens: int = 0
) -> ModelProfile:
    """The named profile, with the site's quantization and token limits when set."""
    try:
        profile = PROFILES[name]
    except KeyError:
        raise UnknownProfileError(
            f"unknown model profile {name!r}; choose from {sorted(PROFILES)}"
        ) from None
    if quantization and profile.backend == "transformers":
        profile = replace(profile, quantization=quantization)  # type: ignore[arg-type]
    if max_new_tokens:
        profile = replace(profile, max_new_tokens=max_new_tokens)
    if max_input_tokens:
        profile = replace(profile, max_input_tokens=max_input_tokens)
    return profile


def chain_names(chain: str) -> list[str]:
    """'medgemma-27b-text, medgemma-4b-4bit, deterministic' as a list; checks every name."""
    names = [n.strip() for n in chain.split(",") if n.strip()]
    for name in names:
        if name != DETERMINISTIC and name not in PROFILES:
            raise UnknownProfileError(
                f"unknown model profile {name!r} in the chain; choose from {sorted(PROFILES)} "
                f"or {DETERMINISTIC!r}"
            )
    return names


def multimodal_chain_names(chain: str) -> list[str]:
    """Like chain_names, for MEDTRIAGE_MULTIMODAL_CHAIN: every profile must take images."""
    names = chain_names(chain)
    for name in names:
        if name != DETERMINISTIC and not PROFILES[name].images:
            raise UnknownProfileError(
                f"model profile {name!r} does not take images; choose from "
                f"{sorted(n for n, p in PROFILES.items() if p.images)} or {DETERMINISTIC!r}"
            )
    return names
