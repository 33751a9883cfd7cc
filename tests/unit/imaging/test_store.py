"""Storage by content hash: once per content, never half-written, window/level for DICOM."""

from __future__ import annotations

import stat

import numpy as np
import pytest

from shared.imaging.decode import decode
from shared.imaging.errors import ImageLimits
from shared.imaging.store import ImageStore
from tests.support.images import dicom_bytes, png_bytes, radiograph, ramp16


def test_the_same_pixels_are_stored_once_with_private_modes(tmp_path):
    store = ImageStore(tmp_path / "images")
    first = store.put(decode(png_bytes(radiograph(128)), "a.png", "", ImageLimits()))
    again = store.put(
        decode(png_bytes(radiograph(128), compress_level=9), "b.png", "", ImageLimits())
    )
    assert first == again
    files = sorted(p.name for p in (tmp_path / "images").rglob("*") if p.is_file())
    assert files == [f"{first}.png", f"{first}.thumb.png"]
    for path in (tmp_path / "images").rglob("*.png"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert np.array_equal(store.load_display(first), radiograph(128))


def test_dicom_keeps_modality_values_for_window_level(tmp_path):
    store = ImageStore(tmp_path)
    decoded = decode(dicom_bytes(ramp16(), slope=1.0, intercept=-1024.0, modality="DX"),
                     "x.dcm", "", ImageLimits())  # fmt: skip
    sha = store.put(decoded)
    lo, hi = float(decoded.raw.min()), float(decoded.raw.max())
    narrow = store.render_window(sha, lo, hi, center=500.0, width=400.0)
    wide = store.render_window(sha, lo, hi, center=1000.0, width=6000.0)
    assert narrow != wide and narrow.startswith(b"\x89PNG")


def test_names_outside_the_store_are_refused(tmp_path):
    store = ImageStore(tmp_path)
    for bad in ("../../etc/passwd", "a" * 63, "A" * 64):
        with pytest.raises(ValueError):
            store.path(bad)
    with pytest.raises(ValueError):
        store.path("a" * 64, "../x")
