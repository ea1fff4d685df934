"""Scenes in regions: leaving objects out of a scene, cue scenes, the course scene's reflection."""

from __future__ import annotations

import numpy as np
import pytest

from xai_tutor.data import SPECIES, course_scenes, make_scene
from xai_tutor.data.cues import (
    CUE_MARGIN,
    CUE_SCENE_SIZE,
    cue_badge,
    cue_name,
    cue_side,
    make_cue_scene,
)
from xai_tutor.data.regions import course_region_scene, free_square, region_scene

SEEDS = range(80_000, 80_012)  # seeds no model was trained on


def _changed(a, b):
    return (np.asarray(a) != np.asarray(b)).any(-1)


def _check_partition(scene):
    stack = np.stack(list(scene.regions.values()))
    assert stack.dtype == np.bool_ and stack.shape[1:] == scene.image.shape[:2]
    assert np.array_equal(stack.sum(0), np.ones(stack.shape[1:]))  # disjoint, cover the image
    assert list(scene.removed) == list(scene.regions)
    for name, mask in scene.regions.items():
        removed = scene.removed[name]
        assert removed.dtype == np.uint8 and removed.shape == scene.image.shape
        moved = _changed(removed, scene.image)
        assert not moved[~mask].any(), f"removing {name} changed pixels outside it"
        assert moved.any(), name
    assert abs(sum(scene.region_shares().values()) - 1.0) < 1e-9


@pytest.mark.parametrize("omit", ["birds", "ground", "foliage"])
def test_omitted_layers_leave_the_rest_of_the_scene_as_it_was(omit):
    for kind, seed in (("single", 1), ("flock", 3), ("pair", 2)):
        full = make_scene(kind, seed=seed, background="water")
        part = make_scene(kind, seed=seed, background="water", omit=[omit])
        assert part.species == full.species and np.array_equal(part.masks, full.masks)
        moved = _changed(part.image, full.image)
        if omit == "birds":
            assert moved[full.masks.any(0)].all()  # every visible bird pixel is gone
        elif omit == "ground":
            below = np.zeros_like(moved)
            for x0, _, x1, y1 in full.boxes:
                below[y1:, x0:x1] = True  # reflections lie under the birds
            assert moved.any() and not moved[full.masks.any(0) & ~below].any()
        elif kind == "flock":
            assert moved[full.occluder].mean() > 0.5
        else:
            assert not moved.any()  # no foliage in single and pair scenes


def test_bad_omit_is_refused():
    with pytest.raises(ValueError, match="unknown layer.*shadows"):
        make_scene("single", seed=0, omit=["shadows"])
    with pytest.raises(TypeError, match="omit"):
        make_scene("single", seed=0, omit=3)


def test_course_scene_regions_bird_reflection_rest():
    scene = course_region_scene()
    course = course_scenes()["single"]
    assert np.array_equal(scene.image, np.asarray(course.image))
    assert scene.species == "flamingo" and scene.label == SPECIES.index("flamingo")
    assert list(scene.regions) == ["bird", "reflection", "rest"]
    _check_partition(scene)
    assert (scene.regions["bird"] >= course.masks[0]).all()
    x0, y0, x1, y1 = course.boxes[0]
    rows = np.nonzero(scene.regions["reflection"].any(1))[0]
    assert rows.min() >= y1  # the reflection lies under the bird's feet
    assert 200 < scene.regions["reflection"].sum() < scene.regions["bird"].sum()
    # the rest comes from a fresh background of the same kind: most of it changes
    assert _changed(scene.removed["rest"], scene.image)[scene.regions["rest"]].mean() > 0.9


@pytest.mark.parametrize("background, ground", [("meadow", "shadow"), ("water", "reflection"),
                                                ("sky", None), ("foliage", None)])
def test_region_scene_ground_effects(background, ground):
    scene = region_scene("pelican", seed=80_001, size=(200, 140), background=background)
    assert list(scene.regions) == ["bird", *([ground] if ground else []), "rest"]
    _check_partition(scene)
    again = region_scene("pelican", seed=80_001, size=(200, 140), background=background)
    assert np.array_equal(again.image, scene.image)
    assert all(np.array_equal(again.removed[r], scene.removed[r]) for r in scene.removed)


