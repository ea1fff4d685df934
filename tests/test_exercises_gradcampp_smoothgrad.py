"""Exercise checks of notebooks 07 (Grad-CAM++, XGrad-CAM) and 08 (SmoothGrad, Smooth
Grad-CAM++).

The expected values agree with loop-by-loop float64 formulas written here and with the library;
right answers computed differently pass; each typical slip is diagnosed with its own message;
every registered solution passes its own check on small seeded models.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import xai_tutor
from xai_tutor.exercises import gradcampp as ex_pp
from xai_tutor.exercises import oracle
from xai_tutor.exercises import smoothgrad as ex_sg
from xai_tutor.exercises.core import EXERCISES
from xai_tutor.hooks import capture

from conftest import make_small, small_input
from solutions import checks, run_solution


@pytest.fixture(scope="module")
def dense() -> nn.Module:
    """A dense head after the layer: gradients vary from position to position."""
    return make_small("vgg_dense", seed=11)


@pytest.fixture(scope="module")
def vgg() -> nn.Module:
    return make_small("vgg", seed=3)


@pytest.fixture(scope="module")
def x16() -> torch.Tensor:
    return small_input(1, 16, seed=5)


@pytest.fixture(scope="module")
def x32() -> torch.Tensor:
    return small_input(1, 32, seed=6)


def _loops_gradcampp(a: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """alpha and weights by explicit loops over channels and positions."""
    k, h, w = a.shape
    alpha = np.zeros_like(g)
    weights = np.zeros(k)
    for ch in range(k):
        total = sum(a[ch, i, j] for i in range(h) for j in range(w))
        for i in range(h):
            for j in range(w):
                gij = g[ch, i, j]
                den = 2 * gij**2 + total * gij**3
                alpha[ch, i, j] = gij**2 / den if gij != 0 and den != 0 else 0.0
                weights[ch] += alpha[ch, i, j] * max(gij, 0.0)
    return alpha, weights


# ------------------------------------------------------------------------------ 07 expected


def test_gradcampp_expected_matches_loops_and_library(dense, x16) -> None:
    rec = oracle.record_layer(dense, x16)
    a, g = rec.activation.numpy(), rec.gradient.numpy()
    assert np.ptp(g, axis=(1, 2)).max() > 0, "the dense head should give varying gradients"
    alpha, weights = _loops_gradcampp(a, g)
    np.testing.assert_allclose(ex_pp._expected_gradcampp_alpha(rec.activation, rec.gradient),
                               alpha, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(ex_pp._expected_gradcampp_weights(rec.activation, rec.gradient),
                               weights, rtol=1e-10, atol=1e-14)
    e = xai_tutor.explain(dense, x16, "gradcampp")
    cam = np.maximum(np.einsum("k,khw->hw", weights, a), 0)
    np.testing.assert_allclose(e.attribution[0].numpy(), cam, rtol=1e-4,
                               atol=1e-5 * cam.max() + 1e-9)


def test_xgradcam_expected_matches_loops_and_library(dense, x16) -> None:
    rec = oracle.record_layer(dense, x16)
    a, g = rec.activation.numpy(), rec.gradient.numpy()
    expected = np.array([(g[k] * a[k]).sum() / a[k].sum() if a[k].sum() != 0 else 0.0
                         for k in range(a.shape[0])])
    np.testing.assert_allclose(ex_pp._expected_xgradcam_weights(rec.activation, rec.gradient),
                               expected, rtol=1e-10, atol=1e-14)
    e = xai_tutor.explain(dense, x16, "xgradcam")
    cam = np.maximum(np.einsum("k,khw->hw", expected, a), 0)
    np.testing.assert_allclose(e.attribution[0].numpy(), cam, rtol=1e-4,
                               atol=1e-5 * cam.max() + 1e-9)


def test_gradcampp_on_a_gap_head_has_a_closed_form(vgg, x32) -> None:
    """GAP + linear: g = W_ck / (h w) everywhere, so alpha = 1 / (2 + sum A g)."""
    rec = oracle.record_layer(vgg, x32, target=2)
    a, g = rec.activation, rec.gradient
    hw = a.shape[1] * a.shape[2]
    wc = vgg.fc.weight.detach().double()[2]
    torch.testing.assert_close(g, (wc / hw)[:, None, None].expand_as(g))
    closed = torch.where(wc != 0, 1 / (2 + a.sum(dim=(1, 2)) * wc / hw), torch.zeros_like(wc))
    alpha = ex_pp._expected_gradcampp_alpha(a, g)
    torch.testing.assert_close(alpha, closed[:, None, None].expand_as(alpha))


# ------------------------------------------------------------------------------- 07 checks


def _total(A):
    return A.sum(dim=(1, 2), keepdim=True)


def _guarded(num, den):
    return lambda A, g: torch.where(g != 0, num(A, g) / den(A, g), torch.zeros_like(g))


def test_gradcampp_alpha_check(dense, x16) -> None:
    right = lambda A, g: torch.nan_to_num(g**2 / (2 * g**2 + _total(A) * g**3))  # noqa: E731
    check = ex_pp.check_gradcampp_alpha
    assert check(right, dense, x16).ok
    assert "placeholder" in check(None, dense, x16).message
    stub = check(lambda A, g: None, dense, x16)
    assert "placeholder" in stub.message and not stub.answered
    no_two = _guarded(lambda A, g: g**2, lambda A, g: g**2 + _total(A) * g**3)
    assert "factor 2" in check(no_two, dense, x16).message
    pointwise = _guarded(lambda A, g: g**2, lambda A, g: 2 * g**2 + A * g**3)
    assert "SUM" in check(pointwise, dense, x16).message
    assert "torchcam" in check(lambda A, g: g**2, dense, x16).message
    fb = check(lambda A, g: right(A, g)[None], dense, x16)
    assert not fb.ok and "shape" in fb.message
    fb = check(right(*(t[0] for t in (torch.ones(1, 1, 1, 1),) * 2)), dense, x16)
    assert not fb.ok and "should be a function" in fb.message
    fb = check(lambda A, g: A.nonexistent, dense, x16)
    assert not fb.ok and "AttributeError" in fb.message


def test_gradcampp_alpha_check_tries_g_equal_to_zero(vgg, x32) -> None:
    """This model's gradients (like the course model's) are never 0, so an answer without the
    torch.where guard is right on its data; the check's own data has zeros, and names the
    missing guard."""
    rec = oracle.record_layer(vgg, x32)
    assert not (rec.gradient == 0).any()
    unguarded = lambda A, g: g**2 / (2 * g**2 + _total(A) * g**3)  # noqa: E731
    fb = ex_pp.check_gradcampp_alpha(unguarded, vgg, x32)
    assert not fb.ok and "NaN" in fb.message
    assert any("g set to 0" in d for d in fb.details)
    assert any("torch.where" in d for d in fb.details)


def test_gradcampp_weights_check(dense, x16) -> None:
    rec = oracle.record_layer(dense, x16)
    a, g = rec.activation, rec.gradient
    alpha = ex_pp._expected_gradcampp_alpha(a, g)
    right = (alpha * torch.relu(g)).flatten(1).sum(1).float()
    assert ex_pp.check_gradcampp_weights(right, dense, x16).ok
    assert not ex_pp.check_gradcampp_weights([1.0], dense, x16).ok
    signed = (alpha * g).sum(dim=(1, 2))
    if not torch.allclose(signed, right.double(), rtol=1e-3):
        assert "ReLU" in ex_pp.check_gradcampp_weights(signed, dense, x16).message
    assert "Grad-CAM's" in ex_pp.check_gradcampp_weights(g.mean(dim=(1, 2)), dense, x16).message
    assert "torchcam" in ex_pp.check_gradcampp_weights(
        (g**2 * torch.relu(g)).sum(dim=(1, 2)), dense, x16).message
    assert "averaged" in ex_pp.check_gradcampp_weights(
        (alpha * torch.relu(g)).mean(dim=(1, 2)), dense, x16).message


def test_xgradcam_weights_check(dense, x16) -> None:
    rec = oracle.record_layer(dense, x16)
    a, g = rec.activation, rec.gradient
    share = a / a.sum(dim=(1, 2), keepdim=True)
    right = torch.nan_to_num((share * g).sum(dim=(1, 2)))
    assert ex_pp.check_xgradcam_weights(right, dense, x16).ok
    assert "divide" in ex_pp.check_xgradcam_weights((g * a).sum(dim=(1, 2)), dense, x16).message
    assert "Grad-CAM's" in ex_pp.check_xgradcam_weights(g.mean(dim=(1, 2)), dense, x16).message
    pos = torch.nan_to_num((share * torch.relu(g)).sum(dim=(1, 2)))
    if not torch.allclose(pos, right, rtol=1e-3):
        assert "positive" in ex_pp.check_xgradcam_weights(pos, dense, x16).message
    assert "shape" in ex_pp.check_xgradcam_weights(right[:-1], dense, x16).message


# -------------------------------------------------------------------------------- 08 checks


def test_noise_scale_check() -> None:
    x = torch.tensor([[[[-2.0, 1.0], [0.5, 3.0]]] * 3]).reshape(1, 3, 2, 2)
    assert ex_sg._expected_noise_scale(x, 0.1) == pytest.approx(0.5)
    assert ex_sg.check_noise_scale(0.5, x, 0.1).ok
    assert ex_sg.check_noise_scale(torch.tensor(0.5), x, 0.1).ok
    assert "FRACTION" in ex_sg.check_noise_scale(0.1, x, 0.1).message
    assert "standard deviation" in ex_sg.check_noise_scale(0.1 * float(x.std()), x, 0.1).message
    assert "colour channel" in ex_sg.check_noise_scale(torch.ones(3), x, 0.1).message
    assert "placeholder" in ex_sg.check_noise_scale(None, x, 0.1).message
    assert not ex_sg.check_noise_scale(0.7, x, 0.1).ok


@pytest.fixture(scope="module")
def noise(x16) -> torch.Tensor:
    return torch.randn((4, *x16.shape[1:]), generator=torch.Generator().manual_seed(2))


def test_smoothgrad_expected_matches_library(vgg, x16) -> None:
    """The library draws one (3, H, W) sample at a time from a generator seeded with ``seed``."""
    gen = torch.Generator().manual_seed(0)
    noise = torch.stack([torch.randn(x16.shape[1:], generator=gen) for _ in range(5)])
    s = ex_sg._expected_noise_scale(x16, 0.2)
    expected = ex_sg._expected_smoothgrad(vgg, x16, noise, s)
    e = xai_tutor.explain(vgg, x16, "smoothgrad", n=5, sigma=0.2, seed=0, progress=False)
    torch.testing.assert_close(e.attribution.double(), expected, rtol=1e-4,
                               atol=1e-5 * float(expected.abs().max()))


def test_smoothgrad_check(vgg, x16, noise) -> None:
    s = 0.3
    c = int(vgg(x16)[0].argmax())
    # a right answer written differently: one batched pass
    batch = (x16 + s * noise).requires_grad_(True)
    (grad,) = torch.autograd.grad(vgg(batch)[:, c].sum(), batch)
    right = grad.mean(dim=0, keepdim=True)
    assert ex_sg.check_smoothgrad(right, vgg, x16, noise, s).ok
    assert "placeholder" in ex_sg.check_smoothgrad(None, vgg, x16, noise, s).message
    clean = x16.clone().requires_grad_(True)
    (g0,) = torch.autograd.grad(vgg(clean)[0, c], clean)
    assert "clean image" in ex_sg.check_smoothgrad(g0, vgg, x16, noise, s).message
    assert "|gradient|" in ex_sg.check_smoothgrad(grad.abs().mean(0, keepdim=True), vgg, x16,
                                                  noise, s).message
    assert "last noisy copy" in ex_sg.check_smoothgrad(grad[-1:], vgg, x16, noise, s).message
    fb = ex_sg.check_smoothgrad(grad.sum(0, keepdim=True), vgg, x16, noise, s)
    assert not fb.ok and "factor" in fb.message
    fb = ex_sg.check_smoothgrad(right[0], vgg, x16, noise, s)
    assert not fb.ok and "shape" in fb.message
    with pytest.raises(ValueError, match="noise must be"):
        ex_sg.check_smoothgrad(right, vgg, x16, noise[0], s)


def test_smoothgradcampp_expected_matches_library(dense, x16) -> None:
    """The library draws one (3, H, W) copy at a time, as for SmoothGrad."""
    n, sigma = 6, 0.15
    gen = torch.Generator().manual_seed(0)
    noise = torch.stack([torch.randn(x16.shape[1:], generator=gen) for _ in range(n)])
    s = ex_sg._expected_noise_scale(x16, sigma)
    expected = ex_sg._expected_smoothgradcampp_map(dense, x16, noise, s)
    # the exercise and the library's default both follow the paper: each order averaged
    e = xai_tutor.explain(dense, x16, "smoothgradcampp", n=n, sigma=sigma, seed=0,
                          batch_size=4, progress=False)
    torch.testing.assert_close(e.attribution[0].double(), expected, rtol=1e-4,
                               atol=1e-5 * float(expected.abs().max()) + 1e-9)


def test_smoothgradcampp_check(dense, x16, noise) -> None:
    s = 0.4
    expected = ex_sg._expected_smoothgradcampp_map(dense, x16, noise, s)
    assert expected.max() > 0
    assert ex_sg.check_smoothgradcampp_map(expected.float(), dense, x16, noise, s).ok
    assert "placeholder" in ex_sg.check_smoothgradcampp_map(None, dense, x16, noise, s).message
    c = int(dense(x16)[0].argmax())
    rec_clean = oracle.record_layer(dense, x16, c)
    recs = [oracle.record_layer(dense, (x16[0] + s * noise[i])[None], c) for i in range(4)]
    g_bar = torch.stack([r.gradient for r in recs]).mean(0)
    w = ex_sg._per_order_weights(rec_clean.activation, torch.stack([r.gradient for r in recs]))
    last_a = torch.einsum("k,khw->hw", w, recs[-1].activation).clamp(min=0)
    w_bar = ex_pp._expected_gradcampp_weights(rec_clean.activation, g_bar)
    powers_of_mean = torch.einsum("k,khw->hw", w_bar, rec_clean.activation).clamp(min=0)
    assert not torch.allclose(powers_of_mean, expected, rtol=1e-3)
    msg = ex_sg.check_smoothgradcampp_map(powers_of_mean, dense, x16, noise, s).message
    assert "average='gradient'" in msg and "each derivative" in msg
    if not torch.allclose(last_a, expected, rtol=1e-3):
        msg = ex_sg.check_smoothgradcampp_map(last_a, dense, x16, noise, s).message
        assert "clean image" in msg
    plain = xai_tutor.explain(dense, x16, "gradcampp", target=c).attribution[0]
    if not torch.allclose(plain.double(), expected, rtol=1e-3):
        msg = ex_sg.check_smoothgradcampp_map(plain, dense, x16, noise, s).message
        assert "plain Grad-CAM++" in msg
    raw = torch.einsum("k,khw->hw", w, rec_clean.activation)
    if (raw < 0).any():
        assert "ReLU" in ex_sg.check_smoothgradcampp_map(raw, dense, x16, noise, s).message
    g2 = torch.stack([r.gradient**2 for r in recs]).mean(0)
    g3 = torch.stack([r.gradient**3 for r in recs]).mean(0)
    la = recs[-1].activation
    den = 2 * g2 + la.sum(dim=(1, 2), keepdim=True) * g3
    alpha = torch.nan_to_num(g2 / den)
    torchcam = torch.einsum("k,khw->hw", (alpha * recs[-1].gradient.clamp(min=0)).sum((1, 2)),
                            la).clamp(min=0)
    if not torch.allclose(torchcam, expected, rtol=1e-3):
        msg = ex_sg.check_smoothgradcampp_map(torchcam, dense, x16, noise, s).message
        assert "torchcam" in msg


# ------------------------------------------------------------------------------ solutions


def test_every_registered_solution_passes_its_own_check(dense, x16) -> None:
    keys = [k for k in checks() if k.split(".")[0] in ("gradcampp", "smoothgrad")
            and not EXERCISES[k].prediction]
    assert len(keys) == 6, keys
    c = 1
    with capture(dense, dense.default_layer) as cap:
        score = dense(x16)[0, c]
        (g,) = torch.autograd.grad(score, cap.activation)
    n = 3
    base = {
        "torch": torch, "xai_tutor": xai_tutor, "capture": capture, "model": dense, "x": x16,
        "c": c, "A": cap.activation.detach(), "g": g, "sigma": 0.15, "n": n, "s": 0.5,
        "noise": torch.randn((n, *x16.shape[1:]), generator=torch.Generator().manual_seed(4)),
    }
    ns = dict(base)
    for key in ("gradcampp.alpha", "gradcampp.weights", "gradcampp.xgradcam_weights",
                "smoothgrad.noise_scale", "smoothgrad.average", "smoothgrad.smoothgradcampp"):
        fb = run_solution(key, ns)
        assert fb.ok, key
        if key == "gradcampp.alpha":   # the notebook's cell applies the function
            ns["alpha"] = ns["alpha_of"](ns["A"][0], ns["g"][0])
    assert not dense.training
    assert all(p.grad is None for p in dense.parameters())

