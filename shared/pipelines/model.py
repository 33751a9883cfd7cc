"""The model pipeline: the deterministic engine first (always: the floor), then the model
(schema-constrained JSON), then the five safety layers. The result's acuity is never less
urgent than the engine's; when the model fails or is absent the engine's output stands and
the result says why."""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, Field

from shared import __version__
from shared.config import Settings, get_settings
from shared.inference.backend import ModelIdentity
from shared.inference.chain import FallbackTaken, LoadedChain, load_chain
from shared.inference.prompt import PROMPT_VERSION
from shared.inference.structured import OutputCache, StructuredResult, StructuredRunner
from shared.pipelines.base import library_versions
from shared.pipelines.text import ClinicalTextPipeline
from shared.safety.schema import MODEL_OUTPUT_KEY, ModelTriageOutput, SafeTriageOutput
from shared.schemas import Acuity, Assessment, CaseIn, ModelInfo, TriageResult

MODEL_RUN_KEY = "model_run"


class ModelRun(BaseModel):
    """Everything a result records about its model step (TriageResult.details['model_run'])."""

    prompt_version: str = PROMPT_VERSION
    profile: str | None = None
    backend: str | None = None
    model_id: str | None = None
    version: str | None = None
    revision: str | None = None
    dtype: str | None = None
    quantization: str | None = None
    device: str | None = None
    constrained: bool = True
    library_versions: dict[str, str] = Field(default_factory=dict)
    outcome: str = "deterministic"  # "model", "repaired" or "deterministic"
    reason: str = ""  # why the deterministic output stands
    fallbacks: list[FallbackTaken] = Field(default_factory=list)
    cache_hit: bool = False
    attempts: int = 0
    batch_size: int = 1  # cases that shared its generate call (worker or CLI batching)
    # The note shortened to fit the context limit, or the model skipped (shared.inference.fit)
    prompt_truncation: dict[str, Any] | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    load_ms: float = 0.0  # once per worker process (load, then warm-up)
    warmup_ms: float = 0.0
    timings_ms: dict[str, float] = Field(default_factory=dict)
    raw_outputs: list[str] = Field(default_factory=list)  # kept for audit, never shown as fact


def model_info(model: ModelIdentity) -> ModelInfo:
    return ModelInfo(
        name=model.model_id,
        version=model.version,
        revision=model.revision,
        dtype=model.dtype,
        quantization=model.quantization,
        device=model.device,
    )


def safety(
    output: ModelTriageOutput,
    case: CaseIn,
    assessment: Assessment,
    model: ModelIdentity,
    run: ModelRun,
    engine_acuity: Acuity,
) -> SafeTriageOutput:
    """The five safety layers (shared.safety) on one model output."""
    from shared.safety import apply_safety

    return apply_safety(
        output,
        case=case,
        assessment=assessment,
        model=model_info(model),
        fallbacks=[f"{f.profile}: {f.reason}" for f in run.fallbacks],
        repaired=run.outcome == "repaired",
        engine_acuity=int(engine_acuity),
    )


