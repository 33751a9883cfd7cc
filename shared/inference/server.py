"""The server backend: a model behind an OpenAI-compatible API (vLLM), via the openai client.

This is how a site scales past one GPU: many workers, one or more vLLM servers, no code
change. The server batches concurrent requests itself (continuous batching): a batch of cases
goes as concurrent requests, at most MEDTRIAGE_MODEL_SERVER_CONCURRENCY at a time."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from shared.inference.backend import (
    Generation,
    GenerationError,
    GenerationRequest,
    ModelIdentity,
    ModelLoadError,
    library_versions,
)
from shared.inference.profiles import ModelProfile


class OpenAICompatibleBackend:
    backend = "openai-compatible"

    def __init__(
        self,
        profile: ModelProfile,
        base_url: str,
        api_key: str = "",
        timeout_s: float = 60.0,
        retries: int = 2,
        concurrency: int = 4,
    ) -> None:
        from openai import OpenAI

        self.profile = profile
        self.base_url = base_url
        self.concurrency = max(1, concurrency)
        # vLLM accepts any key unless started with --api-key; the client insists on one.
        self.client = OpenAI(
            base_url=base_url, api_key=api_key or "EMPTY", timeout=timeout_s, max_retries=retries
        )

    def load(self) -> ModelIdentity:
        """Reach the server and find the served model; the revision is what it reports."""
        import openai

        try:
            served = {m.id: m for m in self.client.models.list().data}
        except openai.OpenAIError as exc:
            raise ModelLoadError(
                f"model server {self.base_url}: {type(exc).__name__}: {exc}"
            ) from exc
        model = served.get(self.profile.served_name)
        if model is None:
            raise ModelLoadError(
                f"model server {self.base_url} does not serve {self.profile.served_name!r} "
                f"(it serves {sorted(served)})"
            )
        root = getattr(model, "root", None) or (model.model_extra or {}).get("root")
        return ModelIdentity(
            profile=self.profile.name,
            backend=self.backend,
            model_id=self.profile.model_id,
            revision=f"server:{root or model.id}",
            dtype=self.profile.dtype,
            quantization=self.profile.quantization,
            device=f"server {self.base_url}",
            version=self.profile.version,
            library_versions=library_versions(),
        )

    def generate_batch(
        self, requests: list[GenerationRequest]
    ) -> list[Generation | GenerationError]:
        """The requests at once, at most `concurrency` in flight (MEDTRIAGE_MODEL_SERVER_
        CONCURRENCY), so the server batches them continuously; answers in order, each
        request's failure its own. The openai client is safe to share between threads."""

        def one(request: GenerationRequest) -> Generation | GenerationError:
            try:
                return self.generate(request)
            except GenerationError as exc:
                return exc

        workers = min(self.concurrency, len(requests))
        if workers <= 1:
            return [one(r) for r in requests]
        with ThreadPoolExecutor(workers, thread_name_prefix="model-request") as pool:
            answers = list(pool.map(one, requests))
        for answer in answers:
            if isinstance(answer, Generation):
                answer.batch_size = len(requests)
        return answers

    def generate(self, request: GenerationRequest) -> Generation:
        import openai

        kwargs: dict[str, Any] = {}
        if request.json_schema is not None:
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "triage", "schema": request.json_schema},
            }
        started = time.perf_counter()
        try:
            response = self.client.chat.completions.create(
                model=self.profile.served_name,
                messages=request.messages,  # type: ignore[arg-type]
                max_tokens=request.max_new_tokens,
                temperature=0,
                **kwargs,
            )
        except openai.APITimeoutError:
            raise GenerationError(f"no answer from {self.base_url} in time") from None
        except openai.APIStatusError as exc:
            raise GenerationError(f"server answered HTTP {exc.status_code}") from None
        except openai.OpenAIError as exc:
            raise GenerationError(f"server error: {type(exc).__name__}") from None
        elapsed = (time.perf_counter() - started) * 1000
        if not response.choices:
            raise GenerationError("server answered with no choices")
        choice = response.choices[0]
        usage = response.usage
        return Generation(
            text=choice.message.content or "",
            tokens_in=usage.prompt_tokens if usage else 0,
            tokens_out=usage.completion_tokens if usage else 0,
            finish_reason="length" if choice.finish_reason == "length" else "stop",
            timings_ms={"server": round(elapsed, 3)},
        )
