"""explain(), target resolution and input checks shared by every method."""

from __future__ import annotations

import pytest
import torch

import xai_tutor
from xai_tutor.explanation import normalise_per_image, pixel_map, upsample_map
from xai_tutor.methods import default_layer
from xai_tutor.methods.inputs import check_images
from xai_tutor.methods.targets import resolve_target

from conftest import make_small, small_input


def test_resolve_target_variants() -> None:
    logits = torch.tensor([[0.0, 2.0, 1.0], [3.0, 0.0, 1.0]])
    assert resolve_target(logits, None).tolist() == [1, 0]
    assert resolve_target(logits, 2).tolist() == [2, 2]
    assert resolve_target(logits, [2, 1]).tolist() == [2, 1]
    assert resolve_target(logits, torch.tensor([0, 1])).tolist() == [0, 1]
    assert resolve_target(logits, torch.tensor(1)).tolist() == [1, 1]


@pytest.mark.parametrize(
    "target, error, text",
    [
        ([1], ValueError, "1 entries but the batch has 2"),
        ([0, 1, 2], ValueError, "3 entries"),
        (5, ValueError, "outside the model's classes"),
        (-1, ValueError, "outside"),
        ("cat", TypeError, "int"),
        (True, TypeError, "int"),
        ([0.5, 1], TypeError, "integers"),
    ],
)
def test_resolve_target_errors(target: object, error: type, text: str) -> None:
    logits = torch.zeros(2, 3)
    with pytest.raises(error, match=text):
        resolve_target(logits, target)


def test_check_images() -> None:
    assert check_images(torch.rand(3, 8, 8)).shape == (1, 3, 8, 8)
    with pytest.raises(TypeError, match="torch.Tensor"):
        check_images([[1.0]])
    with pytest.raises(ValueError, match="shape"):
        check_images(torch.rand(8, 8))
    with pytest.raises(TypeError, match="floating-point"):
        check_images(torch.zeros(1, 3, 8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError, match="NaN"):
        check_images(torch.full((1, 3, 4, 4), float("nan")))
    with pytest.raises(ValueError, match="empty"):
        check_images(torch.rand(0, 3, 8, 8))


def test_normalise_constant_maps_give_zeros() -> None:
    maps = torch.stack([torch.zeros(4, 4), torch.full((4, 4), 3.0), torch.arange(16.0).view(4, 4)])
    out = normalise_per_image(maps)
    assert torch.isfinite(out).all()
    assert out[0].abs().sum() == 0 and out[1].abs().sum() == 0
    assert out[2].min() == 0 and out[2].max() == 1
    torch.testing.assert_close(out[2], torch.arange(16.0).view(4, 4) / 15)


def test_pixel_map_and_upsample() -> None:
    a = torch.tensor([[[[1.0]], [[-3.0]], [[2.0]]]])
    assert pixel_map(a, "abs_max").item() == 3.0
    assert pixel_map(a, "abs_sum").item() == 6.0
    assert pixel_map(a, "positive_sum").item() == 0.0
    with pytest.raises(ValueError):
        pixel_map(a, "median")
    up = upsample_map(torch.ones(2, 3, 3), (9, 12))
    assert up.shape == (2, 9, 12) and torch.allclose(up, torch.ones_like(up))


def test_default_layer() -> None:
    import torchvision

    assert default_layer(torchvision.models.resnet18(weights=None)) == "layer4"
    assert default_layer(torchvision.models.vgg16(weights=None)) == "features.29"
    assert default_layer(make_small("vgg")) == "features.7"


def test_explain_rejects_unknown_method_and_non_model() -> None:
    with pytest.raises(ValueError, match="available methods"):
        xai_tutor.explain(make_small("vgg"), small_input(1), "gradcam_typo")
    with pytest.raises(TypeError, match="nn.Module"):
        xai_tutor.explain(lambda x: x, small_input(1), next(iter(xai_tutor.METHODS), "gradient"))
