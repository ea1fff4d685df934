"""Shared fixtures: small seeded CNNs that run in milliseconds, in float32 or float64, and a
temporary ``TORCH_HOME`` with stand-in ImageNet weights for the tests of the ImageNet path."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from torch import nn


class SmallVGG(nn.Module):
    """conv-ReLU-pool blocks, a last conv block, global average pool and a linear head."""

    default_layer = "features.7"

    def __init__(self, classes: int = 5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(6, 8, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(8, 10, 3, padding=1), nn.ReLU(inplace=True),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(10, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


class SmallVGGDense(nn.Module):
    """VGG-style with max-pooling and a flatten + two-layer dense head (no GAP)."""

    default_layer = "features.4"

    def __init__(self, classes: int = 4) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(6 * 4 * 4, 12), nn.ReLU(inplace=True), nn.Linear(12, classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class Block(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                      nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.down is None else self.down(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += identity
        return self.relu(out)


class SmallResNet(nn.Module):
    """Stem, two BasicBlock-style residual blocks with BatchNorm and `+=`, GAP, linear head."""

    default_layer = "layer2"

    def __init__(self, classes: int = 5) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(6)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(2)
        self.layer1 = Block(6, 6, 1)
        self.layer2 = Block(6, 10, 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(10, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer2(self.layer1(x))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def _randomise_bn(model: nn.Module, gen: torch.Generator) -> None:
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=gen) * 0.1)


def make_small(kind: str, dtype: torch.dtype = torch.float32, seed: int = 0) -> nn.Module:
    """A seeded small model: ``vgg``, ``vgg_dense`` or ``resnet``, in eval mode."""
    torch.manual_seed(seed)
    model = {"vgg": SmallVGG, "vgg_dense": SmallVGGDense, "resnet": SmallResNet}[kind]()
    _randomise_bn(model, torch.Generator().manual_seed(seed + 1))
    return model.to(dtype).eval()


def small_input(batch: int = 2, size: int = 16, dtype: torch.dtype = torch.float32,
                seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 3, size, size, generator=gen).to(dtype)


@pytest.fixture
def small_vgg() -> nn.Module:
    return make_small("vgg")


@pytest.fixture
def small_resnet() -> nn.Module:
    return make_small("resnet")


@pytest.fixture
def small_vgg64() -> nn.Module:
    return make_small("vgg", torch.float64)


@pytest.fixture
def small_resnet64() -> nn.Module:
    return make_small("resnet", torch.float64)


# ------------------------------------------------------- the ImageNet trio on stand-in weights
ROOT = Path(__file__).resolve().parents[1]


def _standin_script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "standin_weights", ROOT / "scripts" / "standin_weights.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def standin_torch_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``TORCH_HOME`` holding seeded random VGG16 / ResNet18 / ResNet50 weights under
    torchvision's file names (``scripts/standin_weights.py``), generated for this run.

    ``make test`` generates the folder once for the notebooks and names it in
    ``XAI_TUTOR_STANDIN_HOME``; it is reused then (files already there are kept).
    """
    given = os.environ.get("XAI_TUTOR_STANDIN_HOME")
    home = Path(given) if given else tmp_path_factory.mktemp("torch_home")
    _standin_script().write_standin_weights(home)
    return home


@pytest.fixture(scope="module")
def imagenet_env(standin_torch_home: Path) -> Iterator[Path]:
    """``TORCH_HOME`` = the stand-in folder and ``XAI_TUTOR_MODELS=imagenet`` for a test module."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TORCH_HOME", str(standin_torch_home))
        mp.setenv("XAI_TUTOR_MODELS", "imagenet")
        mp.delenv("XAI_TUTOR_ALLOW_DOWNLOAD", raising=False)
        yield standin_torch_home


@pytest.fixture(scope="module")
def one_thread():  # type: ignore[no-untyped-def]
    """Torch on one thread for a module (``pytestmark = pytest.mark.usefixtures("one_thread")``):
    small nets run fastest that way and do not fight other processes for the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
