"""Exercise checks of notebooks 09 (FullGrad) and 10 (Ablation-CAM, Score-CAM), and the two
notebooks' generator.

The expected values are compared with formulas written here (float64 loops, the completeness
identity, the BatchNorm affine map) and with the library; right answers pass; each typical slip
gets its own message; every registered solution passes its own check on small seeded models.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import xai_tutor
from xai_tutor.exercises import fullgrad as ex_fg
from xai_tutor.exercises import gradient_free as ex_gf
from xai_tutor.exercises import oracle
from xai_tutor.hooks import capture, model_guard
from xai_tutor.methods.cam.scorecam import channel_masks

from conftest import make_small, small_input
from solutions import checks, run_solution

ROOT = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.usefixtures("one_thread")  # small nets: one thread is fastest


@pytest.fixture(scope="module")
def resnet64() -> nn.Module:
    return make_small("resnet", torch.float64, seed=2)


@pytest.fixture(scope="module")
def vgg() -> nn.Module:
    """SmallVGG with channel 3 of the last conv switched off (a constant, all-zero map)."""
    net = make_small("vgg", seed=4)
    with torch.no_grad():
        net.features[6].bias[3] = -1e3
    return net


@pytest.fixture(scope="module")
def x16() -> torch.Tensor:
    return small_input(1, 16, seed=6)


def _reference_bn_bias(bn: nn.BatchNorm2d) -> torch.Tensor:
    out = torch.empty(bn.num_features, dtype=torch.float64)
    for j in range(bn.num_features):
        mu, var = float(bn.running_mean[j]), float(bn.running_var[j])
        gamma, beta = float(bn.weight[j].detach()), float(bn.bias[j].detach())
        out[j] = beta - mu * gamma / (var + bn.eps) ** 0.5
    return out


# ----------------------------------------------------------------------------- FullGrad


def test_bn_bias_matches_the_affine_map(resnet64):
    bn = resnet64.layer1.bn2
    b = ex_fg._expected_bn_bias(bn)
    torch.testing.assert_close(b, _reference_bn_bias(bn))
    z = torch.randn(2, bn.num_features, 3, 4, dtype=torch.float64)
    scale = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach()
    with torch.no_grad():
        torch.testing.assert_close(bn(z), scale[:, None, None] * z + b[:, None, None])


def test_bn_bias_check_accepts_and_diagnoses(resnet64):
    bn = resnet64.layer1.bn2
    assert not ex_fg.check_bn_bias(None, bn).ok
    assert ex_fg.check_bn_bias(_reference_bn_bias(bn), bn).ok
    assert ex_fg.check_bn_bias(_reference_bn_bias(bn).float().tolist(), bn).ok
    mu, var = bn.running_mean.detach(), bn.running_var.detach()
    gamma, beta = bn.weight.detach(), bn.bias.detach()
    slips = {
        "beta alone": beta,
        "without the scale": beta - mu,
        "square root": beta - mu * gamma / (var + bn.eps),
        "gamma is missing": beta - mu / torch.sqrt(var + bn.eps),
        "wrong sign": beta + mu * gamma / torch.sqrt(var + bn.eps),
    }
    for words, value in slips.items():
        fb = ex_fg.check_bn_bias(value, bn)
        assert not fb.ok and words in fb.message, (words, fb.message)


def test_bias_terms_add_up_to_the_logit(resnet64):
    """Completeness: x . df/dx + the sum of every expected bias term == the logit (float64)."""
    x = small_input(1, 16, torch.float64, seed=1)
    with torch.no_grad():
        logits = resnet64(x)
    c = int(logits[0].argmax())
    total = 0.0
    for name, m in resnet64.named_modules():
        if isinstance(m, nn.BatchNorm2d):
            total += float(ex_fg._expected_bias_term(resnet64, x, name, c).sum())
    leaf = x.clone().requires_grad_(True)
    with model_guard(resnet64):
        out = resnet64(leaf)
        (gx,) = torch.autograd.grad(out[0, c], leaf)
    total += float((x * gx).sum()) + float(resnet64.fc.bias[c].detach())
    assert abs(total - float(logits[0, c])) < 1e-10


def test_bias_term_of_a_conv_equals_the_bias_gradient(vgg, x16):
    """For a conv with a bias parameter: sum over positions of the term == b * df/db."""
    net = copy.deepcopy(vgg).double()
    term = ex_fg._expected_bias_term(vgg, x16, "features.3", target=1)
    conv = net.features[3]
    conv.bias.requires_grad_(True)
    out = net(x16.double())[0, 1]
    (gb,) = torch.autograd.grad(out, conv.bias)
    torch.testing.assert_close(term.sum(dim=(0, 2, 3)), conv.bias.detach() * gb)


def test_bias_term_check(resnet64):
    x = small_input(1, 16, torch.float64, seed=1)
    layer = "layer2.bn1"
    expected = ex_fg._expected_bias_term(resnet64, x, layer, 0)
    assert ex_fg.check_bias_term(expected.float(), resnet64, x, layer, 0).ok
    assert not ex_fg.check_bias_term(None, resnet64, x, layer, 0).ok
    bn = dict(resnet64.named_modules())[layer]
    b = ex_fg._expected_bn_bias(bn).reshape(1, -1, 1, 1)
    grad = expected / b
    fb = ex_fg.check_bias_term(grad, resnet64, x, layer, 0)
    assert not fb.ok and "gradient dy/dz alone" in fb.message
    fb = ex_fg.check_bias_term(bn.bias.detach().reshape(1, -1, 1, 1) * grad, resnet64, x, layer, 0)
    assert not fb.ok and "beta" in fb.message
    fb = ex_fg.check_bias_term(expected.sum(dim=(2, 3)), resnet64, x, layer, 0)
    assert not fb.ok and "shape" in fb.message
    with pytest.raises(ValueError, match="no layer"):
        ex_fg.check_bias_term(expected, resnet64, x, "nope", 0)


def test_postprocess_matches_a_loop_and_the_library(resnet64):
    term = torch.randn(1, 3, 4, 5, dtype=torch.float64)
    size = (8, 10)
    t = term.abs()
    low, high = float(t.min()), float(t.max())
    summed = torch.zeros(1, 4, 5, dtype=torch.float64)
    for k in range(3):
        summed[0] += (t[0, k] - low) / (high - low + 1e-6)
    # the authors' code (idiap/fullgrad-saliency) resizes with align_corners=True
    ref = F.interpolate(summed[:, None], size=size, mode="bilinear", align_corners=True)[:, 0]
    torch.testing.assert_close(ex_fg._expected_postprocess(term, size), ref)
    from xai_tutor.methods.cam.fullgrad import _postprocess, _resize

    lib = _resize(_postprocess(term, "authors"), size, "authors")
    torch.testing.assert_close(lib, ref)


def test_postprocess_check_diagnoses():
    gen = torch.Generator().manual_seed(0)
    term = torch.randn(1, 4, 3, 5, generator=gen, dtype=torch.float64)
    size = (6, 10)
    expected = ex_fg._expected_postprocess(term, size)
    assert ex_fg.check_postprocess(expected, term, size).ok
    assert not ex_fg.check_postprocess(None, term, size).ok
    a = term.abs()

    def up(m, **kw):
        kw = kw or {"mode": "bilinear", "align_corners": True}
        return F.interpolate(m[:, None], size=size, **kw)[:, 0]

    def layer_scale(t):
        return (t - t.min()) / (t.max() - t.min() + 1e-6)

    def channel_scale(t):
        lo, hi = t.amin(dim=(2, 3), keepdim=True), t.amax(dim=(2, 3), keepdim=True)
        return (t - lo) / (hi - lo + 1e-7)

    slips = {
        "absolute value": up(layer_scale(term).sum(dim=1)),
        "\"channel\" variant": up(channel_scale(a).sum(dim=1)),
        "averaged": up(layer_scale(a).mean(dim=1)),
        "summed the channels first": up(layer_scale(a.sum(dim=1, keepdim=True)).sum(dim=1)),
        "align_corners=False": up(layer_scale(a).sum(dim=1), mode="bilinear",
                                  align_corners=False),
        "nearest": up(layer_scale(a).sum(dim=1), mode="nearest"),
    }
    for words, value in slips.items():
        fb = ex_fg.check_postprocess(value, term, size)
        assert not fb.ok and words in fb.message, (words, fb.message)
    fb = ex_fg.check_postprocess(layer_scale(a).sum(dim=1), term, size)
    assert not fb.ok and "shape" in fb.message


def _fullgrad_namespace(net64: nn.Module, x64: torch.Tensor) -> dict:
    """What notebook 09 defines before its solutions run (written independently here)."""

    def bias_of(m):
        if isinstance(m, nn.BatchNorm2d):
            return ex_fg._expected_bn_bias(m)
        return None if getattr(m, "bias", None) is None else m.bias.detach()

    modules = {n: m for n, m in net64.named_modules() if bias_of(m) is not None}
    outputs = {}
    hooks = [m.register_forward_hook(
        lambda mod, i, o, n=n: (outputs.__setitem__(n, o), o.clone())[1])
        for n, m in modules.items()]
    with model_guard(net64):
        try:
            logits = net64(x64.clone().requires_grad_(True))
        finally:
            for h in hooks:
                h.remove()
        c = int(logits[0].argmax())
        names = list(outputs)
        grads = dict(zip(names, torch.autograd.grad(logits[0, c], [outputs[n] for n in names])))
    bn = [m for m in net64.modules() if isinstance(m, nn.BatchNorm2d)][0]
    return {"torch": torch, "F": F, "bn": bn, "bias_of": bias_of, "modules64": modules,
            "grads64": grads, "term_layer": "layer1.bn2", "net64": net64, "x64": x64,
            "c64": c, "size64": tuple(x64.shape[-2:])}


def test_fullgrad_solutions_pass_their_checks(resnet64):
    ns = _fullgrad_namespace(resnet64, small_input(1, 16, torch.float64, seed=3))
    for key in ("fullgrad.bn_bias", "fullgrad.bias_term", "fullgrad.postprocess"):
        assert key in checks()
        assert run_solution(key, ns).ok, key


# ----------------------------------------------------------------------------- Ablation-CAM


def _loop_ablated(net: nn.Module, x: torch.Tensor, c: int, layer: str) -> torch.Tensor:
    with model_guard(net), torch.no_grad(), capture(net, layer) as cap:
        net(x)
    a = cap.activation.detach()
    module = dict(net.named_modules())[layer]
    out = []
    for k in range(a.shape[1]):
        ablated = a.clone()
        ablated[:, k] = 0
        h = module.register_forward_hook(lambda m, i, o, t=ablated: t)
        try:
            with model_guard(net), torch.no_grad():
                out.append(float(net(x)[0, c]))
        finally:
            h.remove()
    return torch.tensor(out, dtype=torch.float64)


def test_ablated_scores_match_a_loop(vgg, x16):
    expected = ex_gf._expected_ablated_scores(vgg, x16, 2, "features.7")
    torch.testing.assert_close(expected, _loop_ablated(vgg, x16, 2, "features.7"),
                               rtol=1e-5, atol=1e-6)


def test_ablation_weights_give_the_library_map(vgg, x16):
    with torch.no_grad():
        logits = vgg(x16)
    c = int(logits[0].argmax())
    w = ex_gf._expected_ablation_weights(vgg, x16, c, "features.7")
    with model_guard(vgg), torch.no_grad(), capture(vgg, "features.7") as cap:
        vgg(x16)
    cam = torch.relu(torch.einsum("k,khw->hw", w.float(), cap.activation[0]))
    e = xai_tutor.explain(vgg, x16, "ablationcam", target=c, layer="features.7", progress=False)
    torch.testing.assert_close(e.attribution[0], cam, rtol=1e-4, atol=1e-6)


def test_ablated_scores_check_diagnoses(vgg, x16):
    layer, c = "features.7", 1
    expected = _loop_ablated(vgg, x16, c, layer)
    assert ex_gf.check_ablated_scores(expected, vgg, x16, c, layer).ok
    assert not ex_gf.check_ablated_scores(None, vgg, x16, c, layer).ok
    with model_guard(vgg), torch.no_grad(), capture(vgg, layer) as cap:
        logits = vgg(x16)
    a = cap.activation.detach()
    k = a.shape[1]
    fb = ex_gf.check_ablated_scores(torch.full((k,), float(logits[0, c])), vgg, x16, c, layer)
    assert not fb.ok and "nothing was zeroed" in fb.message
    cumulative = a.repeat(k, 1, 1, 1)
    for i in range(k):
        cumulative[i, : i + 1] = 0
    got = oracle.forward_replacing(vgg, x16, cumulative, layer)[:, c]
    fb = ex_gf.check_ablated_scores(got, vgg, x16, c, layer)
    assert not fb.ok and "add up" in fb.message
    keep = torch.zeros_like(a).repeat(k, 1, 1, 1)
    keep[torch.arange(k), torch.arange(k)] = a[0]
    got = oracle.forward_replacing(vgg, x16, keep, layer)[:, c]
    fb = ex_gf.check_ablated_scores(got, vgg, x16, c, layer)
    assert not fb.ok and "kept channel k" in fb.message
    copies = a.repeat(k, 1, 1, 1)
    copies[torch.arange(k), torch.arange(k)] = 0
    probs = torch.softmax(oracle.forward_replacing(vgg, x16, copies, layer), dim=1)[:, c]
    fb = ex_gf.check_ablated_scores(probs, vgg, x16, c, layer)
    assert not fb.ok and "probabilities" in fb.message


def test_ablation_weights_check_diagnoses(vgg, x16):
    layer, c = "features.7", 0
    with torch.no_grad():
        y = float(vgg(x16)[0, c])
    yk = _loop_ablated(vgg, x16, c, layer)
    assert ex_gf.check_ablation_weights((y - yk) / y, vgg, x16, c, layer).ok
    for words, value in {"sign": (yk - y) / y, "RELATIVE": y - yk,
                         "not by y_k": (y - yk) / yk, "1 - y_k / y": yk / y}.items():
        fb = ex_gf.check_ablation_weights(value, vgg, x16, c, layer)
        assert not fb.ok and words in fb.message, (words, fb.message)


# ----------------------------------------------------------------------------- Score-CAM


def test_score_masks_match_the_library_and_zero_constant_channels(vgg, x16):
    with model_guard(vgg), torch.no_grad(), capture(vgg, "features.7") as cap:
        vgg(x16)
    a = cap.activation.detach()
    assert float(a[0, 3].abs().max()) == 0.0  # the switched-off channel
    masks = ex_gf._expected_score_masks(a, (16, 16))
    torch.testing.assert_close(masks.float(), channel_masks(a[0], (16, 16))[:, 0])
    assert float(masks[3].abs().max()) == 0.0
    for k in range(a.shape[1]):
        if k != 3:
            assert abs(float(masks[k].min())) < 1e-12 and abs(float(masks[k].max()) - 1) < 1e-12


def test_score_masks_check_diagnoses(vgg, x16):
    with model_guard(vgg), torch.no_grad(), capture(vgg, "features.7") as cap:
        vgg(x16)
    a = cap.activation.detach()
    size = (16, 16)
    expected = ex_gf._expected_score_masks(a, size)
    assert ex_gf.check_score_masks(expected.float(), a, size).ok
    assert not ex_gf.check_score_masks(None, a, size).ok
    up = F.interpolate(a.double(), size=size, mode="bilinear", align_corners=False)[0]
    lo, hi = up.amin(dim=(1, 2), keepdim=True), up.amax(dim=(1, 2), keepdim=True)
    fb = ex_gf.check_score_masks((up - lo) / (hi - lo), a, size)
    assert not fb.ok and "NaN" in fb.message
    fb = ex_gf.check_score_masks(up, a, size)
    assert not fb.ok and "scaling is missing" in fb.message
    fb = ex_gf.check_score_masks((up - up.min()) / (up.max() - up.min()), a, size)
    assert not fb.ok and "all channels together" in fb.message
    up_ac = F.interpolate(a.double(), size=size, mode="bilinear", align_corners=True)[0]
    lo, hi = up_ac.amin(dim=(1, 2), keepdim=True), up_ac.amax(dim=(1, 2), keepdim=True)
    ac = torch.where(hi > lo, (up_ac - lo) / torch.where(hi > lo, hi - lo, 1.0), 0.0)
    fb = ex_gf.check_score_masks(ac, a, size)
    assert not fb.ok and "align_corners=True" in fb.message


def _loop_score_weights(net, x, c, layer):
    with model_guard(net), torch.no_grad(), capture(net, layer) as cap:
        net(x)
    a = cap.activation.detach().double()
    out = torch.zeros(a.shape[1], dtype=torch.float64)
    for k in range(a.shape[1]):
        m = F.interpolate(a[:, k:k + 1], size=x.shape[-2:], mode="bilinear", align_corners=False)
        if float(m.max() - m.min()) == 0:
            continue
        m = (m - m.min()) / (m.max() - m.min())
        with model_guard(net), torch.no_grad():
            out[k] = float(torch.softmax(net(x * m.float()), dim=1)[0, c])
    return out


def test_score_weights_match_a_loop_and_the_library(vgg, x16):
    c = 2
    w = ex_gf._expected_score_weights(vgg, x16, c, "features.7")
    torch.testing.assert_close(w, _loop_score_weights(vgg, x16, c, "features.7"),
                               rtol=1e-5, atol=1e-6)
    assert float(w[3]) == 0.0
    with model_guard(vgg), torch.no_grad(), capture(vgg, "features.7") as cap:
        vgg(x16)
    cam = torch.relu(torch.einsum("k,khw->hw", w.float(), cap.activation[0]))
    e = xai_tutor.explain(vgg, x16, "scorecam", target=c, layer="features.7", progress=False)
    torch.testing.assert_close(e.attribution[0], cam, rtol=1e-4, atol=1e-6)


def test_score_weights_check_diagnoses(vgg, x16):
    layer, c = "features.7", 2
    expected = _loop_score_weights(vgg, x16, c, layer)
    assert ex_gf.check_score_weights(expected, vgg, x16, c, layer).ok
    assert not ex_gf.check_score_weights(None, vgg, x16, c, layer).ok
    with model_guard(vgg), torch.no_grad(), capture(vgg, layer) as cap:
        vgg(x16)
    masks = ex_gf._expected_score_masks(cap.activation, (16, 16)).float()
    with torch.no_grad():
        logits = vgg(x16 * masks[:, None])
    probs = torch.softmax(logits, dim=1)[:, c]
    fb = ex_gf.check_score_weights(probs, vgg, x16, c, layer)
    assert not fb.ok and "constant channels" in fb.message
    fb = ex_gf.check_score_weights(torch.softmax(logits[:, c], dim=0), vgg, x16, c, layer)
    assert not fb.ok and "pytorch-grad-cam" in fb.message
    fb = ex_gf.check_score_weights(logits[:, c], vgg, x16, c, layer)
    assert not fb.ok and "logits" in fb.message


def test_gradient_free_solutions_pass_their_checks(vgg, x16):
    layer = "features.7"
    module = dict(vgg.named_modules())[layer]
    with model_guard(vgg), torch.no_grad(), capture(vgg, layer) as cap:
        logits = vgg(x16)
    c = int(logits[0].argmax())

    def forward_with(acts):
        h = module.register_forward_hook(lambda m, i, o: acts.clone())
        try:
            with model_guard(vgg), torch.no_grad():
                return vgg(x16.expand(acts.shape[0], -1, -1, -1))
        finally:
            h.remove()

    ns = {"torch": torch, "F": F, "model": vgg, "x": x16, "c": c, "layer": layer,
          "A": cap.activation.detach(), "y": float(logits[0, c]), "forward_with": forward_with,
          "size": (16, 16)}
    for key in ("gradient_free.ablated_scores", "gradient_free.ablation_weights",
                "gradient_free.score_masks", "gradient_free.score_weights"):
        assert key in checks()
        assert run_solution(key, ns).ok, key


def test_bad_input_gives_clear_errors(vgg, x16):
    with pytest.raises(TypeError, match="BatchNorm2d"):
        ex_fg.check_bn_bias(torch.zeros(3), nn.Conv2d(3, 3, 1))
    with pytest.raises(ValueError, match="no layer"):
        ex_gf.check_ablated_scores(torch.zeros(10), vgg, x16, 0, "missing.layer")
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        ex_gf.check_score_masks(torch.zeros(1), torch.zeros(1, 2, 3, 3), 5)