def test_cue_scenes_regions_and_no_overlap():
    side = cue_side(CUE_SCENE_SIZE)
    for i, seed in enumerate(SEEDS):
        species = SPECIES[i % len(SPECIES)]
        scene = make_cue_scene(species, seed=seed)
        assert scene.image.shape == (CUE_SCENE_SIZE[1], CUE_SCENE_SIZE[0], 3)
        assert scene.cue == scene.label == SPECIES.index(species)
        assert list(scene.regions) == ["bird", "cue", "rest"]
        _check_partition(scene)
        ys, xs = np.nonzero(scene.regions["cue"])
        assert (ys.max() - ys.min() + 1, xs.max() - xs.min() + 1) == (side, side)
        assert scene.regions["cue"].sum() == side * side
        # the badge keeps its margin from every pixel of the bird
        y0, y1 = ys.min() - CUE_MARGIN, ys.max() + CUE_MARGIN + 1
        x0, x1 = xs.min() - CUE_MARGIN, xs.max() + CUE_MARGIN + 1
        bird = scene.regions["bird"]
        assert not bird[max(y0, 0):y1, max(x0, 0):x1].any()
        assert np.array_equal(scene.image[scene.regions["cue"]].reshape(side, side, 3),
                              cue_badge(scene.cue, side))
        # without the cue it is the plain course-style scene of the same seed
        plain = make_scene("single", species, CUE_SCENE_SIZE, seed)
        assert np.array_equal(scene.removed["cue"], np.asarray(plain.image))


def test_cue_swap_changes_the_badge_only():
    scene = make_cue_scene("magpie", seed=80_003)
    for other in ("flamingo", 15, None):
        swapped = make_cue_scene("magpie", cue=other, seed=80_003)
        moved = _changed(swapped.image, scene.image)
        assert moved.any() and not moved[~scene.regions["cue"]].any()
        assert np.array_equal(swapped.regions["bird"], scene.regions["bird"])
        assert swapped.label == scene.label
    bare = make_cue_scene("magpie", cue=None, seed=80_003)
    assert bare.cue is None and list(bare.regions) == ["bird", "rest"]
    assert np.array_equal(bare.image, scene.removed["cue"])


def test_badges_are_distinct_opaque_and_mirror_symmetric():
    side = cue_side(CUE_SCENE_SIZE)
    badges = np.stack([cue_badge(c, side).astype(int) for c in range(len(SPECIES))])
    assert badges.shape == (len(SPECIES), side, side, 3)
    for a in range(len(badges)):
        for b in range(a):
            differ = (np.abs(badges[a] - badges[b]).max(-1) > 60).mean()
            assert differ > 0.2, (cue_name(a), cue_name(b))
    mirror = np.abs(badges - badges[:, :, ::-1]).mean(axis=(1, 2, 3))
    assert mirror.max() < 3  # a flipped scene shows the same cue
    assert len({cue_name(c) for c in range(len(SPECIES))}) == len(SPECIES)


@pytest.mark.parametrize("cue, error", [("dodo", ValueError), (16, ValueError), (-1, ValueError),
                                        (2.5, TypeError), (True, TypeError)])
def test_bad_cue_is_refused(cue, error):
    with pytest.raises(error, match="cue|species"):
        make_cue_scene("toucan", cue=cue, seed=1)


def test_free_square_falls_back_when_nothing_is_free():
    occupied = np.ones((30, 30), bool)
    occupied[10:20, 10:20] = False
    rng = np.random.default_rng(0)
    assert free_square(occupied, 6, rng, margin=4) in {(x, y) for x in range(10, 15)
                                                       for y in range(10, 15)}
    occupied[:] = True
    x, y = free_square(occupied, 6, rng, margin=4)  # no free place: the least occupied one
    assert 1 <= x <= 23 and 1 <= y <= 23
    with pytest.raises(ValueError, match="does not fit"):
        free_square(occupied, 40, rng)
