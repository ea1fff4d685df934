"""The explicit Zeiler & Fergus DeconvNet equals the modified-ReLU backward where both apply."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
import torchvision
from captum.attr import Deconvolution
from torch import nn

import xai_tutor
from xai_tutor.hooks import capture, model_guard
from xai_tutor.methods.deconvnet_projection import (
    DeconvNet,
    UnsupportedArchitectureError,
    project,
    select_activations,
    unpool,
)
from xai_tutor.methods.relu_rules import relu_rule

from conftest import make_small, small_input


def _modified_backward(model: nn.Module, x: torch.Tensor, layer: str, signal: torch.Tensor
                       ) -> torch.Tensor:
    """Backward with the DeconvNet ReLU rule, started at ``layer`` with grad_output = signal."""
    with model_guard(model), relu_rule(model, "deconvnet"), capture(model, layer) as cap:
        xx = x.clone().requires_grad_()
        model(xx)
        (g,) = torch.autograd.grad(cap.activation, xx, signal)
    return g


@pytest.mark.parametrize("kind,size", [("vgg", 16), ("vgg", 19), ("vgg_dense", 16)])
def test_class_projection_equals_modified_backward_and_captum(kind: str, size: int) -> None:
    model = make_small(kind, torch.float64)
    x = small_input(2, size, torch.float64, seed=3)
    p = project(model, x, target=[1, 2])
    e = xai_tutor.explain(model, x, "deconvnet", target=[1, 2])
    ref = Deconvolution(model).attribute(x.clone().requires_grad_(), target=[1, 2])
    assert p.shape == x.shape and p.abs().max() > 0
    torch.testing.assert_close(p, e.attribution, rtol=0, atol=1e-6 * p.abs().max())
    torch.testing.assert_close(p, ref, rtol=0, atol=1e-6 * p.abs().max())


@pytest.mark.parametrize("kind,size", [("vgg", 16), ("vgg", 17), ("vgg_dense", 16)])
def test_every_layer_projection_equals_modified_backward(kind: str, size: int) -> None:
    model = make_small(kind, torch.float64)
    x = small_input(2, size, torch.float64, seed=5)
    deconv = DeconvNet(model)
    record = deconv.forward_with_switches(x)
    for index, name in enumerate(deconv.names):
        for channel, position in [(None, None), (1, None), (0, (1, 1)), (None, "max")]:
            chosen = select_activations(record.activations[index], channel, position)
            mine = deconv.project_from(index, chosen)
            ref = _modified_backward(model, x, name, chosen)
            assert (mine - ref).abs().max() <= 1e-6 * max(1.0, ref.abs().max()), (name, channel)
        torch.testing.assert_close(mine, project(model, x, name, channel, position),
                                   rtol=0, atol=0)


def test_forward_with_switches_replays_the_model_and_records_maxima() -> None:
    model = make_small("vgg", torch.float64)
    x = small_input(2, 18, torch.float64)
    deconv = DeconvNet(model)
    record = deconv.forward_with_switches(x)
    with torch.no_grad():
        torch.testing.assert_close(record.logits, model(x))
        torch.testing.assert_close(record.activations[-1], model.features(x.clone()))
    assert sorted(record.switches) == [2, 5]
    pooled, switches, before = record.activations[2], record.switches[2], record.inputs[2]
    # each switch points at the position of its window's maximum
    picked = before.flatten(2).gather(2, switches.flatten(2)).reshape(pooled.shape)
    torch.testing.assert_close(picked, pooled, rtol=0, atol=0)
    back = unpool(pooled, switches, model.features[2], before.shape)
    assert back.shape == before.shape and torch.count_nonzero(back) <= pooled.numel()
    torch.testing.assert_close(back.sum(), pooled.sum())
    stages = [(n, op) for n, op, _ in deconv.project_steps(4, record.activations[4])]
    assert stages == [("features.4", "rectify"), ("features.3", "filter"),
                      ("features.2", "unpool"), ("features.1", "rectify"),
                      ("features.0", "filter")]


class _Custom(nn.Module):
    """A VGG-like net with ceil-mode, overlapping and padded max-pooling, strided conv, groups."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 6, 3, stride=2, padding=1), nn.ReLU(),
            nn.MaxPool2d(3, stride=2, padding=1),
            nn.Conv2d(6, 6, 3, padding=2, dilation=2, groups=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(2, ceil_mode=True),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((3, 2))
        self.classifier = nn.Sequential(nn.Linear(36, 8), nn.ReLU(), nn.Dropout(), nn.Linear(8, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


@pytest.mark.parametrize("size", [23, 30])
def test_overlapping_ceil_mode_pools_and_adaptive_head(size: int) -> None:
    torch.manual_seed(1)
    model = _Custom().double().eval()
    x = small_input(2, size, torch.float64, seed=9)
    p = project(model, x, target=[0, 2])
    e = xai_tutor.explain(model, x, "deconvnet", target=[0, 2])
    assert p.abs().max() > 0
    assert (p - e.attribution).abs().max() <= 1e-6 * p.abs().max()
    for layer in ("features.2", "features.5"):
        chosen = select_activations(DeconvNet(model).forward_with_switches(x)
                                    .activations[int(layer[-1])])
        ref = _modified_backward(model, x, layer, chosen)
        assert (project(model, x, layer) - ref).abs().max() <= 1e-6 * ref.abs().max()


def test_ties_in_max_pooling_use_the_same_switch_as_autograd() -> None:
    # A constant image makes every pooling window a tie (equal or all-zero after the ReLU).
    model = make_small("vgg_dense", torch.float64)
    x = torch.full((1, 3, 16, 16), 0.3, dtype=torch.float64)
    p = project(model, x, target=1)
    e = xai_tutor.explain(model, x, "deconvnet", target=1)
    torch.testing.assert_close(p, e.attribution, rtol=0, atol=1e-12)
    assert torch.isfinite(p).all()


@pytest.mark.slow
def test_torchvision_vgg16_projection_matches_the_registry_method() -> None:
    torch.manual_seed(0)
    model = torchvision.models.vgg16(weights=None).eval()
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    p = project(model, x, target=5)
    e = xai_tutor.explain(model, x, "deconvnet", target=5)
    torch.testing.assert_close(p, e.attribution, rtol=0, atol=1e-6 * p.abs().max())
    q = project(model, x, "features.28", channel=3)
    assert q.shape == x.shape and torch.isfinite(q).all()
    assert all(m.inplace for m in model.modules() if isinstance(m, nn.ReLU))


class _Doubling(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(2 * self.features(x).mean((2, 3)))


def test_unsupported_architectures_get_clear_errors() -> None:
    with pytest.raises(UnsupportedArchitectureError, match="'deconvnet' registry method"):
        DeconvNet(make_small("resnet"))
    with_bn = nn.Sequential()
    with_bn.features = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
    with pytest.raises(UnsupportedArchitectureError, match="features.1 is a BatchNorm2d"):
        DeconvNet(with_bn)
    bn_head = nn.Sequential()
    bn_head.features = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.MaxPool2d(2))
    bn_head.head = nn.Sequential(nn.Flatten(), nn.BatchNorm1d(36), nn.Linear(36, 2))
    with pytest.raises(UnsupportedArchitectureError, match="head contains a BatchNorm1d"):
        project(bn_head.eval(), small_input(1, 8))
    with pytest.raises(UnsupportedArchitectureError, match="does more than a plain VGG"):
        project(_Doubling(), small_input(1, 8))  # mean() inside forward() is not a module
    model = _Doubling()
    model.forward = lambda x: model.fc(2 * F.adaptive_avg_pool2d(model.features(x), 1).flatten(1))
    with pytest.raises(UnsupportedArchitectureError, match="does more than a plain VGG"):
        project(model, small_input(1, 8))


def test_bad_arguments_and_model_left_clean() -> None:
    model = make_small("vgg")
    model.train()
    x = small_input(1, 16)
    with pytest.raises(ValueError, match="feature stack"):
        project(model, x, "fc")
    with pytest.raises(ValueError, match="channel"):
        project(model, x, "features.7", channel=99)
    with pytest.raises(ValueError, match="outside"):
        project(model, x, "features.7", channel=0, position=(9, 0))
    with pytest.raises(ValueError, match="pass layer"):
        project(model, x, channel=1)
    with pytest.raises(ValueError, match="target"):
        project(model, x, "features.7", target=1)
    with pytest.raises(ValueError, match="outside"):
        project(model, x, target=11)
    with pytest.raises(RuntimeError, match="forward_with_switches"):
        DeconvNet(model).project_class(0)
    deconv = DeconvNet(model)
    record = deconv.forward_with_switches(x)
    with pytest.raises(ValueError, match="shape"):
        deconv.project_from(7, record.activations[4])
    project(model, x, "features.7", channel=2, position="max")
    assert all(m.training for m in model.modules())
    assert all(m.inplace for m in model.modules() if isinstance(m, nn.ReLU))
    assert all(len(m._forward_hooks) == 0 for m in model.modules())
    assert all(p.requires_grad and p.grad is None for p in model.parameters())
