"""Image-blind baselines, and the rule that says when a metric cannot tell methods from a guess.

Two maps that know nothing about the image:

* :func:`centre_blob`: a Gaussian at the image centre, ``sigma = min(H, W) / 4``, peak 1
  (TorchRay's centre baseline as a map). Photographers, and our scenes, put objects near the
  middle; a metric on which this blob does well rewards *where* a map sits, not what it found.
* :func:`random_map`: uniform noise in ``[0, 1)`` drawn at ``resolution`` (a feature-map size such
  as ``(7, 7)``, or the full size) from a seeded generator and resized bilinearly to ``shape``.

**The baseline rule** (:func:`compare_to_baselines`; :data:`INFORMATIVE_RULE` says it in one
sentence for reports). For one metric and ``S`` scenes, let ``v_{k,s}`` be method ``k``'s value
on scene ``s``, ``c_s`` the centre blob's and ``r_s`` the random map's. The *median method* on
scene ``s`` is ``med_s = median_k v_{k,s}`` (over the methods measured on that scene). For each
image-blind baseline ``b`` (centre and random), take the paired differences
``d_s = med_s - b_s`` (``b_s - med_s`` when lower is better), their mean and standard error
``se = std(d, ddof=1) / sqrt(S)``. The metric is

    **informative** when ``mean(d) - 2 se > 0`` against **every** baseline given (the centre
    blob, and the random map when it was scored); otherwise **uninformative**,

i.e. the typical method must beat each image-blind guess by 2 standard errors, or the metric
cannot decide a verdict: a metric on which a random map does as well as the methods (coverage on
the course scenes: the random map spreads over every bird) measures nothing about the methods.
With fewer than 2 paired scenes the standard error is undefined and the metric is
uninformative. The same paired mean and SE are reported for every method (its margin over the
centre blob). This is the only place the rule is decided: the experiment's tables, its claims,
``scripts/results_readme.py`` and notebook 11 read ``BaselineComparison.informative``.

Example::

    >>> r = compare_to_baselines({"a": [0.9, 0.8, 0.85], "b": [0.7, 0.75, 0.8]}, [0.5, 0.5, 0.6])
    >>> r.informative, round(r.margin, 3)
    (True, 0.267)
    >>> compare_to_baselines({"a": [0.9, 0.8, 0.85], "b": [0.7, 0.75, 0.8]}, [0.5, 0.5, 0.6],
    ...                      random_values=[0.85, 0.8, 0.9]).informative   # random does as well
    False
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "INFORMATIVE_RULE",
    "BaselineComparison",
    "centre_blob",
    "random_map",
    "paired_mean_se",
    "compare_to_baselines",
    "compare_rows",
    "compare_metrics",
]


INFORMATIVE_RULE = (
    "a metric is informative when the median explanation method beats every image-blind "
    "baseline (the centre blob and the random map) by more than 2 standard errors of the "
    "paired differences over the scenes; otherwise it is uninformative and decides no verdict")
"""The baseline rule in one sentence, for reports (the module docstring gives the formula)."""


def _shape(shape: Any) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in shape)
    except (TypeError, ValueError):
        raise TypeError(f"shape must be (H, W), two positive ints; got {shape!r}") from None
    if h < 1 or w < 1:
        raise ValueError(f"shape must be (H, W) with positive sizes; got {shape!r}")
    return h, w


def centre_blob(shape: tuple[int, int], sigma_fraction: float = 0.25) -> np.ndarray:
    """``exp(-((y - yc)^2 + (x - xc)^2) / (2 sigma^2))``, centre ``((H-1)/2, (W-1)/2)``.

    ``sigma = sigma_fraction * min(H, W)`` (default a quarter of the shorter side); peak 1,
    float64 ``(H, W)``. Knows nothing of the image.
    """
    h, w = _shape(shape)
    if not sigma_fraction > 0:
        raise ValueError(f"sigma_fraction must be > 0; got {sigma_fraction}")
    sigma = sigma_fraction * min(h, w)
    yy, xx = np.mgrid[0:h, 0:w]
    return np.exp(-(((yy - (h - 1) / 2) ** 2 + (xx - (w - 1) / 2) ** 2) / (2 * sigma**2)))


def random_map(shape: tuple[int, int], seed: int = 0,
               resolution: tuple[int, int] | None = None) -> np.ndarray:
    """Seeded uniform noise in ``[0, 1)`` drawn at ``resolution`` and resized to ``shape``.

    ``resolution=None`` draws one value per pixel; ``(7, 7)`` mimics a CAM's coarse grid (then the
    grid is resized bilinearly, ``align_corners=False``). The same seed gives the same map.
    """
    h, w = _shape(shape)
    rh, rw = (h, w) if resolution is None else _shape(resolution)
    values = np.random.default_rng(seed).random((rh, rw))
    if (rh, rw) == (h, w):
        return values
    t = torch.from_numpy(values)[None, None]
    return F.interpolate(t, size=(h, w), mode="bilinear", align_corners=False)[0, 0].numpy()


def paired_mean_se(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, int]:
    """Mean, standard error (``ddof=1``) and count of ``a_s - b_s`` over the finite pairs.

    The SE is NaN with fewer than 2 pairs; the mean is NaN with none.
    """
    x = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return float("nan"), float("nan"), 0
    se = float(x.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan")
    return float(x.mean()), se, n


@dataclass(frozen=True)
class BaselineComparison:
    """Outcome of the baseline rule for one metric.

    Attributes:
        informative: the rule of the module docstring: ``margin - 2 * se > 0`` and, when the
            random map was scored, the same against it.
        margin: mean over scenes of (median method - centre blob), sign-flipped when lower is
            better, so positive always means "better than the blob".
        se: its standard error; ``n``: the number of paired scenes.
        higher_is_better: the metric's direction.
        by_method: ``{method: (margin, se, n)}``, each method's paired margin over the blob.
        random: ``(margin, se, n)`` of the median method over the random map, or ``None``.
        centre_mean, random_mean: the baselines' own mean values (``random_mean`` NaN if absent).
    """

    informative: bool
    margin: float
    se: float
    n: int
    higher_is_better: bool
    by_method: dict[str, tuple[float, float, int]] = field(default_factory=dict)
    random: tuple[float, float, int] | None = None
    centre_mean: float = float("nan")
    random_mean: float = float("nan")

    @property
    def label(self) -> str:
        """``"informative"`` or ``"uninformative"``, for tables."""
        return "informative" if self.informative else "uninformative"

    @property
    def beats_centre(self) -> bool:
        """The median method beats the centre blob by 2 SE."""
        return self.n >= 2 and math.isfinite(self.se) and self.margin - 2 * self.se > 0

    @property
    def beats_random(self) -> bool | None:
        """The median method beats the random map by 2 SE; ``None`` when it was not scored."""
        if self.random is None:
            return None
        m, se, n = self.random
        return bool(n >= 2 and math.isfinite(se) and m - 2 * se > 0)

    @property
    def meets_rule(self) -> bool:
        """:data:`INFORMATIVE_RULE` applied to the margins: beats the centre blob and, when it was
        scored, the random map (what :func:`compare_to_baselines` stores in ``informative``)."""
        return self.beats_centre and self.beats_random is not False

    def describe(self) -> str:
        """One line for a report, e.g. ``"median method - centre blob +0.144 +- 0.019 (2 SE
        0.038, n = 45); - random map +0.022 +- 0.024: uninformative"``."""
        better = "" if self.higher_is_better else " (lower is better; sign flipped)"
        text = (f"median method - centre blob {self.margin:+.3f} +- {self.se:.3f} "
                f"(2 SE {2 * self.se:.3f}, n = {self.n})")
        if self.random is not None:
            text += f"; - random map {self.random[0]:+.3f} +- {self.random[1]:.3f}"
        return f"{text}{better}: {self.label}"


