"""Schema-constrained generation: generate, re-validate with Pydantic, one repair attempt,
and otherwise a recorded reason why the deterministic output stands."""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from shared.inference.backend import (
    Backend,
    Generation,
    GenerationError,
    GenerationRequest,
    ModelIdentity,
    generate_many,
)
from shared.inference.fit import Fitted, Messages, estimate_tokens, fit
from shared.inference.prompt import (
    PROMPT_VERSION,
    REPAIR_REASON_CHARS,
    compact_schema,
    messages,
    output_schema,
)
from shared.safety.schema import ModelTriageOutput
from shared.schemas import Assessment, CaseIn

Outcome = Literal["model", "repaired", "deterministic"]
M = TypeVar("M", bound=BaseModel)
V = TypeVar("V")


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
    batch_size: int = 1  # how many cases shared its generate call (the largest, if repaired)
    truncation: dict[str, Any] | None = None  # the note shortened or the model skipped (fit)


def parse(output_class: type[M], text: str, finish_reason: str) -> tuple[M | None, str]:
    """The text validated as `output_class`, or why not: never quoting the text (it may quote
    the note)."""
    cleaned = text.strip().removeprefix("```json").removeprefix("```").removesuffix("```")
    try:
        data = json.loads(cleaned)
    except json.JSONDecodeError as exc:
        if finish_reason == "length":
            return None, "output cut off by the token limit"
        return None, f"not valid JSON ({exc.msg})"
    try:
        return output_class.model_validate(data), ""
    except ValidationError as exc:
        where = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'object'}: {e['type']}"
            for e in exc.errors(include_input=False)[:3]
        )
        return None, f"does not fit the schema ({where})"


class VerdictCache(Generic[V]):
    """At most `size` verdicts by key, the least recently used dropped first (size 0: none
    kept). In the worker's memory only, never in Redis: they hold what a model wrote about a
    patient."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, V] = OrderedDict()

    def get(self, key: str) -> V | None:
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        return None

    def put(self, key: str, value: V) -> None:
        if self.size <= 0:
            return
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


class OutputCache(VerdictCache[StructuredResult]):
    """Verdicts by (case text, model revision, prompt version, decoding): a validated output,
    or an output that stayed invalid after repair (greedy decoding would write it again). A
    failed call (server down, timeout) is never kept. A repeat skips the model. Held in the
    worker's memory only: it holds what the model wrote about a patient, never sent to Redis."""

    @staticmethod
    def key(model: ModelIdentity, prompt: list[Any], constrained: bool) -> str:
        material = json.dumps(
            [model.model_id, model.revision, model.quantization, PROMPT_VERSION, constrained,
             prompt],
            sort_keys=True, default=str,
        )  # fmt: skip
        return hashlib.sha256(material.encode()).hexdigest()


# The longest repair reason a prompt carries (prompt.REPAIR_REASON_CHARS), punctuation-dense
# as real ones are, so that a shortened note leaves room for the repair attempt too.
REPAIR_ROOM = ("does not fit the schema (key_findings.0.evidence: string_too_long); " * 3)[
    :REPAIR_REASON_CHARS
]


