"""LRP identities: conservation of relevance and LRP-0 = gradient x input on bias-free ReLU nets."""

from __future__ import annotations

import copy

import pytest
import torch
import torchvision
from torch import nn

import xai_tutor
from xai_tutor.methods.lrp import lrp_layerwise

from conftest import make_small, small_input

SMALL = ["vgg", "vgg_dense", "resnet"]


@pytest.fixture(scope="module")
def torchvision_models() -> dict[str, nn.Module]:
    torch.manual_seed(0)
    return {
        name: getattr(torchvision.models, name)(weights=None).eval()
        for name in ("vgg16", "resnet18", "resnet50")
    }


def conservation_error(e: xai_tutor.Explanation) -> float:
    """max over images of |sum_p R_p - f_c| / |f_c| with f_c the explained (bias-free) logit."""
    name, top = e.params["layers"][0]
    assert name == "output"
    total = e.attribution.sum(dim=(1, 2, 3))
    return float(((total - top) / top).abs().max())


@pytest.mark.parametrize("kind", SMALL)
@pytest.mark.parametrize("composite,eps", [("zero", 0.0), ("epsilon", 1e-12)])
def test_conservation_small_float64(kind: str, composite: str, eps: float) -> None:
    model = make_small(kind, torch.float64)
    x = small_input(3, 16, torch.float64)
    e = xai_tutor.explain(
        model, x, "lrp", composite=composite, epsilon=eps, zero_bias=True, return_layers=True
    )
    assert conservation_error(e) <= 1e-6
    assert float(e.attribution.abs().sum()) > 0


@pytest.mark.parametrize("name", ["vgg16", "resnet18", "resnet50"])
def test_conservation_torchvision_float32(torchvision_models, name: str) -> None:
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    e = xai_tutor.explain(
        torchvision_models[name], x, "lrp", composite="zero", zero_bias=True, return_layers=True
    )
    assert conservation_error(e) <= 1e-3


def test_conservation_epsilon_torchvision_resnet18_float32(torchvision_models) -> None:
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    e = xai_tutor.explain(
        torchvision_models["resnet18"], x, "lrp", composite="epsilon", epsilon=1e-9,
        zero_bias=True, return_layers=True,
    )
    assert conservation_error(e) <= 1e-3


def test_biases_absorb_relevance_without_zero_bias() -> None:
    """With biases, sum R != f_c in general: the test above would fail without zero_bias."""
    model = make_small("resnet", torch.float64)
    x = small_input(2, 16, torch.float64)
    e = xai_tutor.explain(model, x, "lrp", composite="zero", return_layers=True)
    assert conservation_error(e) > 1e-3


def test_layerwise_sums_are_conserved_in_a_chain() -> None:
    model = make_small("vgg_dense", torch.float64)
    x = small_input(2, 16, torch.float64)
    records = lrp_layerwise(model, x, composite="zero", zero_bias=True)
    names = [n for n, _ in records]
    assert names[0] == "output" and names[-1] == "input"
    assert names[1:-1] == [
        "classifier.3", "classifier.1", "features.3", "features.0"
    ]
    top = records[0][1]
    for name, total in records:
        torch.testing.assert_close(total, top, rtol=1e-10, atol=0, msg=name)


def test_layerwise_residual_blocks_are_conserved() -> None:
    model = make_small("resnet", torch.float64)
    x = small_input(2, 16, torch.float64)
    records = dict(lrp_layerwise(model, x, composite="zero", zero_bias=True))
    for name in ("layer1", "layer2", "fc", "conv1", "input"):  # whole cuts through the net
        torch.testing.assert_close(records[name], records["output"], rtol=1e-10, atol=0)
    # a block's branch and shortcut share the relevance of its sum
    split = records["layer2.lrp_sum[0]"] + records["layer2.lrp_sum[1]"]
    torch.testing.assert_close(split, records["output"], rtol=1e-10, atol=0)


def bias_free(model: nn.Module) -> nn.Module:
    model = copy.deepcopy(model)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.zero_()
                m.bias.zero_()
            elif getattr(m, "bias", None) is not None:
                m.bias.zero_()
    return model


def gradient_x_input(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    xx = x.clone().requires_grad_(True)
    out = model(xx)
    (g,) = torch.autograd.grad(out.gather(1, target[:, None]).sum(), xx)
    return g * x


@pytest.mark.parametrize("kind", SMALL)
def test_lrp0_equals_gradient_times_input(kind: str) -> None:
    model = bias_free(make_small(kind, torch.float64))
    x = small_input(2, 16, torch.float64)
    for composite, eps in (("zero", 0.0), ("epsilon", 1e-12)):
        e = xai_tutor.explain(model, x, "lrp", composite=composite, epsilon=eps)
        gxi = gradient_x_input(model, x, e.target)
        torch.testing.assert_close(e.attribution, gxi, rtol=1e-6, atol=1e-12)


def test_lrp0_equals_gradient_times_input_resnet18_float32(torchvision_models) -> None:
    model = bias_free(torchvision_models["resnet18"])
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    e = xai_tutor.explain(model, x, "lrp", composite="zero")
    gxi = gradient_x_input(model, x, e.target)
    rel = float((e.attribution - gxi).norm() / gxi.norm())
    assert rel <= 1e-4  # zennit reaches 6.6e-3 here in float32 (peers.md)
