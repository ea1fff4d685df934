"""Checks of notebook 11 (comparison): independent formulas agree with xai_tutor.evaluation and
the experiment's verdict rule, every diagnosed slip is caught, and the solutions pass."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xai_tutor import evaluation as ev
from xai_tutor.exercises import comparison as ex
from xai_tutor.experiment import _verdict

from solutions import run_solution


@pytest.fixture(scope="module")
def toy():
    """A 20 x 30 map with its peak 3 px left of bird 1, and two rectangular birds."""
    rng = np.random.default_rng(0)
    s = rng.random((20, 30)) * 0.5
    s[10, 17] = 2.0
    masks = np.zeros((2, 20, 30), bool)
    masks[0, 2:6, 2:8] = True
    masks[1, 8:14, 20:27] = True
    return s, masks


def near_bird(point, masks, tolerance):
    """The right answer: Euclidean distance to the nearest pixel of any mask."""
    rows, cols = np.nonzero(np.asarray(masks).any(axis=0))
    return bool(rows.size and np.sqrt((rows - point[0]) ** 2 + (cols - point[1]) ** 2).min()
                <= tolerance)


def square_window(point, masks, tolerance):
    rows, cols = np.nonzero(np.asarray(masks).any(axis=0))
    return bool(np.maximum(abs(rows - point[0]), abs(cols - point[1])).min() <= tolerance)


def strictly_closer(point, masks, tolerance):
    rows, cols = np.nonzero(np.asarray(masks).any(axis=0))
    return bool(np.sqrt((rows - point[0]) ** 2 + (cols - point[1]) ** 2).min() < tolerance)


def first_bird_only(point, masks, tolerance):
    return near_bird(point, np.asarray(masks)[:1], tolerance)


def always(value):
    return lambda point, masks, tolerance: value


def random_case(seed: int):
    rng = np.random.default_rng(seed)
    h, w = rng.integers(5, 40, size=2)
    s = rng.random((h, w)) ** 3
    if seed % 3 == 0:
        s = np.round(s, 1)  # ties at the maximum
    masks = rng.random((int(rng.integers(1, 4)), h, w)) > 0.97
    return s, masks


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("tol", [0.0, 1.0, 2.5, 6.0])
def test_pointing_matches_library(seed, tol):
    s, masks = random_case(seed)
    lib = ev.pointing_game(s, masks, tol)
    assert ex._expected_point(s) == lib.point
    assert ex._expected_hit(s, masks, tol) == lib.hit


def test_pointing_constant_map_is_a_miss():
    masks = np.ones((1, 4, 4), bool)
    assert ex._expected_point(np.zeros((4, 4))) is None
    assert not ex._expected_hit(np.zeros((4, 4)), masks)
    assert ex.check_pointing((0, 0), near_bird, np.zeros((4, 4)), masks).ok
    assert not ex.check_pointing((0, 0), always(True), np.zeros((4, 4)), masks).ok


@pytest.mark.parametrize("seed", range(20))
def test_relevance_mass_matches_library(seed):
    s, masks = random_case(seed)
    assert math.isclose(ex._expected_relevance_mass(s, masks), ev.relevance_mass(s, masks),
                        rel_tol=1e-12, abs_tol=1e-15)


def test_check_pointing_diagnoses(toy):
    s, masks = toy
    assert ex._expected_point(s) == (10, 17)
    # 3 px from bird 1's left edge (column 20): a hit with 15 px, a miss with 2 px
    assert ex.check_pointing((10, 17), near_bird, s, masks, 15).ok
    assert ex.check_pointing((10, 17), near_bird, s, masks, 2).ok
    assert "placeholder" in ex.check_pointing(None, near_bird, s, masks).message
    assert "placeholder" in ex.check_pointing((10, 17), ..., s, masks).message
    stub = ex.check_pointing((10, 17), always(None), s, masks)
    assert "placeholder" in stub.message and not stub.answered
    assert "(col, row)" in ex.check_pointing((17, 10), near_bird, s, masks).message
    low = tuple(int(v) for v in np.unravel_index(s.argmin(), s.shape))
    assert "minimum" in ex.check_pointing(low, near_bird, s, masks).message
    assert "argmax" in ex.check_pointing((0, 0), near_bird, s, masks).message
    fb = ex.check_pointing((10, 17), always(False), s, masks, 15)
    assert not fb.ok and "near miss" in fb.message
    fb = ex.check_pointing((10, 17), always(True), s, masks, 2)
    assert not fb.ok and "Euclidean" in fb.message
    assert "True or False" in ex.check_pointing((10, 17), always("yes"), s, masks).message
    assert ex.check_pointing(np.array([10, 17]), lambda p, m, t: np.bool_(near_bird(p, m, t)),
                             s, masks).ok
    fb = ex.check_pointing((10, 17), lambda p, m, t: 1 / 0, s, masks)
    assert not fb.ok and "ZeroDivisionError" in fb.message


def test_check_pointing_rejects_a_square_window_the_data_cannot_show(toy):
    """On the toy map a square window gives the right hit; the check's own diagonal case does
    not, and the feedback names the Euclidean distance."""
    s, masks = toy
    assert square_window((10, 17), masks, 15) == near_bird((10, 17), masks, 15)
    fb = ex.check_pointing((10, 17), square_window, s, masks, 15)
    assert not fb.ok and "Euclidean" in fb.message and "square window" in fb.message
    assert "diagonal near miss" in fb.details[0]
    fb = ex.check_pointing((10, 17), strictly_closer, s, masks, 15)
    assert not fb.ok and "distance <= tolerance" in fb.message
    fb = ex.check_pointing((10, 17), first_bird_only, s, masks, 15)
    assert not fb.ok and "SECOND bird" in fb.message


def test_check_pointing_tie_and_far_miss(toy):
    s, masks = toy
    t = s.copy()
    t[0, 0] = t.max()  # an earlier maximum
    assert ex._expected_point(t) == (0, 0)
    assert "first one" in ex.check_pointing((10, 17), near_bird, t, masks).message
    # diagonal distance: square window would call it a hit, Euclidean does not
    u = np.zeros((20, 30))
    u[16, 17] = 1.0  # to bird 1's corner (13, 20): dr = 3, dc = 3 -> 4.24 px
    fb = ex.check_pointing((16, 17), always(True), u, masks, 3)
    assert not fb.ok and "Euclidean" in fb.message
    assert ex.check_pointing((16, 17), near_bird, u, masks, 4.3).ok
    far = np.zeros((20, 30))
    far[19, 0] = 1.0
    fb = ex.check_pointing((19, 0), always(True), far, masks, 2)
    assert not fb.ok and "too far" in fb.message


def test_check_relevance_mass_diagnoses(toy):
    s, masks = toy
    e = ex._expected_relevance_mass(s, masks)
    union = masks.any(axis=0)
    assert ex.check_relevance_mass(e, s, masks).ok
    assert ex.check_relevance_mass(np.array([e]), s, masks).ok
    assert "placeholder" in ex.check_relevance_mass(None, s, masks).message
    assert "OUTSIDE" in ex.check_relevance_mass(1 - e, s, masks).message
    assert "first bird" in ex.check_relevance_mass(s[masks[0]].sum() / s.sum(), s,
                                                   masks).message
    assert "mean saliency" in ex.check_relevance_mass(s[union].mean(), s, masks).message
    assert "area" in ex.check_relevance_mass(union.mean(), s, masks).message
    assert "total saliency" in ex.check_relevance_mass(s[union].sum(), s, masks).message
    assert "one number" in ex.check_relevance_mass(np.ones(3), s, masks).message
    assert not ex.check_relevance_mass(0.5, s, masks).ok


def test_verdict_matches_experiment_rule():
    rng = np.random.default_rng(3)
    for _ in range(200):
        n = int(rng.integers(2, 12))
        a = rng.normal(0.1 * rng.normal(), 0.2, n)
        b = rng.normal(0.0, 0.2, n)
        mean, se, k = ex._expected_paired(a, b)
        d = a - b
        assert k == n
        assert math.isclose(mean, float(np.mean(d)), abs_tol=1e-12)
        assert math.isclose(se, float(np.std(d, ddof=1) / np.sqrt(n)), rel_tol=1e-9)
        for higher in (True, False):
            assert ex._expected_verdict(mean, se, higher) == _verdict(mean, se, n, higher)


def test_check_verdict_diagnoses():
    a = [0.60, 0.72, 0.55, 0.80, 0.66]
    b = [0.50, 0.52, 0.50, 0.61, 0.49]
    d = np.subtract(a, b)
    mean, se = float(d.mean()), float(d.std(ddof=1) / np.sqrt(5))
    assert ex._expected_verdict(mean, se) == "supported"
    assert ex.check_verdict(mean, se, "supported", a, b).ok
    assert ex.check_verdict(mean, se, " Supported ", a, b).ok
    assert "placeholder" in ex.check_verdict(mean, se, None, a, b).message
    fb = ex.check_verdict(-mean, se, "supported", a, b)
    assert not fb.ok and "wrong sign" in fb.message
    assert "ddof=1" in ex.check_verdict(mean, d.std() / np.sqrt(5), "supported", a, b).message
    assert "sqrt(n)" in ex.check_verdict(mean, d.std(ddof=1), "supported", a, b).message
    unpaired = math.sqrt(np.var(a, ddof=1) / 5 + np.var(b, ddof=1) / 5)
    assert "unpaired" in ex.check_verdict(mean, unpaired, "supported", a, b).message
    assert "one side" in ex.check_verdict(mean, se, "inconclusive", a, b).message
    assert "direction" in ex.check_verdict(mean, se, "contradicted", a, b).message
    assert "one of" in ex.check_verdict(mean, se, "yes", a, b).message
    # the same numbers for a claim that a should be LOWER: contradicted
    assert ex.check_verdict(mean, se, "contradicted", a, b, higher_supports=False).ok
    noisy_a, noisy_b = [0.9, 0.1, 0.7, 0.2], [0.5, 0.5, 0.5, 0.5]
    m2, s2, _ = ex._expected_paired(noisy_a, noisy_b)
    fb = ex.check_verdict(m2, s2, "supported", noisy_a, noisy_b)
    assert not fb.ok and "contains 0" in fb.message
    with pytest.raises(ValueError, match="paired"):
        ex._expected_paired([1, 2], [1, 2, 3])


def test_check_verdict_names_the_standard_deviation_with_sqrt_n():
    """A standard deviation given for the standard error is named, with sqrt(n), also when it
    was computed in float32 or with NumPy's default ddof=0 (it used to read "off by 5.385")."""
    rng = np.random.default_rng(0)
    a, b = rng.random(29), rng.random(29)
    d = a - b
    mean = float(d.mean())
    for std in (np.float32(d.astype(np.float32).std(ddof=1)), d.std(ddof=1) * (1 + 3e-6),
                d.std()):
        fb = ex.check_verdict(mean, std, "inconclusive", a, b)
        assert not fb.ok and "standard deviation" in fb.message, fb.text()
        assert "sqrt(29)" in fb.message
    se32 = np.float32(d.std(ddof=1) / np.sqrt(29))
    assert ex.check_verdict(mean, se32, "inconclusive", a, b).ok


def test_solutions_pass_their_checks(toy):
    s, masks = toy
    ns = {"np": np, "ex_map": s, "ex_masks": masks, "tolerance": 15,
          "claim_a": [0.6, 0.72, 0.55, 0.8], "claim_b": [0.5, 0.52, 0.5, 0.61]}
    for key in ("comparison.pointing", "comparison.relevance_mass", "comparison.verdict"):
        fb = run_solution(key, ns)
        assert fb.ok, (key, fb.text())
    assert ns["near_bird"](ns["point"], masks, 15) is True and ns["point"] == (10, 17)