class ModelPipeline:
    """`pipeline = model-text`: built once per worker process, after the fork."""

    name = "model-text"
    version = f"{__version__}+{PROMPT_VERSION}"

    def __init__(self, settings: Settings | None = None, chain: LoadedChain | None = None) -> None:
        settings = settings or get_settings()
        self.engine = ClinicalTextPipeline()
        self.chain = chain or load_chain(settings)  # a clear error, or recorded fallbacks
        self.constrained = settings.model_constrained
        self.runner: StructuredRunner | None = None
        if self.chain.backend is not None and self.chain.model is not None:
            self.runner = StructuredRunner(
                self.chain.backend,
                self.chain.model,
                self.chain.backend.profile.max_new_tokens,
                OutputCache(settings.model_cache_size),
                constrained=self.constrained,
                long_note=settings.model_long_note,
            )

    def models(self) -> list[ModelInfo]:
        extra = [model_info(self.chain.model)] if self.chain.model else []
        return self.engine.models() + extra

    def _run(self) -> ModelRun:
        run = ModelRun(
            fallbacks=list(self.chain.fallbacks),
            constrained=self.constrained,
            load_ms=round(self.chain.load_ms, 3),
            warmup_ms=round(self.chain.warmup_ms, 3),
        )
        if self.chain.model is not None:
            m = self.chain.model
            run = run.model_copy(
                update={
                    "profile": m.profile,
                    "backend": m.backend,
                    "model_id": m.model_id,
                    "version": m.version,
                    "revision": m.revision,
                    "dtype": m.dtype,
                    "quantization": m.quantization,
                    "device": m.device,
                    "library_versions": m.library_versions,
                }
            )
        else:
            run.reason = "no model loaded: " + "; ".join(
                f"{f.profile}: {f.reason}" for f in run.fallbacks
            )
        return run

    def analyze(self, case: CaseIn) -> TriageResult:
        return self.analyze_many([case])[0]

    def analyze_many(self, cases: list[CaseIn]) -> list[TriageResult]:
        """Several cases at once: the engine on each, the model on all together (one padded
        batch in process, concurrent requests to a server), then safety on each."""
        bases = [self.engine.analyze(case) for case in cases]  # the floor, always
        steps: list[StructuredResult | None] = [None] * len(cases)
        if self.runner is not None:
            items = [(case, base.assessment) for case, base in zip(cases, bases, strict=True)]
            steps = list(self.runner.run_many(items))
        return [self._finish(c, b, s) for c, b, s in zip(cases, bases, steps, strict=True)]

    def _finish(
        self, case: CaseIn, base: TriageResult, step: StructuredResult | None
    ) -> TriageResult:
        assessment = base.assessment
        run = self._run()
        details: dict[str, Any] = dict(base.details)
        acuity = base.acuity
        if step is not None and self.chain.model is not None:
            run.outcome, run.reason, run.cache_hit = step.outcome, step.reason, step.cache_hit
            run.attempts, run.raw_outputs = step.attempts, step.raw
            run.batch_size, run.prompt_truncation = step.batch_size, step.truncation
            run.tokens_in, run.tokens_out = step.tokens_in, step.tokens_out
            run.timings_ms.update(step.timings_ms)
            if step.reason and step.output is None:
                skipped = bool((step.truncation or {}).get("skipped"))
                run.fallbacks.append(
                    FallbackTaken(
                        stage="prompt" if skipped else "generate",
                        profile=run.profile or "",
                        reason=step.reason,
                    )
                )
            if step.output is not None:
                started = time.perf_counter()
                try:
                    safe = safety(step.output, case, assessment, self.chain.model, run, acuity)
                except Exception as exc:  # noqa: BLE001 - the engine's output stands, recorded
                    run.outcome = "deterministic"
                    run.reason = f"safety layers: {type(exc).__name__}"
                    run.fallbacks.append(
                        FallbackTaken(stage="safety", profile=run.profile or "", reason=run.reason)
                    )
                else:
                    details[MODEL_OUTPUT_KEY] = safe.model_dump(mode="json")
                    acuity = Acuity.most_urgent(acuity, safe.applied_acuity)
                run.timings_ms["safety"] = round((time.perf_counter() - started) * 1000, 3)
        details[MODEL_RUN_KEY] = run.model_dump(mode="json")
        versions = dict(base.library_versions) | library_versions(
            "torch", "transformers", "bitsandbytes", "xgrammar", "openai"
        )
        return base.model_copy(
            update={
                "acuity": acuity,
                "risk_level": acuity.risk_level,
                "pipeline": self.name,
                "pipeline_version": self.version,
                "models": self.models(),
                "library_versions": versions,
                "details": details,
                "timings_ms": base.timings_ms
                | {f"model_{k}": v for k, v in run.timings_ms.items()},
            }
        )


def model_columns(result: TriageResult) -> dict[str, str | None]:
    """The queryable columns of a result (model id, revision, backend, quantization): the
    text model's, else the image+text model's (shared.pipelines.multimodal)."""
    runs = [result.details.get(k) or {} for k in (MODEL_RUN_KEY, "image_text_run")]
    run = next((r for r in runs if r.get("model_id")), runs[0])
    return {
        "model_id": run.get("model_id"),
        "model_revision": run.get("revision"),
        "model_backend": run.get("backend"),
        "model_quantization": run.get("quantization"),
    }
