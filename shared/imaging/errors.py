"""Why an image was refused, in words a nurse understands, with the HTTP status to answer."""

from __future__ import annotations

from dataclasses import dataclass


class ImageRejected(ValueError):
    """An upload that is not stored: 413 too big, 415 not an image we take, 422 unreadable."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def too_large(message: str) -> ImageRejected:
    return ImageRejected(413, message)


def wrong_type(message: str) -> ImageRejected:
    return ImageRejected(415, message)


def unreadable(message: str) -> ImageRejected:
    return ImageRejected(422, message)


class ImagingUnavailable(RuntimeError):
    """The `imaging` extra (Pillow, numpy, pydicom) is not installed on this host."""

    message = (
        "This server cannot accept images: its imaging support is not installed "
        "(pip install 'medtriage[imaging]'). Submit the case without the image."
    )


@dataclass(frozen=True)
class ImageLimits:
    """What one upload may be: bytes before decoding, pixels after (decompression bombs)."""

    max_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 40_000_000
    max_count: int = 4
