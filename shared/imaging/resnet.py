"""ResNet-50 in torch alone, with torchvision's layer names, so that a torchvision ResNet-50
state dict (such as torchxrayvision's view classifier) loads into it strictly.

torchvision is not a dependency: its PyPI wheels are built against PyPI's CUDA torch and do not
load beside the CPU torch a clinic's CPU worker (and CI) runs, and only this one network is
needed. The architecture is the standard one (He et al. 2015, the "v1.5" variant torchvision
uses: the stride on the 3 x 3 convolution of a bottleneck). Imported lazily: torch inside.
"""

from __future__ import annotations

from typing import Any

# (width, blocks, stride) of layer1 ... layer4.
LAYERS = ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2))
EXPANSION = 4


def resnet50(classes: int = 1000) -> Any:
    """An untrained ResNet-50 (eval mode is the caller's) whose state dict keys and shapes
    are torchvision's."""
    from torch import nn

    class Bottleneck(nn.Module):
        def __init__(self, inplanes: int, width: int, stride: int) -> None:
            super().__init__()
            out = width * EXPANSION
            self.conv1 = nn.Conv2d(inplanes, width, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(width)
            self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(width)
            self.conv3 = nn.Conv2d(width, out, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(out)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = None
            if stride != 1 or inplanes != out:
                self.downsample = nn.Sequential(
                    nn.Conv2d(inplanes, out, 1, stride=stride, bias=False), nn.BatchNorm2d(out)
                )

        def forward(self, x: Any) -> Any:
            shortcut = x if self.downsample is None else self.downsample(x)
            y = self.relu(self.bn1(self.conv1(x)))
            y = self.relu(self.bn2(self.conv2(y)))
            return self.relu(self.bn3(self.conv3(y)) + shortcut)

    class ResNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
            inplanes = 64
            for index, (width, blocks, stride) in enumerate(LAYERS, start=1):
                layer = []
                for block in range(blocks):
                    layer.append(Bottleneck(inplanes, width, stride if block == 0 else 1))
                    inplanes = width * EXPANSION
                setattr(self, f"layer{index}", nn.Sequential(*layer))
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(inplanes, classes)

        def forward(self, x: Any) -> Any:
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            for index in range(1, len(LAYERS) + 1):
                x = getattr(self, f"layer{index}")(x)
            return self.fc(self.avgpool(x).flatten(1))

    return ResNet()
