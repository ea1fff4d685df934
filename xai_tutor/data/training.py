"""Fast, seeded single-bird images for training the course's bird classifiers.

Each sample is one cut-out on a procedural background with light, seeded augmentation: random
background kind, mirror flip, scale (bird height as a share of the image height), position and
a small brightness / contrast change.

Example::

    >>> import numpy as np
    >>> from xai_tutor.data import make_training_batch
    >>> images, labels = make_training_batch(4, size=(96, 64), seed=0)
    >>> images.shape, labels.shape
    ((4, 64, 96, 3), (4,))
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from .backgrounds import BACKGROUNDS, make_background
from .birds import SPECIES, load_cutout
from .occluders import OCCLUDERS, load_occluder
from .scenes import _mask_at, _paste, _sprite

OCCLUDER_NAMES: tuple[str, ...] = tuple(OCCLUDERS)


def _tilt(rgb: np.ndarray, alpha: np.ndarray, angle: float):
    """Rotate a float sprite by ``angle`` degrees (canvas grows to fit)."""
    rgba = np.concatenate([rgb, alpha[..., None] * 255.0], axis=-1)
    im = Image.fromarray(np.clip(rgba + 0.5, 0, 255).astype(np.uint8), "RGBA")
    arr = np.asarray(im.rotate(angle, Image.BICUBIC, expand=True), np.float32)
    return arr[..., :3], arr[..., 3] / 255.0


def make_training_sample(
    species_index: int,
    size: tuple[int, int] = (160, 112),
    rng: np.random.Generator | int | None = None,
    *,
    background: str | None = None,
    flip: bool = True,
    scale: tuple[float, float] = (0.45, 0.9),
    jitter: float = 0.1,
    rotate: float = 0.0,
    occlude: float = 0.0,
    return_mask: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """One uint8 (H, W, 3) image of bird ``SPECIES[species_index]``; ``size`` = (W, H).

    ``rng`` is a numpy Generator (or a seed); ``scale`` bounds the bird's height as a share of
    the image height; ``jitter`` bounds the brightness / contrast change; ``rotate`` bounds a
    random tilt in degrees; ``occlude`` is the probability of a foliage sprite over part of the
    bird (as in flock scenes). With ``return_mask=True`` the bird's visible (H, W) bool mask
    comes too. Options left at 0 draw no random numbers, so streams stay comparable.
    """
    if not 0 <= int(species_index) < len(SPECIES):
        raise ValueError(f"species_index must be in [0, {len(SPECIES)}), got {species_index}")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    width, height = int(size[0]), int(size[1])
    bg = background or BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))]
    canvas = make_background(bg, (width, height), rng)
    rgb, alpha = _sprite(
        load_cutout(SPECIES[int(species_index)]),
        rng.uniform(*scale) * height,
        0.95 * width,
        bool(flip and rng.integers(2)),
    )
    if rotate:
        rgb, alpha = _tilt(rgb, alpha, rng.uniform(-rotate, rotate))
    h, w = alpha.shape
    x = int(rng.integers(0, max(width - w, 0) + 1))
    y = int(rng.integers(0, max(height - h, 0) + 1))
    _paste(canvas, rgb, alpha, x, y)
    mask = _mask_at(alpha, x, y, width, height)
    if occlude and rng.random() < occlude:
        leaf = OCCLUDER_NAMES[int(rng.integers(len(OCCLUDER_NAMES)))]
        o_rgb, o_alpha = _sprite(
            load_occluder(leaf), rng.uniform(0.3, 0.6) * h, 0.6 * w, bool(rng.integers(2)),
            rng.uniform(-40, 40),
        )
        oh, ow = o_alpha.shape
        ox = int(round(x + rng.uniform(0.15, 0.85) * w - ow / 2))
        oy = int(round(y + rng.uniform(0.15, 0.85) * h - oh / 2))
        _paste(canvas, o_rgb, o_alpha, ox, oy)
        mask &= ~_mask_at(o_alpha, ox, oy, width, height)
    if jitter:
        gain = 1.0 + rng.uniform(-jitter, jitter)
        mean = canvas.mean()
        canvas = (canvas - mean) * (1.0 + rng.uniform(-jitter, jitter)) + mean * gain
    image = np.clip(canvas + 0.5, 0, 255).astype(np.uint8)
    if return_mask:
        return image, mask
    return image


def make_training_batch(
    n: int, size: tuple[int, int] = (160, 112), seed: int = 0, **options
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` training images (n, H, W, 3) uint8 with balanced, shuffled int64 labels (n,).

    ``options`` go to :func:`make_training_sample`.
    """
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % len(SPECIES)).astype(np.int64)
    images = np.stack([make_training_sample(int(c), size, rng, **options) for c in labels])
    return images, labels


QUADRANTS: tuple[str, ...] = ("top-left", "top-right", "bottom-left", "bottom-right")


def scene_background(
    kind: str,
    species=None,
    size: tuple[int, int] = (626, 418),
    seed: int = 0,
    background: str | None = None,
) -> np.ndarray:
    """The background of ``make_scene(kind, species, size, seed, background=background)``.

    The scene generator draws, from ``default_rng(seed)``, first the species, then the background
    kind, then the background itself; replaying those draws gives the scene's exact background
    before any bird (or shadow / reflection) is pasted on it: float32 (H, W, 3) in [0, 255].
    """
    from .scenes import KINDS, _check_size, _species_list

    if kind not in KINDS:
        raise ValueError(f"unknown scene kind {kind!r}; choose one of {', '.join(KINDS)}")
    width, height = _check_size(size)
    rng = np.random.default_rng(int(seed))
    _species_list(kind, species, rng)
    bg = background or BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))]
    return make_background(bg, (width, height), rng)


def hide_quadrant(
    image: np.ndarray, background: np.ndarray, box, quadrant: int | str
) -> np.ndarray:
    """``image`` (H, W, 3) uint8 with one quadrant of ``box`` replaced by ``background``.

    ``box`` = (x0, y0, x1, y1) half-open, as :attr:`xai_tutor.data.Scene.boxes`; it is cut at its
    centre ``(x0 + x1) // 2``, ``(y0 + y1) // 2`` into the quadrants of :data:`QUADRANTS`
    (``quadrant`` is an index 0-3 or one of those names).
    """
    index = QUADRANTS.index(quadrant) if isinstance(quadrant, str) else int(quadrant)
    if not 0 <= index < 4:
        raise ValueError(f"quadrant must be 0-3 or one of {QUADRANTS}, got {quadrant!r}")
    x0, y0, x1, y1 = (int(v) for v in box)
    xm, ym = (x0 + x1) // 2, (y0 + y1) // 2
    xs = slice(x0, xm) if index % 2 == 0 else slice(xm, x1)
    ys = slice(y0, ym) if index < 2 else slice(ym, y1)
    out = np.array(image, dtype=np.uint8, copy=True)
    out[ys, xs] = np.clip(np.asarray(background)[ys, xs] + 0.5, 0, 255).astype(np.uint8)
    return out
