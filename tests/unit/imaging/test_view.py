"""The optional frontal/lateral check: torchxrayvision's view classifier (a ResNet-50) from a
weights file the site places, never fetched. Tests build the network with known weights (its
final layer set so that it always answers "lateral"), save them as a site would, and check
what a nurse sees: the model's view beside the file's ViewPosition, marked AI-generated."""

from __future__ import annotations

import pickle

import pytest

from shared.config import Settings
from shared.imaging.resnet import resnet50
from shared.imaging.view import ViewModel, get_view_model
from shared.inference.backend import ModelLoadError
from shared.pipelines import MultimodalPipeline
from tests.support.images import dicom_bytes, png_bytes, radiograph, ramp16

pytestmark = pytest.mark.encoder


@pytest.fixture(scope="module")
def lateral_weights(tmp_path_factory):
    """A view classifier whose answer is always the second class: lateral."""
    import torch

    network = resnet50()
    with torch.no_grad():
        network.fc.weight.zero_()
        network.fc.bias.zero_()
        network.fc.bias[1] = 6.0
    path = tmp_path_factory.mktemp("view") / "xinario_chestViewSplit_resnet-50.pt"
    torch.save(network.state_dict(), path)
    return path


def view_lines(output):
    return [o for o in output.observations if o.text.startswith("View check")]


def test_the_model_view_is_shown_beside_the_files_view_position(lateral_weights, tmp_path):
    pipeline = MultimodalPipeline(
        Settings(instance_path=tmp_path, image_view_weights=str(lateral_weights))
    )
    said_pa = pipeline.analyze_image(dicom_bytes(ramp16(256), tags={"ViewPosition": "PA"}), "cxr")
    (line,) = view_lines(said_pa)
    assert "looks lateral" in line.text and "the file says PA (frontal)" in line.text
    assert "Check that the image is the view it claims" in line.text
    assert line.ai_generated and line.source == "model"
    assert line.model.startswith("torchxrayvision-xinario-view@")
    assert any(m.name == "torchxrayvision-xinario-view" for m in said_pa.models)
    # Context only: the quality verdict and confidence are what quality alone gives.
    said_ll = pipeline.analyze_image(dicom_bytes(ramp16(256), tags={"ViewPosition": "LL"}), "cxr")
    (agrees,) = view_lines(said_ll)
    assert "agrees with the file's view position LL" in agrees.text
    assert said_ll.quality_verdict == said_pa.quality_verdict
    # A PNG has no view position: the model's view alone.
    (plain,) = view_lines(pipeline.analyze_image(png_bytes(radiograph(256)), "chest_xray"))
    assert plain.text.endswith(")."), plain.text


def test_only_chest_radiographs_are_checked(lateral_weights, tmp_path):
    pipeline = MultimodalPipeline(
        Settings(instance_path=tmp_path, image_view_weights=str(lateral_weights))
    )
    hand = dicom_bytes(ramp16(256), tags={"BodyPartExamined": "HAND"})
    assert view_lines(pipeline.analyze_image(hand, "xray")) == []
    assert view_lines(pipeline.analyze_image(png_bytes(radiograph(256)), "photo")) == []


def test_without_weights_the_analysis_says_there_was_no_view_check(tmp_path):
    output = MultimodalPipeline(Settings(instance_path=tmp_path)).analyze_image(
        png_bytes(radiograph(256)), "chest_xray"
    )
    assert view_lines(output) == []
    assert any("view check: not configured" in e for e in output.engines)


def test_a_missing_or_unreadable_weights_file_is_said_and_never_fetched(tmp_path):
    missing = Settings(instance_path=tmp_path, image_view_weights=str(tmp_path / "absent.pt"))
    model, note = get_view_model(missing)
    assert model is None and "not found" in note
    output = MultimodalPipeline(missing).analyze_image(png_bytes(radiograph(256)), "cxr")
    assert view_lines(output) == [] and any("not found" in e for e in output.engines)

    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x00not a weights file" * 100)
    with pytest.raises(ModelLoadError, match="do not load as the view classifier"):
        ViewModel(str(junk))


class Payload:
    """A pickled object that would run code when unpickled without weights_only."""

    ran = False

    def __reduce__(self):
        return (setattr, (Payload, "ran", True))


def test_a_weights_file_that_carries_code_is_refused_without_running_it(tmp_path):
    hostile = tmp_path / "hostile.pt"
    hostile.write_bytes(pickle.dumps({"fc.weight": Payload()}))
    with pytest.raises(ModelLoadError):
        ViewModel(str(hostile))
    assert Payload.ran is False


def test_the_network_has_torchvisions_resnet50_layout():
    """The site's file is a torchvision ResNet-50 state dict: every name and shape must match
    (320 entries; the 3 x 3 convolution carries a bottleneck's stride, torchvision's v1.5)."""
    state = resnet50().state_dict()
    assert len(state) == 320
    shapes = {name: tuple(value.shape) for name, value in state.items()}
    assert shapes["conv1.weight"] == (64, 3, 7, 7)
    assert shapes["layer1.0.downsample.0.weight"] == (256, 64, 1, 1)
    assert shapes["layer2.0.conv2.weight"] == (128, 128, 3, 3)
    assert shapes["layer3.5.bn3.running_var"] == (1024,)
    assert shapes["layer4.2.conv3.weight"] == (2048, 512, 1, 1)
    assert shapes["fc.weight"] == (1000, 2048)
    assert "layer2.1.downsample.0.weight" not in shapes
    assert (
        sum(v.numel() for k, v in state.items() if "running" not in k and "num_batches" not in k)
        == 25_557_032
    )
    network = resnet50().eval()
    assert network.layer2[0].conv2.stride == (2, 2) and network.layer2[0].conv1.stride == (1, 1)
