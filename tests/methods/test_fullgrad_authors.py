"""FullGrad's default is the authors' code (idiap/fullgrad-saliency, ``saliency/fullgrad.py``).

The reference below is written from their post-processing, in float64, on a net with non-zero
conv biases and BatchNorm layers with random running statistics; the forward pass is written out
by hand (BatchNorm as its affine formula), so no xai_tutor hook takes part.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import xai_tutor


class BiasNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 5, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(5)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(5, 6, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(6)
        self.conv3 = nn.Conv2d(6, 7, 3, padding=1)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(7, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.pool(torch.relu(self.bn1(self.conv1(x))))
        h = torch.relu(self.bn2(self.conv2(h)))
        h = self.pool(torch.relu(self.conv3(h)))
        return self.fc(torch.flatten(self.gap(h), 1))


def make_net() -> BiasNet:
    torch.manual_seed(0)
    net = BiasNet().double().eval()
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen, dtype=torch.float64) * 0.3)
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=gen, dtype=torch.float64) * 0.2)
                m.running_var.copy_(torch.rand(c, generator=gen, dtype=torch.float64) + 0.5)
                m.weight.copy_(torch.rand(c, generator=gen, dtype=torch.float64) + 0.5)
                m.bias.copy_(torch.randn(c, generator=gen, dtype=torch.float64) * 0.2)
    return net


def bn_by_hand(bn: nn.BatchNorm2d, z: torch.Tensor) -> torch.Tensor:
    shape = (1, -1, 1, 1)
    scale = bn.weight.reshape(shape) / torch.sqrt(bn.running_var.reshape(shape) + bn.eps)
    return (z - bn.running_mean.reshape(shape)) * scale + bn.bias.reshape(shape)


def bias_gradients(net: BiasNet, x: torch.Tensor):
    """Input gradient and (bias, dy/dz) of every conv and BatchNorm, by a hand-written pass."""
    xg = x.clone().requires_grad_(True)
    z1 = F.conv2d(xg, net.conv1.weight, net.conv1.bias, padding=1)
    n1 = bn_by_hand(net.bn1, z1)
    h = F.max_pool2d(F.relu(n1), 2)
    z2 = F.conv2d(h, net.conv2.weight, net.conv2.bias, padding=1)
    n2 = bn_by_hand(net.bn2, z2)
    z3 = F.conv2d(F.relu(n2), net.conv3.weight, net.conv3.bias, padding=1)
    out = F.linear(F.max_pool2d(F.relu(z3), 2).mean((2, 3)), net.fc.weight, net.fc.bias)
    target = out.argmax(1)
    y = out[torch.arange(len(target)), target]
    grads = torch.autograd.grad(y.sum(), [xg, z1, n1, z2, n2, z3])

    def bn_bias(bn):
        return bn.bias - bn.running_mean * bn.weight / torch.sqrt(bn.running_var + bn.eps)

    biases = [net.conv1.bias, bn_bias(net.bn1), net.conv2.bias, bn_bias(net.bn2), net.conv3.bias]
    bias_terms = [b.detach()[None, :, None, None] * g for b, g in zip(biases, grads[1:])]
    return (x * grads[0]).detach(), bias_terms, target


def authors_postprocess(t: torch.Tensor) -> torch.Tensor:
    """Their ``_postProcess``: abs, subtract the min over (C, h, w), divide by max + 1e-6."""
    t = t.abs()
    t = t - t.reshape(t.shape[0], -1).min(1).values[:, None, None, None]
    return t / (t.reshape(t.shape[0], -1).max(1).values[:, None, None, None] + 1e-6)


def authors_fullgrad(net: BiasNet, x: torch.Tensor) -> np.ndarray:
    """Their ``saliency``: input term summed over channels (not resized); each conv-shaped bias
    term post-processed, resized channel by channel with align_corners=True, then summed."""
    input_term, bias_terms, _ = bias_gradients(net, x)
    cam = authors_postprocess(input_term).sum(1, keepdim=True)
    for term in bias_terms:
        up = F.interpolate(authors_postprocess(term), size=x.shape[-2:], mode="bilinear",
                           align_corners=True)
        cam = cam + up.sum(1, keepdim=True)
    return cam[:, 0].numpy()


@pytest.fixture(scope="module")
def case():
    net = make_net()
    x = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    return net, x


def test_default_is_the_authors_code(case):
    net, x = case
    ref = authors_fullgrad(net, x)
    e = xai_tutor.explain(net, x, "fullgrad")
    assert e.params["variant"] == "authors"
    np.testing.assert_allclose(e.attribution.numpy(), ref, atol=1e-10, rtol=0)
    low, high = ref.min((1, 2), keepdims=True), ref.max((1, 2), keepdims=True)
    np.testing.assert_allclose(e.saliency.numpy(), (ref - low) / (high - low), atol=1e-10)


def test_layer_variant_keeps_align_corners_false(case):
    """The former default: same normalisation, resized as the rest of the library resizes."""
    net, x = case
    input_term, bias_terms, _ = bias_gradients(net, x)
    ref = authors_postprocess(input_term).sum(1)
    for term in bias_terms:
        ref = ref + F.interpolate(authors_postprocess(term), size=x.shape[-2:], mode="bilinear",
                                  align_corners=False).sum(1)
    e = xai_tutor.explain(net, x, "fullgrad", variant="layer")
    np.testing.assert_allclose(e.attribution.numpy(), ref.numpy(), atol=1e-10, rtol=0)
    authors = xai_tutor.explain(net, x, "fullgrad").attribution
    assert (authors - e.attribution).abs().max() > 1e-2  # the flag matters on 8x8 maps


def test_terms_match_the_hand_written_pass(case):
    net, x = case
    input_term, bias_terms, _ = bias_gradients(net, x)
    from xai_tutor.methods.cam.fullgrad import fullgrad_terms

    raw = fullgrad_terms(net, x)
    torch.testing.assert_close(raw.input_term, input_term, atol=1e-12, rtol=0)
    spatial = [t for _, t in raw.bias_terms if t.dim() == 4]
    assert len(spatial) == len(bias_terms)
    for mine, ref in zip(spatial, bias_terms):
        torch.testing.assert_close(mine, ref, atol=1e-12, rtol=0)


def test_layer_variant_differs_from_the_authors_by_the_documented_amount():
    """The numbers fullgrad.py states: on the three offline course models and the three course
    scenes, the largest saliency difference between variant "layer" (align_corners=False) and
    the default "authors" (align_corners=True) is 0.11-0.32 per map, the mean 1.6-3.5 %."""
    from xai_tutor.data import course_scenes, load_image

    scenes = course_scenes()
    largest, means = [], []
    for name in ("tiny_vgg", "tiny_resnet", "efficientnet_lite0"):
        model = xai_tutor.load_model(name)
        for kind in ("single", "pair", "flock"):
            x, _ = load_image(scenes[kind].image)
            authors = xai_tutor.explain(model, x, "fullgrad").saliency
            layer = xai_tutor.explain(model, x, "fullgrad", variant="layer").saliency
            diff = (authors - layer).abs()
            largest.append(float(diff.max()))
            means.append(float(diff.mean()))
    assert 0.10 <= min(largest) and max(largest) <= 0.33, largest
    assert 0.015 <= min(means) and max(means) <= 0.036, means
