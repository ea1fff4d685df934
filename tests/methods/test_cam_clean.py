"""Clean use of the CAM family: the model is left untouched (also after errors), degenerate maps
give zeros and never NaN, batches equal single images, clear errors, no memory growth."""

from __future__ import annotations

import gc

import pytest
import torch
from torch import nn

import xai_tutor

from conftest import make_small, small_input

FAST = {"progress": False}
METHOD_PARAMS = {
    "cam": {},
    "gradcam": {},
    "gradcampp": {},
    "xgradcam": {},
    "smoothgradcampp": {"n": 3, **FAST},
    "fullgrad": {},
    "ablationcam": FAST,
    "scorecam": FAST,
}
METHODS = list(METHOD_PARAMS)


pytestmark = pytest.mark.usefixtures("one_thread")  # small nets: one thread is fastest



def snapshot(model: nn.Module) -> dict:
    return {
        "state": {k: v.clone() for k, v in model.state_dict().items()},
        "training": [m.training for m in model.modules()],
        "requires_grad": [p.requires_grad for p in model.parameters()],
        "grad": [None if p.grad is None else p.grad.clone() for p in model.parameters()],
        "inplace": [getattr(m, "inplace", None) for m in model.modules()],
        "hooks": [
            (len(m._forward_hooks), len(m._forward_pre_hooks), len(m._backward_hooks))
            for m in model.modules()
        ],
    }


def assert_same(before: dict, after: dict) -> None:
    assert before["state"].keys() == after["state"].keys()
    for k in before["state"]:
        assert torch.equal(before["state"][k], after["state"][k]), k
    for key in ["training", "requires_grad", "inplace", "hooks"]:
        assert before[key] == after[key], key
    for g0, g1 in zip(before["grad"], after["grad"]):
        assert (g0 is None and g1 is None) or torch.equal(g0, g1)


def user_model() -> nn.Module:
    """A model as a user might leave it: train mode, some grads set, one frozen parameter."""
    model = make_small("resnet")
    model.train()
    model.fc.weight.grad = torch.ones_like(model.fc.weight)
    model.conv1.weight.requires_grad_(False)
    return model


@pytest.mark.parametrize("method", METHODS)
def test_model_untouched(method):
    model = user_model()
    before = snapshot(model)
    e = xai_tutor.explain(model, small_input(2, 16), method, **METHOD_PARAMS[method])
    assert_same(before, snapshot(model))
    assert torch.isfinite(e.saliency).all() and e.saliency.shape == (2, 16, 16)
    assert float(e.saliency.min()) >= 0 and float(e.saliency.max()) <= 1


class Exploding(nn.Module):
    """Wraps a model and raises on the n-th forward call."""

    def __init__(self, inner: nn.Module, explode_at: int) -> None:
        super().__init__()
        self.inner = inner
        self.calls = 0
        self.explode_at = explode_at

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.calls == self.explode_at:
            raise RuntimeError("boom")
        return self.inner(x)


@pytest.mark.parametrize("method", METHODS)
def test_model_untouched_after_exception(method):
    model = Exploding(user_model(), explode_at=2)
    before = snapshot(model)
    layer = None if method == "fullgrad" else "inner.layer2"
    params = dict(METHOD_PARAMS[method])
    if method == "cam":
        params["fc"] = "inner.fc"
    try:
        xai_tutor.explain(model, small_input(2, 16), method, layer=layer, **params)
        xai_tutor.explain(model, small_input(2, 16), method, layer=layer, **params)
    except RuntimeError as err:
        assert "boom" in str(err)
    else:
        raise AssertionError("the model should have raised")
    assert_same(before, snapshot(model))


def zero_model() -> nn.Module:
    model = make_small("vgg")
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                m.bias.zero_()
    return model


@pytest.mark.parametrize("method", METHODS)
def test_all_zero_activations_give_zero_maps(method):
    e = xai_tutor.explain(zero_model(), torch.zeros(2, 3, 16, 16), method, target=1,
                          **METHOD_PARAMS[method])
    assert torch.isfinite(e.attribution).all() and torch.isfinite(e.saliency).all()
    assert float(e.saliency.abs().max()) == 0.0


