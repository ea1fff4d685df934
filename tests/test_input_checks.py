"""explain checks its input once, for every method: rank, channels against
the model's first convolution, channels-last arrays, dtype and device against the model's
parameters, finite values, and the size the model needs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import xai_tutor
from xai_tutor.methods import METHODS
from xai_tutor.methods.base import check_input, size_problem

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