class StructuredRunner:
    """Runs one backend for one case, or a batch of cases together, with the cache in front
    of it and every prompt fitted to the profile's context limit (shared.inference.fit)."""

    def __init__(
        self,
        backend: Backend,
        model: ModelIdentity,
        max_new_tokens: int,
        cache: OutputCache,
        constrained: bool = True,
        long_note: str = "shorten",
    ) -> None:
        self.backend = backend
        self.model = model
        self.max_new_tokens = max_new_tokens
        self.cache = cache
        self.constrained = constrained
        self.long_note = long_note
        self.count: Callable[[Messages], int] = getattr(backend, "count_tokens", estimate_tokens)

    def fit(self, case: CaseIn, assessment: Assessment) -> Fitted:
        def build(note: str, repair: bool) -> Messages:
            shown = case.model_copy(update={"note": note})
            return messages(shown, assessment, repair_reason=REPAIR_ROOM if repair else "")

        limit = self.backend.profile.max_input_tokens
        return fit(case.note, build, self.count, limit, self.long_note)

    def run(self, case: CaseIn, assessment: Assessment) -> StructuredResult:
        return self.run_many([(case, assessment)])[0]

    def run_many(self, items: list[tuple[CaseIn, Assessment]]) -> list[StructuredResult]:
        """One result per case, in order. Cache misses are generated together (one padded
        batch in process, concurrent requests to a server); those that need it are
        repaired together. Greedy: a case's answer does not depend on its batch-mates
        (in float32 exactly; bf16 padding can flip a near-tie, README: batching)."""
        results: list[StructuredResult] = []
        fitted: list[Fitted] = []
        keys: list[str] = []
        pending: list[int] = []
        for i, (case, assessment) in enumerate(items):
            started = time.perf_counter()
            fitting = self.fit(case, assessment)
            prompt_ms = round((time.perf_counter() - started) * 1000, 3)
            fitted.append(fitting)
            keys.append(OutputCache.key(self.model, fitting.messages or [], self.constrained))
            cached = self.cache.get(keys[i]) if fitting.messages is not None else None
            if cached is not None:
                ms = round((time.perf_counter() - started) * 1000, 3)
                hit = replace(cached, cache_hit=True, tokens_in=0, tokens_out=0, attempts=0,
                              raw=list(cached.raw), timings_ms={"cache": ms})  # fmt: skip
                results.append(hit)
                continue
            result = StructuredResult("deterministic", None, truncation=fitting.record())
            result.timings_ms["fit"] = prompt_ms
            if fitting.messages is None:
                result.reason = fitting.reason
            else:
                pending.append(i)
            results.append(result)
        reasons = {i: "" for i in pending}
        for attempt, schema in enumerate((output_schema(), compact_schema())):
            if not pending:
                break
            requests = []
            for i in pending:
                prompt = fitted[i].messages or []
                if attempt:
                    case, assessment = items[i]
                    shown = case.model_copy(update={"note": fitted[i].note})
                    prompt = messages(shown, assessment, repair_reason=reasons[i])
                requests.append(GenerationRequest(
                    prompt, self.max_new_tokens, schema if self.constrained else None
                ))  # fmt: skip
            answers = generate_many(self.backend, requests)
            still = []
            for i, generation in zip(pending, answers, strict=True):
                if self._take(results[i], attempt, generation, reasons, i):
                    self.cache.put(keys[i], results[i])
                elif not isinstance(generation, GenerationError):
                    still.append(i)
            pending = still
        for i in pending:  # written twice and invalid twice: the same next time
            if results[i].attempts == 2:
                self.cache.put(keys[i], results[i])
        return results

    @staticmethod
    def _take(
        result: StructuredResult,
        attempt: int,
        generation: Generation | GenerationError,
        reasons: dict[int, str],
        i: int,
    ) -> bool:
        """Record one attempt's answer; True when it gave a valid object."""
        if isinstance(generation, GenerationError):
            result.reason = f"model call failed: {generation}"
            return False
        result.attempts += 1
        result.batch_size = max(result.batch_size, generation.batch_size)
        result.raw.append(generation.text)
        result.tokens_in += generation.tokens_in
        result.tokens_out += generation.tokens_out
        for stage, ms in generation.timings_ms.items():
            name = stage if not attempt else f"repair_{stage}"
            result.timings_ms[name] = result.timings_ms.get(name, 0) + ms
        check = time.perf_counter()
        output, reason = parse(ModelTriageOutput, generation.text, generation.finish_reason)
        result.timings_ms["validation"] = round(
            result.timings_ms.get("validation", 0) + (time.perf_counter() - check) * 1000, 3
        )
        if output is not None:
            result.outcome, result.output = ("repaired" if attempt else "model"), output
            result.reason = ""
            return True
        reasons[i] = reason
        result.reason = f"invalid after repair: {reason}" if attempt else reason
        return False
