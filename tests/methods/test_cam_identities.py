"""Identities of the CAM family: Grad-CAM vs CAM, FullGrad completeness, Ablation-CAM's logit drop,
and the fast tail path of Ablation-CAM against full forward passes."""

from __future__ import annotations

import pytest
import torch
import torchvision

import xai_tutor
from xai_tutor.hooks import capture
from xai_tutor.methods.cam.fullgrad import fullgrad_terms
from xai_tutor.methods.cam.tail import find_tail

from conftest import make_small, small_input

pytestmark = pytest.mark.usefixtures("one_thread")  # small nets: one thread is fastest



@pytest.fixture(scope="module")
def resnet18() -> torch.nn.Module:
    torch.manual_seed(0)
    return torchvision.models.resnet18(weights=None).eval()


@pytest.mark.parametrize("kind", ["vgg", "resnet"])
def test_gradcam_is_relu_cam_over_hw_small(kind):
    model = make_small(kind, torch.float64)
    x = small_input(3, 16, torch.float64, seed=1)
    cam = xai_tutor.explain(model, x, "cam")
    grad = xai_tutor.explain(model, x, "gradcam")
    h, w = cam.attribution.shape[-2:]
    torch.testing.assert_close(grad.attribution, torch.relu(cam.attribution) / (h * w),
                               atol=1e-12, rtol=1e-10)


def test_gradcam_is_relu_cam_over_hw_resnet18(resnet18):
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    cam = xai_tutor.explain(resnet18, x, "cam", target=[1, 2], layer="layer4", relu=True)
    grad = xai_tutor.explain(resnet18, x, "gradcam", target=[1, 2], layer="layer4")
    h, w = cam.attribution.shape[-2:]
    torch.testing.assert_close(grad.attribution, cam.attribution / (h * w), atol=1e-6, rtol=1e-4)


def _completeness(model, x, target=None):
    terms = fullgrad_terms(model, x, target)
    total = terms.input_term.sum((1, 2, 3))
    for _, t in terms.bias_terms:
        total = total + t.flatten(1).sum(1)
    return total, terms.score


@pytest.mark.parametrize("kind", ["vgg", "vgg_dense", "resnet"])
def test_fullgrad_completeness_small(kind):
    model = make_small(kind, torch.float64)
    total, score = _completeness(model, small_input(3, 16, torch.float64, seed=2))
    torch.testing.assert_close(total, score, atol=1e-10, rtol=1e-10)


