"""The course's own small CNNs, trained on the generated bird scenes.

Two architectures that mirror the families the course explains, small enough to train on a laptop
CPU and to run every explanation method in seconds, yet large enough to be a real classifier of
the 16 bird species of :data:`xai_tutor.data.SPECIES`:

``TinyVGG``
    VGG-style: ``features`` is a flat ``nn.Sequential`` of convolutions with in-place ReLUs and
    2x2 max-pooling, like ``torchvision.models.vgg16().features``. The head is VGG's, scaled
    down: a fixed adaptive average pool to 3 x 3 cells (VGG16: 7 x 7), flatten, a hidden fully
    connected layer with ReLU and dropout, and the output layer::

        y = W2 relu(W1 flatten(pool_3x3(A)) + b1) + b2

    So, as for VGG16, the logits are *not* a linear function of the spatial mean of the last
    block: CAM (Zhou et al., 2016) does not apply, and the gradient of a class with respect to
    ``A`` varies over the image (one value per pool cell and hidden-unit pattern), which is what
    makes Grad-CAM, Grad-CAM++, XGrad-CAM and Smooth Grad-CAM++ differ. The first convolution
    is a 7x7 stride-4 stem (as AlexNet's) so the 626 x 418 scene tensor is cheap to process.
    Layers: conv 7x7/4 (24) - pool - conv (48) - pool - conv (64) - conv (80) - conv (80) -
    avgpool 3x3 - fc (720 -> 128) - ReLU - dropout 0.5 - fc (128 -> 16).
    Last conv block output: ``features.11``.

``TinyResNet``
    ResNet-style: a 7x7 stride-4 stem (conv, BN, ReLU, 3x3/2 max-pool), four stages of one
    :class:`BasicBlock` each (two 3x3 convs with BatchNorm, identity skip added in place
    ``out += identity`` as torchvision does, 1x1 projection when the shape changes; widths 24,
    48, 64, 96; strides 1, 2, 2, 1), global average pool and a linear head, as ResNet's, so
    CAM applies exactly: ``y_c = sum_k w_ck * mean_ij A_k(i, j) + b_c``. Last conv block
    output: ``layer4``.

Both take ImageNet-normalised images of any size (at least 64 x 64); the overall stride at the
default layer is 16 for TinyVGG and 32 for TinyResNet, so a 626 x 418 scene gives a 39 x 26
(resp. 20 x 14) map there. They are
trained by :mod:`xai_tutor.train`.

Example::

    >>> import torch
    >>> net = TinyResNet(num_classes=16).eval()
    >>> net(torch.zeros(1, 3, 418, 626)).shape
    torch.Size([1, 16])
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["TinyVGG", "TinyResNet", "BasicBlock", "ARCHITECTURES"]


class TinyVGG(nn.Module):
    """Conv-ReLU blocks with max-pooling, then VGG's head: fixed pool, FC-ReLU-dropout, FC."""

    default_layer = "features.11"

    def __init__(
        self,
        num_classes: int = 16,
        widths: tuple[int, ...] = (24, 48, 64, 80),
        grid: int = 3,
        hidden: int = 128,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        w1, w2, w3, w4 = widths
        self.features = nn.Sequential(
            nn.Conv2d(3, w1, 7, stride=4, padding=3), nn.ReLU(inplace=True),   # 0, 1
            nn.MaxPool2d(2),                                                   # 2
            nn.Conv2d(w1, w2, 3, padding=1), nn.ReLU(inplace=True),            # 3, 4
            nn.MaxPool2d(2),                                                   # 5
            nn.Conv2d(w2, w3, 3, padding=1), nn.ReLU(inplace=True),            # 6, 7
            nn.Conv2d(w3, w4, 3, padding=1), nn.ReLU(inplace=True),            # 8, 9
            nn.Conv2d(w4, w4, 3, padding=1), nn.ReLU(inplace=True),            # 10, 11
        )
        self.avgpool = nn.AdaptiveAvgPool2d(grid)
        self.classifier = nn.Sequential(
            nn.Linear(w4 * grid * grid, hidden), nn.ReLU(inplace=True),       # 0, 1
            nn.Dropout(dropout),                                               # 2
            nn.Linear(hidden, num_classes),                                    # 3
        )
        for module in self.modules():  # initialisation as torchvision's VGG (no BatchNorm)
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0.0, 0.01)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


class BasicBlock(nn.Module):
    """ResNet's basic block: ``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample: nn.Module | None = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += identity
        return self.relu(out)


class TinyResNet(nn.Module):
    """A four-stage ResNet with one BasicBlock per stage, GAP and a linear head."""

    default_layer = "layer4"

    def __init__(self, num_classes: int = 16, widths: tuple[int, ...] = (24, 48, 64, 96)) -> None:
        super().__init__()
        w1, w2, w3, w4 = widths
        self.conv1 = nn.Conv2d(3, w1, 7, stride=4, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(w1)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = BasicBlock(w1, w1)
        self.layer2 = BasicBlock(w1, w2, stride=2)
        self.layer3 = BasicBlock(w2, w3, stride=2)
        self.layer4 = BasicBlock(w3, w4, stride=1)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(w4, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


ARCHITECTURES: dict[str, type[nn.Module]] = {"tiny_vgg": TinyVGG, "tiny_resnet": TinyResNet}
