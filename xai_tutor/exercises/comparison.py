"""Checks and solutions for notebook 11 (comparing the methods with numbers).

Three exercises, each computed here independently of :mod:`xai_tutor.evaluation` (plain NumPy,
written from the definitions, so that a bug in either shows up as a disagreement):

1. **Pointing game** (Zhang et al. 2016): the map's first maximum ``(row, col)`` in row-major
   order, and whether it lies within ``tolerance`` pixels (Euclidean) of any instance mask.
2. **Relevance mass**: ``sum(s on the union of the masks) / sum(s)``.
3. **A verdict from paired numbers**: the per-scene differences ``d_j = a_j - b_j``, their mean,
   the standard error ``std(d, ddof=1) / sqrt(n)`` and the verdict by the 2-SE rule used by
   :func:`xai_tutor.experiment.evaluate_claims`: ``"supported"`` if the mean is more than two
   standard errors on the claimed side of 0, ``"contradicted"`` if it is more than two on the
   other side, else ``"inconclusive"``.

Example::

    >>> import numpy as np
    >>> from xai_tutor.exercises.comparison import check_relevance_mass
    >>> s = np.array([[1.0, 3.0], [0.0, 0.0]])
    >>> m = np.array([[[False, True], [False, False]]])
    >>> check_relevance_mass(0.75, s, m).ok, check_relevance_mass(0.25, s, m).ok
    (True, False)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .core import (
    Feedback,
    Slip,
    _not_answered,
    check_close,
    check_with_slips,
    exercise_check,
    register_check,
)

__all__ = [
    "VERDICTS",
    "check_pointing",
    "check_relevance_mass",
    "check_verdict",
]

VERDICTS = ("supported", "contradicted", "inconclusive")

#: Numbers computed from the same few values: equal to rounding (float64).
_EXACT: dict[str, float] = {"rtol": 1e-6, "atol_rel": 0.0, "atol": 1e-9}


def _map(saliency: Any) -> np.ndarray:
    if hasattr(saliency, "detach"):
        saliency = saliency.detach().cpu().numpy()
    s = np.asarray(saliency, dtype=np.float64)
    while s.ndim > 2 and s.shape[0] == 1:
        s = s[0]
    if s.ndim != 2:
        raise ValueError(f"the exercise's saliency must be one map (H, W); got shape {s.shape}")
    return s


def _masks(masks: Any, shape: tuple[int, ...]) -> np.ndarray:
    m = np.asarray(masks, dtype=bool)
    if m.ndim == 2:
        m = m[None]
    if m.ndim != 3 or m.shape[1:] != tuple(shape):
        raise ValueError(f"the exercise's masks must have shape (N, {shape[0]}, {shape[1]}); got "
                         f"{m.shape}")
    return m


# ---------------------------------------------------------------------------- pointing game


def _expected_point(saliency: Any) -> tuple[int, int] | None:
    """``(row, col)`` of the first maximum in row-major order; ``None`` for a constant map."""
    s = _map(saliency)
    if s.max() == s.min():
        return None
    flat = int(np.flatnonzero(s.reshape(-1) == s.max())[0])
    return flat // s.shape[1], flat % s.shape[1]


def _distance_to_masks(point: tuple[int, int], masks: np.ndarray) -> float:
    rows, cols = np.nonzero(masks.any(axis=0))
    if rows.size == 0:
        return math.inf
    return float(np.sqrt((rows - point[0]) ** 2 + (cols - point[1]) ** 2).min())


def _expected_hit(saliency: Any, masks: Any, tolerance: float = 15.0) -> bool:
    """Whether the first maximum lies within ``tolerance`` px of a mask pixel (constant: miss)."""
    s = _map(saliency)
    m = _masks(masks, s.shape)
    point = _expected_point(s)
    if point is None:
        return False
    return _distance_to_masks(point, m) <= tolerance


@exercise_check
def check_pointing(point: Any, hit: Any, saliency: Any, masks: Any,
                   tolerance: float = 15.0) -> Feedback:
    """Exercise: ``point = (row, col)`` of the map's maximum and ``hit`` (a bool) of the pointing
    game with ``tolerance`` pixels."""
    for name, got in (("point", point), ("hit", hit)):
        missing = _not_answered(name, got)
        if missing is not None:
            return missing
    s = _map(saliency)
    m = _masks(masks, s.shape)
    exp_point = _expected_point(s)
    exp_hit = _expected_hit(s, m, tolerance)
    try:
        p = tuple(int(v) for v in np.asarray(point).reshape(-1))
    except (TypeError, ValueError):
        return Feedback(False, "`point` should be a pair of ints (row, col), e.g. "
                               "np.unravel_index(s.argmax(), s.shape).", name="pointing")
    if exp_point is None:
        pass  # a constant map: any point, the game counts a miss
    elif len(p) != 2:
        return Feedback(False, f"`point` should hold two numbers (row, col); got {len(p)}.",
                        name="pointing")
    elif p != exp_point:
        details = [f"your point {p}, the expected point {exp_point}"]
        if p == exp_point[::-1]:
            msg = ("`point` is (col, row): NumPy arrays are indexed [row, col], and "
                   "np.unravel_index(s.argmax(), s.shape) returns (row, col).")
        elif p == _expected_point(-s):
            msg = "`point` is the map's minimum: the game points with the maximum (argmax)."
        elif all(0 <= v < n for v, n in zip(p, s.shape)) and s[p] == s.max():
            msg = ("`point` is a maximum, but not the first one in row-major order (ties are "
                   "broken by np.argmax, which scans row by row).")
        else:
            msg = "`point` is not where the map is largest: use s.argmax() and np.unravel_index."
        return Feedback(False, msg, details, "pointing")
    if isinstance(hit, (np.bool_, np.integer)):
        hit = bool(hit)
    if not isinstance(hit, bool):
        return Feedback(False, f"`hit` should be True or False, not a {type(hit).__name__}.",
                        name="pointing")
    if hit != exp_hit:
        d = _distance_to_masks(exp_point, m) if exp_point is not None else math.inf
        inside = exp_point is not None and bool(m[:, exp_point[0], exp_point[1]].any())
        details = [f"distance from the point to the nearest mask pixel: {d:.2f} px, tolerance "
                   f"{tolerance} px"]
        if exp_hit and not inside:
            msg = ("the point is outside every mask but within the tolerance, so it counts as a "
                   "hit: the game forgives a near miss of up to `tolerance` pixels.")
        elif not exp_hit and exp_point is not None and d <= tolerance + 1.5:
            msg = ("close, but measure the Euclidean distance sqrt(dr**2 + dc**2) to the nearest "
                   "mask pixel: a square window (max(|dr|, |dc|)) or rounding reaches too far.")
        elif not exp_hit:
            msg = "the point is too far from every mask to count as a hit."
        else:
            msg = "the point lies on a bird (or within the tolerance): a hit."
        return Feedback(False, msg, details, "pointing")
    where = ("constant map: a miss" if exp_point is None else
             f"point {exp_point}, {'a hit' if exp_hit else 'a miss'}")
    return Feedback(True, f"{where}.", name="pointing")


# ---------------------------------------------------------------------------- relevance mass


def _expected_relevance_mass(saliency: Any, masks: Any) -> float:
    """``sum(s * union) / sum(s)``; 0 for a map that sums to 0."""
    s = _map(saliency)
    union = _masks(masks, s.shape).any(axis=0)
    total = s.sum()
    return float(s[union].sum() / total) if total > 0 else 0.0


@exercise_check
def check_relevance_mass(mass: Any, saliency: Any, masks: Any) -> Feedback:
    """Exercise: the share of the map's total saliency that falls inside the union of the masks."""
    missing = _not_answered("mass", mass)
    if missing is not None:
        return missing
    s = _map(saliency)
    m = _masks(masks, s.shape)
    expected = _expected_relevance_mass(s, m)
    union = m.any(axis=0)
    total = s.sum()
    try:
        g = float(np.asarray(mass, dtype=np.float64).reshape(-1)[0]) if np.size(mass) == 1 else None
    except (TypeError, ValueError):
        g = None
    if g is None:
        return Feedback(False, f"`mass` should be one number (a float between 0 and 1); got "
                               f"{type(mass).__name__} {np.shape(mass)}.", name="mass")
    seen = [f"got {g:.6g}, expected {expected:.6g}"]
    slips: list[Slip] = []
    if total > 0:
        slips.append((1 - expected, "that is the share OUTSIDE the birds: 1 - mass.", seen))
        slips.append((float(s[m[0]].sum() / total), "you used only the first bird's mask: take "
                      "the union of all masks, masks.any(axis=0).", seen))
    if union.any():
        slips.append((float(s[union].mean()), "that is the mean saliency on the birds; divide "
                      "the sum on the birds by the sum over the WHOLE map.", seen))
    slips.append((float(union.mean()), "that is the birds' share of the image area (what a "
                  "uniform map would score), not a property of the map.", seen))
    slips.append((float(s[union].sum()), "that is the saliency summed on the birds; divide it "
                  "by the total saliency of the map.", seen))
    fb = check_with_slips("mass", g, expected, slips, **_EXACT)
    if fb.ok:
        fb.details.append(f"{expected:.1%} of the relevance lies on the birds, which cover "
                          f"{union.mean():.1%} of the image.")
    return fb


