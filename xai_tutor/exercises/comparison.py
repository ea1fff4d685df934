"""Checks for notebook 11 (comparing the methods with numbers).

Four exercises, each computed here independently of :mod:`xai_tutor.evaluation` (plain NumPy,
written from the definitions, so that a bug in either shows up as a disagreement):

1. **Pointing game** (Zhang et al. 2016): the map's first maximum ``(row, col)`` in row-major
   order, and a function ``near_bird(point, masks, tolerance)``: whether a point lies within
   ``tolerance`` pixels (Euclidean) of any instance mask, tried on the notebook's map and on the
   check's own cases (a diagonal near miss, a point exactly at the tolerance, a second bird).
2. **Relevance mass**: ``sum(s on the union of the masks) / sum(s)``.
3. **A verdict from paired numbers**: the per-scene differences ``d_j = a_j - b_j``, their mean,
   the standard error ``std(d, ddof=1) / sqrt(n)`` and the verdict by the 2-SE rule used by
   :func:`xai_tutor.experiment.evaluate_claims`: ``"supported"`` if the mean is more than two
   standard errors on the claimed side of 0, ``"contradicted"`` if it is more than two on the
   other side, else ``"inconclusive"``.
4. **The chance level** (a prediction): the relevance mass of a map that ignores the image.

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
from collections.abc import Sequence
from typing import Any

import numpy as np

from .core import Expect, call_answer, exercise
from .feedback import Feedback, Slip, check_choice, check_close, check_with_slips, one_map

__all__ = [
    "VERDICTS",
    "check_pointing",
    "check_relevance_mass",
    "check_verdict",
    "check_chance_level",
]

VERDICTS = ("supported", "contradicted", "inconclusive")

#: Numbers computed from the same few values: equal to rounding (float64).
_EXACT: dict[str, float] = {"rtol": 1e-6, "atol_rel": 0.0, "atol": 1e-9}


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
    s = one_map(saliency)
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
    s = one_map(saliency)
    m = _masks(masks, s.shape)
    point = _expected_point(s)
    if point is None:
        return False
    return _distance_to_masks(point, m) <= tolerance


def _point_feedback(p: tuple[int, ...], exp_point: tuple[int, int] | None,
                    s: np.ndarray) -> Feedback | None:
    if exp_point is None:
        return None  # a constant map: any point, the game counts a miss
    if len(p) != 2:
        return Feedback(False, f"`point` should hold two numbers (row, col); got {len(p)}.",
                        name="point")
    if p == exp_point:
        return None
    if p == exp_point[::-1]:
        msg = ("`point` is (col, row): NumPy arrays are indexed [row, col], and "
               "np.unravel_index(s.argmax(), s.shape) returns (row, col).")
    elif p == _expected_point(-s):
        msg = "`point` is the map's minimum: the game points with the maximum (argmax)."
    elif all(0 <= v < n for v, n in zip(p, s.shape)) and s[p] == s.max():
        msg = ("`point` is a maximum, but not the first one in row-major order (ties are broken "
               "by np.argmax, which scans row by row).")
    else:
        msg = "`point` is not where the map is largest: use s.argmax() and np.unravel_index."
    return Feedback(False, msg, [f"your point {p}, the expected point {exp_point}"], "point")


def _hit_feedback(hit: Any, point: tuple[int, int] | None, masks: np.ndarray,
                  tolerance: float) -> Feedback | None:
    """None when ``hit`` is the pointing game's answer for ``point``, else what is wrong."""
    if isinstance(hit, (np.bool_, np.integer)) or hasattr(hit, "item") and np.size(hit) == 1:
        hit = bool(hit)
    if not isinstance(hit, bool):
        return Feedback(False, f"`near_bird` should return True or False, not a "
                               f"{type(hit).__name__}.", name="near_bird")
    exp_hit = point is not None and _distance_to_masks(point, masks) <= tolerance
    if hit == exp_hit:
        return None
    d = _distance_to_masks(point, masks) if point is not None else math.inf
    inside = point is not None and bool(masks[:, point[0], point[1]].any())
    details = [f"point {point}: distance to the nearest mask pixel {d:.2f} px, tolerance "
               f"{tolerance} px; near_bird said {hit}"]
    if exp_hit and not inside:
        msg = ("the point is outside every mask but within the tolerance, so it counts as a "
               "hit: the game forgives a near miss of up to `tolerance` pixels (distance <= "
               "tolerance).")
    elif not exp_hit and point is not None and d <= tolerance * math.sqrt(2) + 1.5:
        msg = ("close, but measure the Euclidean distance sqrt(dr**2 + dc**2) to the nearest mask "
               "pixel: a square window (max(|dr|, |dc|) <= tolerance) or rounding reaches too "
               "far along the diagonals.")
    elif not exp_hit:
        msg = "the point is too far from every mask to count as a hit."
    else:
        msg = "the point lies on a bird (or within the tolerance): a hit."
    return Feedback(False, msg, details, "near_bird")


