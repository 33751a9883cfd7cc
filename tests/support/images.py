"""Images the imaging tests generate: a chest-radiograph-like picture and its faults, and
DICOM files built with pydicom (no real patient, invented identifying tags to catch leaks)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

# Invented identity written into every generated DICOM: none of it may leak anywhere.
IDENTITY = {
    "PatientName": "Leakcheck^Zebedee",
    "PatientID": "MRN-LEAK-7731",
    "PatientBirthDate": "19310417",
    "InstitutionName": "Leakcheck Memorial Infirmary",
    "OperatorsName": "Radiographer^Quentin",
    "ReferringPhysicianName": "Doctor^Ulysses",
    "AccessionNumber": "ACC99887766",
    "StudyDescription": "Zebedee chest follow-up",
}


def radiograph(size: int = 512, seed: int = 7) -> np.ndarray:
    """A chest-radiograph-like uint8 picture: a body, two darker lungs, ribs, a spine."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    body = np.exp(-(((x - 0.5) / 0.42) ** 2 + ((y - 0.55) / 0.55) ** 2) * 2)
    lungs = sum(
        np.exp(-(((x - cx) / 0.14) ** 2 + ((y - 0.48) / 0.26) ** 2) * 3) for cx in (0.32, 0.68)
    )
    ribs = 0.12 * (np.sin(y * 60 + 8 * (x - 0.5) ** 2) > 0.5) * (lungs > 0.2)
    spine = 0.2 * (np.abs(x - 0.5) < 0.04)
    noise = rng.normal(0, 0.01, (size, size))
    picture = 0.15 + 0.6 * body - 0.35 * lungs + ribs + spine + noise
    return np.asarray(np.clip(picture, 0, 1) * 255, dtype=np.uint8)


def png_bytes(pixels: np.ndarray | Image.Image, **params: Any) -> bytes:
    image = pixels if isinstance(pixels, Image.Image) else Image.fromarray(pixels)
    out = io.BytesIO()
    image.save(out, format="PNG", **params)
    return out.getvalue()


def jpeg_bytes(pixels: np.ndarray, quality: int = 90) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=quality)
    return out.getvalue()


def blurred(pixels: np.ndarray, radius: float = 6) -> np.ndarray:
    return np.asarray(Image.fromarray(pixels).filter(ImageFilter.GaussianBlur(radius)))


def exposed(pixels: np.ndarray, gain: float, offset: float = 0) -> np.ndarray:
    return np.asarray(np.clip(pixels.astype(np.float32) * gain + offset, 0, 255), dtype=np.uint8)


def dicom_bytes(
    pixels: np.ndarray,
    *,
    photometric: str = "MONOCHROME2",
    modality: str = "DX",
    slope: float = 1.0,
    intercept: float = 0.0,
    window: tuple[float, float] | None = None,
    frames: int = 1,
    syntax: str = "1.2.840.10008.1.2.1",
    tags: dict[str, Any] | None = None,
    preamble: bytes = b"\x00" * 128,
) -> bytes:
    """A DICOM file of `pixels` (uint16 greyscale), carrying the invented IDENTITY."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID("1.2.840.10008.5.1.4.1.1.1.1")
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    for name, value in IDENTITY.items():
        setattr(ds, name, value)
    ds.Modality = modality
    ds.ViewPosition = "PA"
    ds.BodyPartExamined = "CHEST"
    ds.ImageLaterality = "L"
    for name, value in (tags or {}).items():
        setattr(ds, name, value)
    stack = np.stack([pixels] * frames) if frames > 1 else pixels
    ds.Rows, ds.Columns = pixels.shape
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = 16
    ds.BitsStored = 12 if pixels.max() < 4096 else 16
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 0
    if slope != 1.0 or intercept != 0.0:
        ds.RescaleSlope = slope
        ds.RescaleIntercept = intercept
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
    ds.PixelData = np.ascontiguousarray(stack, dtype="<u2").tobytes()
    syntax = UID(syntax)
    if syntax == "1.2.840.10008.1.2.4.70":  # JPEG Lossless SV1: gdcm encodes it
        return _gdcm_jpeg_lossless(ds, preamble)
    if syntax in ("1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.80"):
        ds.compress(syntax)  # JPEG 2000 (openjpeg), JPEG-LS (CharLS)
    elif syntax != ExplicitVRLittleEndian:
        # A syntax nothing here decodes (e.g. MPEG2): native bytes claimed as encapsulated.
        from pydicom.encaps import encapsulate

        ds.PixelData = encapsulate([ds.PixelData])
        ds["PixelData"].VR = "OB"
        ds.file_meta.TransferSyntaxUID = syntax
    out = io.BytesIO()
    ds.preamble = preamble
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def _gdcm_jpeg_lossless(ds: Any, preamble: bytes) -> bytes:
    import os
    import tempfile

    import gdcm

    with tempfile.TemporaryDirectory() as folder:
        src, dst = os.path.join(folder, "in.dcm"), os.path.join(folder, "out.dcm")
        ds.preamble = preamble
        ds.save_as(src, enforce_file_format=True)
        reader = gdcm.ImageReader()
        reader.SetFileName(src)
        assert reader.Read()
        change = gdcm.ImageChangeTransferSyntax()
        change.SetTransferSyntax(gdcm.TransferSyntax(gdcm.TransferSyntax.JPEGLosslessProcess14_1))
        change.SetInput(reader.GetImage())
        assert change.Change()
        writer = gdcm.ImageWriter()
        writer.SetFileName(dst)
        writer.SetFile(reader.GetFile())
        writer.SetImage(change.GetOutput())
        assert writer.Write()
        with open(dst, "rb") as handle:
            return handle.read()


def ramp16(size: int = 256, top: int = 4000) -> np.ndarray:
    """A 12-bit radiograph-like picture: `radiograph` scaled to 0..top."""
    return np.asarray(radiograph(size).astype(np.float32) / 255 * top, dtype=np.uint16)
