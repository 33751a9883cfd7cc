"""Image files by content hash in the instance folder, outside the web root.

Per image: `<hash>.png` (as first shown), `<hash>.thumb.png`, for DICOM greyscale
`<hash>.raw.png` (16-bit modality values, for window/level), and the upload itself
(`<hash>.orig`) only when a site configures keeping originals. The same pixels twice are
stored once. Files are written to a temporary name and renamed: never half-written.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from shared.imaging.decode import Decoded

THUMB_SIDE = 256
HASH_RE = re.compile(r"[0-9a-f]{64}")
VARIANTS = ("png", "thumb.png", "raw.png", "orig")


def content_hash(decoded: Decoded) -> str:
    """SHA-256 of the pixels themselves (kind, shape, values): container-independent."""
    digest = hashlib.sha256()
    for array in (decoded.display, decoded.raw):
        if array is not None:
            digest.update(f"{array.dtype}{array.shape}".encode())
            digest.update(array.tobytes())
    return digest.hexdigest()


def raw_range(raw: NDArray[Any]) -> tuple[float, float]:
    return float(raw.min()), float(raw.max())


def encode_png(pixels: NDArray[Any]) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG", compress_level=3)
    return out.getvalue()


def _raw_png(raw: NDArray[Any]) -> bytes:
    import numpy as np
    from PIL import Image

    lo, hi = raw_range(raw)
    scaled = (raw - lo) / (hi - lo) if hi > lo else np.zeros_like(raw)
    values = np.asarray(np.rint(scaled * 65535.0), dtype=np.uint16)
    out = io.BytesIO()
    Image.fromarray(values).save(out, format="PNG", compress_level=3)
    return out.getvalue()


def _thumb(pixels: NDArray[Any]) -> bytes:
    from PIL import Image

    image = Image.fromarray(pixels)
    image.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@dataclass(frozen=True)
class ImageStore:
    root: Path

    def path(self, sha: str, variant: str = "png") -> Path:
        if (
            variant not in VARIANTS
            or len(sha) != 64
            or not all(c in "0123456789abcdef" for c in sha)
        ):
            raise ValueError("not a stored image name")
        return self.root / sha[:2] / f"{sha}.{variant}"

    def _write(self, path: Path, data: bytes) -> None:
        if path.exists():
            return  # content-addressed: the same name is the same bytes
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def put(self, decoded: Decoded, original: bytes | None = None) -> str:
        """Store the pixels (and the original when asked); returns the content hash."""
        sha = content_hash(decoded)
        self._write(self.path(sha, "thumb.png"), _thumb(decoded.display))
        if decoded.raw is not None:
            self._write(self.path(sha, "raw.png"), _raw_png(decoded.raw))
        if original is not None:
            self._write(self.path(sha, "orig"), original)
        # The main file last: its presence means every other variant is there.
        self._write(self.path(sha, "png"), encode_png(decoded.display))
        return sha

    def read(self, sha: str, variant: str = "png") -> bytes:
        return self.path(sha, variant).read_bytes()

    def load_display(self, sha: str) -> NDArray[Any]:
        import numpy as np
        from PIL import Image

        with Image.open(self.path(sha)) as image:
            return np.asarray(image)

    def render_window(self, sha: str, lo: float, hi: float, center: float, width: float) -> bytes:
        """The DICOM image at another window (modality units), as PNG."""
        import numpy as np
        from PIL import Image

        from shared.imaging.dicom import window_center_width

        with Image.open(self.path(sha, "raw.png")) as image:
            values = np.asarray(image, dtype=np.float32) / 65535.0 * (hi - lo) + lo
        return encode_png(window_center_width(values, center, width))


def store_for(settings: Any) -> ImageStore:
    """The configured image folder, else `images/` in the instance folder."""
    root = Path(settings.image_dir) if settings.image_dir else settings.instance_path / "images"
    return ImageStore(root.resolve())
