"""The ground-truth scores against hand-made maps and drops with known answers, and against
independent references (scipy's rank correlations, an explicit double loop)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.stats
import torch

from xai_tutor import evaluation as ev
from xai_tutor.evaluation.ground_truth import GroundTruth

# a 4 x 6 image: bird on the left, badge top right, rest elsewhere
BIRD = np.zeros((4, 6), bool)
BIRD[1:3, 0:2] = True
CUE = np.zeros((4, 6), bool)
CUE[0, 4:6] = True
REST = ~(BIRD | CUE)
REGIONS = {"bird": BIRD, "cue": CUE, "rest": REST}


def on(*masks_and_values):
    s = np.zeros((4, 6))
    for mask, value in masks_and_values:
        s[mask] = value
    return s


def test_region_shares_are_the_map_split_by_region():
    s = on((BIRD, 1.0), (CUE, 2.0))  # 4 bird pixels x 1, 2 badge pixels x 2
    assert ev.region_shares(s, REGIONS) == {"bird": 0.5, "cue": 0.5, "rest": 0.0}
    assert ev.region_shares(np.zeros((4, 6)), REGIONS) == {"bird": 0.0, "cue": 0.0, "rest": 0.0}
    shares = ev.region_shares(np.random.default_rng(0).random((4, 6)), REGIONS)
    assert sum(shares.values()) == pytest.approx(1.0)


def test_drop_shares_keep_the_positive_drops():
    assert ev.drop_shares({"bird": 3.0, "cue": 1.0, "rest": -0.5}) == {
        "bird": 0.75, "cue": 0.25, "rest": 0.0}
    assert all(np.isnan(v) for v in ev.drop_shares({"bird": -1.0, "cue": 0.0}).values())


@pytest.mark.parametrize("saliency, drops, expected", [
    # a shortcut model (the badge only): the score is the map's share on the badge
    (on((CUE, 1.0)), {"bird": -0.1, "cue": 6.0, "rest": 0.0}, 1.0),
    (on((BIRD, 1.0)), {"bird": -0.1, "cue": 6.0, "rest": 0.0}, 0.0),
    (on((BIRD, 1.0), (CUE, 2.0)), {"bird": -0.1, "cue": 6.0, "rest": 0.0}, 0.5),
    # a mixed model (2/3 bird, 1/3 badge): all on the bird scores w_bird; the right split 1
    (on((BIRD, 1.0)), {"bird": 2.0, "cue": 1.0, "rest": 0.0}, 2 / 3),
    (on((BIRD, 1.0), (CUE, 1.0)), {"bird": 2.0, "cue": 1.0, "rest": 0.0}, 2 / 3 + 1 / 3),
    (on((BIRD, 0.5), (CUE, 1.0)), {"bird": 2.0, "cue": 1.0, "rest": 0.0}, 0.5 + 1 / 3),
    # a uniform map on a bird model scores the bird's area
    (np.ones((4, 6)), {"bird": 5.0, "cue": 0.0, "rest": 0.0}, 4 / 24),
])
def test_truth_mass_on_hand_made_maps(saliency, drops, expected):
    assert ev.truth_mass(saliency, REGIONS, drops) == pytest.approx(expected)


def test_truth_mass_is_one_minus_total_variation():
    rng = np.random.default_rng(1)
    for _ in range(20):
        s = rng.random((4, 6)) ** 3
        drops = dict(zip(REGIONS, rng.normal(size=3) + 0.5))
        shares, w = ev.region_shares(s, REGIONS), ev.drop_shares(drops)
        if any(np.isnan(v) for v in w.values()):
            continue
        tv = 0.5 * sum(abs(shares[r] - w[r]) for r in REGIONS)
        assert ev.truth_mass(s, REGIONS, drops) == pytest.approx(1 - tv)


def test_rank_correlation_is_scipys_spearman():
    rng = np.random.default_rng(2)
    for _ in range(10):
        a, b = rng.integers(0, 4, 12).astype(float), rng.normal(size=12)  # ties in a
        assert ev.rank_correlation(a, b) == pytest.approx(scipy.stats.spearmanr(a, b)[0])
    assert ev.rank_correlation([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]) == 0.0
    assert np.isnan(ev.rank_correlation([1.0], [2.0]))
    with pytest.raises(ValueError, match="same length"):
        ev.rank_correlation([1.0, 2.0], [1.0])


def test_drop_rank_correlation_orders_parts_by_drop():
    parts = {"a": BIRD, "b": CUE, "c": REST}
    drops = {"a": 4.0, "b": 1.0, "c": 0.0}
    assert ev.drop_rank_correlation(on((BIRD, 1.0), (CUE, 1.0)), parts, drops) == \
        pytest.approx(scipy.stats.spearmanr([4, 2, 0], [4, 1, 0])[0])
    # a map whose sums rank the parts in the reverse order
    reverse = on((BIRD, 0.01), (CUE, 1.0), (REST, 5.0))
    assert ev.drop_rank_correlation(reverse, parts, drops) == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="lacks the region"):
        ev.drop_rank_correlation(reverse, parts, {"a": 1.0})


def test_contrastivity_is_the_share_of_the_reliance_move():
    drops_bird = {"bird": 3.0, "cue": -0.5, "rest": 0.0}   # class t: the bird
    drops_cue = {"bird": -0.2, "cue": 2.0, "rest": 0.0}    # class u: the badge
    on_bird, on_cue = on((BIRD, 1.0)), on((CUE, 1.0))
    assert ev.contrastivity(on_bird, on_cue, REGIONS, drops_bird, drops_cue) == pytest.approx(1)
    assert ev.contrastivity(on_bird, on_bird, REGIONS, drops_bird, drops_cue) == 0.0
    assert ev.contrastivity(on_cue, on_bird, REGIONS, drops_bird, drops_cue) == pytest.approx(-1)
    half = on((BIRD, 1.0), (CUE, 2.0))  # half on each: half of the move
    assert ev.contrastivity(on_bird, half, REGIONS, drops_bird, drops_cue) == pytest.approx(0.5)
    # by the formula, on a random case
    rng = np.random.default_rng(3)
    s_t, s_u = rng.random((4, 6)), rng.random((4, 6))
    a, b = ev.region_shares(s_t, REGIONS), ev.region_shares(s_u, REGIONS)
    w_t, w_u = ev.drop_shares(drops_bird), ev.drop_shares(drops_cue)
    num = sum((b[r] - a[r]) * (w_u[r] - w_t[r]) for r in REGIONS)
    den = sum((w_u[r] - w_t[r]) ** 2 for r in REGIONS)
    assert ev.contrastivity(s_t, s_u, REGIONS, drops_bird, drops_cue) == pytest.approx(num / den)
    # the reliance does not move: nothing to measure
    assert np.isnan(ev.contrastivity(on_bird, on_cue, REGIONS, drops_bird, drops_bird))


def test_bad_regions_are_refused():
    with pytest.raises(ValueError, match="region 'bird' has shape"):
        ev.region_shares(np.ones((5, 6)), REGIONS)
    with pytest.raises(TypeError, match="mapping"):
        ev.region_shares(np.ones((4, 6)), [BIRD])
    with pytest.raises(ValueError, match="non-negative"):
        ev.region_shares(-np.ones((4, 6)), REGIONS)


def test_registered_ground_truth_metrics_are_their_functions():
    infos = ev.metrics_in(family="ground_truth")
    assert [m.name for m in infos] == ["truth_mass", "truth_rank", "truth_contrast"]
    assert all("truth" in m.needs and m.higher_is_better and not m.judged for m in infos)
    s = on((BIRD, 1.0), (CUE, 3.0), (REST, 0.1))
    parts = {"left": BIRD, "cue": CUE, "top": REST & (np.arange(4)[:, None] < 2),
             "bottom": REST & (np.arange(4)[:, None] >= 2)}
    part_drops = {"left": 0.1, "cue": 5.0, "top": 0.2, "bottom": -0.1}
    drops = {"bird": 0.1, "cue": 5.0, "rest": 0.0}
    other = {"bird": 2.0, "cue": 0.0, "rest": 0.0}
    swapped = on((BIRD, 2.0), (CUE, 1.0))

    def explainer(model, x, target):
        return swapped if target == 7 else s

    truth = GroundTruth(REGIONS, drops, parts, part_drops, other=7, other_drops=other)
    subject = ev.Subject(s, None, torch.nn.Identity(), torch.zeros(1), 3, explainer, truth=truth)
    assert ev.METRICS["truth_mass"].available(subject)
    assert ev.METRICS["truth_mass"].score(subject) == ev.truth_mass(s, REGIONS, drops)
    assert ev.METRICS["truth_rank"].score(subject) == ev.drop_rank_correlation(s, parts,
                                                                               part_drops)
    assert ev.METRICS["truth_contrast"].score(subject) == pytest.approx(
        ev.contrastivity(s, swapped, REGIONS, drops, other))
    # without parts the rank correlation uses the regions; without a second class no contrast
    coarse = dataclasses.replace(subject, truth=GroundTruth(REGIONS, drops))
    assert ev.METRICS["truth_rank"].score(coarse) == ev.drop_rank_correlation(s, REGIONS, drops)
    assert np.isnan(ev.METRICS["truth_contrast"].score(coarse))
    assert not ev.METRICS["truth_mass"].available(ev.Subject(s))


def test_spearman_by_an_explicit_loop():
    """Pearson of mean ranks, ranks counted pair by pair (no library)."""
    a = np.array([3.0, 1.0, 1.0, 7.0, 2.0])
    b = np.array([0.5, 0.1, 0.3, 0.9, 0.1])

    def ranks(v):
        return np.array([1 + sum(w < x for w in v) + (sum(w == x for w in v) - 1) / 2 for x in v])

    ra, rb = ranks(a), ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    expected = (ra * rb).sum() / np.sqrt((ra**2).sum() * (rb**2).sum())
    assert ev.rank_correlation(a, b) == pytest.approx(expected)
