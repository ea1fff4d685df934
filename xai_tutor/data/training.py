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

from .backgrounds import BACKGROUNDS, make_background
from .birds import SPECIES, load_cutout
from .scenes import _mask_at, _paste, _sprite


def make_training_sample(
    species_index: int,
    size: tuple[int, int] = (160, 112),
    rng: np.random.Generator | int | None = None,
    *,
    background: str | None = None,
    flip: bool = True,
    scale: tuple[float, float] = (0.45, 0.9),
    jitter: float = 0.1,
    return_mask: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """One uint8 (H, W, 3) image of bird ``SPECIES[species_index]``; ``size`` = (W, H).

    ``rng`` is a numpy Generator (or a seed); ``scale`` bounds the bird's height as a share of
    the image height; ``jitter`` bounds the brightness / contrast change. With
    ``return_mask=True`` the bird's (H, W) bool mask comes too.
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
    h, w = alpha.shape
    x = int(rng.integers(0, max(width - w, 0) + 1))
    y = int(rng.integers(0, max(height - h, 0) + 1))
    _paste(canvas, rgb, alpha, x, y)
    if jitter:
        gain = 1.0 + rng.uniform(-jitter, jitter)
        mean = canvas.mean()
        canvas = (canvas - mean) * (1.0 + rng.uniform(-jitter, jitter)) + mean * gain
    image = np.clip(canvas + 0.5, 0, 255).astype(np.uint8)
    if return_mask:
        return image, _mask_at(alpha, x, y, width, height)
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
