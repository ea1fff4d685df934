"""Per-instance energy, image-blind baselines and the baseline rule (the randomisation
check's rule: test_evaluation_randomisation.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import xai_tutor
from xai_tutor.evaluation import (
    BaselineComparison,
    centre_blob,
    compare_metrics,
    compare_rows,
    compare_to_baselines,
    instance_energy,
    instance_energy_ratios,
    multi_instance_coverage,
    paired_mean_se,
    random_map,
    relevance_mass,
)


def two_birds(h=60, w=90):
    """Two birds near the left and right edges, none in the middle (like the pair scene)."""
    m = np.zeros((2, h, w), bool)
    m[0, 20:40, 5:20] = True
    m[1, 15:45, 70:85] = True
    return m


# --- instance energy -----------------------------------------------------------------------

def test_energy_ratios_by_hand():
    m = two_birds()
    s = np.zeros((60, 90))
    s[m[0]] = 3.0
    s[0, 0] = 1.0
    total = 3.0 * m[0].sum() + 1.0
    area = [m[0].sum() / s.size, m[1].sum() / s.size]
    expected = [(3.0 * m[0].sum() / total) / area[0], 0.0]
    assert np.allclose(instance_energy_ratios(s, m), expected, rtol=1e-12)
    # uniform map: every ratio is exactly 1, the score is the objects' area share
    u = np.ones((60, 90))
    assert np.allclose(instance_energy_ratios(u, m), 1.0)
    assert math.isclose(instance_energy(u, m), m.any(0).mean(), rel_tol=1e-12)


def test_energy_formula_against_independent_loop():
    rng = np.random.default_rng(3)
    m = two_birds()
    s = rng.random((60, 90)) ** 4
    union = m.any(0).sum()
    terms = []
    for mi in m:
        p = (s * mi).sum() / s.sum()
        q = mi.sum() / union
        terms.append(min(1.0, p / q))
    assert math.isclose(instance_energy(s, m), float(np.mean(terms)), rel_tol=1e-12)


@pytest.mark.parametrize("kind", ["pair", "flock"])
def test_mask_map_beats_blind_maps_on_scenes(kind):
    masks = xai_tutor.make_scene(kind).masks
    h, w = masks.shape[1:]
    ideal = instance_energy(masks.any(0).astype(float), masks)
    centre = instance_energy(centre_blob((h, w)), masks)
    rnd = instance_energy(random_map((h, w), seed=1, resolution=(13, 20)), masks)
    uniform = instance_energy(np.ones((h, w)), masks)
    one_bird = instance_energy(masks[0].astype(float), masks)
    assert ideal == pytest.approx(1.0)
    assert max(centre, rnd, uniform) < 0.3 < ideal
    assert one_bird <= 1 / len(masks) + 1e-12
    # the old coverage metric is gamed by the blob, the new one is not
    assert multi_instance_coverage(centre_blob((h, w)), masks) >= 0.5


def test_energy_centre_blob_scores_low_with_birds_off_centre():
    m = two_birds()
    assert instance_energy(m.any(0).astype(float), m) == pytest.approx(1.0)
    assert instance_energy(centre_blob((60, 90)), m) < 0.5
    assert instance_energy(random_map((60, 90), seed=0), m) < 0.5


def test_energy_is_invariant_to_scale_and_needs_the_fair_share():
    m = two_birds()
    rng = np.random.default_rng(0)
    s = rng.random((60, 90))
    assert instance_energy(s, m) == pytest.approx(instance_energy(1e4 * s, m), rel=1e-12)
    assert np.allclose(instance_energy_ratios(s, m), instance_energy_ratios(0.01 * s, m))
    # all the energy on the smaller bird: the uncapped mean ratio would prefer it, the score not
    small = m[0].astype(float)
    assert instance_energy_ratios(small, m).mean() > instance_energy_ratios(m.any(0), m).mean()
    assert instance_energy(small, m) == pytest.approx(0.5)


def test_energy_of_one_instance_is_the_relevance_mass():
    rng = np.random.default_rng(7)
    m = two_birds()[:1]
    s = rng.random((60, 90))
    assert instance_energy(s, m) == pytest.approx(relevance_mass(s, m), rel=1e-12)


def test_energy_conventions():
    m = two_birds()
    assert instance_energy(np.zeros((60, 90)), m) == 0.0
    assert np.all(instance_energy_ratios(np.zeros((60, 90)), m) == 0)
    empty = np.zeros((1, 60, 90), bool)
    assert instance_energy(np.ones((60, 90)), empty) == 0.0
    with_empty = np.concatenate([m, empty])  # an occluded bird is left out
    s = m.any(0).astype(float)
    assert instance_energy(s, with_empty) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="non-negative"):
        instance_energy(-np.ones((60, 90)), m)
    with pytest.raises(ValueError, match="masks must have shape"):
        instance_energy(np.ones((60, 91)), m)


# --- baselines -----------------------------------------------------------------------------

def test_centre_blob_formula():
    b = centre_blob((5, 9))
    yy, xx = np.mgrid[0:5, 0:9]
    sigma = 5 / 4
    ref = np.exp(-((yy - 2) ** 2 + (xx - 4) ** 2) / (2 * sigma**2))
    assert np.allclose(b, ref, atol=1e-15) and b[2, 4] == 1.0
    assert np.allclose(b, b[::-1, ::-1])  # symmetric about the centre
    with pytest.raises(TypeError, match="shape"):
        centre_blob("big")
    with pytest.raises(ValueError, match="positive"):
        centre_blob((0, 4))


def test_random_map_seeded_and_sized():
    a = random_map((30, 40), seed=5, resolution=(3, 4))
    assert a.shape == (30, 40) and 0 <= a.min() and a.max() < 1
    assert np.array_equal(a, random_map((30, 40), seed=5, resolution=(3, 4)))
    assert not np.array_equal(a, random_map((30, 40), seed=6, resolution=(3, 4)))
    full = random_map((4, 5), seed=2)
    assert np.array_equal(full, np.random.default_rng(2).random((4, 5)))


# --- the baseline rule ---------------------------------------------------------------------

def test_paired_mean_se_by_hand():
    mean, se, n = paired_mean_se([3.0, 5.0, 4.0, np.nan], [1.0, 2.0, 2.0, 0.0])
    d = np.array([2.0, 3.0, 2.0])
    assert n == 3 and mean == pytest.approx(d.mean())
    assert se == pytest.approx(d.std(ddof=1) / math.sqrt(3))
    assert math.isnan(paired_mean_se([1.0], [0.0])[1])


def test_rule_marks_a_metric_the_blob_matches_as_uninformative():
    centre = [0.81, 0.80, 0.83, 0.79, 0.82]
    # median method per scene: 0.82, 0.79, 0.84, 0.80, 0.81 -> differences +-0.01 around 0
    values = {"a": [0.95, 0.90, 0.97, 0.93, 0.96], "b": [0.82, 0.79, 0.84, 0.80, 0.81],
              "c": [0.60, 0.55, 0.65, 0.62, 0.50]}
    r = compare_to_baselines(values, centre)
    d = np.array([0.01, -0.01, 0.01, 0.01, -0.01])
    assert r.margin == pytest.approx(d.mean()) and r.se == pytest.approx(d.std(ddof=1) / 5**0.5)
    assert not r.informative and r.label == "uninformative"
    # method "a" alone beats the blob, but the rule is about the median method
    assert r.by_method["a"][0] - 2 * r.by_method["a"][1] > 0


def test_rule_marks_a_clear_margin_informative_and_needs_two_se():
    centre = [0.1, 0.2, 0.1, 0.15]
    good = {"a": [0.5, 0.6, 0.4, 0.55], "b": [0.4, 0.5, 0.5, 0.45], "c": [0.2, 0.3, 0.3, 0.3]}
    r = compare_to_baselines(good, centre, random_values=[0.05, 0.05, 0.1, 0.1])
    assert r.informative and r.n == 4 and r.random is not None and r.random[0] > 0
    assert r.centre_mean == pytest.approx(0.1375) and r.random_mean == pytest.approx(0.075)
    # a margin of about 1.1 standard errors is not enough; shifted by 0.5 it is
    diffs = np.array([0.3, -0.1, 0.2, 0.0])
    se = diffs.std(ddof=1) / 2
    assert diffs.mean() < 2 * se
    r2 = compare_to_baselines({"m": list(diffs)}, [0.0] * 4)
    assert not r2.informative
    assert compare_to_baselines({"m": list(diffs + 0.5)}, [0.0] * 4).informative


def test_rule_lower_is_better_and_edge_cases():
    centre = [0.6, 0.5, 0.55]
    deletion = {"a": [0.2, 0.25, 0.3], "b": [0.3, 0.2, 0.2]}
    assert compare_to_baselines(deletion, centre, higher_is_better=False).informative
    assert not compare_to_baselines(deletion, centre, higher_is_better=True).informative
    assert not compare_to_baselines({"a": [0.9]}, [0.1]).informative  # one scene: no SE
    # NaN where a method did not run: the median is over the methods that did
    r = compare_to_baselines({"a": [0.9, np.nan, 0.8], "b": [0.7, 0.9, np.nan]}, [0.1, 0.2, 0.1])
    assert r.n == 3 and r.margin == pytest.approx(np.mean([0.7, 0.7, 0.7]))
    with pytest.raises(ValueError, match="one value per scene"):
        compare_to_baselines({"a": [0.1, 0.2]}, [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="non-empty"):
        compare_to_baselines({}, [0.1])


def test_compare_rows_pairs_by_scene():
    rows = []
    for model in ("m1", "m2"):
        for scene, (c, a, b) in enumerate([(0.2, 0.6, 0.5), (0.3, 0.7, 0.5), (0.1, 0.5, 0.4)]):
            for method, v in (("centre_baseline", c), ("a", a), ("b", b), ("random", 0.0)):
                rows.append({"model": model, "kind": "pair", "scene": scene, "method": method,
                             "energy": v})
    r = compare_rows(rows, "energy", random="random")
    direct = compare_to_baselines({"a": [0.6, 0.7, 0.5] * 2, "b": [0.5, 0.5, 0.4] * 2},
                                  [0.2, 0.3, 0.1] * 2, [0.0] * 6)
    assert r.n == 6 and r.margin == pytest.approx(direct.margin) and r.informative
    assert r.se == pytest.approx(direct.se) and set(r.by_method) == {"a", "b"}
    both = compare_metrics(rows, {"energy": True, "deletion_like": False}, random="random")
    assert both["energy"] == r and both["deletion_like"].n == 0
    assert not both["deletion_like"].informative
    assert r.describe().endswith(": informative") and f"n = {r.n}" in r.describe()
    as_csv = [{**r, "energy": "" if r["method"] == "b" and r["scene"] == 0 else str(r["energy"])}
              for r in rows]
    r_csv = compare_rows(as_csv, "energy")
    assert r_csv.by_method["b"][2] == 4 and r_csv.by_method["a"][2] == 6
    with pytest.raises(ValueError, match="centre"):
        compare_rows([{"model": 1, "kind": 1, "scene": 1, "method": "a", "energy": 1}], "energy")


def test_the_rule_needs_both_baselines_beaten_and_is_read_back_from_margins():
    centre = [0.1, 0.2, 0.1, 0.15]
    good = {"a": [0.5, 0.6, 0.4, 0.55], "b": [0.4, 0.5, 0.5, 0.45]}
    # the random map scores as high as the methods: beaten by the centre margin only
    r = compare_to_baselines(good, centre, random_values=[0.45, 0.55, 0.45, 0.5])
    assert r.beats_centre and r.beats_random is False and not r.informative
    # the rule applied to margins read back from a table (notebook 11b does this)
    for rnd in ([0.05, 0.05, 0.1, 0.1], [0.45, 0.55, 0.45, 0.5]):
        full = compare_to_baselines(good, centre, random_values=rnd)
        again = BaselineComparison(False, full.margin, full.se, full.n, True, random=full.random)
        assert again.meets_rule == full.informative
