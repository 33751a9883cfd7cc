"""The one interface every analysis pipeline implements, and what they all share."""

from __future__ import annotations

import importlib.metadata
import platform
from typing import Protocol

from shared.safety.schema import SAFETY_DISCLAIMER
from shared.schemas import CaseIn, ModelInfo, TriageResult

__all__ = ["SAFETY_DISCLAIMER", "Pipeline", "library_versions"]


class Pipeline(Protocol):
    """Built once per worker process; `analyze` is called once per case."""

    name: str
    version: str

    def models(self) -> list[ModelInfo]:
        """What this pipeline runs, for the result's metadata."""
        ...

    def analyze(self, case: CaseIn) -> TriageResult:
        """Analyze one case; must be deterministic for deterministic engines."""
        ...


def library_versions(*names: str) -> dict[str, str]:
    """Installed versions of the named distributions, plus Python's."""
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
