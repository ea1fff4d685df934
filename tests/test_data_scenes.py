"""Scenes: determinism, masks vs boxes, occlusion, the committed course scenes, the catalogue."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from xai_tutor.data import (
    BACKGROUNDS,
    BIRDS,
    SPECIES,
    course_scenes,
    make_scene,
    make_training_batch,
    make_training_sample,
)
from xai_tutor.data.birds import data_dir, load_cutout
from xai_tutor.data.occluders import OCCLUDERS, load_occluder

CASES = [("single", 0), ("single", 5), ("pair", 0), ("pair", 4), ("flock", 0), ("flock", 2),
         ("flock", 11)]


@pytest.fixture(scope="module")
def scenes():
    return {(k, s): make_scene(k, seed=s) for k, s in CASES}


def _bbox(mask: np.ndarray) -> list[int]:
    ys, xs = np.nonzero(mask)
    return [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]


def test_catalogue_and_assets():
    assert len(SPECIES) >= 12 and len(set(SPECIES)) == len(SPECIES)
    assert list(BIRDS) == SPECIES
    import torchvision

    categories = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.meta["categories"]
    with_ids = [b for b in BIRDS.values() if b.imagenet_id is not None]
    assert len(with_ids) >= 12
    for bird in with_ids:
        assert categories[bird.imagenet_id] == bird.imagenet_name, bird.species
    for species in SPECIES:
        cut = load_cutout(species)
        assert cut.ndim == 3 and cut.shape[2] == 4
        alpha = cut[..., 3]
        # cropped to the bird: every border row / column touches it, and it has a background
        assert (alpha[0] > 8).any() and (alpha[-1] > 8).any()
        assert (alpha[:, 0] > 8).any() and (alpha[:, -1] > 8).any()
        assert 0.15 < (alpha > 127).mean() < 0.95
    for name in OCCLUDERS:
        assert load_occluder(name).shape[2] == 4
    total = sum(p.stat().st_size for sub in ("birds", "occluders", "scenes")
                for p in (data_dir() / sub).iterdir())
    assert total < 3_000_000


@pytest.mark.parametrize("kind,seed", CASES)
def test_scene_structure(scenes, kind, seed):
    scene = scenes[(kind, seed)]
    w, h = scene.image.size
    assert (w, h) == (626, 418) and scene.image.mode == "RGB"
    n = len(scene.species)
    assert {"single": n == 1, "pair": n == 2, "flock": 5 <= n <= 9}[kind]
    assert scene.masks.shape == (n, h, w) and scene.masks.dtype == np.bool_
    assert scene.boxes.shape == (n, 4) and np.issubdtype(scene.boxes.dtype, np.integer)
    assert scene.imagenet_ids == [BIRDS[s].imagenet_id for s in scene.species]
    assert scene.background in BACKGROUNDS
    # boxes are the half-open bounding boxes of the visible masks
    assert scene.visible_fraction.shape == (n,)
    assert scene.visible_fraction.min() >= 0.35 - 1e-9  # nothing (almost) hidden is listed
    assert scene.visible_fraction.max() <= 1.0
    for mask, box in zip(scene.masks, scene.boxes):
        assert mask.sum() > 0.002 * h * w
        assert _bbox(mask) == box.tolist()
    # visible masks are disjoint from each other and from the foreground foliage
    assert scene.masks.sum(axis=0).max() <= 1
    assert not (scene.masks & scene.occluder[None]).any()
    labels = scene.label_map()
    for i, mask in enumerate(scene.masks):
        assert np.array_equal(labels == i + 1, mask)


def test_single_bird_is_large(scenes):
    for seed in (0, 5):
        scene = scenes[("single", seed)]
        x0, y0, x1, y1 = scene.boxes[0]
        assert 0.6 * 418 <= y1 - y0 <= 0.87 * 418 or x1 - x0 >= 0.85 * 626


def test_pair_barely_overlaps():
    for seed in range(6):
        scene = make_scene("pair", seed=seed)
        a, b = scene.masks
        x0, y0, x1, y1 = np.r_[np.maximum(scene.boxes[0][:2], scene.boxes[1][:2]),
                               np.minimum(scene.boxes[0][2:], scene.boxes[1][2:])]
        inter = max(0, x1 - x0) * max(0, y1 - y0)
        smaller = min(np.prod(scene.boxes[0][2:] - scene.boxes[0][:2]),
                      np.prod(scene.boxes[1][2:] - scene.boxes[1][:2]))
        assert inter <= 0.2 * smaller


def test_flock_has_occlusion(scenes):
    for seed in (0, 2, 11):
        scene = scenes[("flock", seed)]
        assert scene.occluder.any()
        # some bird is hidden in part: its visible mask has holes relative to its own box that
        # are covered by foliage or by another bird's pixels
        hidden = 0
        for mask, (x0, y0, x1, y1) in zip(scene.masks, scene.boxes):
            region = np.zeros_like(mask)
            region[y0:y1, x0:x1] = True
            others = scene.occluder | (scene.masks.any(axis=0) & ~mask)
            hidden += int((region & others).sum() > 0)
        assert hidden >= 2


def test_visible_fractions(scenes):
    assert scenes[("single", 0)].visible_fraction.tolist() == [1.0]
    assert scenes[("pair", 0)].visible_fraction.min() >= 0.9
    flock = scenes[("flock", 0)]
    assert flock.visible_fraction.min() < 0.95  # someone is partly hidden
    # birds in front keep more of themselves than birds behind others or under foliage
    assert flock.visible_fraction.max() > flock.visible_fraction.min()


def test_determinism():
    a = make_scene("flock", seed=5)
    b = make_scene("flock", seed=5)
    c = make_scene("flock", seed=6)
    assert np.array_equal(np.asarray(a.image), np.asarray(b.image))
    assert np.array_equal(a.masks, b.masks) and np.array_equal(a.boxes, b.boxes)
    assert a.species == b.species
    assert not np.array_equal(np.asarray(a.image), np.asarray(c.image))


def test_species_argument():
    s = make_scene("single", species="toucan", seed=3)
    assert s.species == ["toucan"] and s.imagenet_ids == [96]
    p = make_scene("pair", species=["pelican", "magpie"], seed=3)
    assert p.species == ["pelican", "magpie"]
    f = make_scene("flock", species=["hen"] * 6, seed=3, background="sky")
    assert set(f.species) == {"hen"} and 2 <= len(f.species) <= 6 and f.background == "sky"
    small = make_scene("single", size=(160, 120), seed=1)
    assert small.image.size == (160, 120) and small.masks.shape[1:] == (120, 160)


@pytest.mark.parametrize(
    "kwargs,error",
    [
        ({"kind": "crowd"}, ValueError),
        ({"kind": "single", "species": "dodo"}, ValueError),
        ({"kind": "pair", "species": ["toucan"]}, ValueError),
        ({"kind": "single", "species": 3}, TypeError),
        ({"kind": "single", "size": (10, 10)}, ValueError),
        ({"kind": "single", "size": "big"}, TypeError),
        ({"kind": "single", "background": "desert"}, ValueError),
    ],
)
def test_bad_arguments(kwargs, error):
    with pytest.raises(error) as info:
        make_scene(**kwargs)
    assert str(info.value)


def test_course_scenes_match_committed_files():
    folder = data_dir() / "scenes"
    scenes = course_scenes()
    assert set(scenes) == {"single", "pair", "flock"}
    for kind, scene in scenes.items():
        assert scene.kind == kind
        stored = np.asarray(Image.open(folder / f"{kind}.png").convert("RGB")).astype(int)
        now = np.asarray(scene.image).astype(int)
        # identical up to rare one-level rounding differences between CPUs
        assert np.abs(stored - now).max() <= 2 and (stored != now).mean() < 1e-3
        labels = np.asarray(Image.open(folder / f"{kind}_labels.png"))
        assert np.array_equal(labels, scene.label_map())
        record = json.loads((folder / f"{kind}.json").read_text())
        assert record["species"] == scene.species
        assert record["imagenet_ids"] == scene.imagenet_ids
        assert record["boxes"] == scene.boxes.tolist()
        assert record["seed"] == scene.seed
    assert len(scenes["flock"].species) >= 5
    assert len(set(scenes["pair"].species)) == 2


def test_training_samples():
    rng = np.random.default_rng(0)
    img, mask = make_training_sample(3, (96, 64), rng, return_mask=True)
    assert img.shape == (64, 96, 3) and img.dtype == np.uint8 and mask.shape == (64, 96)
    assert 0.03 < mask.mean() < 0.9
    a, la = make_training_batch(2 * len(SPECIES), size=(64, 48), seed=1)
    b, lb = make_training_batch(2 * len(SPECIES), size=(64, 48), seed=1)
    assert np.array_equal(a, b) and np.array_equal(la, lb)
    assert np.bincount(la, minlength=len(SPECIES)).tolist() == [2] * len(SPECIES)
    with pytest.raises(ValueError):
        make_training_sample(len(SPECIES), (64, 48), rng)


def test_training_augmentation_options():
    plain, plain_mask = make_training_sample(5, (96, 64), 7, return_mask=True)
    again, _ = make_training_sample(5, (96, 64), 7, return_mask=True)
    assert np.array_equal(plain, again)
    hidden = 0
    for seed in range(6):
        img, mask = make_training_sample(
            5, (96, 64), seed, rotate=20, occlude=1.0, return_mask=True
        )
        _, bare = make_training_sample(5, (96, 64), seed, rotate=20, return_mask=True)
        assert img.shape == (64, 96, 3) and mask.any()
        hidden += int(mask.sum() < bare.sum())
    assert hidden >= 3  # the foliage hides part of the bird in most samples
