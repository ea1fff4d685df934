"""Checks of notebook 13 (trust): the independent formulas agree with xai_tutor.trust and
xai_tutor.reliance, the diagnosed slips are caught, and the solutions pass."""

from __future__ import annotations

import numpy as np
import pytest

import xai_tutor
from xai_tutor.evaluation.ground_truth import region_shares
from xai_tutor.exercises import trust as ex
from xai_tutor.reliance import cue_scenes, region_drops
from xai_tutor.trust import kendall_tau_b

from solutions import run_solution


@pytest.fixture(scope="module")
def shortcut():
    return xai_tutor.load_model("tiny_resnet_shortcut")


@pytest.fixture(scope="module")
def lean_case():
    rng = np.random.default_rng(0)
    s = rng.random((12, 16))
    bird = np.zeros((12, 16), bool)
    bird[2:6, 2:7] = True
    cue = np.zeros((12, 16), bool)
    cue[8:11, 11:15] = True
    return s, {"bird": bird, "cue": cue, "rest": ~(bird | cue)}


def test_the_lean_is_the_library_shares_difference(lean_case) -> None:
    s, regions = lean_case
    shares = region_shares(s, regions)
    assert ex.check_lean(shares["cue"] - shares["bird"], s, regions).ok
    assert run_solution("trust.lean", {"np": np, "ex_map": s, "ex_regions": regions}).ok


@pytest.mark.parametrize("slip, words", [
    (lambda s, b, c: (s[b].sum() - s[c].sum()) / s.sum(), "sign"),
    (lambda s, b, c: s[c].sum() - s[b].sum(), "total"),
    (lambda s, b, c: s[c].mean() - s[b].mean(), "mean saliency"),
    (lambda s, b, c: s[c].sum() / s.sum(), "badge's share alone"),
])
def test_lean_slips_are_named(lean_case, slip, words) -> None:
    s, regions = lean_case
    fb = ex.check_lean(float(slip(s, regions["bird"], regions["cue"])), s, regions)
    assert not fb.ok and words in fb.message, fb.message


def test_tau_b_matches_the_library_with_ties() -> None:
    metric = [0.1, 0.4, 0.4, 0.2, 0.9]
    truth = [0.3, 0.2, 0.5, 0.5, 0.8]
    tau = kendall_tau_b(metric, truth)
    assert ex.check_tau_b(tau, metric, truth).ok
    assert run_solution("trust.tau_b", {"np": np, "ex_metric": metric, "ex_truth": truth}).ok
    assert "sign" in ex.check_tau_b(-tau, metric, truth).message
    n = len(metric)
    c_minus_d = sum(np.sign(metric[i] - metric[j]) * np.sign(truth[i] - truth[j])
                    for i in range(n) for j in range(i + 1, n))
    assert "tau-a" in ex.check_tau_b(c_minus_d / (n * (n - 1) / 2), metric, truth).message


def test_tau_b_refuses_vectors_of_different_length() -> None:
    with pytest.raises(ValueError, match="one score per method"):
        ex.check_tau_b(0.5, [1.0, 2.0], [1.0, 2.0, 3.0])


def test_the_prediction_is_measured_by_removal(shortcut) -> None:
    fb = ex.check_largest_drop("badge", shortcut)
    assert fb.ok, fb.text()
    wrong = ex.check_largest_drop("bird", shortcut)
    assert not wrong.ok and "shortcut" in wrong.message
    # the check's own forward passes agree with region_drops on the same scenes
    bird = xai_tutor.load_model("tiny_resnet_bird")
    assert ex.check_largest_drop("bird", bird).ok
    drops = region_drops(shortcut, cue_scenes(4, seed_offset=710_000)).mean()
    assert max(drops, key=drops.get) == "cue"
