"""The CAM family against pytorch-grad-cam (test-only peer), and tests that pin where peers differ
from the papers: torchcam's Grad-CAM++ and Smooth Grad-CAM++, grad-cam's FullGrad normalisation
and grad-cam's Ablation-CAM sign flip when the logit is negative."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torchvision

import xai_tutor

from conftest import make_small, small_input

gradcam_lib = pytest.importorskip("pytorch_grad_cam")
torchcam_methods = pytest.importorskip("torchcam.methods")
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget  # noqa: E402

ATOL = 2e-5


pytestmark = pytest.mark.usefixtures("one_thread")  # small nets: one thread is fastest



@pytest.fixture(scope="module")
def resnet18() -> torch.nn.Module:
    torch.manual_seed(0)
    return torchvision.models.resnet18(weights=None).eval()


@pytest.fixture(scope="module")
def vgg11() -> torch.nn.Module:
    torch.manual_seed(0)
    return torchvision.models.vgg11(weights=None).eval()


def peer(cls, model, layer, x, target, **kwargs):
    module = dict(model.named_modules())[layer] if layer else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with cls(model, [module] if module is not None else [], **kwargs) as extractor:
            if hasattr(extractor, "batch_size") and "batch_size" not in kwargs:
                extractor.batch_size = 64
            return extractor(x, targets=[ClassifierOutputTarget(int(t)) for t in target])


GRADIENT_CASES = [
    ("gradcam", "GradCAM", {}),
    ("xgradcam", "XGradCAM", {"variant": "grad-cam"}),
    ("gradcampp", "GradCAMPlusPlus", {"variant": "grad-cam"}),
    ("hirescam", "HiResCAM", {}),
    ("layercam", "LayerCAM", {}),
]


@pytest.mark.parametrize("method,cls,params", GRADIENT_CASES)
@pytest.mark.parametrize("net,layer", [("resnet18", "layer4"), ("vgg11", "features.19")])
def test_gradient_cams_match_grad_cam(method, cls, params, net, layer, request):
    model = request.getfixturevalue(net)
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    e = xai_tutor.explain(model, x, method, layer=layer, **params)
    theirs = peer(getattr(gradcam_lib, cls), model, layer, x, e.target)
    np.testing.assert_allclose(e.saliency.numpy(), theirs, atol=ATOL)


@pytest.mark.parametrize("kind,layer", [("vgg", "features.7"), ("vgg_dense", "features.4")])
def test_layercam_matches_torchcam(kind, layer):
    """torchcam returns one layer's map at feature-map resolution, min-max scaled (eps 1e-8); its
    tanh scaling (the paper's Eq. 9) only enters when maps of several layers are fused."""
    model = make_small(kind)
    x = small_input(1, 16, seed=7)
    ours = xai_tutor.explain(model, x, "layercam", layer=layer)
    with torchcam_methods.LayerCAM(model, layer, input_shape=(3, 16, 16)) as ext:
        theirs = ext(int(ours.target), model(x))[0].detach()
    torch.testing.assert_close(theirs, _norm(ours.attribution), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("net", ["resnet18", "vgg11"])
def test_fullgrad_channel_variant_matches_grad_cam(net, request):
    model = request.getfixturevalue(net)
    x = torch.randn(1, 3, 48, 48, generator=torch.Generator().manual_seed(2))
    e = xai_tutor.explain(model, x, "fullgrad", variant="channel")
    theirs = peer(gradcam_lib.FullGrad, model, None, x, e.target)
    np.testing.assert_allclose(e.saliency.numpy(), theirs, atol=ATOL)
    # grad-cam normalises every channel alone; the official code normalises each layer jointly
    official = xai_tutor.explain(model, x, "fullgrad", variant="authors")
    assert np.abs(official.saliency.numpy() - theirs).max() > 0.05


@pytest.mark.parametrize("kind,layer", [("vgg", "features.7"), ("resnet", "layer2")])
def test_score_and_ablation_cam_match_grad_cam(kind, layer):
    model = make_small(kind)
    x = small_input(2, 32, seed=3)
    # grad-cam applies the ReLU before upsampling (relu_at="layer"; at these post-ReLU layers
    # the authors' order gives the same map)
    e = xai_tutor.explain(model, x, "scorecam", variant="channel_softmax", relu_at="layer",
                          progress=False)
    theirs = peer(gradcam_lib.ScoreCAM, model, layer, x, e.target)
    np.testing.assert_allclose(e.saliency.numpy(), theirs, atol=ATOL)
    e = xai_tutor.explain(model, x, "ablationcam", progress=False)
    theirs = peer(gradcam_lib.AblationCAM, model, layer, x, e.target, batch_size=4)
    np.testing.assert_allclose(e.saliency.numpy(), theirs, atol=ATOL)


def test_grad_cam_ablation_flips_sign_for_negative_logits():
    """With y < 0, (y - y_k) / y turns a helpful channel's weight negative (paper and grad-cam
    alike); variant="abs" keeps the sign of the logit drop."""
    model = make_small("vgg")
    x = small_input(1, 32, seed=4)
    with torch.no_grad():
        logits = model(x)
    target = int(logits.argmin())
    assert logits[0, target] < 0
    paper = xai_tutor.explain(model, x, "ablationcam", target=target, progress=False)
    theirs = peer(gradcam_lib.AblationCAM, model, "features.7", x, [target], batch_size=4)
    np.testing.assert_allclose(paper.saliency.numpy(), theirs, atol=ATOL)
    fixed = xai_tutor.explain(model, x, "ablationcam", target=target, variant="abs",
                              progress=False)
    # exact drops on the GAP + linear head: y - y_k = W[c, k] mean(A_k)
    with torch.no_grad():
        a = model.features(x.clone())
    drop = model.fc.weight[target] * a.mean((2, 3))[0]
    evidence = torch.relu((drop[:, None, None] * a[0]).sum(0))
    flipped = torch.relu((-drop[:, None, None] * a[0]).sum(0))
    y = logits[0, target].abs()
    torch.testing.assert_close(fixed.attribution[0], evidence / y, atol=1e-6, rtol=1e-4)
    torch.testing.assert_close(paper.attribution[0], flipped / y, atol=1e-6, rtol=1e-4)
    assert not torch.allclose(fixed.attribution, paper.attribution)


def _split_vgg(model):
    return model.features, lambda a: model.fc(torch.flatten(model.pool(a), 1))


def _grads(model, x, target):
    body, head = _split_vgg(model)
    with torch.no_grad():
        a = body(x.clone())
    leaf = a.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(head(leaf)[0, target], leaf)
    return a, g


def _norm(m: torch.Tensor) -> torch.Tensor:
    m = m - m.amin(dim=(-2, -1), keepdim=True)
    return m / (m.amax(dim=(-2, -1), keepdim=True) + 1e-8)


def test_torchcam_gradcampp_never_divides_alpha():
    """torchcam divides a boolean-indexed copy, so its alpha stays g^2 (no denominator)."""
    model = make_small("vgg")
    x = small_input(1, 32, seed=5)
    ours = xai_tutor.explain(model, x, "gradcampp")
    target = int(ours.target)
    with torchcam_methods.GradCAMpp(model, "features.7", input_shape=(3, 32, 32)) as ext:
        theirs = ext(target, model(x))[0][0].detach()
    a, g = _grads(model, x, target)
    undivided = ((g**2) * torch.relu(g)).sum((2, 3))
    buggy = _norm(torch.relu((undivided[:, :, None, None] * a).sum(1)))[0]
    torch.testing.assert_close(theirs, buggy, atol=1e-5, rtol=1e-4)
    assert (theirs - _norm(ours.attribution)[0]).abs().max() > 1e-2


class _FixedNoise:
    """Stands in for torchcam's noise distribution: returns the given samples in turn."""

    def __init__(self, samples):
        self.samples = list(samples)

    def sample(self, size):
        return self.samples.pop(0)


def test_torchcam_smoothgradcampp_uses_last_noisy_pass():
    """torchcam weights the activations of the *last noisy* image with ReLU of the *last noisy*
    gradient; the paper (and xai_tutor) use the averaged gradient and the clean activations."""
    model = make_small("vgg")
    x = small_input(1, 32, seed=6)
    gen = torch.Generator().manual_seed(0)
    noise = [0.5 * torch.randn(x.shape, generator=gen) for _ in range(3)]
    with torch.no_grad():
        target = int(model(x).argmax())
    with torchcam_methods.SmoothGradCAMpp(model, "features.7", num_samples=3,
                                          input_shape=(3, 32, 32)) as ext:
        ext._distrib = _FixedNoise(noise)
        model(x)
        theirs = ext(target)[0][0].detach()
    a_clean, _ = _grads(model, x, target)
    runs = [_grads(model, x + n, target) for n in noise]
    g2 = sum(g**2 for _, g in runs) / 3
    g3 = sum(g**3 for _, g in runs) / 3
    a_last, g_last = runs[-1]
    alpha = g2 / (2 * g2 + (g3 * a_clean).sum((2, 3), keepdim=True) + 1e-8)
    w = (alpha * torch.relu(g_last)).sum((2, 3))
    buggy = _norm(torch.relu((w[:, :, None, None] * a_last).sum(1)))[0]
    torch.testing.assert_close(theirs, buggy, atol=1e-5, rtol=1e-4)
    # the paper's version: first-order gradients averaged, clean activations
    g_bar = sum(g for _, g in runs) / 3
    den = 2 * g_bar**2 + (g_bar**3 * a_clean).sum((2, 3), keepdim=True)
    alpha = torch.where((g_bar != 0) & (den != 0), g_bar**2 / den, torch.zeros_like(den))
    w = (alpha * torch.relu(g_bar)).sum((2, 3))
    paper = _norm(torch.relu((w[:, :, None, None] * a_clean).sum(1)))[0]
    assert (theirs - paper).abs().max() > 1e-2
