"""Uncertainty over scenes: a seeded percentile bootstrap.

Scenes are the unit of replication: a statistic computed from ``n`` scenes is recomputed on
``resamples`` samples of ``n`` scenes drawn with replacement (the same draw for every column of
one scene, so paired differences stay paired), and the interval is the ``(1 - level) / 2`` and
``(1 + level) / 2`` quantiles of those values (Efron's percentile interval). The draws come
from ``numpy.random.default_rng(seed)``: the same seed gives the same interval.

Example::

    >>> import numpy as np
    >>> e = bootstrap(np.array([0.1, 0.4, 0.3, 0.2]), np.mean, seed=0)
    >>> round(e.value, 3), e.low <= e.value <= e.high, e.n
    (0.25, True, 4)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Estimate", "bootstrap", "RESAMPLES", "LEVEL"]

RESAMPLES = 1000
LEVEL = 0.95


@dataclass(frozen=True)
class Estimate:
    """A statistic over scenes (``value``, on all ``n`` scenes) and its bootstrap interval."""

    value: float
    low: float
    high: float
    n: int

    def above(self, threshold: float = 0.0) -> bool:
        """The whole interval lies above ``threshold``."""
        return bool(self.low > threshold)

    def below(self, threshold: float = 0.0) -> bool:
        """The whole interval lies below ``threshold``."""
        return bool(self.high < threshold)

    def text(self, digits: int = 2) -> str:
        """``"0.25 [0.15, 0.35]"``; ``"n/a"`` when not measured."""
        if not np.isfinite(self.value):
            return "n/a"
        return f"{self.value:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


def _clean(samples: object) -> np.ndarray:
    data = np.asarray(samples, dtype=np.float64)
    if data.ndim == 0:
        raise ValueError("samples must have a scene axis")
    keep = np.isfinite(data.reshape(len(data), -1)).all(axis=1)
    return data[keep]


def bootstrap(samples: np.ndarray | Sequence[np.ndarray], statistic: Callable[..., float], *,
              resamples: int = RESAMPLES, seed: int = 0, level: float = LEVEL) -> Estimate:
    """``statistic`` of ``samples`` (scenes along axis 0) with its percentile interval.

    ``samples`` may also be a list of arrays, one per group (e.g. per model): each group's
    scenes are then resampled within the group (a stratified bootstrap) and ``statistic``
    receives the list. Scenes whose row holds a NaN are dropped first. A group with fewer than
    2 scenes: the interval is the value itself (one scene says nothing about the spread); no
    scene: all NaN.
    """
    grouped = isinstance(samples, (list, tuple))
    groups = [_clean(g) for g in (samples if grouped else [samples])]
    if not isinstance(resamples, int) or isinstance(resamples, bool) or resamples < 1:
        raise ValueError(f"resamples must be a whole number >= 1; got {resamples!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1); got {level!r}")
    sizes = [len(g) for g in groups]
    n = sum(sizes)
    if min(sizes) == 0:
        nan = float("nan")
        return Estimate(nan, nan, nan, n)
    call = (lambda gs: statistic(gs)) if grouped else (lambda gs: statistic(gs[0]))
    value = float(call(groups))
    if min(sizes) < 2:
        return Estimate(value, value, value, n)
    rng = np.random.default_rng(seed)
    draws = [rng.integers(0, size, size=(resamples, size)) for size in sizes]
    values = np.array([call([g[d[b]] for g, d in zip(groups, draws)])
                       for b in range(resamples)], dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return Estimate(value, float("nan"), float("nan"), n)
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return Estimate(value, float(low), float(high), n)
