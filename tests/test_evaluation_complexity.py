"""Sparseness (Gini index), Complexity (entropy), the histogram entropy of eMPRT and the rank
accuracy, each against an independent float64 formula, their edge cases, and Quantus 0.6."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from xai_tutor import evaluation as ev


def gini_by_pairs(v: np.ndarray) -> float:
    """Gini as the mean absolute difference over all pairs: sum_ij |v_i - v_j| / (2 n sum v)."""
    v = v.reshape(-1).astype(np.float64)
    total = 0.0
    for a in v:
        for b in v:
            total += abs(a - b)
    return total / (2 * v.size * v.sum())


def entropy_by_loop(v: np.ndarray) -> float:
    v = v.reshape(-1)
    s = math.fsum(float(a) for a in v)
    return -math.fsum((a / s) * math.log(a / s) for a in v if a > 0)


MAPS = {
    "noise": np.random.default_rng(0).random((9, 11)),
    "peaked": np.random.default_rng(1).random((9, 11)) ** 8,
    "sparse": np.where(np.random.default_rng(2).random((9, 11)) > 0.9, 1.0, 0.0),
}


@pytest.mark.parametrize("name", MAPS)
def test_sparseness_is_the_gini_index(name):
    s = MAPS[name]
    assert ev.sparseness(s) == pytest.approx(gini_by_pairs(s), rel=1e-12)


@pytest.mark.parametrize("name", MAPS)
def test_complexity_is_the_entropy_of_the_normalised_map(name):
    s = MAPS[name]
    assert ev.complexity(s) == pytest.approx(entropy_by_loop(s), rel=1e-12)


def test_conventions_and_bounds():
    n = 9 * 11
    one = np.zeros((9, 11))
    one[4, 5] = 2.0
    assert ev.sparseness(one) == pytest.approx(1 - 1 / n) and ev.complexity(one) == 0.0
    for flat in (np.ones((9, 11)), np.zeros((9, 11))):  # a zero map is treated as constant
        assert ev.sparseness(flat) == 0.0
        assert ev.complexity(flat) == pytest.approx(math.log(n))
    s = MAPS["noise"]
    assert ev.sparseness(3 * s) == pytest.approx(ev.sparseness(s))  # scale-free
    assert ev.complexity(3 * s) == pytest.approx(ev.complexity(s))
    assert ev.sparseness(MAPS["peaked"]) > ev.sparseness(s)
    assert ev.complexity(MAPS["peaked"]) < ev.complexity(s)
    with pytest.raises(ValueError, match="non-negative"):
        ev.sparseness(s - 0.5)  # a signed map: pass its absolute value


def test_discrete_entropy_by_hand():
    v = np.array([[0.0, 0.15, 0.25], [0.95, 1.0, 1.0]])
    # 2 bins over [0, 1]: 3 values in [0, 0.5), 3 in [0.5, 1] -> ln 2
    assert ev.discrete_entropy(v, bins=2) == pytest.approx(math.log(2))
    # 10 bins: one value each in the first three, three in the last
    p = np.array([1, 1, 1, 3]) / 6
    assert ev.discrete_entropy(v, bins=10) == pytest.approx(float(-(p * np.log(p)).sum()))
    assert ev.discrete_entropy(np.full((3, 3), 0.4)) == 0.0
    assert ev.discrete_entropy(v - 0.5, bins=2) == pytest.approx(math.log(2))  # signed is fine
    with pytest.raises(ValueError, match="bins"):
        ev.discrete_entropy(v, bins=0)


def test_rank_accuracy_by_hand_and_its_identity_with_shape_iou():
    m = np.zeros((2, 6, 8), bool)
    m[0, 1:3, 1:4] = True       # 6 px
    m[1, 4:6, 5:7] = True       # 4 px
    rng = np.random.default_rng(5)
    for _ in range(5):
        s = rng.random((6, 8))
        union = m.any(axis=0).reshape(-1)
        k = int(union.sum())
        ranked = sorted(range(s.size), key=lambda i: (-s.reshape(-1)[i], i))[:k]
        by_hand = sum(union[i] for i in ranked) / k
        r = ev.relevance_rank_accuracy(s, m)
        assert r == pytest.approx(by_hand)
        assert ev.shape_iou(s, m) == pytest.approx(r / (2 - r))   # the same count
    assert ev.relevance_rank_accuracy(m.any(axis=0).astype(float), m) == 1.0
    assert ev.relevance_rank_accuracy(np.ones((6, 8)), m) == 0.0     # no ranking
    assert ev.relevance_rank_accuracy(s, np.zeros((1, 6, 8), bool)) == 0.0
    tied = np.zeros((6, 8))
    tied[0, :] = 1.0            # 8 tied maxima, none on an object; row-major ties -> row 0
    tied[1, 1] = 0.5
    assert ev.relevance_rank_accuracy(tied, m) == pytest.approx(1 / 10)


# --- Quantus 0.6 (test-only reference) ------------------------------------------------------

quantus = pytest.importorskip("quantus")


def _quantus(metric, maps, **kwargs):
    a = np.stack([s[None] for s in maps]).astype(np.float64)
    x = np.zeros((len(maps), 1) + maps[0].shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.array(metric(model=None, x_batch=x, y_batch=np.zeros(len(maps), int),
                               a_batch=a, **kwargs), dtype=np.float64)


def test_sparseness_and_complexity_agree_with_quantus():
    maps = list(MAPS.values())
    q_gini = _quantus(quantus.Sparseness(normalise=False, abs=False, disable_warnings=True),
                      maps)
    q_entropy = _quantus(quantus.Complexity(normalise=False, abs=False,
                                            disable_warnings=True), maps)
    ours_gini = np.array([ev.sparseness(s) for s in maps])
    ours_entropy = np.array([ev.complexity(s) for s in maps])
    # Quantus adds 1e-7 to every value (Gini) and 1e-12 inside the log (entropy)
    assert np.abs(q_gini - ours_gini).max() < 1e-5
    assert np.abs(q_entropy - ours_entropy).max() < 1e-6


def test_rank_accuracy_agrees_with_quantus_on_maps_without_ties():
    rng = np.random.default_rng(11)
    maps = [rng.random((9, 11)) for _ in range(3)]
    masks = np.zeros((3, 1, 9, 11))
    masks[0, 0, 2:5, 2:6] = 1
    masks[1, 0, 6:9, 1:10] = 1
    masks[2, 0, 0:2, 0:2] = 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q = quantus.RelevanceRankAccuracy(normalise=False, abs=False, disable_warnings=True)(
            model=None, x_batch=np.zeros((3, 1, 9, 11)), y_batch=np.zeros(3, int),
            a_batch=np.stack([s[None] for s in maps]), s_batch=masks)
    ours = [ev.relevance_rank_accuracy(s, m.astype(bool)) for s, m in zip(maps, masks)]
    assert np.abs(np.array(q) - np.array(ours)).max() < 1e-12
