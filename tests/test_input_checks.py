"""Every call of a method checks its input once, directly or through explain: rank, channels
against the model's first convolution, channels-last arrays, dtype and device against the model's
parameters, finite values, and the size the model needs; a direct call and explain refuse the
same bad arguments with the same message."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import xai_tutor
from xai_tutor.methods import METHODS
from xai_tutor.methods.inputs import check_input, size_problem

from conftest import make_small, small_input

FAST = {"smoothgrad": {"n": 2}, "smoothgradcampp": {"n": 2}}
ALL = sorted(METHODS)


def _explain(x: object, method: str, model: torch.nn.Module | None = None) -> object:
    model = make_small("vgg") if model is None else model
    return xai_tutor.explain(model, x, method, **FAST.get(method, {}))


def _state(model: torch.nn.Module) -> list:
    return [(k, v.clone()) for k, v in model.state_dict().items()] + [
        [m.training for m in model.modules()], [p.requires_grad for p in model.parameters()]
    ]


@pytest.mark.parametrize("method", ALL)
@pytest.mark.parametrize(
    "images, error, text",
    [
        (torch.rand(1, 16, 16, 3), ValueError,
         r"shape \(1, 16, 16, 3\) have 16 channels.*expects 3.*channels-last.*"
         r"images.permute\(0, 3, 1, 2\)"),
        (torch.rand(16, 16, 3), ValueError, r"channels-last.*images.permute\(2, 0, 1\)"),
        (torch.rand(1, 1, 16, 16), ValueError, r"have 1 channels.*expects 3.*expand"),
        (torch.rand(2, 4, 16, 16), ValueError, r"have 4 channels.*expects 3.*alpha"),
        (torch.rand(1, 3, 16, 16).half(), TypeError,
         r"images are torch.float16 but the model's parameters are torch.float32"),
        (torch.rand(1, 3, 16, 16).bfloat16(), TypeError, r"torch.bfloat16 but .*torch.float32"),
        (torch.rand(1, 3, 16, 16).double(), TypeError, r"torch.float64 but .*torch.float32"),
        (torch.full((1, 3, 16, 16), float("nan")), ValueError, "NaN or infinite"),
        (torch.rand(1, 3, 2, 2), ValueError,
         r"images of 2 x 2 pixels are too small for SmallVGG.*at least 4 x 4 pixels"),
        (torch.rand(16, 16), ValueError, r"shape \(B, C, H, W\)"),
        (np.zeros((1, 3, 16, 16), np.float32), TypeError, "load_image"),
    ],
    ids=["channels-last", "channels-last-3d", "gray", "rgba", "float16", "bfloat16",
         "float64", "nan", "too-small", "rank2", "numpy"],
)
def test_bad_images_get_a_clear_error_from_every_method(images, error, text, method) -> None:
    model = make_small("vgg")
    before = _state(model)
    with pytest.raises(error, match=text):
        _explain(images, method, model)
    after = _state(model)
    assert [k for k, _ in before[:-2]] == [k for k, _ in after[:-2]]
    assert all(torch.equal(a, b) for (_, a), (_, b) in zip(before[:-2], after[:-2]))
    assert before[-2:] == after[-2:]


def test_device_must_match_the_model() -> None:
    model = make_small("vgg").to("meta")
    with pytest.raises(ValueError, match=r"images are on cpu but the model is on meta"):
        check_input(model, small_input(1))


def test_float64_model_takes_float64_images() -> None:
    model = make_small("vgg", torch.float64)
    e = xai_tutor.explain(model, small_input(1, 16, torch.float64), "gradcam")
    assert e.saliency.dtype == torch.float64


def test_size_problem_finds_the_smallest_size() -> None:
    model = make_small("vgg")  # two 2x2 max-pools: 4 x 4 is the smallest input
    assert size_problem(model, small_input(1, 16)) is None
    message = size_problem(model, torch.rand(1, 3, 3, 3))
    assert message is not None and "3 x 3 pixels" in message and "at least 4 x 4" in message
    dense = make_small("vgg_dense")  # flatten + Linear(6*4*4): only 16 x 16 works
    message = size_problem(dense, torch.rand(1, 3, 8, 8))
    assert message is not None and "need 16 x 16 pixels" in message


def test_other_runtime_errors_pass_through() -> None:
    class Broken(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 2, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise RuntimeError("broken on purpose")

    with pytest.raises(RuntimeError, match="broken on purpose"):
        xai_tutor.explain(Broken(), small_input(1), "gradient")


# ---------------------------------------------------------------------- one home for every check


def _module_function(method: str):
    """The method's function as its module exports it (e.g. ``methods.cam.gradcam.gradcam``)."""
    import importlib

    info = METHODS[method]
    module = importlib.import_module(info.unchecked.__module__)
    fn = getattr(module, info.unchecked.__name__)
    assert fn is info.fn and fn.__wrapped__ is info.unchecked  # the checked wrapper
    return fn


