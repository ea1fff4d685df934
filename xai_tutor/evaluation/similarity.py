"""The structural similarity of two maps, SSIM (Wang et al., "Image quality assessment: from error
visibility to structural similarity", IEEE TIP 2004), as Random Logit compares maps with it.

For two maps ``a``, ``b`` of equal size, local statistics are taken under an ``11 x 11``
Gaussian window ``g`` (standard deviation 1.5 px, weights summing to 1), at every position where
the window lies inside the map:

    ``mu_a = g * a``,  ``sigma_a^2 = g * a^2 - mu_a^2``,  ``sigma_ab = g * (a b) - mu_a mu_b``,

    ``SSIM = mean over positions of ((2 mu_a mu_b + C1)(2 sigma_ab + C2)) /
    ((mu_a^2 + mu_b^2 + C1)(sigma_a^2 + sigma_b^2 + C2))``,

with ``C1 = (0.01 L)^2``, ``C2 = (0.03 L)^2`` and ``L`` the data range, by default the range of
the two maps together (``max - min`` over both; Quantus's choice). SSIM is 1 for identical maps
and near 0 for unrelated ones; it can be negative. Conventions: two identical constant maps
(``L = 0``) give 1; maps smaller than the window are refused. The paper's settings; scikit-image
gives the same with ``gaussian_weights=True, sigma=1.5, use_sample_covariance=False``.

Example::

    >>> import numpy as np
    >>> a = np.random.default_rng(0).random((20, 20))
    >>> ssim(a, a), round(ssim(a, 1 - a), 3) < 0
    (1.0, True)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..explanation import one_map

__all__ = ["ssim", "WINDOW", "SIGMA"]

WINDOW = 11
SIGMA = 1.5


def _gaussian() -> torch.Tensor:
    """The 1-D Gaussian ``g``; the 2-D window ``g g^T`` is applied as its two 1-D factors in
    turn (the same sums, in a fifth of the time)."""
    t = torch.arange(WINDOW, dtype=torch.float64) - WINDOW // 2
    g = torch.exp(-(t**2) / (2 * SIGMA**2))
    return g / g.sum()


def ssim(a: Any, b: Any, data_range: float | None = None) -> float:
    """Mean SSIM of two maps ``(H, W)`` (module docstring); ``data_range`` ``L`` defaults to the
    range of both maps together."""
    x, y = one_map(a), one_map(b)
    if x.shape != y.shape:
        raise ValueError(f"maps must have the same shape; got {x.shape} and {y.shape}")
    if min(x.shape) < WINDOW:
        raise ValueError(f"maps must be at least {WINDOW} x {WINDOW} pixels (the SSIM window); "
                         f"got {x.shape}")
    if data_range is None:
        data_range = float(max(x.max(), y.max()) - min(x.min(), y.min()))
    if data_range < 0:
        raise ValueError(f"data_range must be >= 0; got {data_range}")
    if data_range == 0:  # both maps constant (with the default range: the same constant)
        return 1.0 if np.array_equal(x, y) else 0.0
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    stack = torch.from_numpy(np.stack([x, y, x * x, y * y, x * y]))[:, None]
    g = _gaussian()
    mu_x, mu_y, xx, yy, xy = F.conv2d(F.conv2d(stack, g[None, None, :, None]),
                                      g[None, None, None, :])[:, 0]
    var_x, var_y, cov = xx - mu_x**2, yy - mu_y**2, xy - mu_x * mu_y
    value = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / (
        (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return float(value.mean())
