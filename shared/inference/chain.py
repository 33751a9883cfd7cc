"""The fallback chain from configuration: the first profile that loads serves; each one
skipped is recorded with its reason. Ending the chain with 'deterministic' allows the engine
alone; a chain without it that loads nothing is a startup error naming every reason."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from shared.inference.backend import Backend, GenerationRequest, ModelIdentity, ModelLoadError
from shared.inference.profiles import DETERMINISTIC, chain_names, get_profile
from shared.inference.template import user_turn

if TYPE_CHECKING:
    from shared.config import Settings

log = logging.getLogger(__name__)


class FallbackTaken(BaseModel):
    """A step down the chain, recorded in every result it affects."""

    stage: str  # "load" or "generate"
    profile: str
    reason: str


@dataclass
class LoadedChain:
    backend: Backend | None  # None: the deterministic engine alone
    model: ModelIdentity | None
    fallbacks: list[FallbackTaken] = field(default_factory=list)
    load_ms: float = 0.0
    warmup_ms: float = 0.0


def make_backend(name: str, settings: Settings, first_local: bool) -> Backend:
    """The backend for one profile, with the site's settings applied."""
    profile = get_profile(
        name,
        settings.quantization,
        settings.model_max_new_tokens,
        settings.model_max_input_tokens,
    )
    if profile.backend == "openai-compatible":
        from shared.inference.server import OpenAICompatibleBackend

        return OpenAICompatibleBackend(
            profile,
            settings.model_base_url,
            settings.model_api_key,
            settings.model_timeout_s,
            settings.model_retries,
            settings.model_server_concurrency,
        )
    from shared.inference.local import TransformersBackend

    folder = profile.path(Path(settings.models_dir))
    if first_local and settings.text_model_path:
        folder = Path(settings.text_model_path)
    return TransformersBackend(profile, folder, settings.device, settings.model_threads)


def warm_up(backend: Backend) -> None:
    """One short generation, so the first case does not pay for lazy initialisation."""
    backend.generate(GenerationRequest(user_turn("Reply with OK.", "Ready?"), 4))


def load_profile(
    name: str,
    make: Callable[[str], Backend],
    warm: Callable[[Backend], None],
    started: float,
    fallbacks: list[FallbackTaken],
    logger: logging.Logger,
    what: str,
) -> LoadedChain | None:
    """One profile of a chain: made, loaded and warmed up (load and warm-up timed from
    `started`), or None with the reason it was not used appended to `fallbacks`: any failure
    moves down the chain. `what` names the chain's profiles in the log lines."""
    try:
        backend = make(name)
        model = backend.load()
        loaded = time.perf_counter()
        warm(backend)
    except Exception as exc:  # noqa: BLE001 - any failure moves down the chain, recorded
        reason = str(exc) if isinstance(exc, ModelLoadError) else f"{type(exc).__name__}: {exc}"
        logger.warning("%s %s not used: %s", what, name, reason)
        fallbacks.append(FallbackTaken(stage="load", profile=name, reason=reason[:500]))
        return None
    logger.info("%s %s loaded: %s", what, name, model.label())
    return LoadedChain(
        backend,
        model,
        fallbacks,
        load_ms=(loaded - started) * 1000,
        warmup_ms=(time.perf_counter() - loaded) * 1000,
    )


def load_chain(settings: Settings) -> LoadedChain:
    names = chain_names(settings.model_chain)
    if not names:
        raise ModelLoadError("MEDTRIAGE_MODEL_CHAIN is empty: name at least one model profile")
    fallbacks: list[FallbackTaken] = []
    started = time.perf_counter()
    first_local = True

    def make(name: str) -> Backend:
        # Only the first in-process profile reads MEDTRIAGE_TEXT_MODEL_PATH, loaded or not.
        nonlocal first_local
        backend = make_backend(name, settings, first_local)
        first_local = first_local and backend.profile.backend != "transformers"
        return backend

    for name in names:
        if name == DETERMINISTIC:
            log.warning("no model loaded: the deterministic engine serves alone")
            return LoadedChain(None, None, fallbacks, (time.perf_counter() - started) * 1000)
        chain = load_profile(name, make, warm_up, started, fallbacks, log, "model profile")
        if chain is not None:
            return chain
    raise ModelLoadError(
        "no model in MEDTRIAGE_MODEL_CHAIN could be loaded (end the chain with "
        f"'{DETERMINISTIC}' to allow the engine alone): "
        + "; ".join(f"{f.profile}: {f.reason}" for f in fallbacks)
    )
