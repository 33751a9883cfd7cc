"""The seed's calls: analyze_image(image, image_type) and analyze_with_image(...)."""

from __future__ import annotations

import pytest
from PIL import Image

from shared.config import Settings
from shared.imaging.errors import ImageRejected
from shared.pipelines import ImageAnalysisOutput, MultimodalOutput, MultimodalPipeline
from tests.support.images import blurred, dicom_bytes, png_bytes, radiograph, ramp16


@pytest.fixture
def pipeline(tmp_path):
    return MultimodalPipeline(Settings(instance_path=tmp_path, image_encoder=""))


def test_analyze_image_takes_a_pil_image_a_path_or_dicom_bytes(pipeline, tmp_path):
    path = tmp_path / "cxr.png"
    path.write_bytes(png_bytes(blurred(radiograph(512), 6)))
    for image in (Image.fromarray(radiograph(512)), path, dicom_bytes(ramp16(512))):
        out = pipeline.analyze_image(image, "chest_xray")
        assert isinstance(out, ImageAnalysisOutput) and out.image_type == "xray"
        assert out.embedding is None and "no image encoder configured" in " ".join(out.engines)
        assert out.confidence <= 0.95 and "never change the acuity" in out.disclaimer
    assert pipeline.analyze_image(path, "chest_xray").quality_verdict == "unusable"


def test_bad_input_is_refused_with_the_reason(pipeline):
    with pytest.raises(ImageRejected):
        pipeline.analyze_image(b"%PDF-1.4 not an image", "chest_xray")
    with pytest.raises(TypeError):
        pipeline.analyze_image(12345, "chest_xray")


def test_analyze_with_image_keeps_the_text_engines_acuity_and_says_it_did_not_integrate(pipeline):
    note = "67 year old, chest pain radiating to the left arm, sweaty. HR 118, BP 92/60."
    text = pipeline.analyze_clinical_text(note, 67)
    for image in (radiograph(512), blurred(radiograph(512), 6)):  # usable, then unusable
        out = pipeline.analyze_with_image(note, Image.fromarray(image), "chest_xray", 67)
        assert isinstance(out, MultimodalOutput)
        assert out.acuity == text.assessment.acuity and out.risk_level == text.risk_level
        assert "no multimodal model configured" in out.integration
        assert out.disclaimer and out.image.quality_verdict in ("usable", "unusable")
