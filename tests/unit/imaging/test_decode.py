"""Uploads as a nurse sends them: what is accepted, and the answer for what is not."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from shared.imaging.decode import decode
from shared.imaging.errors import ImageLimits, ImageRejected
from tests.support.images import jpeg_bytes, png_bytes, radiograph

LIMITS = ImageLimits(max_bytes=2_000_000, max_pixels=4_000_000)


def rejected(data: bytes, name: str = "image.png", ctype: str = "") -> ImageRejected:
    with pytest.raises(ImageRejected) as info:
        decode(data, name, ctype, LIMITS)
    return info.value


def test_png_and_jpeg_decode_to_greyscale_pixels():
    picture = radiograph(256)
    png = decode(png_bytes(picture), "cxr.png", "image/png", LIMITS)
    assert png.kind == "png" and png.display.shape == (256, 256)
    assert np.array_equal(png.display, picture)
    jpeg = decode(jpeg_bytes(picture), "cxr.jpg", "image/jpeg", LIMITS)
    assert jpeg.kind == "jpeg" and jpeg.display.shape == (256, 256) and jpeg.bits_stored == 8


def test_a_colour_photo_stays_colour_and_16_bit_png_keeps_its_depth():
    rgb = np.zeros((64, 96, 3), dtype=np.uint8)
    rgb[..., 0] = 200
    rgb[:, 40:, 1] = 120
    assert decode(png_bytes(rgb), "wound.png", "", LIMITS).display.shape == (64, 96, 3)
    deep = Image.fromarray(radiograph(128).astype(np.uint16) * 16)
    decoded = decode(png_bytes(deep), "deep.png", "", LIMITS)
    assert decoded.bits_stored == 16 and decoded.display.max() == 255


def test_too_many_bytes_is_413_before_decoding():
    err = rejected(b"\x89PNG\r\n\x1a\n" + b"\x00" * 2_000_001)
    assert err.status == 413 and "limit is 2 MB" in err.message


def bomb_png(width: int, height: int) -> bytes:
    """A valid PNG header claiming a huge image over a few bytes of data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    data = zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def test_decompression_bomb_header_is_413_without_decoding():
    err = rejected(bomb_png(3000, 2000))  # 6 megapixels over the configured 4
    assert err.status == 413 and "3000 x 2000" in err.message and "4 megapixels" in err.message
    err = rejected(bomb_png(50_000, 50_000))  # far past Pillow's own limit too
    assert err.status == 413 and "megapixels" in err.message


def test_truncated_png_and_jpeg_are_422_in_plain_words():
    for data, name in (
        (png_bytes(radiograph(256)), "a.png"),
        (jpeg_bytes(radiograph(256)), "a.jpg"),
    ):
        err = rejected(data[: len(data) // 2], name)
        assert err.status == 422 and "incomplete" in err.message


def test_wrong_extension_and_wrong_declared_type_are_415():
    err = rejected(jpeg_bytes(radiograph(64)), "scan.png")
    assert err.status == 415 and "named or sent as PNG but contains JPEG" in err.message
    assert rejected(png_bytes(radiograph(64)), "x.png", "image/jpeg").status == 415
    assert rejected(png_bytes(radiograph(64)), "cxr.exe").status == 415
    assert rejected(png_bytes(radiograph(64)), "cxr", "text/html").status == 415


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b"%PDF-1.7\n...", "a PDF document"),
        (b"GIF89a" + b"\x00" * 40, "a GIF"),
        (b"PK\x03\x04" + b"\x00" * 40, "a ZIP or Office document"),
        (b"hello, not an image at all", "not an image this system reads"),
    ],
)
def test_other_files_are_415_naming_what_they_are(data, said):
    err = rejected(data, "upload")
    assert err.status == 415 and said in err.message


def test_polyglots_are_refused():
    picture = png_bytes(radiograph(64))
    for disguised in (
        picture + b"PK\x03\x04" + b"\x00" * 30,  # a ZIP appended after IEND
        picture + b"<html><script>alert(1)</script></html>",
        jpeg_bytes(radiograph(64))[:-2] + b"<svg onload=x>" + b"\xff\xd9",
    ):
        err = rejected(disguised, "x")
        assert err.status == 422 and "disguised" in err.message


def test_damaged_png_is_422():
    data = bytearray(png_bytes(radiograph(64)))
    data[40:60] = b"\x00" * 20
    err = rejected(bytes(data))
    assert err.status == 422


def test_empty_upload_is_422():
    assert rejected(b"").status == 422


def test_exif_orientation_is_applied_and_metadata_dropped():
    picture = Image.fromarray(np.zeros((20, 40, 3), dtype=np.uint8) + 90)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees
    exif[0x010E] = "Zebedee Leakcheck"  # ImageDescription
    out = io.BytesIO()
    picture.save(out, format="JPEG", exif=exif.tobytes())
    decoded = decode(out.getvalue(), "photo.jpg", "", LIMITS)
    assert decoded.display.shape[:2] == (40, 20)
    assert "Zebedee" not in repr(decoded.tags)