@pytest.mark.parametrize("method", [m for m in METHODS if m != "smoothgradcampp"])
def test_batch_equals_single_images(method):
    model = make_small("resnet", torch.float64)
    x = small_input(3, 16, torch.float64, seed=9)
    batch = xai_tutor.explain(model, x, method, target=[0, 1, 2], **METHOD_PARAMS[method])
    for i in range(3):
        one = xai_tutor.explain(model, x[i], method, target=i, **METHOD_PARAMS[method])
        torch.testing.assert_close(one.attribution[0], batch.attribution[i], atol=1e-10,
                                   rtol=1e-8)


def test_smoothgradcampp_is_seeded():
    # at a GAP + linear head dy/dA is constant, so take an inner layer where noise matters
    model, x = make_small("resnet"), small_input(2, 16)
    kw = {"n": 4, "layer": "layer1", "progress": False}
    a = xai_tutor.explain(model, x, "smoothgradcampp", seed=3, **kw)
    b = xai_tutor.explain(model, x, "smoothgradcampp", seed=3, **kw)
    c = xai_tutor.explain(model, x, "smoothgradcampp", seed=4, **kw)
    assert torch.equal(a.attribution, b.attribution)
    assert not torch.equal(a.attribution, c.attribution)


def test_smoothgradcampp_without_noise_is_gradcampp():
    model, x = make_small("resnet", torch.float64), small_input(2, 16, torch.float64)
    smooth = xai_tutor.explain(model, x, "smoothgradcampp", n=3, sigma=0.0, progress=False)
    plain = xai_tutor.explain(model, x, "gradcampp")
    torch.testing.assert_close(smooth.attribution, plain.attribution, atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize(
    "method,params,error,match",
    [
        ("gradcampp", {"variant": "fast"}, ValueError, "variant must be one of"),
        ("xgradcam", {"variant": None}, ValueError, "variant must be one of"),
        ("scorecam", {"batch_size": 0}, ValueError, "batch_size must be a positive int"),
        ("ablationcam", {"path": "quick"}, ValueError, "path must be one of"),
        ("smoothgradcampp", {"sigma": -1}, ValueError, "sigma must be a number"),
        ("smoothgradcampp", {"n": 0}, ValueError, "n must be a positive int"),
        ("fullgrad", {"layer": "layer2"}, ValueError, "leave layer=None"),
        ("gradcam", {"layer": "layer9"}, KeyError, "nearest valid names"),
        ("gradcam", {"target": 99}, ValueError, "outside the model's classes"),
        ("gradcam", {"layer": "fc"}, ValueError, "convolutional layer"),
        ("cam", {"relu": "yes"}, TypeError, "relu must be True or False"),
    ],
)
def test_clear_errors(method, params, error, match):
    model = make_small("resnet")
    before = snapshot(model)
    with pytest.raises(error, match=match):
        xai_tutor.explain(model, small_input(1, 16), method, **params)
    assert_same(before, snapshot(model))


def test_cam_refuses_a_head_without_global_average_pooling():
    model = make_small("vgg_dense")
    with pytest.raises(ValueError, match="use 'gradcam'"):
        xai_tutor.explain(model, small_input(1, 16), "cam")


def test_images_must_be_tensors():
    with pytest.raises(TypeError, match="torch.Tensor"):
        xai_tutor.explain(make_small("vgg"), [[0.0]], "gradcam")


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    import resource

    return pages * resource.getpagesize()


@pytest.mark.slow
def test_repeated_calls_do_not_grow_memory():
    """100 calls, cycling through every method, leave the resident memory within 10%."""
    model, x = make_small("resnet"), small_input(2, 16)
    params = dict(METHOD_PARAMS, smoothgradcampp={"n": 1, **FAST})
    for method in METHODS:  # warm up allocator and caches
        xai_tutor.explain(model, x, method, **params[method])
    gc.collect()
    start = _rss_bytes()
    for i in range(100):
        method = METHODS[i % len(METHODS)]
        xai_tutor.explain(model, x, method, **params[method])
    gc.collect()
    assert _rss_bytes() <= start * 1.10
    assert all(len(m._forward_hooks) == 0 for m in model.modules())
