"""Guided backprop and DeconvNet ReLU rules: a hand-written backward, captum, torchvision nets."""

from __future__ import annotations

import functools

import pytest
import torch
import torch.nn.functional as F
import torchvision
from captum.attr import Deconvolution, GuidedBackprop, Saliency
from torch import nn

import xai_tutor
from xai_tutor.methods.relu_rules import relu_rule

from conftest import make_small, small_input


def _relu_backward(g: torch.Tensor, x: torch.Tensor, rule: str) -> torch.Tensor:
    if rule == "gradient":
        return g * (x > 0).to(g.dtype)
    if rule == "guided":
        return g * (x > 0).to(g.dtype) * (g > 0).to(g.dtype)
    return g.clamp(min=0)  # deconvnet


def manual_backward(model: nn.Module, x: torch.Tensor, target: list[int], rule: str
                    ) -> torch.Tensor:
    """Forward and backward of the small VGGs written out by hand (no autograd)."""
    inputs, switches = [], {}
    a = x
    for i, m in enumerate(model.features):
        inputs.append(a)
        if isinstance(m, nn.Conv2d):
            a = F.conv2d(a, m.weight, m.bias, m.stride, m.padding)
        elif isinstance(m, nn.ReLU):
            a = torch.maximum(a, torch.zeros_like(a))
        else:
            a, switches[i] = F.max_pool2d(a, m.kernel_size, m.stride, return_indices=True)
    rows = torch.tensor(target)
    if hasattr(model, "fc"):  # global average pool + linear
        g = model.fc.weight[rows][:, :, None, None].expand_as(a) / (a.shape[2] * a.shape[3])
    else:  # flatten, linear, relu, linear
        first, last = model.classifier[1], model.classifier[3]
        hidden = a.flatten(1) @ first.weight.T + first.bias
        g = _relu_backward(last.weight[rows], hidden, rule) @ first.weight
        g = g.reshape(a.shape)
    for i in range(len(model.features) - 1, -1, -1):
        m, inp = model.features[i], inputs[i]
        if isinstance(m, nn.ReLU):
            g = _relu_backward(g, inp, rule)
        elif isinstance(m, nn.MaxPool2d):
            flat = torch.zeros_like(inp).flatten(2)
            flat.scatter_(2, switches[i].flatten(2), g.flatten(2))
            g = flat.reshape(inp.shape)
        else:
            g = torch.nn.grad.conv2d_input(inp.shape, m.weight, g, m.stride, m.padding)
    return g


METHOD_RULE = {"gradient": "gradient", "guided_backprop": "guided", "deconvnet": "deconvnet"}


@pytest.mark.parametrize("method", list(METHOD_RULE))
@pytest.mark.parametrize("kind", ["vgg", "vgg_dense"])
def test_rules_match_hand_written_backward_float64(kind: str, method: str) -> None:
    model = make_small(kind, torch.float64)
    x = small_input(2, 16, torch.float64, seed=2)
    e = xai_tutor.explain(model, x, method, target=[1, 3])
    with torch.no_grad():
        ref = manual_backward(model, x, [1, 3], METHOD_RULE[method])
    torch.testing.assert_close(e.attribution, ref, rtol=1e-10, atol=1e-12)
    assert ref.abs().max() > 0


def test_guided_is_gradient_masked_by_positive_signals() -> None:
    # With every backward signal rectified, guided backprop differs from the plain gradient.
    model = make_small("vgg", torch.float64)
    x = small_input(2, 16, torch.float64, seed=4)
    guided = xai_tutor.explain(model, x, "guided_backprop", target=0).attribution
    plain = xai_tutor.explain(model, x, "gradient", target=0).attribution
    decon = xai_tutor.explain(model, x, "deconvnet", target=0).attribution
    assert not torch.allclose(guided, plain) and not torch.allclose(guided, decon)


PEERS = {"gradient": Saliency, "guided_backprop": GuidedBackprop, "deconvnet": Deconvolution}


def _peer(method: str, model: nn.Module, x: torch.Tensor, target: list[int]) -> torch.Tensor:
    kwargs = {"abs": False} if method == "gradient" else {}
    return PEERS[method](model).attribute(x.clone().requires_grad_(), target=target, **kwargs)


@pytest.mark.parametrize("dtype,atol", [(torch.float32, 1e-6), (torch.float64, 1e-10)])
@pytest.mark.parametrize("kind", ["vgg", "vgg_dense", "resnet"])
@pytest.mark.parametrize("method", ["guided_backprop", "deconvnet"])
def test_rules_agree_with_captum_on_small_nets(
    method: str, kind: str, dtype: torch.dtype, atol: float
) -> None:
    model = make_small(kind, dtype)
    x = small_input(2, 16, dtype, seed=1)
    e = xai_tutor.explain(model, x, method, target=[2, 0])
    torch.testing.assert_close(e.attribution, _peer(method, model, x, [2, 0]), rtol=0, atol=atol)


