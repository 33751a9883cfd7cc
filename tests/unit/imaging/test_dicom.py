"""DICOM files built with pydicom: display as a radiographer expects, nobody's identity kept."""

from __future__ import annotations

import json

import numpy as np
import pytest

from shared.imaging.decode import decode
from shared.imaging.errors import ImageLimits, ImageRejected
from tests.support.images import IDENTITY, dicom_bytes, ramp16

LIMITS = ImageLimits(max_bytes=5_000_000, max_pixels=1_000_000)
JPEG_LOSSLESS = "1.2.840.10008.1.2.4.70"
JPEG_2000 = "1.2.840.10008.1.2.4.90"
MPEG2 = "1.2.840.10008.1.2.4.100"


def dcm(**kw):
    return decode(dicom_bytes(ramp16(), **kw), "image.dcm", "application/dicom", LIMITS)


def test_monochrome2_min_max_without_a_window():
    d = dcm()
    assert d.kind == "dicom" and d.display.dtype == np.uint8
    assert d.display.min() == 0 and d.display.max() == 255
    assert d.bits_stored == 12 and d.tags["ViewPosition"] == "PA"
    assert any("darkest to its brightest" in n for n in d.notes)


def test_monochrome1_is_inverted():
    plain, inverted = dcm(), dcm(photometric="MONOCHROME1")
    assert np.array_equal(inverted.display, 255 - plain.display)
    assert any("MONOCHROME1" in n for n in inverted.notes)


def test_the_files_window_is_applied_after_the_modality_lut():
    # raw 0..4000, slope 2 intercept -1000 -> -1000..7000; window 1000 +- 500 on those values
    d = dcm(slope=2.0, intercept=-1000.0, window=(1000.0, 1000.0))
    raw = ramp16().astype(np.float64) * 2 - 1000
    assert np.allclose(d.raw, raw)
    assert d.display[raw <= 499].max() == 0 and d.display[raw >= 1501].min() == 255
    middle = d.display[(raw > 800) & (raw < 1200)]
    assert 50 < middle.mean() < 205


def test_ct_gets_three_windows_as_rgb():
    hu = dcm(modality="CT", slope=1.0, intercept=-1024.0)
    assert hu.display.shape[2] == 3
    # A pixel at 40 HU: mid-grey in the wide window, inside the soft-tissue and brain windows.
    raw = hu.raw
    index = np.unravel_index(np.argmin(np.abs(raw - 40)), raw.shape)
    r, g, b = (int(v) for v in hu.display[index])
    assert 130 < r < 140 and 120 < g < 160 and 100 < b < 160


def test_multi_frame_takes_the_first_frame_and_says_so():
    d = dcm(frames=4)
    assert d.display.shape == (256, 256)
    assert any("4 frames" in n and "first frame" in n for n in d.notes)


@pytest.mark.parametrize("syntax", [JPEG_LOSSLESS, JPEG_2000])
def test_compressed_syntaxes_decode_to_the_same_pixels(syntax):
    assert np.array_equal(dcm(syntax=syntax).display, dcm().display)


def test_an_undecodable_syntax_is_422_naming_it():
    with pytest.raises(ImageRejected) as info:
        dcm(syntax=MPEG2)
    assert info.value.status == 422
    assert "MPEG2 Main Profile" in info.value.message and MPEG2 in info.value.message


def test_too_many_pixels_in_the_header_is_413():
    big = np.zeros((1100, 1000), dtype=np.uint16)
    with pytest.raises(ImageRejected) as info:
        decode(dicom_bytes(big), "big.dcm", "", LIMITS)
    assert info.value.status == 413


def test_identifying_tags_never_leave_the_decoder():
    d = dcm(tags={"PatientComments": "lives with Zebedee", "StationName": "LEAKSTATION"})
    text = json.dumps(d.tags) + " ".join(d.notes)
    for value in [*IDENTITY.values(), "Zebedee", "LEAKSTATION", "1931"]:
        assert value not in text
    assert set(d.tags) <= {
        "Modality",
        "ViewPosition",
        "BodyPartExamined",
        "ImageLaterality",
        "Laterality",
        "PatientOrientation",
        "PhotometricInterpretation",
        "SamplesPerPixel",
        "BitsAllocated",
        "BitsStored",
        "Rows",
        "Columns",
        "NumberOfFrames",
        "PixelSpacing",
        "ImagerPixelSpacing",
        "SliceThickness",
        "RescaleSlope",
        "RescaleIntercept",
        "RescaleType",
        "WindowCenter",
        "WindowWidth",
        "VOILUTFunction",
        "TransferSyntax",
    }


def test_a_program_in_the_preamble_is_refused():
    data = dicom_bytes(ramp16(64), preamble=b"MZ\x90\x00" + b"\x00" * 124)
    with pytest.raises(ImageRejected) as info:
        decode(data, "x.dcm", "", LIMITS)
    assert info.value.status == 422 and "disguised" in info.value.message


def test_truncated_dicom_is_422():
    data = dicom_bytes(ramp16())
    with pytest.raises(ImageRejected) as info:
        decode(data[: len(data) // 2], "x.dcm", "", LIMITS)
    assert info.value.status == 422
