"""`medtriage models list` and `medtriage models verify [PROFILE]` (registered by shared.cli)."""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import click

from shared.config import Settings, get_settings
from shared.inference.backend import ModelLoadError, folder_revision
from shared.inference.chain import make_backend, warm_up
from shared.inference.profiles import DETERMINISTIC, PROFILES, ModelProfile, chain_names
from shared.inference.structured import OutputCache, StructuredRunner
from shared.schemas import CaseIn

# A made-up case (no patient's data) for `verify`.
SAMPLE = CaseIn(
    age_years=60,
    chief_complaint="shortness of breath",
    note="Short of breath for two days, productive cough, feels hot.",
    vitals={"respiratory_rate": 24, "spo2": 93, "heart_rate": 104, "temperature_c": 38.4},
)


def _where(profile: ModelProfile, settings: Settings, first_local: bool) -> tuple[str, str]:
    """Where the profile's model is, and what is found there."""
    if profile.backend == "openai-compatible":
        return f"{profile.served_name} @ {settings.model_base_url}", "server (checked by verify)"
    folder = profile.path(Path(settings.models_dir))
    if first_local and settings.text_model_path:
        folder = Path(settings.text_model_path)
    if not (folder / "config.json").exists():
        return str(folder), "not found"
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return str(folder), f"found, {size / 1e9:.2f} GB, revision {folder_revision(folder)[:16]}"


def _first_local(chain: list[str]) -> str | None:
    """The chain's first in-process profile: MEDTRIAGE_TEXT_MODEL_PATH replaces its folder."""
    local = [n for n in chain if n in PROFILES and PROFILES[n].backend == "transformers"]
    return local[0] if local else None


@click.group()
def models() -> None:
    """Model profiles: what is configured, what is found locally, and a check that loads one."""


@models.command("list")
def models_list() -> None:
    """Every profile: backend, model, quantization, where it is and whether it is there."""
    settings = get_settings()
    chain = chain_names(settings.model_chain)
    first_local = _first_local(chain)
    click.echo(f"chain: {', '.join(chain) or '(none: MEDTRIAGE_MODEL_CHAIN is empty)'}")
    for name, profile in PROFILES.items():
        mark = f"[{chain.index(name) + 1}]" if name in chain else "   "
        where, found = _where(profile, settings, name == first_local)
        quantization = settings.quantization or profile.quantization
        if profile.backend != "transformers":
            quantization = "server's"
        click.echo(f"{mark} {name:<24} {profile.backend:<18} {profile.model_id:<28} "
                   f"{quantization:<8} {where}  ({found})")  # fmt: skip


@models.command("verify")
@click.argument("profile", required=False)
def models_verify(profile: str | None) -> None:
    """Load PROFILE (default: the chain's first), run one constrained generation on a made-up
    case, and print timings, tokens and peak memory."""
    settings = get_settings()
    names = [n for n in chain_names(settings.model_chain) if n != DETERMINISTIC]
    name = profile or (names[0] if names else None)
    if name is None or name not in PROFILES:
        raise click.UsageError(f"name a profile: {', '.join(PROFILES)}")
    started = time.perf_counter()
    try:
        backend = make_backend(name, settings, first_local=name == _first_local(names))
        model = backend.load()
        loaded = time.perf_counter()
        warm_up(backend)
    except ModelLoadError as exc:
        click.echo(f"{name}: cannot load: {exc}", err=True)
        sys.exit(1)
    warmed = time.perf_counter()
    click.echo(f"{name}: {model.label()} on {model.device}, {model.dtype}")
    click.echo(f"load {loaded - started:.1f} s, warm-up {warmed - loaded:.1f} s")
    from shared.clinical.engine import assess_case

    runner = StructuredRunner(backend, model, backend.profile.max_new_tokens, OutputCache(0),
                              constrained=settings.model_constrained)  # fmt: skip
    step = runner.run(SAMPLE, assess_case(SAMPLE))
    decode_s = (step.timings_ms.get("decode", 0) + step.timings_ms.get("repair_decode", 0)) / 1000
    rate = f", {step.tokens_out / decode_s:.1f} tokens/s decoding" if decode_s else ""
    timings = ", ".join(f"{k} {v:.0f} ms" for k, v in step.timings_ms.items())
    click.echo(f"generation: {step.tokens_in} tokens in, {step.tokens_out} out{rate}; {timings}")
    click.echo(f"peak memory: {_peak_memory()}")
    if step.output is None:
        click.echo(f"output: not usable ({step.reason}); the engine's output would stand", err=True)
        sys.exit(1)
    click.echo(f"output: valid ({step.outcome}), suggested acuity {step.output.suggested_acuity}")


def _peak_memory() -> str:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    text = f"process {rss / 1024:.2f} GB"
    if "torch" in sys.modules:
        import torch

        if torch.cuda.is_available():
            text += f", GPU {torch.cuda.max_memory_allocated() / 1e9:.2f} GB"
    return text
