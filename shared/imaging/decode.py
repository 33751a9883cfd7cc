"""Sniff, check and decode one upload (PNG, JPEG or DICOM) into pixels we can store.

Nothing of the upload itself is kept: the pixels are re-encoded, so metadata (EXIF, PNG text,
DICOM tags beyond `dicom.TECHNICAL_TAGS`) and anything hidden in the file never reach storage.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shared.imaging.errors import (
    ImageLimits,
    ImageRejected,
    ImagingUnavailable,
    too_large,
    unreadable,
    wrong_type,
)

if TYPE_CHECKING:
    from numpy.typing import NDArray

KINDS = ("png", "jpeg", "dicom")
LABEL = {"png": "PNG", "jpeg": "JPEG", "dicom": "DICOM"}
EXTENSIONS = {
    ".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".jpe": "jpeg",
    ".dcm": "dicom", ".dicom": "dicom", ".dic": "dicom", ".ima": "dicom",
}  # fmt: skip
CONTENT_TYPES = {
    "image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/pjpeg": "jpeg",
    "application/dicom": "dicom",
}  # fmt: skip
NO_CLAIM = ("", "application/octet-stream")
# Formats a nurse might try, named so the answer says what the file is.
OTHER_FORMATS = (
    (b"GIF8", "a GIF"), (b"RIFF", "a WebP or other RIFF file"), (b"BM", "a BMP"),
    (b"II*\x00", "a TIFF"), (b"MM\x00*", "a TIFF"), (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP or Office document"), (b"\x7fELF", "a program"), (b"MZ", "a program"),
)  # fmt: skip
# Active content that has no business inside an image: a polyglot file (an image that is also
# a web page, script or archive). Markup is searched everywhere (too long to occur by chance
# in compressed data); binary headers only where data follows the image or in DICOM's preamble.
MARKUP = (b"<script", b"<html", b"<?php", b"<svg", b"<iframe", b"<!doctype", b"javascript:")
BINARY_HEADERS = (b"PK\x03\x04", b"%PDF-", b"\x7fELF", b"MZ", b"#!", b"Rar!", b"7z\xbc\xaf")
ONE_CHANNEL_MODES = {"1", "L", "I;16", "I;16B", "I;16L", "I", "LA"}

DISGUISED = (
    "The file contains something other than an image hidden inside it (a disguised file), "
    "so it was not accepted. Export or photograph the image again and attach the new file."
)


@dataclass
class Decoded:
    """An upload's pixels: `display` as staff first see it (uint8, H x W or H x W x 3), and
    for DICOM greyscale the modality values (`raw`, e.g. Hounsfield units) for window/level."""

    kind: str
    display: NDArray[Any]
    raw: NDArray[Any] | None
    bits_stored: int
    distinct_levels: int  # grey levels the source actually uses (dynamic range)
    tags: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def sniff(data: bytes) -> str | None:
    """What the bytes are, whatever the name says."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if len(data) > 132 and data[128:132] == b"DICM":
        return "dicom"
    return None


def describe_other(data: bytes) -> str:
    head = data[:16]
    for magic, name in OTHER_FORMATS:
        if head.startswith(magic):
            return name
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1"):
        return "a HEIC photo (set the camera or tablet to save JPEG)"
    return "not an image this system reads"


def claimed_kind(filename: str, content_type: str) -> str | None:
    """The kind the name or declared type claims (None: no claim); refuses other names."""
    claim = None
    name = filename.strip().lower()
    if "." in name.rsplit("/", 1)[-1]:
        ext = "." + name.rsplit(".", 1)[-1]
        claim = EXTENSIONS.get(ext)
        if claim is None:
            raise wrong_type(
                f"Files ending in {ext[:12]} cannot be attached: attach a PNG, JPEG or DICOM image."
            )
    ctype = content_type.split(";", 1)[0].strip().lower()
    if ctype not in NO_CLAIM:
        declared = CONTENT_TYPES.get(ctype)
        if declared is None:
            raise wrong_type(
                f"A file sent as {ctype[:40]} cannot be attached: send a PNG, JPEG or DICOM image."
            )
        if claim is not None and claim != declared:
            raise wrong_type(f"The file name says {LABEL[claim]} but it was sent as {ctype}.")
        claim = declared
    return claim


def check_upload(data: bytes, filename: str, content_type: str, limits: ImageLimits) -> str:
    """Size, type and disguise checks before any decoding; returns the kind."""
    if len(data) > limits.max_bytes:
        raise too_large(
            f"The image is {len(data) / 1048576:.1f} MB; the limit is "
            f"{limits.max_bytes / 1048576:.0f} MB. Export it smaller (or as JPEG) and attach it."
        )
    if not data:
        raise unreadable("The image file is empty. Attach it again.")
    claim = claimed_kind(filename, content_type)
    kind = sniff(data)
    if kind is None:
        raise wrong_type(f"The file is {describe_other(data)}. Attach a PNG, JPEG or DICOM image.")
    if claim is not None and claim != kind:
        raise wrong_type(
            f"The file is named or sent as {LABEL[claim]} but contains {LABEL[kind]} data. "
            "Export the image again so that its name matches what it is."
        )
    lowered = data.lower()  # plain substring searches: far faster than a regex on megabytes
    if any(marker in lowered for marker in MARKUP):
        raise unreadable(DISGUISED)
    if kind == "dicom" and any(data[:128].lstrip(b"\x00").startswith(h) for h in BINARY_HEADERS):
        raise unreadable(DISGUISED)
    return kind


