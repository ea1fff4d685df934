"""LRP against zennit 0.5.1 (tests only): the same composites must give the same relevance.

Known, documented difference: zennit's BatchNorm canonizer leaves each BatchNorm as
``x / sqrt(1 + eps)`` instead of an exact identity, which changes ResNet activations by ~5e-6
relative. With the default stabilizer 1e-6 a few denominators of the small ResNet lie within ~1e-6
of zero, where this tiny difference changes the split (relative L2 ~2e-2 for one image); with a
stabilizer of 1e-2 both agree to ~1e-5. On torchvision ResNet18 the default stabilizer agrees to
~5e-6. Residual sums: zennit's canonizer stacks ``[identity, out]`` into a ``Sum`` module with the
proportional (Norm) rule, as our RelevanceSum does.
"""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

import xai_tutor
from xai_tutor.methods.lrp.rules import IMAGENET_MEAN, IMAGENET_STD

from conftest import Block, make_small, small_input

zennit = pytest.importorskip("zennit")
from zennit.attribution import Gradient  # noqa: E402
from zennit.canonizers import (  # noqa: E402
    AttributeCanonizer,
    CompositeCanonizer,
    SequentialMergeBatchNorm,
)
from zennit.composites import (  # noqa: E402
    EpsilonGammaBox,
    SpecialFirstLayerMapComposite,
    layer_map_base,
)
from zennit.layer import Sum  # noqa: E402
from zennit.rules import Epsilon, ZBox, ZPlus  # noqa: E402
from zennit.torchvision import ResNetCanonizer  # noqa: E402
from zennit.types import Convolution  # noqa: E402


class SmallBlockCanonizer(AttributeCanonizer):
    """zennit canonizer for conftest's Block (`out += identity`), written with zennit's Sum."""

    def __init__(self) -> None:
        super().__init__(self._attribute_map)

    @classmethod
    def _attribute_map(cls, name, module):
        if isinstance(module, Block):
            return {"forward": cls.forward.__get__(module), "canonizer_sum": Sum()}
        return None

    @staticmethod
    def forward(self, x):
        identity = x if self.down is None else self.down(x)
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(self.canonizer_sum(torch.stack([identity, out], dim=-1)))


def bounds(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    def chan(values):
        return torch.tensor(values, dtype=x.dtype).view(1, 3, 1, 1).expand_as(x)

    return (
        chan([(0 - m) / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD)]),
        chan([(1 - m) / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD)]),
    )


def zennit_relevance(model, x, composite, canonizers, eps):
    low, high = bounds(x)
    if composite == "epsilon_gamma_box":
        comp = EpsilonGammaBox(
            low=low, high=high, epsilon=eps, stabilizer=eps, canonizers=canonizers
        )
    else:  # zennit's EpsilonPlus has no zB layer; ours puts zB first, so build it the same way
        comp = SpecialFirstLayerMapComposite(
            layer_map=layer_map_base(eps)
            + [(Convolution, ZPlus(stabilizer=eps)), (nn.Linear, Epsilon(epsilon=eps))],
            first_map=[(Convolution, ZBox(low, high, stabilizer=eps))],
            canonizers=canonizers,
        )
    with torch.no_grad():
        out = model(x)
    target = out.argmax(1)
    start = torch.zeros_like(out).scatter(1, target[:, None], out.gather(1, target[:, None]))
    with Gradient(model, comp) as attributor:
        _, relevance = attributor(x, start)
    return relevance


def rel_l2(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


def ours(model, x, composite, eps):
    return xai_tutor.explain(
        model, x, "lrp", composite=composite, epsilon=eps, stabilizer=eps
    ).attribution


@pytest.mark.parametrize("composite", ["epsilon_gamma_box", "epsilon_plus"])
@pytest.mark.parametrize("kind", ["vgg", "vgg_dense"])
def test_zennit_small_vgg_float64(kind: str, composite: str) -> None:
    model = make_small(kind, torch.float64)
    x = small_input(2, 16, torch.float64)
    ref = zennit_relevance(model, x, composite, [SequentialMergeBatchNorm()], 1e-6)
    assert rel_l2(ours(model, x, composite, 1e-6), ref) <= 1e-10  # measured ~1e-16


@pytest.mark.parametrize("composite", ["epsilon_gamma_box", "epsilon_plus"])
def test_zennit_small_resnet_float64(composite: str) -> None:
    model = make_small("resnet", torch.float64)
    x = small_input(2, 16, torch.float64)
    canon = [CompositeCanonizer([SequentialMergeBatchNorm(), SmallBlockCanonizer()])]
    ref = zennit_relevance(model, x, composite, canon, 1e-2)
    assert rel_l2(ours(model, x, composite, 1e-2), ref) <= 1e-4  # measured ~1.5e-5


@pytest.mark.slow
def test_zennit_vgg16_float32() -> None:
    torch.manual_seed(0)
    model = torchvision.models.vgg16(weights=None).eval()
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(4))
    ref = zennit_relevance(model, x, "epsilon_gamma_box", [SequentialMergeBatchNorm()], 1e-6)
    assert rel_l2(ours(model, x, "epsilon_gamma_box", 1e-6), ref) <= 1e-4  # measured ~6e-8


def test_zennit_resnet18_float32() -> None:
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).eval()
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(5))
    ref = zennit_relevance(model, x, "epsilon_plus", [ResNetCanonizer()], 1e-6)
    assert rel_l2(ours(model, x, "epsilon_plus", 1e-6), ref) <= 1e-3  # measured ~5e-6
