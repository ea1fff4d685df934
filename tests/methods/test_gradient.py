"""Gradient saliency (Simonyan et al. 2013): finite differences, Euler identity, captum, hygiene."""

from __future__ import annotations

import pytest
import torch
from captum.attr import Saliency
from torch import nn

import xai_tutor
from xai_tutor.explanation import normalise_per_image

from conftest import make_small, small_input


def _snapshot(model: nn.Module) -> dict:
    return {
        "training": [m.training for m in model.modules()],
        "inplace": [getattr(m, "inplace", None) for m in model.modules()],
        "hooks": [
            (len(m._forward_hooks), len(m._forward_pre_hooks), len(m._backward_hooks))
            for m in model.modules()
        ],
        "requires_grad": [p.requires_grad for p in model.parameters()],
        "grad": [p.grad for p in model.parameters()],
    }


@pytest.mark.parametrize("kind", ["vgg", "vgg_dense", "resnet"])
def test_gradient_matches_central_differences_float64(kind: str) -> None:
    model = make_small(kind, torch.float64)
    x = small_input(2, 16, torch.float64, seed=3)
    e = xai_tutor.explain(model, x, "gradient", target=[1, 3])
    gen = torch.Generator().manual_seed(7)
    h = 1e-6
    with torch.no_grad():
        for _ in range(4):
            v = torch.randn(x.shape, generator=gen, dtype=torch.float64)
            up = model(x + h * v)
            down = model(x - h * v)
            for b, c in enumerate([1, 3]):
                numeric = (up[b, c] - down[b, c]) / (2 * h)
                analytic = (e.attribution[b] * v[b]).sum()
                assert abs(numeric - analytic) <= 1e-6 * max(1.0, abs(float(analytic)))


def test_gradient_times_input_is_the_logit_of_a_bias_free_relu_net() -> None:
    # A bias-free ReLU / max-pool / average-pool network is positively homogeneous of degree 1,
    # so Euler's theorem gives sum(x * dy/dx) = y exactly.
    model = make_small("vgg", torch.float64)
    with torch.no_grad():
        for m in model.modules():
            if getattr(m, "bias", None) is not None:
                m.bias.zero_()
    x = small_input(3, 16, torch.float64, seed=1)
    e = xai_tutor.explain(model, x, "gradient", times_input=True)
    with torch.no_grad():
        logits = model(x)
    expected = logits.gather(1, e.target[:, None])[:, 0]
    torch.testing.assert_close(e.attribution.sum(dim=(1, 2, 3)), expected, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(e.score, expected, rtol=0, atol=0)
    plain = xai_tutor.explain(model, x, "gradient")
    torch.testing.assert_close(e.attribution, plain.attribution * x, rtol=0, atol=0)
    assert e.params["times_input"] is True and plain.params["times_input"] is False


@pytest.mark.parametrize("dtype,atol", [(torch.float32, 1e-6), (torch.float64, 1e-10)])
@pytest.mark.parametrize("kind", ["vgg", "vgg_dense", "resnet"])
def test_gradient_agrees_with_captum_saliency(kind: str, dtype: torch.dtype, atol: float) -> None:
    model = make_small(kind, dtype)
    x = small_input(2, 16, dtype)
    e = xai_tutor.explain(model, x, "gradient", target=[0, 2])
    ref = Saliency(model).attribute(x.clone().requires_grad_(), target=[0, 2], abs=False)
    torch.testing.assert_close(e.attribution, ref, rtol=0, atol=atol)


def test_saliency_is_max_abs_over_channels_scaled_per_image() -> None:
    model = make_small("resnet", torch.float64)
    x = small_input(2, 16, torch.float64)
    e = xai_tutor.explain(model, x, "gradient")
    expected = e.attribution.abs().amax(dim=1)
    lo = expected.flatten(1).min(1).values[:, None, None]
    hi = expected.flatten(1).max(1).values[:, None, None]
    torch.testing.assert_close(e.saliency, (expected - lo) / (hi - lo))
    assert e.saliency.shape == (2, 16, 16) and e.layer is None and e.method == "gradient"
    summed = xai_tutor.explain(model, x, "gradient", reduce="abs_sum")
    torch.testing.assert_close(
        summed.saliency, normalise_per_image(e.attribution.abs().sum(dim=1))
    )


def test_batch_equals_one_by_one_and_default_target_is_top_class() -> None:
    model = make_small("resnet", torch.float64)
    x = small_input(3, 16, torch.float64, seed=5)
    batch = xai_tutor.explain(model, x, "gradient")
    with torch.no_grad():
        top = model(x).argmax(1)
    assert torch.equal(batch.target, top)
    for b in range(3):
        one = xai_tutor.explain(model, x[b : b + 1], "gradient")
        torch.testing.assert_close(one.attribution, batch.attribution[b : b + 1], rtol=0,
                                   atol=1e-14)
        torch.testing.assert_close(one.saliency, batch.saliency[b : b + 1], rtol=0, atol=1e-12)


def test_single_image_without_batch_dim_and_inside_no_grad() -> None:
    model = make_small("vgg")
    x = small_input(1, 16)
    with torch.no_grad():
        e = xai_tutor.explain(model, x[0], "gradient", target=torch.tensor(2))
    ref = xai_tutor.explain(model, x, "gradient", target=2)
    torch.testing.assert_close(e.attribution, ref.attribution)
    assert e.attribution.shape == (1, 3, 16, 16) and e.target.tolist() == [2]


def test_constant_image_gives_finite_maps() -> None:
    model = make_small("vgg")
    x = torch.zeros(2, 3, 16, 16)
    for times_input in (False, True):
        e = xai_tutor.explain(model, x, "gradient", times_input=times_input)
        assert torch.isfinite(e.attribution).all() and torch.isfinite(e.saliency).all()
        assert e.saliency.min() >= 0 and e.saliency.max() <= 1
    assert (e.saliency == 0).all()  # x * g = 0 everywhere: a constant map becomes zeros


def test_bad_arguments_raise_clear_errors_and_leave_model_clean() -> None:
    model = make_small("vgg")
    model.train()
    model.fc.weight.grad = torch.ones_like(model.fc.weight)
    before = _snapshot(model)
    x = small_input(2, 16)
    with pytest.raises(ValueError, match="layer"):
        xai_tutor.explain(model, x, "gradient", layer="features.7")
    with pytest.raises(ValueError, match="outside"):
        xai_tutor.explain(model, x, "gradient", target=99)
    with pytest.raises(ValueError, match="entries"):
        xai_tutor.explain(model, x, "gradient", target=[1, 2, 3])
    with pytest.raises(TypeError, match="torch.Tensor"):
        xai_tutor.explain(model, x.numpy(), "gradient")
    with pytest.raises(ValueError, match="reduce"):
        xai_tutor.explain(model, x, "gradient", reduce="mean")
    with pytest.raises(TypeError, match="times_input"):
        xai_tutor.explain(model, x, "gradient", times_input="yes")
    xai_tutor.explain(model, x, "gradient")
    after = _snapshot(model)
    assert after["training"] == before["training"]
    assert after["inplace"] == before["inplace"]
    assert after["hooks"] == before["hooks"]
    assert after["requires_grad"] == before["requires_grad"]
    assert all(a is b for a, b in zip(after["grad"], before["grad"], strict=True))


def test_model_must_return_logits() -> None:
    model = nn.Sequential(nn.Conv2d(3, 2, 3), nn.ReLU())
    with pytest.raises(ValueError, match="logits"):
        xai_tutor.explain(model, small_input(1, 8), "gradient")
