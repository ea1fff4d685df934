"""Scenes split into named regions, each with the same scene re-rendered without it.

A :class:`RegionScene` is one image, the class of its bird, a partition of its pixels into named
regions (for example ``bird``, ``reflection`` and ``rest``) and, for every region, the image
with that region *removed*. Removal is an intervention on the scene, not on the pixels: the
scene generator draws the same scene again without the object (same background, same places,
same random draws; see ``make_scene(..., omit=...)``), so a removed bird leaves the water or
grass that was behind it, and nothing else changes. Each object's region is exactly the set of
pixels that change when it is left out (plus its visible mask), so removing a region changes
no pixel outside it. The ``rest`` (everything that is not a named object) cannot be left out;
it is removed by giving its pixels a fresh background of the same kind (same generator, another
seed), keeping every pixel of the named objects as it is.

:func:`region_scene` makes a single-bird course scene with the regions ``bird``, its ground
effect (``reflection`` on water, ``shadow`` on a meadow; none in the sky or foliage) and
``rest``; :func:`course_region_scene` is the course's "single" scene (the flamingo on water).
Cue scenes (a class tag beside the bird) are made by :mod:`xai_tutor.data.cues`.

Example::

    >>> from xai_tutor.data.regions import course_region_scene
    >>> scene = course_region_scene()
    >>> scene.species, list(scene.regions)
    ('flamingo', ['bird', 'reflection', 'rest'])
    >>> changed = (scene.removed["reflection"] != scene.image).any(-1)
    >>> bool(changed.any()), bool(changed[~scene.regions["reflection"]].any())
    (True, False)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from .backgrounds import make_background
from .birds import SPECIES
from .images import normalise
from .scenes import COURSE_SCENES, DEFAULT_SIZE, _check_seed, make_scene

# The stream of the fresh background that replaces the ``rest`` region: default_rng([seed, 1]).
REST_STREAM = 1
GROUND_REGION = {"water": "reflection", "meadow": "shadow"}


@dataclass
class RegionScene:
    """A scene, its bird's class, its regions and the scene without each region.

    ``image`` (H, W, 3) uint8; ``label`` the class index of the bird in
    :data:`xai_tutor.data.SPECIES`; ``regions`` {name: (H, W) bool}, disjoint and covering the
    image, in a fixed order; ``removed`` {name: (H, W, 3) uint8}, the image with that region
    removed (only pixels of the region differ from ``image``); ``cue`` the class index whose cue
    is drawn (cue scenes) or None; ``box`` the bird's (x0, y0, x1, y1) half-open box.
    """

    image: np.ndarray
    label: int
    species: str
    regions: dict[str, np.ndarray]
    removed: dict[str, np.ndarray]
    seed: int
    background: str
    box: np.ndarray
    cue: int | None = None

    @property
    def pil(self) -> Image.Image:
        """The image as a PIL image (for display and for ``xai_tutor.load_image``)."""
        return Image.fromarray(self.image, "RGB")

    def region_shares(self) -> dict[str, float]:
        """Share of the image's pixels in each region (they sum to 1)."""
        return {name: float(mask.mean()) for name, mask in self.regions.items()}

    def input(self, without: str | None = None) -> torch.Tensor:
        """The ImageNet-normalised (1, 3, H, W) tensor of the image, or of it without a region."""
        return to_tensor(self.image if without is None else self.removed[_known(self, without)])


def _known(scene: RegionScene, region: str) -> str:
    if region not in scene.removed:
        raise ValueError(f"unknown region {region!r}; this scene has {', '.join(scene.regions)}")
    return region


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (H, W, 3) or (N, H, W, 3) -> ImageNet-normalised float32 (N, 3, H, W)."""
    array = np.asarray(images)
    if array.dtype != np.uint8 or array.ndim not in (3, 4) or array.shape[-1] != 3:
        raise ValueError(f"expected uint8 images (H, W, 3) or (N, H, W, 3), got {array.dtype} "
                         f"{array.shape}")
    tensor = torch.from_numpy(np.array(array)).movedim(-1, -3).float() / 255.0
    return normalise(tensor if tensor.dim() == 4 else tensor.unsqueeze(0))


def changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(H, W) bool: the pixels where two uint8 RGB images differ in any channel."""
    return (np.asarray(a) != np.asarray(b)).any(-1)