def _bad_value(param):
    """A value the declaration ``param`` refuses, or None when it has no such value to offer."""
    if param.kind == "float":
        return math.inf
    if param.kind in ("int", "seed"):
        return 2.5
    if param.kind == "bool":
        return "yes"
    if param.kind == "choice":
        return "no-such-choice"
    if param.check_fn is not None:  # an "object" with a check: a value of the wrong type
        return {"fc": 3, "low": "abc", "high": "abc"}.get(param.name, ["not", "a", "value"])
    return None


def _bad_calls() -> list[tuple[str, str, dict]]:
    """(method, case id, keyword arguments) for every method: a bad value of each declared
    parameter, an unknown parameter, a non-bool progress, a layer the method cannot take, a
    target outside the classes."""
    cases = []
    for name in ALL:
        info = METHODS[name]
        for p in info.params:
            value = _bad_value(p)
            if value is not None:
                cases.append((name, f"{p.name}={value!r}", {p.name: value}))
        cases.append((name, "unknown", {"no_such_parameter": 1}))
        cases.append((name, "progress", {"progress": "no"}))
        cases.append((name, "layer", {"layer": "no_such_layer" if info.takes_layer
                                      else "features.0"}))
        cases.append((name, "target", {"target": 99}))
    return cases


BAD_IMAGES = {
    "channels-last": torch.rand(1, 16, 16, 3),
    "float64": torch.rand(1, 3, 16, 16).double(),
    "nan": torch.full((1, 3, 16, 16), float("nan")),
    "too-small": torch.rand(1, 3, 2, 2),
    "rank2": torch.rand(16, 16),
    "numpy": np.zeros((1, 3, 16, 16), np.float32),
}


def _error(call) -> BaseException:
    with pytest.raises((TypeError, ValueError, KeyError)) as info:
        call()
    return info.value


@pytest.mark.parametrize("method, case, kwargs", _bad_calls(),
                         ids=[f"{m}-{c}" for m, c, _ in _bad_calls()])
def test_direct_call_and_explain_refuse_a_bad_argument_alike(method, case, kwargs) -> None:
    model, x = make_small("vgg"), small_input(1)
    through_explain = _error(lambda: xai_tutor.explain(model, x, method, **kwargs))
    direct = _error(lambda: _module_function(method)(model, x, **kwargs))
    assert type(direct) is type(through_explain)
    assert str(direct) == str(through_explain)
    if case not in ("layer", "target"):  # parameter checks name the method
        assert str(direct).startswith(method) or f"{method}:" in str(direct), str(direct)


@pytest.mark.parametrize("method", ALL)
@pytest.mark.parametrize("kind", sorted(BAD_IMAGES))
def test_direct_call_and_explain_refuse_bad_images_alike(method, kind) -> None:
    model = make_small("vgg")
    images = BAD_IMAGES[kind]
    through_explain = _error(lambda: xai_tutor.explain(model, images, method))
    direct = _error(lambda: _module_function(method)(model, images))
    assert type(direct) is type(through_explain) and str(direct) == str(through_explain)


def test_positional_arguments_follow_the_signature() -> None:
    from xai_tutor.methods.cam.gradcampp import gradcampp

    model, x = make_small("vgg"), small_input(1)
    e = gradcampp(model, x, 1, None, "grad-cam")   # target, layer, variant
    assert e.target.tolist() == [1] and e.params["variant"] == "grad-cam"
    with pytest.raises(ValueError, match="gradcampp: variant must be one of"):
        gradcampp(model, x, 1, None, "fast")
    with pytest.raises(TypeError, match="multiple values for 'target'"):
        gradcampp(model, x, 1, target=2)
