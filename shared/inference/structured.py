"""Schema-constrained generation: generate, re-validate with Pydantic, one repair attempt,
and otherwise a recorded reason why the deterministic output stands."""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Literal

from pydantic import ValidationError

from shared.inference.backend import Backend, GenerationError, GenerationRequest, ModelIdentity
from shared.inference.prompt import PROMPT_VERSION, compact_schema, messages, output_schema
from shared.safety.schema import ModelTriageOutput
from shared.schemas import Assessment, CaseIn

Outcome = Literal["model", "repaired", "deterministic"]


@dataclass
class StructuredResult:
    """What one case's model step produced, with every number a result records."""

    outcome: Outcome
    output: ModelTriageOutput | None
    reason: str = ""  # why the deterministic output stands (empty when the model's does)
    raw: list[str] = field(default_factory=list)  # each attempt's text, kept for audit
    tokens_in: int = 0
    tokens_out: int = 0
    timings_ms: dict[str, float] = field(default_factory=dict)
    cache_hit: bool = False
    attempts: int = 0


def parse(text: str, finish_reason: str) -> tuple[ModelTriageOutput | None, str]:
    """The validated object, or why not: never quoting the text (it may quote the note)."""
    cleaned = text.strip().removeprefix("```json").removeprefix("```").removesuffix("```")
    try:
        data = json.loads(cleaned)
    except json.JSONDecodeError as exc:
        if finish_reason == "length":
            return None, "output cut off by the token limit"
        return None, f"not valid JSON ({exc.msg})"
    try:
        return ModelTriageOutput.model_validate(data), ""
    except ValidationError as exc:
        where = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'object'}: {e['type']}"
            for e in exc.errors(include_input=False)[:3]
        )
        return None, f"does not fit the schema ({where})"


class OutputCache:
    """Verdicts by (case text, model revision, prompt version, decoding): a validated output,
    or an output that stayed invalid after repair (greedy decoding would write it again). A
    failed call (server down, timeout) is never kept. A repeat skips the model. Held in the
    worker's memory only: it holds what the model wrote about a patient, never sent to Redis."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, StructuredResult] = OrderedDict()

    @staticmethod
    def key(model: ModelIdentity, prompt: list[object], constrained: bool) -> str:
        material = json.dumps(
            [model.model_id, model.revision, model.quantization, PROMPT_VERSION, constrained,
             prompt],
            sort_keys=True, default=str,
        )  # fmt: skip
        return hashlib.sha256(material.encode()).hexdigest()

    def get(self, key: str) -> StructuredResult | None:
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        return None

    def put(self, key: str, value: StructuredResult) -> None:
        if self.size <= 0:
            return
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


class StructuredRunner:
    """Runs one backend for one case at a time, with the cache in front of it."""

    def __init__(
        self,
        backend: Backend,
        model: ModelIdentity,
        max_new_tokens: int,
        cache: OutputCache,
        constrained: bool = True,
    ) -> None:
        self.backend = backend
        self.model = model
        self.max_new_tokens = max_new_tokens
        self.cache = cache
        self.constrained = constrained

    def run(self, case: CaseIn, assessment: Assessment) -> StructuredResult:
        started = time.perf_counter()
        prompt = messages(case, assessment)
        key = OutputCache.key(self.model, prompt, self.constrained)
        cached = self.cache.get(key)
        if cached is not None:
            ms = round((time.perf_counter() - started) * 1000, 3)
            return replace(cached, cache_hit=True, tokens_in=0, tokens_out=0, attempts=0,
                           raw=list(cached.raw), timings_ms={"cache": ms})  # fmt: skip
        result = StructuredResult("deterministic", None)
        reason = ""
        for attempt, schema in enumerate((output_schema(), compact_schema())):
            if attempt:
                prompt = messages(case, assessment, repair_reason=reason)
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
            check = time.perf_counter()
            output, reason = parse(generation.text, generation.finish_reason)
            result.timings_ms["validation"] = round(
                result.timings_ms.get("validation", 0) + (time.perf_counter() - check) * 1000, 3
            )
            if output is not None:
                result.outcome, result.output = ("repaired" if attempt else "model"), output
                self.cache.put(key, result)
                return result
            result.reason = f"invalid after repair: {reason}" if attempt else reason
        if result.attempts == 2:  # written twice and invalid twice: the same next time
            self.cache.put(key, result)
        return result
