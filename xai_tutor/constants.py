"""Constants the whole package shares, defined once (import them from here or ``xai_tutor.data``).

``IMAGENET_MEAN`` / ``IMAGENET_STD``: the per-channel RGB statistics of ImageNet that every
torchvision classifier (and the course models) expect: ``x = (rgb - mean) / std`` for ``rgb`` in
``[0, 1]``.

>>> [round((1.0 - m) / s, 3) for m, s in zip(IMAGENET_MEAN, IMAGENET_STD)]
[2.249, 2.429, 2.64]
"""

from __future__ import annotations

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD"]

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)
