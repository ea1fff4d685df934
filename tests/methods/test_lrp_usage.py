"""LRP in use: the model is left untouched, batches, zero input, output format, clear errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import xai_tutor
from xai_tutor.explanation import normalise_per_image, pixel_map

from conftest import make_small, small_input


def snapshot(model: nn.Module) -> dict:
    return {
        "state": {k: v.clone() for k, v in model.state_dict().items()},
        "training": [m.training for m in model.modules()],
        "inplace": [getattr(m, "inplace", None) for m in model.modules()],
        "requires_grad": [p.requires_grad for p in model.parameters()],
        "grads": [p.grad for p in model.parameters()],
        "hooks": [
            (len(m._forward_hooks), len(m._forward_pre_hooks), len(m._backward_hooks))
            for m in model.modules()
        ],
        "forward": [m.__dict__.get("forward") for m in model.modules()],
        "types": [type(m) for m in model.modules()],
    }


def assert_same(model: nn.Module, before: dict) -> None:
    after = snapshot(model)
    for key in before:
        if key == "state":
            assert before[key].keys() == after[key].keys()
            for k in before[key]:
                assert torch.equal(before[key][k], after[key][k]), k
        else:
            assert before[key] == after[key], key


@pytest.mark.parametrize("kind", ["vgg", "resnet"])
def test_model_untouched(kind: str) -> None:
    model = make_small(kind).train()  # train mode and requires_grad must come back as they were
    list(model.parameters())[0].requires_grad_(False)
    before = snapshot(model)
    e = xai_tutor.explain(model, small_input(2, 16), "lrp")
    assert_same(model, before)
    assert e.method == "lrp" and e.layer is None


def test_model_untouched_after_exception() -> None:
    model = make_small("resnet")
    before = snapshot(model)
    with pytest.raises(ValueError, match="rule"):
        xai_tutor.explain(model, small_input(1, 16), "lrp", rules={"fc": "no_such_rule"})
    assert_same(model, before)


def test_output_format_and_score() -> None:
    model = make_small("resnet")
    x = small_input(2, 16)
    e = xai_tutor.explain(model, x, "lrp", target=[1, 3])
    assert e.attribution.shape == (2, 3, 16, 16) and e.saliency.shape == (2, 16, 16)
    torch.testing.assert_close(
        e.saliency, normalise_per_image(pixel_map(e.attribution, "positive_sum"))
    )
    with torch.no_grad():
        logits = model(x)
    torch.testing.assert_close(e.score, logits[[0, 1], [1, 3]])
    assert e.target.tolist() == [1, 3]
    assert e.params["composite"] == "epsilon_plus"  # default for models with residual blocks
    assert xai_tutor.explain(make_small("vgg"), x, "lrp").params["composite"] == (
        "epsilon_gamma_box"
    )


def test_batch_equals_single_images() -> None:
    model = make_small("resnet", torch.float64)
    x = small_input(3, 16, torch.float64)
    batch = xai_tutor.explain(model, x, "lrp", target=2).attribution
    for i in range(3):
        one = xai_tutor.explain(model, x[i : i + 1], "lrp", target=2).attribution
        torch.testing.assert_close(batch[i : i + 1], one, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("composite", ["epsilon_gamma_box", "epsilon_plus", "zero", "epsilon"])
def test_zero_input_gives_no_nan(composite: str) -> None:
    model = make_small("resnet")
    e = xai_tutor.explain(model, torch.zeros(2, 3, 16, 16), "lrp", composite=composite)
    assert torch.isfinite(e.attribution).all() and torch.isfinite(e.saliency).all()


def test_user_rule_mapping_overrides_composite() -> None:
    model = make_small("vgg", torch.float64)
    x = small_input(1, 16, torch.float64)
    e = xai_tutor.explain(
        model, x, "lrp", composite="epsilon_gamma_box",
        rules={"features.3": "epsilon", nn.Linear: "zero", "features.6": "zplus"},
    )
    rules = e.params["rules"]
    assert rules["features.0"].startswith("ZBox")
    assert rules["features.3"].startswith("Epsilon") and rules["fc"].startswith("Zero")
    assert rules["features.6"].startswith("ZPlus")
    plain = xai_tutor.explain(model, x, "lrp", composite="epsilon_gamma_box")
    assert not torch.allclose(e.attribution, plain.attribution)


class AddNet(nn.Module):
    """A residual add LRP cannot see (no conv1/conv2 block shape)."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 3, 3, padding=1)
        self.b = nn.Conv2d(3, 3, 3, padding=1)
        self.fc = nn.Linear(3, 2)

    def forward(self, x):
        y = torch.relu(self.a(x))
        y = y + self.b(y)
        return self.fc(y.mean(dim=(2, 3)))


class LayerNormNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3 * 4 * 4, 2)
        self.norm = nn.LayerNorm(2)

    def forward(self, x):
        return self.norm(self.fc(x.flatten(1)))


def test_clear_errors() -> None:
    x = small_input(1, 16)
    with pytest.raises(ValueError, match="cannot explain"):
        xai_tutor.explain(AddNet().eval(), x, "lrp")
    with pytest.raises(TypeError, match="LayerNorm"):
        xai_tutor.explain(LayerNormNet().eval(), torch.rand(1, 3, 4, 4), "lrp")
    model = make_small("vgg")
    with pytest.raises(ValueError, match="composite"):
        xai_tutor.explain(model, x, "lrp", composite="nope")
    with pytest.raises(ValueError, match="layer"):
        xai_tutor.explain(model, x, "lrp", layer="features.0")
    with pytest.raises(ValueError, match="no_layer"):
        xai_tutor.explain(model, x, "lrp", rules={"no_layer": "zero"})
    with pytest.raises(ValueError, match="gamma"):
        xai_tutor.explain(model, x, "lrp", gamma=-1.0)
    with pytest.raises(TypeError, match="float64"):
        xai_tutor.explain(model, x.double(), "lrp")
    with pytest.raises(ValueError, match="pooling"):
        xai_tutor.explain(model, x, "lrp", rules={"pool": "gamma"})


def test_model_with_hidden_forward_difference_is_refused() -> None:
    """A block that looks like a BasicBlock but scales its sum would be canonized wrongly."""
    model = make_small("resnet")
    block = model.layer1
    original = type(block).forward

    def scaled(x):
        return original(block, x) * 2.0

    block.forward = scaled  # an instance attribute the canonical forward cannot know about
    with pytest.raises(ValueError, match="different logits"):
        xai_tutor.explain(model, small_input(1, 16), "lrp")
