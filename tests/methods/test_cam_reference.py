"""Every CAM method against a float64 reference written here from the paper's formula.

The references do not use xai_tutor's hooks: each small net is split by hand into a body (input
-> layer activations A) and a head (A -> logits), so A and dy/dA come from plain autograd.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import xai_tutor
from xai_tutor.methods.cam.fullgrad import fullgrad_terms

from conftest import make_small, small_input

ATOL = 1e-6
KINDS = ["vgg", "resnet", "vgg_dense"]


pytestmark = pytest.mark.usefixtures("one_thread")  # small nets: one thread is fastest



def split(model: nn.Module, kind: str):
    """(body, head) with head(body(x)) == model(x) for the conftest nets at their default layer."""
    if kind == "vgg":
        return model.features, lambda a: model.fc(torch.flatten(model.pool(a), 1))
    if kind == "vgg_dense":  # default layer features.4: the ReLU before the last max-pooling
        return model.features[:5], lambda a: model.classifier(model.features[5](a))

    def body(x):
        h = model.maxpool(model.relu(model.bn1(model.conv1(x))))
        return model.layer2(model.layer1(h))

    return body, lambda a: model.fc(torch.flatten(model.avgpool(a), 1))


def reference_inputs(kind: str, size: int = 16, batch: int = 2):
    model = make_small(kind, torch.float64)
    x = small_input(batch, size, torch.float64, seed=3)
    body, head = split(model, kind)
    with torch.no_grad():
        a = body(x.clone())
    leaf = a.clone().requires_grad_(True)
    logits = head(leaf)
    target = logits.argmax(1)
    y = logits[torch.arange(len(target)), target]
    (g,) = torch.autograd.grad(y.sum(), leaf)
    return model, x, a, g, y.detach(), target, head


def saliency_of(maps: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
    up = F.interpolate(maps[:, None], size=size, mode="bilinear", align_corners=False)[:, 0]
    out = []
    for m in up.numpy():
        span = m.max() - m.min()
        out.append((m - m.min()) / span if span > 0 else np.zeros_like(m))
    return np.stack(out)


def check(e, maps: torch.Tensor, x: torch.Tensor) -> None:
    np.testing.assert_allclose(e.attribution.numpy(), maps.numpy(), atol=ATOL, rtol=0)
    np.testing.assert_allclose(e.saliency.numpy(), saliency_of(maps, x.shape[-2:]), atol=ATOL)


def gradcampp_ref(a: np.ndarray, g: np.ndarray, eps: float = 0.0) -> np.ndarray:
    """Eq. 19 of Chattopadhyay et al., element by element."""
    b_, k_ = a.shape[:2]
    w = np.zeros((b_, k_))
    for b in range(b_):
        for k in range(k_):
            total = a[b, k].sum()
            for gij in g[b, k].ravel():
                den = 2 * gij**2 + total * gij**3 + eps
                alpha = gij**2 / den if (gij != 0 and den != 0) else 0.0
                w[b, k] += alpha * max(gij, 0.0)
    return w


def combine(w, a) -> torch.Tensor:
    return torch.relu((torch.as_tensor(w)[:, :, None, None] * a).sum(1))


@pytest.mark.parametrize("kind", KINDS)
def test_gradcam(kind):
    model, x, a, g, _, _, _ = reference_inputs(kind)
    check(xai_tutor.explain(model, x, "gradcam"), combine(g.mean((2, 3)), a), x)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("variant,eps", [("paper", 0.0), ("grad-cam", 1e-6)])
def test_gradcampp(kind, variant, eps):
    model, x, a, g, _, _, _ = reference_inputs(kind)
    w = gradcampp_ref(a.numpy(), g.numpy(), eps)
    check(xai_tutor.explain(model, x, "gradcampp", variant=variant), combine(w, a), x)


def gradcampp_authors_ref(a: np.ndarray, g: np.ndarray) -> np.ndarray:
    """adityac94/Grad_CAM_plus_plus (misc/utils.py) in plain loops: alpha of Eq. 19 (denominator
    0 replaced by 1), divided per channel by the sum of the alphas where g > 0 (0 replaced by 1),
    then w = sum alpha ReLU(g). Their exp(y) factor is left out (it cancels in alpha)."""
    b_, k_ = a.shape[:2]
    w = np.zeros((b_, k_))
    for b in range(b_):
        for k in range(k_):
            total = a[b, k].sum()
            gs = g[b, k].ravel()
            alphas = []
            for gij in gs:
                den = 2 * gij**2 + total * gij**3
                alphas.append(gij**2 / (den if den != 0 else 1.0))
            norm = sum(al for al, gij in zip(alphas, gs) if gij > 0)
            norm = norm if norm != 0 else 1.0
            w[b, k] = sum(al / norm * max(gij, 0.0) for al, gij in zip(alphas, gs))
    return w


@pytest.mark.parametrize("kind", KINDS)
def test_gradcampp_authors_code(kind):
    model, x, a, g, _, _, _ = reference_inputs(kind)
    w = gradcampp_authors_ref(a.numpy(), g.numpy())
    check(xai_tutor.explain(model, x, "gradcampp", variant="authors"), combine(w, a), x)
    paper = xai_tutor.explain(model, x, "gradcampp").saliency
    e = xai_tutor.explain(model, x, "gradcampp", variant="authors")
    assert (paper - e.saliency).abs().max() > 1e-4  # the normalisation changes the map


@pytest.mark.parametrize("kind", KINDS)
def test_xgradcam(kind):
    model, x, a, g, _, _, _ = reference_inputs(kind)
    total = a.sum((2, 3))
    w = torch.where(total != 0, (g * a).sum((2, 3)) / torch.where(total != 0, total, 1.0), 0.0)
    check(xai_tutor.explain(model, x, "xgradcam"), combine(w, a), x)
    w_gc = (g * a).sum((2, 3)) / (total + 1e-7)
    check(xai_tutor.explain(model, x, "xgradcam", variant="grad-cam"), combine(w_gc, a), x)


def positionwise_ref(a: np.ndarray, g: np.ndarray, positive_only: bool) -> np.ndarray:
    """HiResCAM (w = g) and LayerCAM (w = max(g, 0)) element by element:
    L(i, j) = max(sum_k w_k(i, j) A_k(i, j), 0)."""
    b_, k_, h_, w_ = a.shape
    out = np.zeros((b_, h_, w_))
    for b in range(b_):
        for i in range(h_):
            for j in range(w_):
                total = 0.0
                for k in range(k_):
                    weight = max(g[b, k, i, j], 0.0) if positive_only else g[b, k, i, j]
                    total += weight * a[b, k, i, j]
                out[b, i, j] = max(total, 0.0)
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_hirescam_and_layercam(kind):
    model, x, a, g, _, _, _ = reference_inputs(kind)
    for method, positive in [("hirescam", False), ("layercam", True)]:
        maps = torch.as_tensor(positionwise_ref(a.numpy(), g.numpy(), positive))
        check(xai_tutor.explain(model, x, method), maps, x)
    if kind == "vgg_dense":  # a dense head: the gradient varies over positions
        assert bool((g < 0).any())


@pytest.mark.parametrize("kind", ["vgg", "resnet"])
def test_cam(kind):
    model, x, a, _, _, target, _ = reference_inputs(kind)
    weights = model.fc.weight.detach()[target]
    maps = (weights[:, :, None, None] * a).sum(1)
    check(xai_tutor.explain(model, x, "cam"), maps, x)
    check(xai_tutor.explain(model, x, "cam", relu=True), torch.relu(maps), x)
    # CAM's defining property: mean over space plus the bias gives the logit
    e = xai_tutor.explain(model, x, "cam")
    logit = e.attribution.mean((1, 2)) + model.fc.bias.detach()[target]
    torch.testing.assert_close(logit, e.score, atol=1e-9, rtol=0)


@pytest.mark.parametrize("kind", KINDS)
def test_ablationcam(kind):
    model, x, a, _, y, target, head = reference_inputs(kind)
    w = torch.zeros(a.shape[:2], dtype=a.dtype)
    with torch.no_grad():
        for k in range(a.shape[1]):
            ablated = a.clone()
            ablated[:, k] = 0
            yk = head(ablated)[torch.arange(len(target)), target]
            w[:, k] = (y - yk) / y
    for path in ["auto", "full"]:
        e = xai_tutor.explain(model, x, "ablationcam", batch_size=3, path=path, progress=False)
        check(e, combine(w, a), x)
        assert e.params["path"] == ("tail" if path == "auto" else "full")
    e = xai_tutor.explain(model, x, "ablationcam", variant="abs", progress=False)
    check(e, combine(w * torch.sign(y)[:, None], a), x)


@pytest.mark.parametrize("kind", KINDS)
def test_scorecam(kind):
    model, x, a, _, _, target, _ = reference_inputs(kind)
    flat = a.flatten(2)
    if kind != "vgg_dense":  # constant channels (skipped, or one shared all-zero mask) are tested
        assert bool((flat.amax(2) == flat.amin(2)).any())
    size = x.shape[-2:]
    probs = torch.zeros(a.shape[:2], dtype=a.dtype)
    logit = torch.zeros(a.shape[:2], dtype=a.dtype)
    with torch.no_grad():
        for b in range(a.shape[0]):
            for k in range(a.shape[1]):
                for corners, store in [(False, probs), (True, logit)]:
                    m = F.interpolate(a[b, k][None, None], size=size, mode="bilinear",
                                      align_corners=corners)
                    if m.max() == m.min():
                        if corners:  # grad-cam's variant keeps constant channels (mask 0)
                            store[b, k] = model(x[b : b + 1] * 0)[0, target[b]]
                        continue
                    m = (m - m.min()) / (m.max() - m.min())
                    out = model(x[b : b + 1] * m)[0]
                    store[b, k] = out[target[b]] if corners else out.softmax(0)[target[b]]
    e = xai_tutor.explain(model, x, "scorecam", batch_size=4, progress=False)
    check(e, combine(probs, a), x)
    for batch_size in (1, 8):
        e = xai_tutor.explain(model, x, "scorecam", variant="channel_softmax",
                              batch_size=batch_size, progress=False)
        check(e, combine(logit.softmax(1), a), x)


def smooth_weights_ref(a: np.ndarray, grads: list[np.ndarray], average: str) -> np.ndarray:
    """Smooth Grad-CAM++ weights element by element from the per-copy gradients ``grads``
    (each ``(B, K, h, w)``). ``derivatives``: Omeiza et al.'s Section 3, each derivative order
    averaged (mean g^2, mean g^3, ReLU(mean g)); ``gradient``: powers of the mean gradient."""
    n = len(grads)
    g1 = sum(grads) / n
    if average == "derivatives":
        g2, g3 = sum(g**2 for g in grads) / n, sum(g**3 for g in grads) / n
    else:
        g2, g3 = g1**2, g1**3
    b_, k_ = a.shape[:2]
    w = np.zeros((b_, k_))
    for b in range(b_):
        for k in range(k_):
            total = a[b, k].sum()
            for d1, d2, d3 in zip(g1[b, k].ravel(), g2[b, k].ravel(), g3[b, k].ravel()):
                den = 2 * d2 + total * d3
                alpha = d2 / den if (d2 != 0 and den != 0) else 0.0
                w[b, k] += alpha * max(d1, 0.0)
    return w


@pytest.mark.parametrize("kind", KINDS)
def test_smoothgradcampp(kind):
    model, x, a, _, _, target, head = reference_inputs(kind)
    body, _ = split(model, kind)
    n, sigma = 4, 0.2
    gen = torch.Generator().manual_seed(7)
    noise = torch.stack([torch.randn(x.shape[1:], generator=gen, dtype=x.dtype)
                         for _ in range(x.shape[0] * n)])
    span = x.flatten(1).max(1).values - x.flatten(1).min(1).values
    grads = [torch.zeros_like(a) for _ in range(n)]  # copy i of every image
    for j in range(x.shape[0] * n):
        b = j // n
        with torch.no_grad():
            an = body(x[b : b + 1] + sigma * span[b] * noise[j : j + 1])
        leaf = an.requires_grad_(True)
        (g,) = torch.autograd.grad(head(leaf)[0, target[b]], leaf)
        grads[j % n][b] = g[0]
    grads = [g.numpy() for g in grads]
    results = {}
    for average in ("derivatives", "gradient"):
        w = smooth_weights_ref(a.numpy(), grads, average)
        for batch_size in (x.shape[0] * n, 3, 1):  # one copy at a time: batching changes nothing
            kwargs = {} if average == "derivatives" else {"average": average}
            e = xai_tutor.explain(model, x, "smoothgradcampp", n=n, sigma=sigma, seed=7,
                                  batch_size=batch_size, progress=False, **kwargs)
            check(e, combine(w, a), x)
        results[average] = e.saliency
    assert e.params["average"] == "gradient"
    if kind == "vgg_dense":  # behind GAP + linear, dy/dA does not depend on the noise
        assert (results["derivatives"] - results["gradient"]).abs().max() > 1e-3


def test_smoothgradcampp_readings_agree_without_noise():
    """With one copy (or sigma = 0) both readings are Grad-CAM++ of the image."""
    model, x, a, g, _, _, _ = reference_inputs("resnet")
    w = gradcampp_ref(a.numpy(), g.numpy())
    for average in ("derivatives", "gradient"):
        e = xai_tutor.explain(model, x, "smoothgradcampp", n=3, sigma=0.0, average=average,
                              progress=False)
        check(e, combine(w, a), x)


def fullgrad_vgg_ref(model: nn.Module, x: torch.Tensor, variant: str):
    """FullGrad on the small VGG by a hand-written forward pass (no hooks, no in-place ops)."""
    xg = x.clone().requires_grad_(True)
    h, convs = xg, []
    for m in model.features:
        if isinstance(m, nn.Conv2d):
            h = m(h)
            convs.append((m, h))
        elif isinstance(m, nn.ReLU):
            h = F.relu(h)
        else:
            h = m(h)
    feat = torch.flatten(model.pool(h), 1)
    out = model.fc(feat)
    target = out.argmax(1)
    y = out[torch.arange(len(target)), target]
    grads = torch.autograd.grad(y.sum(), [xg] + [z for _, z in convs] + [out])
    terms = [(x * grads[0]).detach()]
    terms += [(m.bias.detach()[None, :, None, None] * g) for (m, _), g in zip(convs, grads[1:-1])]
    fc_term = model.fc.bias.detach()[None] * grads[-1]
    total = np.zeros((x.shape[0], *x.shape[-2:]))
    for t in terms:  # per channel: abs, normalise, upsample, then sum (no linearity shortcut)
        t = t.abs()
        for b in range(t.shape[0]):
            for c in range(t.shape[1]):
                if variant == "channel":
                    lo, hi, eps = t[b, c].min(), t[b, c].max(), 1e-7
                else:
                    lo, hi, eps = t[b].min(), t[b].max(), 1e-6
                ch = (t[b, c] - lo) / (hi - lo + eps)
                up = F.interpolate(ch[None, None], size=x.shape[-2:], mode="bilinear",
                                   align_corners=False)
                total[b] += up[0, 0].numpy()
    return terms, fc_term, y.detach(), total


@pytest.mark.parametrize("variant", ["layer", "channel"])
def test_fullgrad_reference(variant):
    model = make_small("vgg", torch.float64)
    x = small_input(2, 16, torch.float64, seed=5)
    terms, fc_term, y, total = fullgrad_vgg_ref(model, x, variant)
    e = xai_tutor.explain(model, x, "fullgrad", variant=variant)
    np.testing.assert_allclose(e.attribution.numpy(), total, atol=ATOL, rtol=0)
    sal = (total - total.min((1, 2), keepdims=True)) / np.ptp(total, axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(e.saliency.numpy(), sal, atol=ATOL)
    raw = fullgrad_terms(model, x)
    torch.testing.assert_close(raw.input_term, terms[0], atol=ATOL, rtol=0)
    for (_, mine), ref in zip(raw.bias_terms, terms[1:] + [fc_term]):
        torch.testing.assert_close(mine, ref, atol=ATOL, rtol=0)
    assert len(raw.bias_terms) == len(terms)  # three convs and the fc


def scorecam_probabilities(model, x, a, target) -> torch.Tensor:
    """The authors' Score-CAM weights: class probability of the image masked by each upsampled,
    min-max scaled channel; constant channels are skipped (weight 0)."""
    w = torch.zeros(a.shape[:2], dtype=a.dtype)
    with torch.no_grad():
        for b in range(a.shape[0]):
            for k in range(a.shape[1]):
                m = F.interpolate(a[b, k][None, None], size=x.shape[-2:], mode="bilinear",
                                  align_corners=False)
                if m.max() == m.min():
                    continue
                m = (m - m.min()) / (m.max() - m.min())
                w[b, k] = model(x[b : b + 1] * m)[0].softmax(0)[target[b]]
    return w


def minmax(m: torch.Tensor) -> torch.Tensor:
    flat = m.flatten(1)
    low, span = flat.amin(1), flat.amax(1) - flat.amin(1)
    return ((m - low[:, None, None]) / torch.where(span > 0, span, 1.0)[:, None, None])


@pytest.mark.parametrize("layer, signed", [("features.3", True), ("features.4", False)])
def test_scorecam_applies_its_relu_after_upsampling_as_the_authors_do(layer, signed):
    """haofanwang/Score-CAM: ReLU(upsample(sum_k w_k A_k)) at input resolution. features.6 is a
    convolution before its ReLU (signed activations, 8 x 8 upsampled to 16 x 16), features.4 that
    ReLU's output."""
    model = make_small("vgg", torch.float64)
    x = small_input(2, 16, torch.float64, seed=3)
    with torch.no_grad():
        a = model.features[: int(layer.split(".")[1]) + 1](x.clone())
        target = model(x).argmax(1)
    assert bool((a < 0).any()) == signed
    total = (scorecam_probabilities(model, x, a, target)[:, :, None, None] * a).sum(1)
    up = F.interpolate(total[:, None], size=x.shape[-2:], mode="bilinear",
                       align_corners=False)[:, 0]
    authors = minmax(torch.relu(up))
    relu_first = minmax(F.interpolate(torch.relu(total)[:, None], size=x.shape[-2:],
                                      mode="bilinear", align_corners=False)[:, 0])
    e = xai_tutor.explain(model, x, "scorecam", layer=layer, progress=False)
    assert e.params["relu_at"] == "input"
    torch.testing.assert_close(e.attribution, total, atol=ATOL, rtol=0)
    torch.testing.assert_close(e.saliency, authors, atol=ATOL, rtol=0)
    other = xai_tutor.explain(model, x, "scorecam", layer=layer, relu_at="layer", progress=False)
    torch.testing.assert_close(other.attribution, torch.relu(total), atol=ATOL, rtol=0)
    torch.testing.assert_close(other.saliency, relu_first, atol=ATOL, rtol=0)
    apart = float((authors - relu_first).abs().max())
    if signed:
        assert apart > 0.2, apart       # the order matters where the sum changes sign
    else:
        assert apart < 1e-9, apart      # non-negative sums: both orders give one map
