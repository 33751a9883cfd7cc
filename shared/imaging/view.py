"""Frontal or lateral: the optional view check of a chest X-ray.

The model is torchxrayvision's view classifier (xinario's chestViewSplit, a torchvision
ResNet-50 whose first two outputs are Frontal and Lateral). torchxrayvision fetches its weights
from the internet when they are not in the user's home folder; a clinic's worker never
fetches anything, so the site places the weights file (`xinario_chestViewSplit_resnet-50.pt`)
and points `MEDTRIAGE_IMAGE_VIEW_WEIGHTS` at it, and this module builds the same network
(shared.imaging.resnet: torchvision's layout, without torchvision) and the same preprocessing
around it: greyscale, 224 x 224, scaled to [0, 1], ImageNet
normalisation. No file configured: no view check, and the analysis says so. A file that does
not load is said too, once per process, and never fails the image.

The answer is context for the nurse ("the model sees a lateral view; the file says PA"),
never a finding, and never changes the acuity.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shared.imaging.schema import ImageObservation
from shared.inference.backend import ModelLoadError
from shared.schemas import ModelInfo

if TYPE_CHECKING:
    from numpy.typing import NDArray

log = logging.getLogger(__name__)

MODEL_NAME = "torchxrayvision-xinario-view"
VIEWS = ("frontal", "lateral")  # the classifier's first two outputs, in its order
SIZE = 224
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# DICOM ViewPosition (0018,5101) values and the view they name.
TAG_VIEWS = {
    "PA": "frontal", "AP": "frontal", "APL": "frontal", "PAL": "frontal",
    "LL": "lateral", "RL": "lateral", "LAT": "lateral", "LATERAL": "lateral",
    "LLD": "lateral", "RLD": "lateral",
}  # fmt: skip
NOT_CONFIGURED = "view check: not configured (MEDTRIAGE_IMAGE_VIEW_WEIGHTS)"


@dataclass(frozen=True)
class ViewAnswer:
    view: str  # frontal | lateral
    probability: float  # of that view


class ViewModel:
    """The view classifier, loaded once per worker process from a local weights file."""

    def __init__(self, path: str, threads: int = 0, device: str = "cpu") -> None:
        file = Path(path).expanduser()
        if not file.is_file():
            raise ModelLoadError(f"view check weights not found at {file}")
        try:
            import torch
        except ImportError as exc:
            raise ModelLoadError(f"view check needs torch (the [models] extra): {exc}") from exc
        from shared.imaging.resnet import resnet50

        if threads > 0:
            torch.set_num_threads(threads)
        self._torch = torch
        self.device = device if device != "auto" else "cpu"
        network = resnet50()
        try:
            # weights_only: a weights file is data; never let it run code.
            state = torch.load(file, map_location="cpu", weights_only=True)
            network.load_state_dict(state)
        except Exception as exc:  # a truncated file, another network's weights, a pickle
            raise ModelLoadError(
                f"view check weights at {file} do not load as the view classifier: "
                f"{type(exc).__name__}"
            ) from exc
        self.network = network.eval().to(self.device)
        digest = hashlib.sha256()
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        self.info = ModelInfo(
            name=MODEL_NAME, version="resnet50", revision=digest.hexdigest()[:12],
            dtype="float32", device=self.device,
        )  # fmt: skip

    def predict(self, display: NDArray[Any]) -> ViewAnswer:
        """Frontal or lateral, with the model's probability for it."""
        import numpy as np

        torch = self._torch
        grey = display.astype(np.float32) / 255.0
        if grey.ndim == 3:
            grey = grey.mean(axis=2)
        pixels = torch.from_numpy(np.ascontiguousarray(grey))[None, None]
        pixels = torch.nn.functional.interpolate(
            pixels, size=(SIZE, SIZE), mode="bilinear", align_corners=False
        ).repeat(1, 3, 1, 1)
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        with torch.inference_mode():
            logits = self.network(((pixels - mean) / std).to(self.device))[0, : len(VIEWS)]
            probabilities = torch.softmax(logits.float(), dim=0).cpu().numpy()
        best = int(probabilities.argmax())
        return ViewAnswer(VIEWS[best], round(float(probabilities[best]), 3))


@functools.cache
def _cached_view_model(path: str, threads: int, device: str) -> ViewModel | ModelLoadError:
    try:
        return ViewModel(path, threads, device)
    except ModelLoadError as exc:
        log.error("image view check not loaded: %s", exc)
        return exc  # remembered: a broken file is not re-read for every image


def get_view_model(settings: Any) -> tuple[ViewModel | None, str]:
    """The configured view classifier, loaded once per process, or None with the reason."""
    path = settings.image_view_weights
    if not path:
        return None, NOT_CONFIGURED
    loaded = _cached_view_model(path, settings.model_threads, settings.device)
    if isinstance(loaded, ModelLoadError):
        return None, f"view check not loaded: {loaded}"
    return loaded, f"view check: {MODEL_NAME} ({loaded.info.revision})"


def applies(image_type: str, tags: dict[str, Any]) -> bool:
    """Chest radiographs only: the classifier knows no other body part."""
    part = str(tags.get("BodyPartExamined") or "").strip().upper()
    return image_type == "xray" and part in ("", "CHEST", "THORAX")


def view_observation(model: ViewModel, display: NDArray[Any], tags: dict[str, Any]) -> Any:
    """The model's view as an AI-generated observation, checked against ViewPosition."""
    answer = model.predict(display)
    text = f"View check: looks {answer.view} (probability {answer.probability:.2f})"
    position = str(tags.get("ViewPosition") or "").strip().upper()
    labelled = TAG_VIEWS.get(position)
    if labelled is None:
        text += "."
    elif labelled == answer.view:
        text += f"; agrees with the file's view position {position}."
    else:
        text += (
            f"; the file says {position} ({labelled}). Check that the image is the view it "
            "claims before relying on it."
        )
    return ImageObservation(
        text=text, source="model", ai_generated=True,
        model=f"{model.info.name}@{model.info.revision}",
    )  # fmt: skip