def fresh_rest(image: np.ndarray, keep: np.ndarray, background: str, seed: int) -> np.ndarray:
    """``image`` with every pixel outside ``keep`` taken from a fresh ``background``.

    The fresh background is ``make_background(background, size, default_rng([seed, 1]))``: the
    same kind (water stays water), drawn from a stream that no scene uses.
    """
    height, width = image.shape[:2]
    other = make_background(background, (width, height), np.random.default_rng([seed, REST_STREAM]))
    other = np.clip(other + 0.5, 0, 255).astype(np.uint8)
    return np.where(keep[..., None], image, other)


def free_square(occupied: np.ndarray, side: int, rng: np.random.Generator,
                margin: int = 0) -> tuple[int, int]:
    """Top-left (x, y) of a ``side`` square keeping ``margin`` pixels from every occupied pixel.

    Uniform over all such positions inside the image (one pixel or more from its edge), seeded
    by ``rng``. Should there be none (an object filling the image), the margin is dropped, and
    then the position touching the fewest occupied pixels is taken.

    >>> import numpy as np
    >>> occupied = np.zeros((40, 60), bool)
    >>> occupied[:, :40] = True
    >>> x, y = free_square(occupied, 10, np.random.default_rng(0), margin=2)
    >>> 42 <= x <= 49 and 1 <= y <= 29
    True
    """
    height, width = occupied.shape
    if side + 2 > min(height, width):
        raise ValueError(f"a {side}-pixel square does not fit in a {width} x {height} image")
    for m in dict.fromkeys((int(margin), 0)):
        # occupied pixels in the window [y - m, y + side + m) x [x - m, x + side + m)
        padded = np.pad(occupied.astype(np.int32), m)
        integral = np.pad(padded.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
        k = side + 2 * m
        sums = integral[k:, k:] - integral[:-k, k:] - integral[k:, :-k] + integral[:-k, :-k]
        sums = sums[1:height - side, 1:width - side]  # top-left (y, x) - 1, one pixel from edges
        free = np.argwhere(sums == 0)
        if len(free):
            y, x = free[int(rng.integers(len(free)))]
            return int(x) + 1, int(y) + 1
    y, x = np.unravel_index(int(np.argmin(sums)), sums.shape)
    return int(x) + 1, int(y) + 1


def region_scene(
    species: str | None = None,
    seed: int | None = 0,
    size: tuple[int, int] = DEFAULT_SIZE,
    *,
    background: str | None = None,
) -> RegionScene:
    """A single-bird scene of :func:`xai_tutor.data.make_scene` split into named regions.

    Regions: ``bird`` (the pixels that change when the bird is left out, and its visible mask),
    ``reflection`` on water or ``shadow`` on a meadow (the pixels that change when the bird's
    ground effect is left out; absent in the sky and foliage), and ``rest``. Removing the bird
    keeps its reflection or shadow, removing those keeps the bird; ``rest`` gets a fresh
    background of the same kind. Where a shadow reaches under the bird's soft rim (pixels of
    the ``bird`` region), removing the shadow leaves them as they are, so that every removal
    changes pixels of its own region only.

    >>> scene = region_scene("toucan", seed=3, size=(160, 112), background="meadow")
    >>> list(scene.regions), scene.label
    (['bird', 'shadow', 'rest'], 1)
    """
    seed = _check_seed(seed)
    full = make_scene("single", species, size, seed, background=background)
    image = np.asarray(full.image)
    no_bird = np.asarray(
        make_scene("single", species, size, seed, background=background, omit="birds").image)
    regions = {"bird": changed(image, no_bird) | full.masks[0]}
    removed = {"bird": no_bird}
    ground = GROUND_REGION.get(full.background)
    if ground is not None:
        without = np.asarray(make_scene("single", species, size, seed, background=background,
                                        omit="ground").image)
        regions[ground] = changed(image, without) & ~regions["bird"]
        # a shadow reaches under the soft rim of the bird: those pixels belong to the bird
        removed[ground] = np.where(regions[ground][..., None], without, image)
    regions["rest"] = ~np.logical_or.reduce(list(regions.values()))
    removed["rest"] = fresh_rest(image, ~regions["rest"], full.background, seed)
    return RegionScene(
        image=image, label=SPECIES.index(full.species[0]), species=full.species[0],
        regions=regions, removed=removed, seed=full.seed, background=full.background,
        box=full.boxes[0],
    )


def course_region_scene() -> RegionScene:
    """The course's "single" scene (``course_scenes()["single"]``, a flamingo on water) in regions.

    Its regions are ``bird``, ``reflection`` (the flamingo's mirror image on the water) and
    ``rest``.
    """
    params = COURSE_SCENES["single"]
    return region_scene(params["species"], params["seed"], background=params["background"])