@functools.cache
def _torchvision(name: str) -> nn.Module:
    torch.manual_seed(0)
    return getattr(torchvision.models, name)(weights=None).eval()


@pytest.mark.parametrize("name,size", [("vgg16", 32), ("resnet18", 48)])
def test_all_pixel_methods_agree_with_captum_on_torchvision(name: str, size: int) -> None:
    model = _torchvision(name)
    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    for method in PEERS:
        e = xai_tutor.explain(model, x, method, target=[7])
        ref = _peer(method, model, x, [7])
        scale = ref.abs().max()
        assert scale > 0
        torch.testing.assert_close(e.attribution, ref, rtol=0, atol=1e-6 * max(1.0, scale))
    # the in-place ReLUs of torchvision models are back to in-place
    assert all(m.inplace for m in model.modules() if isinstance(m, nn.ReLU))


def test_relu_rule_context_restores_flags_and_hooks_even_after_an_error() -> None:
    model = make_small("resnet")
    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    assert relus and all(m.inplace for m in relus)
    with pytest.raises(RuntimeError, match="boom"), relu_rule(model, "guided") as hooked:
        assert hooked == relus
        assert not any(m.inplace for m in relus)
        assert all(len(m._forward_hooks) == 1 for m in relus)
        raise RuntimeError("boom")
    assert all(m.inplace for m in relus)
    assert all(len(m._forward_hooks) == 0 for m in model.modules())


def test_bad_target_inside_a_rule_leaves_model_clean() -> None:
    model = make_small("vgg_dense")
    model.train()
    with pytest.raises(ValueError, match="outside"):
        xai_tutor.explain(model, small_input(1, 16), "deconvnet", target=17)
    assert all(m.training for m in model.modules())
    assert all(m.inplace for m in model.modules() if isinstance(m, nn.ReLU))
    assert all(len(m._forward_hooks) == 0 for m in model.modules())
    assert all(p.requires_grad and p.grad is None for p in model.parameters())


def test_forward_values_unchanged_and_gradient_rule_is_plain_autograd() -> None:
    model = make_small("resnet", torch.float64)
    x = small_input(2, 16, torch.float64).requires_grad_()
    plain_logits = model(x)
    (plain,) = torch.autograd.grad(plain_logits[:, 1].sum(), x)
    with relu_rule(model, "gradient"):
        logits = model(x)
        (ruled,) = torch.autograd.grad(logits[:, 1].sum(), x)
    torch.testing.assert_close(logits, plain_logits, rtol=0, atol=0)
    torch.testing.assert_close(ruled, plain, rtol=0, atol=0)


def test_relu6_rules_use_the_clipped_mask() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU6(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3)
    ).double()
    x = 4 * small_input(2, 6, torch.float64)
    conv, head = model[0], model[3]
    pre = conv(x)
    assert ((pre > 6).any() and (pre < 0).any()), "the input should reach both clip regions"
    with torch.no_grad():
        g = head.weight[[0, 2]].reshape(2, 4, 6, 6)
        mask = ((pre > 0) & (pre < 6)).double()
        expected = {
            "gradient": g * mask,
            "guided_backprop": g.clamp(min=0) * mask,
            "deconvnet": g.clamp(min=0),
        }
        for method, signal in expected.items():
            ref = torch.nn.grad.conv2d_input(x.shape, conv.weight, signal, padding=1)
            e = xai_tutor.explain(model, x, method, target=[0, 2])
            torch.testing.assert_close(e.attribution, ref, rtol=1e-10, atol=1e-12)


def test_models_without_relu_modules_and_bad_rules_are_refused() -> None:
    model = nn.Sequential(nn.Conv2d(3, 2, 3), nn.Tanh(), nn.Flatten(), nn.Linear(2 * 6 * 6, 3))
    with pytest.raises(ValueError, match="no nn.ReLU"):
        xai_tutor.explain(model, small_input(1, 8), "guided_backprop")
    assert all(len(m._forward_hooks) == 0 for m in model.modules())
    with pytest.raises(ValueError, match="unknown ReLU rule"), relu_rule(make_small("vgg"), "x"):
        pass
    with pytest.raises(ValueError, match="layer"):
        xai_tutor.explain(make_small("vgg"), small_input(1, 16), "deconvnet", layer="features.7")


def test_batch_equals_one_by_one() -> None:
    model = make_small("resnet", torch.float64)
    x = small_input(3, 16, torch.float64, seed=8)
    for method in ("guided_backprop", "deconvnet"):
        batch = xai_tutor.explain(model, x, method, target=[0, 1, 2])
        for b in range(3):
            one = xai_tutor.explain(model, x[b : b + 1], method, target=b)
            torch.testing.assert_close(one.attribution, batch.attribution[b : b + 1],
                                       rtol=0, atol=1e-14)
        assert torch.isfinite(batch.saliency).all()
        const = xai_tutor.explain(model, torch.ones(1, 3, 16, 16, dtype=torch.float64), method)
        assert torch.isfinite(const.attribution).all() and torch.isfinite(const.saliency).all()