# ---------------------------------------------------------------------------- verdicts


def _expected_paired(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, int]:
    """Mean, standard error (ddof 1) and count of the paired differences ``a_j - b_j``."""
    x = np.asarray(a, dtype=np.float64).reshape(-1)
    y = np.asarray(b, dtype=np.float64).reshape(-1)
    if x.shape != y.shape:
        raise ValueError(f"a and b must be paired (same length); got {x.size} and {y.size}")
    d = x - y
    n = d.size
    if n < 2:
        raise ValueError("a standard error needs at least two pairs")
    mean = float(d.sum() / n)
    var = float(((d - mean) ** 2).sum() / (n - 1))
    return mean, math.sqrt(var / n), n


def _expected_verdict(mean: float, se: float, higher_supports: bool = True) -> str:
    """The 2-SE rule: supported / contradicted / inconclusive."""
    signed = mean if higher_supports else -mean
    if signed - 2 * se > 0:
        return "supported"
    if signed + 2 * se < 0:
        return "contradicted"
    return "inconclusive"


@exercise_check
def check_verdict(mean: Any, se: Any, verdict: Any, a: Sequence[float], b: Sequence[float],
                  higher_supports: bool = True) -> Feedback:
    """Exercise: the mean paired difference ``a - b``, its standard error and the verdict.

    ``higher_supports`` says which side of 0 supports the claim (``True``: ``a`` larger).
    """
    for name, got in (("mean", mean), ("se", se), ("verdict", verdict)):
        missing = _not_answered(name, got)
        if missing is not None:
            return missing
    e_mean, e_se, n = _expected_paired(a, b)
    fb = check_close("mean", mean, e_mean, atol=1e-9, rtol=1e-6,
                     hints={"sign": "the difference is a - b (the claimed method minus the "
                                    "reference), not b - a."})
    if not fb.ok:
        return fb
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    d = x - y
    try:
        g_se = float(se)
    except (TypeError, ValueError):
        return Feedback(False, f"`se` should be a number; got {type(se).__name__}.", name="se")
    seen = [f"got {g_se:.6g}, expected {e_se:.6g}"]
    slips: list[Slip] = [
        (float(d.std(ddof=0) / math.sqrt(n)), "you used the population std (ddof=0); the "
         "standard error of a sample mean uses ddof=1: d.std(ddof=1) / sqrt(n).", seen),
        (float(d.std(ddof=1)), "that is the standard deviation of the differences; the "
         "standard error divides it by sqrt(n).", seen),
        (float(math.sqrt(x.var(ddof=1) / n + y.var(ddof=1) / n)),
         "that is the unpaired standard error (two independent samples); the methods ran on the "
         "SAME scenes, so take the std of the per-scene differences.", seen),
    ]
    fb = check_with_slips("se", g_se, e_se, slips, **_EXACT)
    if not fb.ok:
        return fb
    e_verdict = _expected_verdict(e_mean, e_se, higher_supports)
    if not isinstance(verdict, str) or verdict.strip().lower() not in VERDICTS:
        return Feedback(False, f"`verdict` should be one of {', '.join(VERDICTS)}; got "
                               f"{verdict!r}.", name="verdict")
    v = verdict.strip().lower()
    interval = f"mean ± 2 SE = [{e_mean - 2 * e_se:+.4f}, {e_mean + 2 * e_se:+.4f}]"
    if v != e_verdict:
        if e_verdict == "inconclusive":
            msg = ("the interval mean ± 2 SE contains 0: with this much scatter the difference "
                   "could be noise, so the verdict is inconclusive.")
        elif v == "inconclusive":
            msg = ("the whole interval mean ± 2 SE lies on one side of 0, so the data decide: "
                   f"{e_verdict}.")
        else:
            side = "higher" if higher_supports else "lower"
            msg = (f"mind the direction: the claim is supported when a is {side} than b; "
                   f"here the verdict is {e_verdict}.")
        return Feedback(False, msg, [interval], "verdict")
    return Feedback(True, f"{e_verdict}: {interval} (n = {n} paired scenes).", name="verdict")


# ---------------------------------------------------------------------------- solutions


def _ns_check(fn: Callable[..., Feedback], *names: str) -> Callable[[dict[str, Any]], Feedback]:
    return lambda ns: fn(*(ns[n] for n in names))


register_check(
    "comparison.pointing",
    check=_ns_check(check_pointing, "point", "hit", "ex_map", "ex_masks", "tolerance"),
)

register_check(
    "comparison.relevance_mass",
    check=_ns_check(check_relevance_mass, "mass", "ex_map", "ex_masks"),
)

register_check(
    "comparison.verdict",
    check=_ns_check(check_verdict, "mean", "se", "verdict", "claim_a", "claim_b"),
)
