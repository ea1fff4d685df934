"""SmoothGrad (Smilkov et al. 2017): a manual average, seeding, batching, any base method."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import xai_tutor
from xai_tutor.explanation import normalise_per_image
from xai_tutor.methods import METHODS

from conftest import make_small, small_input


def _manual_smoothgrad(model: nn.Module, x: torch.Tensor, target: int, n: int, sigma: float,
                       seed: int) -> torch.Tensor:
    """Plain autograd on each noisy copy, noise drawn per sample in (image, sample) order."""
    gen = torch.Generator().manual_seed(seed)
    out = torch.zeros_like(x)
    for b in range(x.shape[0]):
        std = sigma * (x[b].max() - x[b].min())
        for _ in range(n):
            noisy = (x[b] + std * torch.randn(x.shape[1:], generator=gen, dtype=x.dtype))
            noisy = noisy[None].requires_grad_()
            (g,) = torch.autograd.grad(model(noisy)[0, target], noisy)
            out[b] += g[0] / n
    return out


def test_equals_manual_average_for_three_samples_float64() -> None:
    model = make_small("resnet", torch.float64)
    x = small_input(2, 16, torch.float64, seed=1)
    e = xai_tutor.explain(model, x, "smoothgrad", target=3, n=3, sigma=0.2, seed=11,
                          batch_size=2, progress=False)
    ref = _manual_smoothgrad(model, x, 3, n=3, sigma=0.2, seed=11)
    torch.testing.assert_close(e.attribution, ref, rtol=1e-10, atol=1e-13)
    torch.testing.assert_close(e.saliency, normalise_per_image(ref.abs().amax(1)))
    plain = xai_tutor.explain(model, x, "gradient", target=3)
    assert not torch.allclose(e.attribution, plain.attribution)  # the noise did something
    torch.testing.assert_close(e.score, plain.score)


def test_seed_makes_it_deterministic_and_independent_of_batch_size() -> None:
    model = make_small("vgg", torch.float64)
    x = small_input(2, 16, torch.float64, seed=2)
    kw = {"n": 5, "sigma": 0.15, "progress": False}
    a = xai_tutor.explain(model, x, "smoothgrad", seed=3, batch_size=3, **kw)
    b = xai_tutor.explain(model, x, "smoothgrad", seed=3, batch_size=3, **kw)
    c = xai_tutor.explain(model, x, "smoothgrad", seed=3, batch_size=1, **kw)
    d = xai_tutor.explain(model, x, "smoothgrad", seed=4, batch_size=3, **kw)
    assert torch.equal(a.attribution, b.attribution)
    torch.testing.assert_close(a.attribution, c.attribution, rtol=0, atol=1e-14)
    assert not torch.allclose(a.attribution, d.attribution)
    g1 = torch.Generator().manual_seed(3)
    g2 = torch.Generator().manual_seed(3)
    e1 = xai_tutor.explain(model, x, "smoothgrad", generator=g1, seed=None, **kw)
    e2 = xai_tutor.explain(model, x, "smoothgrad", generator=g2, seed=None, **kw)
    assert torch.equal(e1.attribution, e2.attribution)
    torch.testing.assert_close(e1.attribution, a.attribution, rtol=0, atol=1e-14)


def test_first_image_of_a_batch_matches_it_alone() -> None:
    model = make_small("vgg", torch.float64)
    x = small_input(3, 16, torch.float64, seed=6)
    batch = xai_tutor.explain(model, x, "smoothgrad", n=4, seed=1, progress=False)
    alone = xai_tutor.explain(model, x[:1], "smoothgrad", n=4, seed=1, progress=False)
    torch.testing.assert_close(alone.attribution, batch.attribution[:1], rtol=0, atol=1e-14)
    assert torch.equal(alone.target, batch.target[:1])


@pytest.mark.parametrize("base", ["gradient", "guided_backprop", "deconvnet"])
def test_zero_noise_gives_the_base_method(base: str) -> None:
    model = make_small("resnet", torch.float64)
    x = small_input(2, 16, torch.float64)
    e = xai_tutor.explain(model, x, "smoothgrad", base=base, n=2, sigma=0.0, progress=False)
    ref = xai_tutor.explain(model, x, base)
    torch.testing.assert_close(e.attribution, ref.attribution, rtol=0, atol=1e-14)
    torch.testing.assert_close(e.saliency, ref.saliency, rtol=0, atol=1e-12)
    assert e.params["base"] == base and e.method == "smoothgrad"


def test_base_parameters_pass_through() -> None:
    model = make_small("vgg", torch.float64)
    x = small_input(1, 16, torch.float64)
    e = xai_tutor.explain(model, x, "smoothgrad", n=3, seed=5, times_input=True, progress=False)
    g = xai_tutor.explain(model, x, "smoothgrad", n=3, seed=5, progress=False)
    # x * g averaged over noisy x is not x * (average g); check against the manual definition
    gen = torch.Generator().manual_seed(5)
    std = 0.15 * (x.max() - x.min())
    noisy = [x + std * torch.randn(x.shape[1:], generator=gen, dtype=x.dtype) for _ in range(3)]
    ref = sum(xai_tutor.explain(model, z, "gradient", target=e.target, times_input=True)
              .attribution for z in noisy) / 3
    torch.testing.assert_close(e.attribution, ref, rtol=1e-10, atol=1e-13)
    assert e.params["base_times_input"] is True and g.params["base_times_input"] is False


def test_cam_base_when_registered() -> None:
    cams = [m for m in ("gradcam", "gradcampp", "xgradcam") if m in METHODS]
    if not cams:
        pytest.skip("no CAM method is registered yet")
    model = make_small("vgg")
    x = small_input(2, 16)
    e = xai_tutor.explain(model, x, "smoothgrad", base=cams[0], n=2, sigma=0.0, progress=False)
    ref = xai_tutor.explain(model, x, cams[0])
    torch.testing.assert_close(e.attribution, ref.attribution)
    torch.testing.assert_close(e.saliency, ref.saliency)
    assert e.layer == ref.layer


def test_constant_image_has_no_nan_and_progress_bar_runs() -> None:
    model = make_small("vgg")
    x = torch.full((1, 3, 16, 16), 0.5)
    e = xai_tutor.explain(model, x, "smoothgrad", n=3, progress=True)
    assert torch.isfinite(e.attribution).all() and torch.isfinite(e.saliency).all()


def test_bad_arguments_are_refused_and_model_stays_clean() -> None:
    model = make_small("vgg")
    x = small_input(1, 16)
    cases = [
        ({"base": "nope"}, ValueError, "base must be"),
        ({"base": "smoothgrad"}, ValueError, "base must be"),
        ({"n": 0}, ValueError, "positive int"),
        ({"sigma": -0.1}, ValueError, "fraction"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"generator": torch.Generator()}, ValueError, "either seed or generator"),
        ({"seed": None, "generator": 3}, TypeError, "generator"),
        ({"target": 42}, ValueError, "outside"),
        ({"layer": "features.7"}, ValueError, "layer"),
    ]
    for kwargs, error, message in cases:
        with pytest.raises(error, match=message):
            xai_tutor.explain(model, x, "smoothgrad", **{"n": 2, "progress": False, **kwargs})
    assert all(not m.training for m in model.modules())
    assert all(m.inplace for m in model.modules() if isinstance(m, nn.ReLU))
    assert all(len(m._forward_hooks) == 0 for m in model.modules())
    assert all(p.requires_grad and p.grad is None for p in model.parameters())


def test_noise_is_drawn_on_the_cpu_whatever_the_device(monkeypatch) -> None:
    """The same seed must give the same noise on every device: draws happen on the CPU (a CPU
    generator, or torch's global CPU generator) and are then moved. A 'meta' tensor stands in for
    a GPU image here (no values, but a device other than the CPU)."""
    from xai_tutor.methods.smoothgrad import draw_noise, noise_generator

    real = torch.randn
    devices = []

    def spy(*args, **kwargs):
        devices.append(torch.device(kwargs.get("device", "cpu")))
        return real(*args, **kwargs)

    monkeypatch.setattr(torch, "randn", spy)
    like = torch.empty(3, 4, 4, device="meta")
    for gen in (noise_generator(3), None):
        out = draw_noise((3, 4, 4), gen, like)
        assert out.device.type == "meta"
    assert [d.type for d in devices] == ["cpu", "cpu"]
    gen = noise_generator(3)
    assert gen.device.type == "cpu"
    torch.testing.assert_close(draw_noise((5,), gen, torch.zeros(1)),
                               real(5, generator=torch.Generator().manual_seed(3)))


def test_seeded_noise_is_the_cpu_generators_for_both_smooth_methods() -> None:
    """smoothgrad and smoothgradcampp draw copy after copy from torch.Generator().manual_seed(seed)
    on the CPU: the map equals one built from those draws."""
    model = make_small("vgg_dense", torch.float64)
    x = small_input(1, 16, torch.float64, seed=2)
    n, sigma, seed = 3, 0.2, 11
    gen = torch.Generator(device="cpu").manual_seed(seed)
    noise = [torch.randn(x.shape[1:], generator=gen, dtype=x.dtype) for _ in range(n)]
    span = float(x.max() - x.min())
    target = int(model(x).argmax())
    grads = []
    for eps in noise:
        xn = (x + sigma * span * eps).requires_grad_()
        (g,) = torch.autograd.grad(model(xn)[0, target], xn)
        grads.append(g)
    e = xai_tutor.explain(model, x, "smoothgrad", n=n, sigma=sigma, seed=seed, progress=False)
    torch.testing.assert_close(e.attribution, sum(grads) / n, rtol=1e-10, atol=1e-12)
