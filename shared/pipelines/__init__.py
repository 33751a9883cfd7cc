"""Pipelines behind one interface, chosen from a registry by configuration."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import cast

from shared.imaging.schema import ImageAnalysisOutput
from shared.pipelines.base import SAFETY_DISCLAIMER, Pipeline
from shared.pipelines.image import MultimodalOutput, MultimodalPipeline
from shared.pipelines.text import ClinicalTextOutput

REGISTRY: dict[str, str] = {
    "clinical-text": "shared.pipelines.text:ClinicalTextPipeline",
    "news2": "shared.pipelines.news2:News2Pipeline",
    # The engine, then a model from MEDTRIAGE_MODEL_CHAIN, then the safety layers.
    "model-text": "shared.pipelines.model:ModelPipeline",
}


class UnknownPipelineError(ValueError):
    """The configured pipeline is neither registered nor importable."""


def pipeline_factory(name: str) -> Callable[[], Pipeline]:
    """Resolve a pipeline name without building it: cheap, safe before a fork."""
    target = REGISTRY.get(name, name)
    module_name, _, attr = target.partition(":")
    if not attr:
        raise UnknownPipelineError(
            f"unknown pipeline {name!r}; choose one of {sorted(REGISTRY)} or 'module:Class'"
        )
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise UnknownPipelineError(f"cannot load pipeline {name!r}: {exc}") from exc
    return cast(Callable[[], Pipeline], factory)


def make_pipeline(name: str) -> Pipeline:
    """Build the pipeline named in the registry, or given as 'module:Class'."""
    return pipeline_factory(name)()


__all__ = [
    "REGISTRY",
    "SAFETY_DISCLAIMER",
    "ClinicalTextOutput",
    "ImageAnalysisOutput",
    "MultimodalOutput",
    "MultimodalPipeline",
    "Pipeline",
    "UnknownPipelineError",
    "make_pipeline",
    "pipeline_factory",
]
