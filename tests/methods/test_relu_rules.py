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


@pytest.mark.slow
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


def test_relu_rule_context_leaves_the_model_untouched_even_after_an_error() -> None:
    model = make_small("resnet")
    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    assert relus and all(m.inplace for m in relus)
    with pytest.raises(RuntimeError, match="boom"), relu_rule(model, "guided") as listed:
        assert listed == relus
        raise RuntimeError("boom")
    assert all(m.inplace for m in relus)
    assert all(len(m._forward_hooks) == 0 for m in model.modules())
    x = small_input(1, 16).requires_grad_()  # and the rule is gone after the block
    (after,) = torch.autograd.grad(model(x)[0, 1], x)
    (plain,) = torch.autograd.grad(model(x)[0, 1], x)
    torch.testing.assert_close(after, plain, rtol=0, atol=0)


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
    with pytest.raises(ValueError, match="no ReLU ran"), pytest.warns(UserWarning, match="Tanh"):
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


class FunctionalNet(nn.Module):
    """ReLUs written as functions in forward(), in every spelling, in-place ones included."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(3, 4, 3, padding=1)
        self.c2 = nn.Conv2d(4, 5, 3, padding=1)
        self.c3 = nn.Conv2d(5, 6, 3, padding=1)
        self.c4 = nn.Conv2d(6, 6, 3, padding=1)
        self.fc = nn.Linear(6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.c1(x))
        h = self.c2(h)
        F.relu_(h)  # result ignored: only the in-place write carries it
        h = F.max_pool2d(h, 2)
        h = self.c3(h).relu()
        h = torch.relu(self.c4(h))
        h = F.relu(h + 0.1, inplace=True)
        return self.fc(h.mean((2, 3)))


class ModuleNet(nn.Module):
    """The same network with nn.ReLU modules: the reference for the functional one."""

    def __init__(self, src: FunctionalNet) -> None:
        super().__init__()
        self.src = src
        self.r = nn.ModuleList([nn.ReLU() for _ in range(5)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s, r = self.src, self.r
        h = F.max_pool2d(r[1](s.c2(r[0](s.c1(x)))), 2)
        h = r[4](r[3](s.c4(r[2](s.c3(h)))) + 0.1)
        return s.fc(h.mean((2, 3)))


@pytest.mark.parametrize("method", ["guided_backprop", "deconvnet"])
def test_functional_relus_get_the_rule(method) -> None:
    """Every functional ReLU spelling gets the rule: the result equals captum's on the same net
    written with modules (captum hooks modules only)."""
    from captum.attr import Deconvolution, GuidedBackprop

    torch.manual_seed(0)
    net = FunctionalNet().double().eval()
    ref_net = ModuleNet(net).eval()
    x = small_input(2, 8, torch.float64, seed=4)
    torch.testing.assert_close(net(x), ref_net(x), rtol=0, atol=0)
    peer = {"guided_backprop": GuidedBackprop, "deconvnet": Deconvolution}[method](ref_net)
    ref = peer.attribute(x.clone().requires_grad_(), target=[0, 2]).detach()
    e = xai_tutor.explain(net, x, method, target=[0, 2])
    assert ref.abs().max() > 0
    torch.testing.assert_close(e.attribution, ref, rtol=1e-10, atol=1e-12)
    plain = xai_tutor.explain(net, x, "gradient", target=[0, 2]).attribution
    assert (plain - ref).abs().max() > 0.1 * ref.abs().max()  # the rule matters on this net


@pytest.mark.parametrize("method", ["guided_backprop", "deconvnet"])
def test_densenet_final_functional_relu_gets_the_rule(method) -> None:
    """torchvision's DenseNet applies its last ReLU as F.relu(features, inplace=True) in
    forward(); the rule must reach it (reference: captum on the same net with that ReLU as a
    module)."""
    import torchvision
    from captum.attr import Deconvolution, GuidedBackprop

    torch.manual_seed(0)
    net = torchvision.models.densenet121(weights=None, num_classes=7).eval()

    class WithModule(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features, self.relu, self.classifier = net.features, nn.ReLU(), net.classifier

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = F.adaptive_avg_pool2d(self.relu(self.features(x)), 1)
            return self.classifier(torch.flatten(out, 1))

    ref_net = WithModule().eval()
    x = small_input(1, 32, seed=2)
    peer = {"guided_backprop": GuidedBackprop, "deconvnet": Deconvolution}[method](ref_net)
    ref = peer.attribute(x.clone().requires_grad_(), target=3).detach()
    e = xai_tutor.explain(net, x, method, target=3)
    scale = float(ref.abs().max())
    torch.testing.assert_close(e.attribution, ref, rtol=1e-4, atol=1e-5 * scale)


def test_other_activations_are_named_in_a_warning() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3), nn.SiLU(),
                          nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
    with pytest.warns(UserWarning, match=r"3 \(SiLU\)"):
        e = xai_tutor.explain(model, small_input(1, 8), "guided_backprop")
    assert torch.isfinite(e.attribution).all()


class FunctionalActivations(nn.Module):
    """ReLU modules, plus SiLU and GELU called as functions in forward() (no module for them)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.relu = nn.Conv2d(3, 4, 3), nn.ReLU()
        self.conv2, self.conv3 = nn.Conv2d(4, 4, 3), nn.Conv2d(4, 4, 1)
        self.fc = nn.Linear(4 * 4 * 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.silu(self.conv2(self.relu(self.conv1(x))))
        h = F.gelu(self.conv3(F.silu(h)))
        return self.fc(h.flatten(1))


@pytest.mark.parametrize("method", ["guided_backprop", "deconvnet"])
def test_functional_activations_are_named_in_a_warning(method) -> None:
    model = FunctionalActivations().eval()
    with pytest.warns(UserWarning, match=r"as functions \(silu \(2 calls\), gelu \(1 call\)\)"):
        e = xai_tutor.explain(model, small_input(1, 8), method)
    assert torch.isfinite(e.attribution).all()


def test_a_module_activation_is_not_reported_twice_as_a_function() -> None:
    """nn.SiLU's forward calls F.silu: the module warning covers it, no second warning."""
    import warnings

    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3), nn.SiLU(),
                          nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        xai_tutor.explain(model, small_input(1, 8), "guided_backprop")
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and "(SiLU)" in messages[0], messages
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a ReLU-only model: nothing to warn about
        xai_tutor.explain(make_small("vgg"), small_input(1, 16), "guided_backprop")


def test_rules_module_imports_no_method_module() -> None:
    """relu_rules holds the rules only: no import of gradient.py (no cycle), at any level."""
    import ast
    import inspect

    import xai_tutor.methods.relu_rules as rules

    tree = ast.parse(inspect.getsource(rules))
    imported = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in imported if "gradient" in m or "deconvnet" in m or m == "."], imported


def test_deconvnet_has_one_home() -> None:
    import importlib.util

    from xai_tutor.methods import deconvnet as home

    assert importlib.util.find_spec("xai_tutor.deconvnet") is None   # no second module
    assert xai_tutor.METHODS["deconvnet"].fn is home.deconvnet
