"""hooks.py: layer lookup, activation capture (in-place safe), and the model guard."""

from __future__ import annotations

import pytest
import torch
import torchvision

import xai_tutor
from xai_tutor.hooks import LayerNotFoundError, capture, find_layer, model_guard

from conftest import make_small, small_input


def _state(model: torch.nn.Module) -> tuple:
    return (
        [m.training for m in model.modules()],
        [getattr(m, "inplace", None) for m in model.modules()],
        [p.requires_grad for p in model.parameters()],
        [None if p.grad is None else p.grad.clone() for p in model.parameters()],
        [len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
         for m in model.modules()],
    )


def test_find_layer_by_name_and_module() -> None:
    model = make_small("resnet")
    name, module = find_layer(model, "layer2.conv1")
    assert module is model.layer2.conv1
    assert find_layer(model, model.layer1)[0] == "layer1"


def test_typo_lists_nearest_names() -> None:
    model = make_small("resnet")
    with pytest.raises(LayerNotFoundError) as err:
        find_layer(model, "layr2.conv1")
    assert "layer2.conv1" in str(err.value)
    with pytest.raises(TypeError):
        find_layer(model, 3)
    with pytest.raises(LayerNotFoundError, match="not part of the model"):
        find_layer(model, torch.nn.ReLU())


def test_capture_survives_inplace_relu_and_gives_true_gradient() -> None:
    # features.6 is a conv followed by ReLU(inplace=True): the record must keep negative values
    model = make_small("vgg", torch.float64)
    x = small_input(1, 16, torch.float64)
    with model_guard(model), capture(model, "features.6") as cap:
        logits = model(x)
        (grad,) = torch.autograd.grad(logits[0, 2], cap.activation)
    act = cap.activation.detach()
    assert (act < 0).any(), "the in-place ReLU overwrote the captured conv output"
    # independent check: d logit / d conv output = relu'(a) * (fc weight / (h*w)) per channel
    h, w = act.shape[-2:]
    expected = (act > 0).double() * model.fc.weight[2].view(1, -1, 1, 1) / (h * w)
    torch.testing.assert_close(grad, expected, atol=1e-12, rtol=0)


def test_capture_removes_hook_and_reports_unused_layer() -> None:
    model = make_small("vgg")
    with capture(model, "features.3") as cap:
        pass
    assert not model.features[3]._forward_hooks
    with pytest.raises(RuntimeError, match="not used"):
        cap.require()


def test_guard_restores_everything_even_after_an_exception() -> None:
    model = torchvision.models.resnet18(weights=None)
    model.train()
    model.layer1.requires_grad_(False)
    model.fc.weight.grad = torch.ones_like(model.fc.weight)
    before = _state(model)
    with pytest.raises(RuntimeError, match="boom"):
        with model_guard(model):
            assert not model.training
            model.relu.inplace = False
            model.layer3.register_forward_hook(lambda *a: None)
            model.fc.weight.grad = None
            model(torch.rand(1, 3, 32, 32))
            raise RuntimeError("boom")
    after = _state(model)
    assert before[0] == after[0] and before[1] == after[1] and before[2] == after[2]
    assert before[4] == after[4]
    assert all(
        (a is None and b is None) or torch.equal(a, b) for a, b in zip(before[3], after[3])
    )


def test_guard_keeps_hooks_the_user_had() -> None:
    model = make_small("vgg")
    seen = []
    handle = model.fc.register_forward_hook(lambda m, i, o: seen.append(1))
    with model_guard(model):
        model(small_input(1))
    assert len(model.fc._forward_hooks) == 1 and seen == [1]
    handle.remove()


def test_gradcam_leaves_existing_parameter_gradients_alone() -> None:
    """After a training step has left .grad on every parameter, Grad-CAM keeps them: the same
    tensor objects with the same values. The guard no longer touches the parameters at all
    (requires_grad stays as the caller set it during the explanation) and no weight gradient is
    computed (a hook on every parameter would see it)."""
    model = make_small("resnet")
    x = small_input(2, 16)
    model(x).sum().backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    values = {n: g.clone() for n, g in grads.items()}
    assert all(g is not None for g in grads.values())
    seen_inside = []
    model.layer1.register_forward_hook(
        lambda *a: seen_inside.append(all(p.requires_grad for p in model.parameters()))
    )
    weight_grads = []
    handles = [p.register_hook(lambda g: weight_grads.append(1)) for p in model.parameters()]
    e = xai_tutor.explain(model, x, "gradcam")
    for h in handles:
        h.remove()
    assert seen_inside == [True], "the guard changed requires_grad during the explanation"
    assert weight_grads == [], "Grad-CAM computed weight gradients"
    for n, p in model.named_parameters():
        assert p.grad is grads[n] and torch.equal(p.grad, values[n])
    assert torch.isfinite(e.attribution).all()
