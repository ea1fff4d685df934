"""``check_with_slips``: a right answer first, then the known slips in order, then ``check_close``;
tolerances that follow the answer's dtype."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xai_tutor.exercises import check_with_slips
from xai_tutor.exercises.feedback import PRECISION_ULPS, check_close

X = np.array([[1.0, -2.0, 3.0], [0.5, 4.0, -1.5]])


def test_right_answer_passes_and_the_first_matching_slip_is_named() -> None:
    slips = [(np.abs(X), "abs"), (X / 6, "divided"), (X / 6, "never reached")]
    fb = check_with_slips("v", torch.tensor(X), X, slips)
    assert fb.ok and fb.name == "v" and "largest difference" in fb.message
    fb = check_with_slips("v", X / 6, X, slips)
    assert not fb.ok and fb.message == "divided" and fb.name == "v" and fb.details == []


def test_details_of_a_slip_are_passed_on() -> None:
    fb = check_with_slips("v", 2 * X, X, [(2 * X, "doubled", ["a factor 2"])])
    assert (fb.ok, fb.message, fb.details) == (False, "doubled", ["a factor 2"])


def test_a_slip_that_equals_the_right_answer_never_fires() -> None:
    positive = np.abs(X)
    # ReLU of an all-positive answer is the answer itself: a right answer is accepted ...
    assert check_with_slips("v", positive, positive, [(positive.clip(0), "relu")]).ok
    # ... and an answer that is wrong in another way is diagnosed, not called "relu"
    fb = check_with_slips("v", -positive, positive, [(positive.clip(0), "relu")])
    assert not fb.ok and "sign" in fb.message


def test_without_a_matching_slip_check_close_diagnoses() -> None:
    fb = check_with_slips("v", -X, X, [(X / 6, "divided")], hints={"sign": "flip it"})
    assert not fb.ok and "wrong sign" in fb.message and "flip it" in fb.details
    assert check_with_slips("v", X[0], X, [(X[0], "a row")]).message == "a row"
    fb = check_with_slips("v", X.T, X)
    assert not fb.ok and "shape" in fb.message
    assert "placeholder" in check_with_slips("v", None, X, [(X, "x")]).message


def test_lazy_slips_are_computed_only_when_reached_and_for_the_expected_shape() -> None:
    calls: list[str] = []

    def slow(tag: str, value: np.ndarray):
        def compute() -> np.ndarray:
            calls.append(tag)
            return value
        return compute

    slips = [(slow("first", X / 6), "divided"), (slow("second", 2 * X), "doubled")]
    assert check_with_slips("v", X / 6, X, slips).message == "divided"
    assert calls == ["first"]
    calls.clear()
    assert check_with_slips("v", X, X, slips).ok and calls == []
    assert not check_with_slips("v", X[0], X, slips).ok and calls == []


def test_non_finite_or_non_numeric_answers_never_match_a_slip() -> None:
    nan = X.copy()
    nan[0, 0] = np.nan
    fb = check_with_slips("v", nan, X, [(nan, "the same NaN")])
    assert not fb.ok and "NaN" in fb.message
    fb = check_with_slips("v", "text", X, [(X, "x")])
    assert not fb.ok and "not a str" in fb.message


def test_scalars_of_any_shape() -> None:
    assert check_with_slips("s", torch.tensor([0.6]), 0.6).ok
    assert check_with_slips("s", 0.15, 0.6, [(0.15, "sigma itself")]).message == "sigma itself"


def test_the_tolerance_follows_the_precision_of_the_answer() -> None:
    rng = np.random.default_rng(0)
    expected = rng.normal(size=(4, 5))
    # an answer off by 40 float32 ulps of the largest value: rounding in float32, not a slip
    off = expected + 40 * np.finfo(np.float32).eps * np.abs(expected).max()
    assert not check_with_slips("m", off, expected, atol_rel=1e-7, rtol=0.0).ok
    assert check_with_slips("m", off, expected, atol_rel=1e-7, rtol=0.0,
                            precision=torch.float32).ok
    assert check_with_slips("m", off, expected, atol_rel=1e-7, rtol=0.0, precision=np.float32).ok
    # float64 changes nothing; the floor is PRECISION_ULPS ulps of the magnitude
    assert not check_with_slips("m", off, expected, atol_rel=1e-7, rtol=0.0,
                                precision=torch.float64).ok
    too_far = expected + 2 * PRECISION_ULPS * np.finfo(np.float32).eps * np.abs(expected).max()
    assert not check_with_slips("m", too_far, expected, atol_rel=1e-7, rtol=0.0,
                                precision=torch.float32).ok
    # a sum whose terms cancel: the floor scales with the size of the terms, not of the result
    assert not check_with_slips("m", off, expected, atol_rel=1e-7, rtol=0.0,
                                precision=torch.float32,
                                magnitude=float(np.abs(expected).max()) / 10).ok
    assert check_with_slips("m", off, expected, atol_rel=1e-7, rtol=0.0, precision=torch.float32,
                            magnitude=10 * float(np.abs(expected).max())).ok
    # half precision: at most PRECISION_CAP of the magnitude, never "anything goes"
    assert not check_with_slips("m", 1.1 * expected, expected, precision=torch.bfloat16).ok
    assert check_with_slips("m", expected + 0.005 * np.abs(expected).max(), expected,
                            precision=torch.bfloat16).ok
    with pytest.raises(TypeError, match="precision"):
        check_with_slips("m", off, expected, precision=torch.int64)
    with pytest.raises(TypeError, match="precision"):
        check_with_slips("m", off, expected, precision="half a float")


def test_the_slip_tolerance_also_follows_the_precision() -> None:
    wrong = 2 * X
    near_wrong = wrong + 40 * np.finfo(np.float32).eps * np.abs(wrong).max()
    slips = [(wrong, "doubled")]
    kw = {"atol_rel": 1e-8, "rtol": 0.0}
    assert check_with_slips("v", near_wrong, X, slips, **kw).message != "doubled"
    assert check_with_slips("v", near_wrong, X, slips, precision=torch.float32,
                            **kw).message == "doubled"
    # separate slip tolerances
    assert check_with_slips("v", 2.001 * X, X, slips, slip_rtol=1e-2).message == "doubled"
    assert check_with_slips("v", 2.001 * X, X, slips).message != "doubled"


def test_relative_l2_acceptance_for_maps_through_relus() -> None:
    expected = np.linspace(0.0, 1.0, 400).reshape(20, 20)
    flipped = expected.copy()
    flipped[3, 4] += 0.02  # one unit flipped at a ReLU boundary: 2 % at one pixel
    assert not check_with_slips("m", flipped, expected).ok
    fb = check_with_slips("m", flipped, expected, l2_rtol=5e-3)
    assert fb.ok and "relative L2" in fb.message
    assert not check_with_slips("m", 1.1 * expected, expected, l2_rtol=5e-3).ok


def test_the_same_diagnosis_as_check_close_when_there_are_no_slips() -> None:
    for got in (X * 3, X + 1, -X, np.abs(X), X[None]):
        a = check_with_slips("v", got, X, atol=1e-5, atol_rel=0.0, rtol=1e-4)
        b = check_close("v", got, X, atol=1e-5, rtol=1e-4)
        assert (a.ok, a.message, a.details) == (b.ok, b.message, b.details)