def decode(data: bytes, filename: str, content_type: str, limits: ImageLimits) -> Decoded:
    """Check and decode one upload, or raise ImageRejected (413/415/422)."""
    kind = check_upload(data, filename, content_type, limits)
    try:
        import numpy  # noqa: F401
        import PIL  # noqa: F401
    except ImportError:
        raise ImagingUnavailable() from None
    if kind == "dicom":
        from shared.imaging.dicom import decode_dicom

        return decode_dicom(data, limits)
    return _decode_picture(data, kind, limits)


def _trailing(data: bytes, kind: str) -> bytes:
    """What follows the end of the picture: the end marker's last occurrence is conservative."""
    marker = b"IEND\xaeB`\x82" if kind == "png" else b"\xff\xd9"
    end = data.rfind(marker)
    return b"" if end < 0 else data[end + len(marker) :]


def _decode_picture(data: bytes, kind: str, limits: ImageLimits) -> Decoded:
    import numpy as np
    from PIL import Image, ImageOps, UnidentifiedImageError

    if any(h in _trailing(data, kind) for h in BINARY_HEADERS):
        raise unreadable(DISGUISED)
    try:
        with Image.open(io.BytesIO(data), formats=[kind.upper()]) as opened:
            width, height = opened.size
            if width * height > limits.max_pixels:
                raise _too_many_pixels(width, height, limits)
            opened.load()
            im: Image.Image = ImageOps.exif_transpose(opened) or opened  # phone photos upright
            mode = im.mode
    except ImageRejected:
        raise
    except Image.DecompressionBombError:
        raise _too_many_pixels(0, 0, limits) from None
    except (UnidentifiedImageError, SyntaxError):
        raise unreadable(
            f"The {LABEL[kind]} file is damaged and cannot be opened. Export it again."
        ) from None
    except (OSError, ValueError, EOFError) as exc:
        if "truncated" in str(exc) or isinstance(exc, EOFError):
            raise unreadable(
                f"The {LABEL[kind]} file is incomplete (cut off while copying or uploading). "
                "Attach it again."
            ) from None
        raise unreadable(
            f"The {LABEL[kind]} file is damaged and cannot be opened. Export it again."
        ) from None
    notes: list[str] = []
    if mode in ONE_CHANNEL_MODES and mode not in ("1", "L", "LA"):
        source = np.asarray(im, dtype=np.int64)
        lo, hi = int(source.min()), int(source.max())
        display = _to_uint8((source - lo) / max(hi - lo, 1))
        bits = 16
        notes.append("16-bit greyscale: shown from its darkest to its brightest value")
    elif mode in ONE_CHANNEL_MODES:
        display = np.asarray(im.convert("L"), dtype=np.uint8)
        source, bits = display, 8
    else:
        if "A" in mode or (mode == "P" and "transparency" in im.info):
            background = Image.new("RGBA", im.size, (0, 0, 0, 255))
            im = Image.alpha_composite(background, im.convert("RGBA"))
        display = np.asarray(im.convert("RGB"), dtype=np.uint8)
        source, bits = display, 8
    if display.ndim == 3 and _is_grey(display):
        display = np.ascontiguousarray(display[..., 0])
        source = display
        notes.append("a greyscale picture saved in colour: read as greyscale")
    return Decoded(
        kind=kind,
        display=display,
        raw=None,
        bits_stored=bits,
        distinct_levels=distinct_levels(source),
        tags={"Rows": int(display.shape[0]), "Columns": int(display.shape[1])},
        notes=notes,
    )


def _too_many_pixels(width: int, height: int, limits: ImageLimits) -> Exception:
    size = f" ({width} x {height})" if width else ""
    return too_large(
        f"The image is too large in pixels{size}; at most {limits.max_pixels / 1e6:.0f} "
        "megapixels are accepted. Export it at a lower resolution."
    )


def _is_grey(rgb: NDArray[Any]) -> bool:
    sample = rgb[:: max(1, rgb.shape[0] // 256), :: max(1, rgb.shape[1] // 256)].astype("int16")
    spread = sample.max(axis=2) - sample.min(axis=2)
    return bool((spread <= 3).mean() > 0.99)


def _to_uint8(values: Any) -> NDArray[Any]:
    import numpy as np

    return np.asarray(np.clip(np.rint(values * 255.0), 0, 255), dtype=np.uint8)


def distinct_levels(source: NDArray[Any]) -> int:
    """How many grey (or colour-mean) levels the image uses: its real dynamic range."""
    import numpy as np

    values = source if source.ndim == 2 else source.mean(axis=2)
    if values.dtype.kind in "iu":  # integer levels: a histogram, not a sort
        flat = np.asarray(values, dtype=np.int64).ravel()
        low = int(flat.min())
        if int(flat.max()) - low < 1 << 20:
            return int(np.count_nonzero(np.bincount(flat - low)))
    step = max(1, int((values.size / 1_000_000) ** 0.5))
    return int(np.unique(np.asarray(values[::step, ::step])).size)