def _probe_cases(tolerance: float) -> list[tuple[str, tuple[int, int], np.ndarray]]:
    """The check's own pointing cases: (what, point, masks), with one-pixel birds."""
    t = max(float(tolerance), 1.0)
    n = int(math.ceil(2 * t)) + 4
    one = np.zeros((2, n, n), bool)
    one[0, n - 2, n - 2] = True                   # bird 0: one pixel in a corner
    one[1, 1, n - 2] = True                       # bird 1: one pixel in another corner
    d = int(math.floor(t / math.sqrt(2))) + 1     # a diagonal step just beyond the tolerance
    k = int(math.floor(t))
    return [("a diagonal near miss", (n - 2 - d, n - 2 - d), one[:1]),
            ("a point on the bird", (n - 2, n - 2), one[:1]),
            ("a point straight above the bird", (n - 2 - k, n - 2), one[:1]),
            ("a point near the second bird only", (1 + k // 2, n - 2), one)]


@exercise("comparison.pointing", "point", "near_bird", "ex_map", "ex_masks", "tolerance",
          answers=2, notebook="11")
def check_pointing(point: Any, near_bird: Any, saliency: Any, masks: Any,
                   tolerance: float = 15.0) -> Feedback:
    """``point = (row, col)`` of the map's first maximum, and ``near_bird(point, masks,
    tolerance)``, a function that says whether ``point`` lies within ``tolerance`` pixels
    (Euclidean) of a pixel of any of the masks ``(N, H, W)``: the pointing game in two steps."""
    s = one_map(saliency)
    m = _masks(masks, s.shape)
    exp_point = _expected_point(s)
    try:
        p = tuple(int(v) for v in np.asarray(point).reshape(-1))
    except (TypeError, ValueError):
        return Feedback(False, "`point` should be a pair of ints (row, col), e.g. "
                               "np.unravel_index(s.argmax(), s.shape).", name="point")
    wrong = _point_feedback(p, exp_point, s)
    if wrong is not None:
        return wrong
    if exp_point is not None:
        hit = call_answer("near_bird", near_bird, exp_point, m, tolerance)
        wrong = hit if isinstance(hit, Feedback) else _hit_feedback(hit, exp_point, m, tolerance)
        if wrong is not None:
            return wrong
    for what, probe, probe_masks in _probe_cases(tolerance):
        hit = call_answer("near_bird", near_bird, probe, probe_masks, tolerance)
        wrong = hit if isinstance(hit, Feedback) else _hit_feedback(hit, probe, probe_masks,
                                                                     tolerance)
        if wrong is not None:
            if probe_masks.shape[0] > 1 and hit is False:
                wrong.message = ("the point is near the SECOND bird: test every mask "
                                 "(masks.any(axis=0)), not only the first.")
            wrong.details.insert(0, f"on the check's own case: {what} ({probe_masks.shape[0]} "
                                    f"one-pixel bird(s) on a {probe_masks.shape[1]} x "
                                    f"{probe_masks.shape[2]} grid)")
            return wrong
    where = ("constant map: a miss" if exp_point is None else
             f"point {exp_point}, {'a hit' if _expected_hit(s, m, tolerance) else 'a miss'}")
    return Feedback(True, f"{where}; near_bird is also right on the check's own cases.",
                    name="pointing")


# ---------------------------------------------------------------------------- relevance mass


def _expected_relevance_mass(saliency: Any, masks: Any) -> float:
    """``sum(s * union) / sum(s)``; 0 for a map that sums to 0."""
    s = one_map(saliency)
    union = _masks(masks, s.shape).any(axis=0)
    total = s.sum()
    return float(s[union].sum() / total) if total > 0 else 0.0


@exercise("comparison.relevance_mass", "mass", "ex_map", "ex_masks", notebook="11")
def check_relevance_mass(mass: Any, saliency: Any, masks: Any) -> Feedback:
    """The share of the map's total saliency that falls inside the union of the masks."""
    s = one_map(saliency)
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


@exercise("comparison.verdict", "mean", "se", "verdict", "claim_a", "claim_b", answers=3,
          notebook="11b")
def check_verdict(mean: Any, se: Any, verdict: Any, a: Sequence[float], b: Sequence[float],
                  higher_supports: bool = True) -> Feedback:
    """The mean paired difference ``a - b``, its standard error and the verdict.

    ``higher_supports`` says which side of 0 supports the claim (``True``: ``a`` larger).
    """
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
    root = f"sqrt(n) = sqrt({n}) = {math.sqrt(n):.4g}"
    slips: list[Slip] = [
        (float(d.std(ddof=0) / math.sqrt(n)), "you used the population std (ddof=0); the "
         "standard error of a sample mean uses ddof=1: d.std(ddof=1) / sqrt(n).", seen),
        (float(d.std(ddof=1)), f"that is the standard deviation of the differences, {root} "
         "times too large: the standard error divides it by sqrt(n).", seen),
        (float(d.std(ddof=0)), f"that is the standard deviation of the differences (NumPy's "
         f"default ddof=0), not its standard error: use d.std(ddof=1) / {root}.", seen),
        (float(math.sqrt(x.var(ddof=1) / n + y.var(ddof=1) / n)),
         "that is the unpaired standard error (two independent samples); the methods ran on the "
         "SAME scenes, so take the std of the per-scene differences.", seen),
    ]
    # an answer computed in float32 (a torch tensor, np.float32 scores) rounds at 1e-7
    single = getattr(se, "dtype", None) in (np.float32, "float32") or "float32" in str(
        getattr(se, "dtype", ""))
    fb = check_with_slips("se", g_se, e_se, slips, **_EXACT, slip_rtol=1e-4,
                          precision=np.float32 if single else None,
                          hints={"factor": f"a factor of {root}: the standard error is the "
                                           "standard deviation divided by sqrt(n)."})
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



CHANCE = ("0", "the birds' share of the image area", "1 / the number of birds", "1")


@exercise("comparison.chance_level", "uniform_mass", "ex_masks", notebook="11", prediction=True)
def check_chance_level(got: Any, masks: Any) -> Expect:
    """Predict the relevance mass of a map that ignores the image (the same value at every
    pixel) on the birds ``masks`` (one of :data:`CHANCE`). Computed here for a constant map."""
    m = np.asarray(masks, dtype=bool)
    m = m[None] if m.ndim == 2 else m
    constant = np.ones(m.shape[1:])
    mass = _expected_relevance_mass(constant, m)
    area = float(m.any(axis=0).mean())
    outcome = CHANCE[1] if abs(mass - area) < 1e-12 else "other"
    why = (f"a constant map puts the same mass on every pixel, so the birds get exactly the share "
           f"of the pixels they cover ({area:.1%} here): the chance level of relevance mass. A "
           "map is informative about the birds only where it beats this number; always read a "
           "mass next to its area share.")
    return Expect(outcome, judge=check_choice, choices=CHANCE, why=why,
                  details=[f"mass of a constant map {mass:.4f}, the birds' area share {area:.4f}"])


NOISE_VERDICTS = ("passes", "fails", "undecided")


@exercise("comparison.noise_randomisation", "noise_verdict", "first_model", "half_images",
          notebook="11b", prediction=True)
def check_noise_randomisation(got: Any, model: Any, images: Any) -> Expect:
    """Predict the randomisation check's verdict (one of :data:`NOISE_VERDICTS`) on the
    reference map ``ev.weight_noise``: noise seeded by the model's weights, blind to the image.
    The check runs it on ``model`` and ``images`` with the default stages and seeds."""
    from ..evaluation import randomisation_check, weight_noise

    verdict = randomisation_check(model, list(images), [weight_noise],
                                  progress=False).verdicts()["weight_noise"]
    why = (f"the noise changes completely as soon as one weight changes, so its similarity to "
           f"the trained model's noise is about 0 at every stage: it {verdict.verdict} "
           f"({verdict.reason}). Yet it shows nothing about the image: passing the check rules "
           "nothing in; it only rules out maps that do not depend on the weights.")
    return Expect(verdict.verdict, judge=check_choice, choices=NOISE_VERDICTS, why=why)
