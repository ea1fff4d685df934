"""LRP checks its canonical copy against the model once per set of weights, not on every call."""

from __future__ import annotations

import torch

import xai_tutor

from conftest import make_small, small_input


def test_reference_forward_runs_once_per_weights_and_again_after_a_change() -> None:
    model = make_small("resnet")
    x = small_input(2, 16)
    calls = []
    handle = model.register_forward_pre_hook(
        lambda module, args: calls.append(1) if module is model else None
    )
    try:
        first = xai_tutor.explain(model, x, "lrp")
        second = xai_tutor.explain(model, x, "lrp")
        assert len(calls) == 1, "the second call on unchanged weights re-ran the original model"
        torch.testing.assert_close(first.attribution, second.attribution, rtol=0, atol=0)
        torch.testing.assert_close(first.score, second.score, rtol=1e-6, atol=1e-6)
        assert torch.equal(first.target, second.target)
        with torch.no_grad():
            model.fc.weight.mul_(2.0)
        third = xai_tutor.explain(model, x, "lrp", target=[0, 1])
        assert len(calls) == 2, "changed weights must be checked again"
        with torch.no_grad():
            expected = model(x)[torch.arange(2), torch.tensor([0, 1])]
        torch.testing.assert_close(third.score, expected, rtol=1e-5, atol=1e-5)
    finally:
        handle.remove()
