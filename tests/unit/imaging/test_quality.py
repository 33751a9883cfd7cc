"""Technical quality on generated images: the verdict and reasons a radiographer expects."""

from __future__ import annotations

import numpy as np

from shared.imaging.decode import distinct_levels
from shared.imaging.quality import assess_quality, normalize_image_type
from tests.support.images import blurred, exposed, radiograph

NORMAL = radiograph(512)


def verdict(pixels, image_type="xray", **kw):
    report = assess_quality(pixels, image_type=image_type,
                            distinct_levels=distinct_levels(pixels), **kw)  # fmt: skip
    return report.verdict, {r.code for r in report.reasons}


def test_a_good_radiograph_is_usable_at_both_sizes():
    assert verdict(NORMAL) == ("usable", set())
    assert verdict(radiograph(2048)) == ("usable", set())


def test_blur_is_found_and_graded():
    assert verdict(blurred(NORMAL, 1)) == ("degraded", {"blur"})
    assert verdict(blurred(NORMAL, 6)) == ("unusable", {"blur"})


def test_over_and_under_exposure():
    over, reasons = verdict(exposed(NORMAL, 2.5, 40))
    assert over in ("degraded", "unusable") and "over_exposed" in reasons
    under, reasons = verdict(exposed(NORMAL, 0.5, -60))
    assert under == "unusable" and "under_exposed" in reasons


def test_tiny_and_strip_images():
    assert verdict(radiograph(64)) == ("unusable", {"resolution"})
    strip = np.tile(radiograph(512), (1, 3))[:, :1536]
    assert "aspect" in verdict(strip[:200])[1]


def test_blank_and_posterised_images_are_unusable():
    blank = np.full((512, 512), 128, dtype=np.uint8)
    state, reasons = verdict(blank)
    assert state == "unusable" and {"dynamic_range", "contrast"} <= reasons


def test_a_radiograph_in_colour_is_flagged_but_a_wound_photo_is_not():
    colour = np.stack([NORMAL, NORMAL // 2, NORMAL // 3], axis=-1)
    assert "colour" in verdict(colour, "chest_xray")[1]
    assert "colour" not in verdict(colour, "wound")[1]


def test_missing_dicom_tags_are_notes_only():
    state, reasons = verdict(NORMAL, kind="dicom", tags={"Modality": "DX"})
    assert state == "usable"
    assert {"missing_ViewPosition", "missing_BodyPartExamined", "missing_laterality"} <= reasons


def test_image_types_are_normalised():
    assert normalize_image_type("chest_xray") == "xray"
    assert normalize_image_type("wound") == "photo"
    assert normalize_image_type(None) == "other"
    assert normalize_image_type("<script>") == "other"
