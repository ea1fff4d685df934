"""The notebooks' shared helpers (``xai_tutor.course``): the canonical scenes at another size are
the same pictures resized, statements about a map are worded from its numbers, and claims are
asserted only on the models they were measured on."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import xai_tutor
from xai_tutor.course import (
    class_title,
    course_scenes_at,
    known_model,
    lift_word,
    on_region,
    scaled_scene,
    top_class_target,
)
from xai_tutor.data import course_scenes, load_image, make_scene

HALF = (313, 209)


@pytest.fixture(scope="module")
def full() -> dict:
    return course_scenes()


@pytest.fixture(scope="module")
def half() -> dict:
    return course_scenes_at(HALF)


def test_half_size_scene_is_the_canonical_scene_resized(full, half) -> None:
    for kind, scene in full.items():
        small = half[kind]
        assert small.image.size == HALF and small.species == scene.species
        # the picture: exactly what load_image(size=...) makes of the full-size scene
        x_small, shown_small = load_image(small.image)
        x_resized, shown_resized = load_image(scene.image, size=HALF)
        assert np.array_equal(shown_small, shown_resized)
        assert torch.equal(x_small, x_resized)
        # each bird keeps its place and its size: the full mask, box-averaged, is the small one
        for i, mask in enumerate(scene.masks):
            ys, xs = np.nonzero(mask)
            sys_, sxs = np.nonzero(small.masks[i])
            assert abs(sxs.mean() * 2 - xs.mean()) < 3 and abs(sys_.mean() * 2 - ys.mean()) < 3
            assert abs(small.masks[i].sum() * 4 / mask.sum() - 1) < 0.15
        assert not (small.masks.sum(axis=0) > 1).any(), "masks must stay disjoint"
        x0, y0, x1, y1 = small.boxes[0]
        assert small.masks[0][y0:y1, x0:x1].any() and not small.masks[0][:, x1:].any()


def test_make_scene_at_half_size_is_a_different_picture(full, half) -> None:
    """Why the helper exists: the generator draws a new layout at another size."""
    drawn = make_scene("pair", size=HALF, species=["toucan", "flamingo"], seed=1,
                       background="meadow")
    assert not np.array_equal(drawn.masks, half["pair"].masks)


def test_scaled_scene_rejects_a_tiny_size(full) -> None:
    with pytest.raises(ValueError, match="both sides"):
        scaled_scene(full["single"], (4, 3))


def test_lift_words_follow_the_number() -> None:
    area = 0.057
    assert lift_word(0.403, area) == "on"            # DeconvNet on tiny_vgg, single scene
    assert lift_word(0.06, area) == "uniform"        # Grad-CAM at tiny_vgg's default layer
    assert lift_word(0.01, area) == "off"
    assert lift_word(0.09, area) == "some"
    assert "concentrates" in on_region(0.403, area)
    assert on_region(0.01, area).endswith("the map lies mostly off the bird")
    assert on_region(0.2, 0.1, "the birds").startswith("20.0% of the map on the birds")
    with pytest.raises(ValueError, match="area"):
        lift_word(0.1, 0.0)


def test_known_model_is_the_offline_trio_only() -> None:
    assert known_model(xai_tutor.load_model("tiny_vgg"))
    standin = torch.nn.Linear(2, 2)
    standin.name = "resnet18"  # what load_model sets on an ImageNet model, real or stand-in
    assert not known_model(standin)


def test_top_class_target_and_class_title(half) -> None:
    model = xai_tutor.load_model("tiny_resnet")
    scene = half["single"]
    x, _ = load_image(scene.image)
    cls, masks, present = top_class_target(model, scene, x)
    assert model.class_names[cls] == "flamingo" and present and masks.shape[0] == 1
    assert class_title(model, x).startswith("flamingo (p = ")
    assert class_title(model, x, target=1).startswith(f"{model.class_names[1]} (p = 0.0")