def _as_values(name: str, values: Any, n: int | None) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if n is not None and arr.size != n:
        raise ValueError(
            f"{name} has {arr.size} values but the centre baseline has {n}; give one value per "
            "scene, in the same scene order (NaN where not measured)"
        )
    return arr


def compare_to_baselines(
    metric_values_by_method: Mapping[str, Sequence[float]],
    baseline_values: Sequence[float],
    random_values: Sequence[float] | None = None,
    higher_is_better: bool = True,
) -> BaselineComparison:
    """Apply the baseline rule to one metric.

    Args:
        metric_values_by_method: ``{method: [value per scene]}``, all in the same scene order
            (NaN where a method was not measured on a scene).
        baseline_values: the centre blob's value on each scene, same order.
        random_values: optionally the random map's value on each scene (all NaN: as if not
            given).
        higher_is_better: ``False`` for metrics such as deletion AUC.

    Returns:
        a :class:`BaselineComparison`; ``.informative`` says whether the metric may decide.
    """
    if not isinstance(metric_values_by_method, Mapping) or not metric_values_by_method:
        raise ValueError("metric_values_by_method must be a non-empty {method: values} mapping")
    centre = _as_values("baseline_values", baseline_values, None)
    n = centre.size
    table = np.stack([_as_values(f"method {k!r}", v, n)
                      for k, v in metric_values_by_method.items()])
    sign = 1.0 if higher_is_better else -1.0
    with np.errstate(all="ignore"):
        counts = np.isfinite(table).sum(axis=0)
        median = np.full(n, np.nan)
        for s in range(n):
            if counts[s]:
                median[s] = float(np.median(table[np.isfinite(table[:, s]), s]))
    margin, se, k = paired_mean_se(sign * median, sign * centre)
    by_method = {name: paired_mean_se(sign * row, sign * centre)
                 for name, row in zip(metric_values_by_method, table)}
    rnd = None
    rnd_mean = float("nan")
    if random_values is not None:
        r = _as_values("random_values", random_values, n)
        if np.isfinite(r).any():
            rnd = paired_mean_se(sign * median, sign * r)
            rnd_mean = float(np.nanmean(r))
    centre_mean = float(np.nanmean(centre)) if np.isfinite(centre).any() else float("nan")
    out = BaselineComparison(False, margin, se, k, higher_is_better, by_method, rnd,
                             centre_mean, rnd_mean)
    return dataclasses.replace(out, informative=out.meets_rule)


