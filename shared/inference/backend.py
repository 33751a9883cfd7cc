"""The one interface both backends implement, and what they hand back."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from shared.inference.profiles import ModelProfile

LIBRARIES = ("torch", "transformers", "bitsandbytes", "xgrammar", "accelerate", "openai")


class ModelLoadError(RuntimeError):
    """A model could not be loaded: the message names the folder or server and why."""


class GenerationError(RuntimeError):
    """One generation failed (server down, timeout, 5xx); the message never quotes the case."""


@dataclass(frozen=True)
class GenerationRequest:
    messages: list[dict[str, Any]]  # chat messages, Gemma style (one user turn, no system)
    max_new_tokens: int
    json_schema: dict[str, Any] | None = None  # constrain decoding to it when given


@dataclass
class Generation:
    text: str
    tokens_in: int
    tokens_out: int
    finish_reason: str  # "stop" or "length" (cut by the token limit)
    timings_ms: dict[str, float] = field(default_factory=dict)
    batch_size: int = 1  # how many prompts shared this forward pass (prompt/prefill timings)


@dataclass(frozen=True)
class ModelIdentity:
    """What a result records about the model that wrote it."""

    profile: str
    backend: str
    model_id: str
    revision: str
    dtype: str
    quantization: str
    device: str
    version: str
    library_versions: dict[str, str]

    def label(self) -> str:
        """'google/medgemma-4b-it @ 1a2b3c4d5e6f, 4bit (modified)' for the case page."""
        quant = "" if self.quantization == "none" else f", {self.quantization} (modified)"
        served = self.revision.startswith("server:")  # a path, not a hash: shown whole
        return f"{self.model_id} @ {self.revision if served else self.revision[:16]}{quant}"


class Backend(Protocol):
    profile: ModelProfile

    def load(self) -> ModelIdentity:
        """Load (or reach) the model; raise ModelLoadError with the reason."""
        ...

    def generate(self, request: GenerationRequest) -> Generation:
        """One greedy generation; raise GenerationError on failure."""
        ...


def generate_many(
    backend: Backend, requests: list[GenerationRequest]
) -> list[Generation | GenerationError]:
    """One answer per request, in order: a failure is that request's, never the batch's.

    A backend with `generate_batch` (in-process padded batch, or concurrent server calls)
    does them together; any other backend one by one."""
    batch = getattr(backend, "generate_batch", None)
    if batch is not None and len(requests) > 1:
        return list(batch(requests))
    out: list[Generation | GenerationError] = []
    for request in requests:
        try:
            out.append(backend.generate(request))
        except GenerationError as exc:
            out.append(exc)
    return out


def library_versions() -> dict[str, str]:
    out = {}
    for name in LIBRARIES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def folder_revision(folder: Path) -> str:
    """The snapshot hash of a Hugging Face cache folder, the commit hash its config recorded,
    or else a fingerprint of the files (names, sizes, and a sample of each weight file)."""
    if folder.parent.name == "snapshots" and len(folder.name) == 40:
        return folder.name
    try:
        commit = json.loads((folder / "config.json").read_text()).get("_commit_hash")
    except (OSError, ValueError):
        commit = None
    if commit:
        return str(commit)
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        size = path.stat().st_size
        digest.update(f"{path.relative_to(folder)}:{size}".encode())
        with path.open("rb") as handle:
            handle.seek(size // 2)
            digest.update(handle.read(65536))
    return "local-" + digest.hexdigest()[:16]