def test_fullgrad_completeness_resnet18(resnet18):
    model = torchvision.models.resnet18(weights=None).eval()
    model.load_state_dict(resnet18.state_dict())
    model = model.double()
    x = torch.randn(1, 3, 32, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    total, score = _completeness(model, x, target=7)
    torch.testing.assert_close(total, score, atol=1e-9, rtol=1e-9)


def test_fullgrad_terms_include_batchnorm_effective_bias():
    model = make_small("resnet", torch.float64)
    terms = fullgrad_terms(model, small_input(1, 16, torch.float64))
    names = [n for n, _ in terms.bias_terms]
    assert "bn1" in names and "layer2.down.1" in names and names[-1] == "fc"
    assert not any(n.startswith("conv") for n in names)  # convs here have no bias


def test_ablationcam_linear_head_is_exact_logit_drop(resnet18):
    """GAP + linear head: zeroing channel k lowers y by exactly W[c, k] * mean(A_k)."""
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    e = xai_tutor.explain(resnet18, x, "ablationcam", layer="layer4", progress=False)
    assert e.params["path"] == "tail"
    with torch.no_grad():
        feats = resnet18.layer4(resnet18.layer3(resnet18.layer2(resnet18.layer1(
            resnet18.maxpool(resnet18.relu(resnet18.bn1(resnet18.conv1(x))))))))
    drop = resnet18.fc.weight[e.target] * feats.mean((2, 3))
    w = drop / e.score[:, None]
    expected = torch.relu((w[:, :, None, None] * feats).sum(1))
    torch.testing.assert_close(e.attribution, expected, atol=1e-6, rtol=1e-4)


def test_ablationcam_tail_equals_full_path(resnet18):
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    fast = xai_tutor.explain(resnet18, x, "ablationcam", layer="layer4", progress=False)
    slow = xai_tutor.explain(resnet18, x, "ablationcam", layer="layer4", path="full",
                             progress=False)
    assert (fast.params["path"], slow.params["path"]) == ("tail", "full")
    torch.testing.assert_close(fast.attribution, slow.attribution, atol=1e-6, rtol=1e-4)


@pytest.mark.slow
def test_tail_found_for_torchvision_models(resnet18):
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        tail = find_tail(resnet18, "layer4", x)
        assert [type(m).__name__ for m in tail.modules] == ["AdaptiveAvgPool2d", "Linear"]
        vgg = torchvision.models.vgg11(weights=None).eval()
        tail = find_tail(vgg, "features.19", x)
        assert [type(m).__name__ for m in tail.modules] == [  # classifier run child by child
            "MaxPool2d", "AdaptiveAvgPool2d"] + [type(m).__name__ for m in vgg.classifier]
        eff = torchvision.models.efficientnet_b0(weights=None).eval()
        tail = find_tail(eff, "features.8", x)
        assert [type(m).__name__ for m in tail.modules] == ["AdaptiveAvgPool2d", "Dropout",
                                                            "Linear"]
        # inside a residual block the rest is not a chain (`+=`, shared ReLU): no tail
        assert find_tail(resnet18, "layer4.1.conv2", x) is None


@pytest.mark.parametrize("kind,layer", [("vgg", "features.7"), ("vgg_dense", "features.4"),
                                        ("resnet", "layer2")])
def test_linear_shortcut_equals_plain_tail(kind, layer):
    model = make_small(kind, torch.float64)
    x = small_input(1, 16, torch.float64, seed=8)
    with torch.no_grad():
        tail = find_tail(model, layer, x)
        with capture(model, layer) as cap:
            model(x)
        a = cap.activation
        ablator = tail.channel_ablator(a)
        assert ablator is not None
        ks = torch.arange(a.shape[1])
        batch = a.repeat(len(ks), 1, 1, 1)
        batch[ks, ks] = 0
        torch.testing.assert_close(ablator(ks), tail(batch), atol=1e-12, rtol=1e-10)


def test_ablationcam_falls_back_to_full_path_inside_a_block():
    model = make_small("resnet", torch.float64)
    x = small_input(2, 16, torch.float64)
    auto = xai_tutor.explain(model, x, "ablationcam", layer="layer2.conv2", progress=False)
    assert auto.params["path"] == "full"
    with pytest.raises(ValueError, match="not a simple chain"):
        xai_tutor.explain(model, x, "ablationcam", layer="layer2.conv2", path="tail",
                          progress=False)
    # the slow path still gives the exact ablation weights: compare with manual ablation
    with torch.no_grad():
        h = model.maxpool(model.relu(model.bn1(model.conv1(x))))
        h = model.layer1(h)
        blk = model.layer2
        mid = blk.relu(blk.bn1(blk.conv1(h)))
        a = blk.conv2(mid)

        def head(z):
            out = torch.relu(blk.bn2(z) + blk.down(h))
            return model.fc(torch.flatten(model.avgpool(out), 1))

        t = auto.target
        y = head(a)[torch.arange(2), t]
        w = torch.zeros(a.shape[:2], dtype=a.dtype)
        for k in range(a.shape[1]):
            z = a.clone()
            z[:, k] = 0
            w[:, k] = (y - head(z)[torch.arange(2), t]) / y
    expected = torch.relu((w[:, :, None, None] * a).sum(1))
    torch.testing.assert_close(auto.attribution, expected, atol=1e-10, rtol=1e-8)


def _scene_input():
    x, _ = xai_tutor.load_image(xai_tutor.make_scene("single").image)
    return x


@pytest.mark.parametrize("name", ["tiny_resnet", "resnet18"])
def test_hirescam_is_gradcam_on_a_gap_linear_head(name, resnet18):
    """dy/dA_k(a, b) = W[c, k] / (h w) at every position: HiResCAM's elementwise product is
    Grad-CAM's averaged weight times A."""
    model = resnet18 if name == "resnet18" else xai_tutor.load_model(name)
    x = _scene_input() if name == "tiny_resnet" else torch.randn(
        2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    hires = xai_tutor.explain(model, x, "hirescam", layer="layer4")
    grad = xai_tutor.explain(model, x, "gradcam", layer="layer4")
    scale = float(grad.attribution.abs().max())
    assert scale > 0
    torch.testing.assert_close(hires.attribution, grad.attribution, atol=1e-6 * scale, rtol=1e-5)


def test_hirescam_and_layercam_differ_from_gradcam_on_a_dense_head():
    """tiny_vgg ends in adaptive pooling to 3 x 3, flatten and dense layers: the gradient varies
    over positions, so the elementwise maps are not Grad-CAM's."""
    model = xai_tutor.load_model("tiny_vgg")
    x = _scene_input()
    grad = xai_tutor.explain(model, x, "gradcam")
    for method in ("hirescam", "layercam"):
        other = xai_tutor.explain(model, x, method)
        assert (other.saliency - grad.saliency).abs().max() > 0.1, method