def compare_rows(
    rows: Iterable[Mapping[str, Any]],
    metric: str,
    centre: str = "centre_baseline",
    random: str | None = None,
    methods: Sequence[str] | None = None,
    higher_is_better: bool = True,
    scene_keys: Sequence[str] = ("model", "kind", "scene"),
) -> BaselineComparison:
    """The baseline rule on long-format rows such as the experiment's ``scores``.

    Each row has a ``"method"``, the ``scene_keys`` that identify a scene (pairs are formed per
    scene) and the ``metric`` (a number, or as read from a CSV a string; ``None`` or ``""``: not
    measured). Rows whose method is ``centre`` (or ``random``) are the baselines;
    ``methods`` restricts the methods compared (default: every other method in the rows).
    """
    table: dict[tuple[Any, ...], dict[str, float]] = {}
    for r in rows:
        key = tuple(r[k] for k in scene_keys)
        value = r.get(metric)
        missing = value is None or (isinstance(value, str) and not value.strip())
        table.setdefault(key, {})[r["method"]] = float("nan") if missing else float(value)
    baselines = {centre} | ({random} if random else set())
    names = list(methods) if methods is not None else sorted(
        {m for vals in table.values() for m in vals} - baselines)
    if not names:
        raise ValueError(f"no method rows besides the baselines {sorted(baselines)}")
    scenes = [k for k, vals in table.items() if centre in vals]
    if not scenes:
        raise ValueError(f"no row has method {centre!r}: pass the centre baseline's rows")
    by_method = {m: [table[s].get(m, float("nan")) for s in scenes] for m in names}
    c = [table[s][centre] for s in scenes]
    rnd = [table[s].get(random, float("nan")) for s in scenes] if random else None
    return compare_to_baselines(by_method, c, rnd, higher_is_better)


def compare_metrics(
    rows: Iterable[Mapping[str, Any]],
    metrics: Mapping[str, bool],
    centre: str = "centre_baseline",
    random: str | None = None,
    methods: Sequence[str] | None = None,
    scene_keys: Sequence[str] = ("model", "kind", "scene"),
) -> dict[str, BaselineComparison]:
    """:func:`compare_rows` for several metrics: ``{metric: higher_is_better}`` -> comparisons.

    Example: ``compare_metrics(scores, {"mass": True, "deletion": False}, random="random_map")``;
    a metric whose comparison is not ``.informative`` must not decide a verdict.
    """
    rows = list(rows)
    return {metric: compare_rows(rows, metric, centre, random, methods, higher, scene_keys)
            for metric, higher in metrics.items()}
