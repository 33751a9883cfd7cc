"""Images in `medtriage analyze`: each case line may name image files (`image_paths` in JSON,
or a CSV column with `--map image=COLUMN`, several paths separated by `;`). Each is decoded
and graded in process (technical quality, and the embedding when MEDTRIAGE_IMAGE_ENCODER is
set); with MEDTRIAGE_MULTIMODAL_CHAIN set the case and its readable images also go to the
image+text model, through the same safety layers as in the worker.

A missing, unreadable or refused file is an error on that image of that line: the line still
gets its text result, and the batch goes on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shared.imaging.errors import ImageLimits, ImageRejected, ImagingUnavailable

if TYPE_CHECKING:
    from shared.config import Settings
    from shared.inference.image_prompt import PromptImage
    from shared.pipelines.multimodal import ImageTextModel
    from shared.pipelines.text import ClinicalTextOutput
    from shared.schemas import CaseIn

IMAGE_FIELDS = ("image_paths", "image_type")  # on a line, beside the CaseIn fields


def image_paths(value: Any) -> list[str]:
    """A path, 'a.png; b.dcm', or a list of paths; ValueError for anything else."""
    if isinstance(value, str):
        return [p.strip() for p in value.split(";") if p.strip()]
    if isinstance(value, list) and all(isinstance(p, str) for p in value):
        return [p.strip() for p in value if p.strip()]
    raise ValueError("image_paths: give a path, paths separated by ';', or a list of paths")


@dataclass
class LineImages:
    """What a line's images gave: one entry per path, the image+text reading, errors."""

    entries: list[dict[str, Any]]
    image_text: dict[str, Any] | None
    errors: int
    applied_acuity: int | None  # the image+text level applied (never less urgent)


class BatchImages:
    """Grades a line's images in process; the encoder and the image+text model load once."""

    def __init__(self, settings: Settings, base: Path) -> None:
        self.settings = settings
        self.base = base  # relative paths are read from beside the input file
        self.limits = ImageLimits(settings.image_max_bytes, settings.image_max_pixels,
                                  settings.image_max_count)  # fmt: skip
        self._model: ImageTextModel | None = None
        self._loaded = False

    def model(self) -> ImageTextModel | None:
        """The image+text model (MEDTRIAGE_MULTIMODAL_CHAIN), loaded on first use; a chain
        that loads nothing raises ModelLoadError, as the worker would stop."""
        if not self._loaded:
            from shared.pipelines.multimodal import get_image_text_model

            self._model = get_image_text_model(self.settings)
            self._loaded = True
        return self._model

    def analyze(
        self, paths: list[str], image_type: str, case: CaseIn, text: ClinicalTextOutput
    ) -> LineImages:
        from shared.imaging.analysis import analyze_pixels, get_image_encoder
        from shared.imaging.decode import decode
        from shared.pipelines.multimodal import as_rgb, facts_from

        encoder, note = get_image_encoder(self.settings)
        entries: list[dict[str, Any]] = []
        readable: list[PromptImage] = []
        errors = 0
        for path in paths[: self.limits.max_count]:
            entry: dict[str, Any] = {"path": path}
            entries.append(entry)
            try:
                data = self._read(path)
                decoded = decode(data, Path(path).name, "", self.limits)
                output, _ = analyze_pixels(
                    decoded.display, kind=decoded.kind, image_type=image_type,
                    bits_stored=decoded.bits_stored, distinct_levels=decoded.distinct_levels,
                    tags=decoded.tags, notes=decoded.notes, encoder=encoder, encoder_note=note,
                )  # fmt: skip
            except (OSError, ValueError, ImagingUnavailable) as exc:
                entry["error"] = _reason(exc)
                errors += 1
                continue
            entry["analysis"] = output.model_dump(mode="json")
            if output.quality_verdict != "unusable":
                from shared.inference.image_prompt import PromptImage

                facts = facts_from(len(readable) + 1, image_type=output.image_type,
                                   kind=decoded.kind, tags=decoded.tags,
                                   verdict=output.quality_verdict)  # fmt: skip
                entry["prompt_image"] = facts.number
                readable.append(PromptImage(as_rgb(decoded.display), _digest(data), facts))
        for path in paths[self.limits.max_count :]:
            entries.append({"path": path, "error": f"over {self.limits.max_count} images"})
            errors += 1
        return self._read_with_model(entries, readable, errors, case, text)

    def _read(self, path: str) -> bytes:
        file = Path(path).expanduser()
        file = file if file.is_absolute() else self.base / file
        if not file.is_file():
            raise FileNotFoundError(f"no such image file: {path}")
        if file.stat().st_size > self.limits.max_bytes:
            raise ImageRejected(413, f"larger than {self.limits.max_bytes} bytes")
        return file.read_bytes()

    def _read_with_model(
        self,
        entries: list[dict[str, Any]],
        readable: list[PromptImage],
        errors: int,
        case: CaseIn,
        text: ClinicalTextOutput,
    ) -> LineImages:
        model = self.model()
        if model is None:
            return LineImages(entries, None, errors, None)
        run = model.new_run()
        limit = model.max_images
        run.images_left_out = [e["path"] for e in entries if "prompt_image" not in e]
        run.images_left_out += [f"image {i.facts.number}: over {limit}" for i in readable[limit:]]
        acuity = text.assessment.acuity
        safe, run = model.analyze(case, text.assessment, readable[:limit], acuity, run)
        reading = {"run": run.model_dump(mode="json"),
                   "output": safe.model_dump(mode="json") if safe else None}  # fmt: skip
        return LineImages(entries, reading, errors, safe.applied_acuity if safe else None)


def _digest(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _reason(exc: Exception) -> str:
    if isinstance(exc, ImageRejected):
        return f"refused ({exc.status}): {exc.message}"
    if isinstance(exc, FileNotFoundError):
        return str(exc)
    if isinstance(exc, ImagingUnavailable):
        return "image support is not installed (pip install -e '.[imaging]')"
    return f"{type(exc).__name__}: {exc}"
