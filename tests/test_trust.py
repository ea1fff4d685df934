"""The trust study: its statistics against independent references (scipy), its rules on hand-made
studies with known answers, the finer regions, and a small real run end to end."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import scipy.stats

from xai_tutor import evaluation as ev
from xai_tutor.data.cues import make_cue_scene
from xai_tutor.evaluation.ground_truth import GroundTruth
from xai_tutor.models import load_model
from xai_tutor.reliance import cue_scenes
from xai_tutor.reliance.parts import parent, part_scene
from xai_tutor.trust import (
    METRIC_RULE,
    VERDICT_RULE,
    TrustStudy,
    bootstrap,
    kendall_tau_b,
    measure_truth,
    trust_label,
    trust_study,
    used_regions,
    write_trust,
)
from xai_tutor.trust.verdict import leaning

# --------------------------------------------------------------------------- statistics


def test_kendall_tau_b_is_scipys_with_ties():
    rng = np.random.default_rng(0)
    for _ in range(20):
        a = rng.integers(0, 4, 9).astype(float)  # ties on both sides
        b = rng.integers(0, 5, 9).astype(float)
        expected = scipy.stats.kendalltau(a, b, variant="b")[0]
        got = kendall_tau_b(a, b)
        assert (np.isnan(got) and np.isnan(expected)) or got == pytest.approx(expected)
    assert kendall_tau_b([1, 2, 3], [3, 2, 1]) == -1.0
    assert np.isnan(kendall_tau_b([1, 1, 1], [1, 2, 3]))
    with pytest.raises(ValueError, match="same length"):
        kendall_tau_b([1, 2], [1, 2, 3])


def test_bootstrap_is_seeded_and_brackets_the_statistic():
    x = np.random.default_rng(1).normal(0.3, 1.0, 40)
    a = bootstrap(x, np.mean, seed=5)
    assert a == bootstrap(x, np.mean, seed=5)            # the same seed, the same interval
    assert a.value == pytest.approx(x.mean())
    assert a.low < a.value < a.high and a.n == 40
    # about the normal-theory interval of a mean
    se = x.std(ddof=1) / np.sqrt(40)
    assert a.high - a.low == pytest.approx(2 * 1.96 * se, rel=0.25)
    # scenes with a NaN drop out; one scene: no spread; none: NaN
    assert bootstrap(np.array([1.0, np.nan, 3.0]), np.mean).n == 2
    one = bootstrap(np.array([2.0]), np.mean)
    assert one.value == one.low == one.high == 2.0
    assert np.isnan(bootstrap(np.array([np.nan]), np.mean).value)
    with pytest.raises(ValueError, match="resamples"):
        bootstrap(x, np.mean, resamples=0)


def test_a_grouped_bootstrap_resamples_within_each_group():
    # two groups with constant values inside each: any within-group resample gives the same
    # means, so the interval of the mean of means has no width
    groups = [np.full(5, 1.0), np.full(7, 3.0)]
    e = bootstrap(groups, lambda gs: float(np.mean([g.mean() for g in gs])))
    assert e.value == e.low == e.high == 2.0 and e.n == 12


def test_the_rules_are_stated_and_applied_by_their_intervals():
    assert "95 %" in VERDICT_RULE and "above 0" in VERDICT_RULE
    assert "tau-b" in METRIC_RULE and "misleads" in METRIC_RULE
    assert trust_label(0.1, 0.5) == "agrees" and trust_label(-0.5, -0.1) == "misleads"
    assert trust_label(-0.1, 0.2) == "undecided"
    from xai_tutor.trust import Estimate
    assert leaning(Estimate(0.3, 0.1, 0.5, 8)) == "badge"
    assert leaning(Estimate(-0.3, -0.5, -0.1, 8)) == "bird"
    assert leaning(Estimate(0.1, -0.1, 0.3, 8)) == "neither"


# --------------------------------------------------------------------------- hand-made study


def _study(n=8, seed=0):
    """A shortcut model: the drops say badge only. Method "good" puts 70 % on the badge,
    "bad" 70 % on the bird, "half" splits; metric "mass" (bird-mask mass) ranks them in
    reverse, "sparseness" is noise."""
    rng = np.random.default_rng(seed)
    regions = {"bird": np.zeros((2, 2), bool), "cue": np.zeros((2, 2), bool),
               "rest": np.ones((2, 2), bool)}
    truth = [GroundTruth(regions, {"bird": -0.1, "cue": 5.0 + rng.random(), "rest": 0.0})
             for _ in range(n)]
    rows = []
    for i in range(n):
        for method, cue, bird in (("good", 0.7, 0.1), ("half", 0.4, 0.4), ("bad", 0.1, 0.7),
                                  ("centre_baseline", 0.02, 0.3),
                                  ("random_baseline", 0.05, 0.1)):
            cue, bird = cue + rng.normal(0, 0.02), bird + rng.normal(0, 0.02)
            rows.append({"model": "m", "kind": "cue", "scene": i, "method": method,
                         "baseline": method.endswith("baseline"), "target": 0,
                         "share_bird": bird, "share_cue": cue, "share_rest": 1 - bird - cue,
                         "area_bird": 0.05, "area_cue": 0.02, "area_rest": 0.93,
                         "truth_mass": cue, "truth_rank": cue - bird,
                         "truth_contrast": np.nan, "mass": bird,
                         "sparseness": rng.random()})
    return TrustStudy(rows, {"m": truth}, {"m": []}, {"m": ("bird", "cue", "rest")},
                      {"m": ("cue",)}, {"m": "cue"}, ["good", "half", "bad"],
                      ["mass", "sparseness"], settings={"scenes": n, "seed_offset": 0,
                                                        "seed": 0, "grid": [3, 3]})


def test_verdicts_follow_the_rule_on_a_hand_made_study():
    v = {r["method"]: r for r in _study().verdicts()}
    assert v["good"]["model_leans"] == "badge" and v["good"]["points_at"] == "badge"
    assert v["good"]["says"] == "reveals the shortcut" and v["good"]["verdict"] == "right"
    assert v["bad"]["says"] == "points at the bird anyway" and v["bad"]["verdict"] == "wrong"
    assert v["half"]["points_at"] == "neither" and v["half"]["says"] == "unclear"
    assert v["good"]["lean_low"] <= v["good"]["lean"] <= v["good"]["lean_high"]
    assert v["centre_baseline"]["baseline"] and v["centre_baseline"]["points_at"] == "bird"


def test_correctness_ranks_the_methods_by_truth_mass():
    rows = {r["method"]: r for r in _study().correctness()}
    assert [rows[m]["rank"] for m in ("good", "half", "bad")] == [1, 2, 3]
    assert rows["centre_baseline"]["rank"] is None
    assert rows["good"]["truth_mass_low"] < rows["good"]["truth_mass"] < \
        rows["good"]["truth_mass_high"]
    assert np.isnan(rows["good"]["truth_contrast"])


def test_methods_with_the_same_score_share_a_rank():
    study = _study()
    study.rows += [{**r, "method": "twin"} for r in study.rows if r["method"] == "good"]
    study.methods = ["good", "twin", "half", "bad"]
    rows = {r["method"]: r for r in study.correctness()}
    assert [rows[m]["rank"] for m in ("good", "twin", "half", "bad")] == [1, 1, 3, 4]


def test_metric_trust_finds_the_metric_that_ranks_in_reverse():
    rows = {(r["metric"], r["model"]): r for r in _study().metric_trust(
        metrics=["mass", "sparseness", "truth_rank"])}
    assert rows[("mass", "m")]["tau"] == -1.0 and rows[("mass", "m")]["label"] == "misleads"
    assert rows[("truth_rank", "m")]["tau"] == 1.0
    assert rows[("truth_rank", "m")]["label"] == "agrees"
    assert rows[("mass", "m")]["methods"] == 3 and rows[("mass", "m")]["scenes"] == 8


def test_write_trust_writes_the_tables_and_the_rules(tmp_path):
    study = _study()
    study.metrics = ["mass", "sparseness"]
    files = write_trust(tmp_path, study)
    assert sorted(p.name for p in files) == ["metric_trust.csv", "trust.csv", "trust.md",
                                             "trust_scores.csv"]
    text = (tmp_path / "trust.md").read_text()
    assert VERDICT_RULE in text and METRIC_RULE in text
    assert "| m (cue) | good |" in text and "reveals the shortcut" in text
    rows = list(csv.DictReader((tmp_path / "trust.csv").open()))
    assert {r["method"] for r in rows} == {"good", "half", "bad", "centre_baseline",
                                           "random_baseline"}
    trust = list(csv.DictReader((tmp_path / "metric_trust.csv").open()))
    assert {r["label"] for r in trust if r["metric"] == "mass"} == {"misleads"}
    assert not list(tmp_path.glob(".*"))  # no temporary file left
    # an earlier study's files are kept unless force
    before = (tmp_path / "trust.md").read_bytes()
    (tmp_path / "trust.md").write_text("a teacher's notes")
    with pytest.raises(FileExistsError, match="force=True"):
        write_trust(tmp_path, study)
    assert (tmp_path / "trust.md").read_text() == "a teacher's notes"
    write_trust(tmp_path, study, force=True)
    assert (tmp_path / "trust.md").read_bytes() == before


# --------------------------------------------------------------------------- finer regions


def test_parts_partition_the_regions_and_remove_only_their_pixels():
    scene = make_cue_scene("toucan", seed=11)
    fine = part_scene(scene, grid=(3, 3))
    masks = np.stack(list(fine.regions.values()))
    assert masks.sum(0).max() == 1  # disjoint
    for name, mask in fine.regions.items():
        assert not (mask & ~scene.regions[parent(name)]).any()  # inside its region
        changed = (fine.removed[name] != scene.image).any(-1)
        assert not changed[~mask].any() and changed.any()
    # the bird's quarters together are the bird
    quarters = np.logical_or.reduce([m for n, m in fine.regions.items() if parent(n) == "bird"])
    assert (quarters == scene.regions["bird"]).all()
    # a quarter removed shows the background that was behind the bird there
    name = next(n for n in fine.regions if n.startswith("bird/"))
    m = fine.regions[name]
    assert (fine.removed[name][m] == scene.removed["bird"][m]).all()
    with pytest.raises(ValueError, match="grid"):
        part_scene(scene, grid=(0, 3))


def test_measure_truth_on_the_shortcut_model():
    model = load_model("tiny_resnet_shortcut")
    scenes = cue_scenes(2, 71_000)
    truths = measure_truth(model, scenes)
    assert used_regions(truths) == ("cue",)
    for t in truths:
        assert t.drops["cue"] > 1.0 and abs(t.drops["bird"]) < 0.5
        assert set(t.part_drops) == set(t.parts) and "cue" in t.parts
        assert t.part_drops["cue"] == pytest.approx(t.drops["cue"])  # the badge is one part
    swapped = measure_truth(model, scenes, cue_scenes(2, 71_000, cue="swap"))
    assert all(t.other is not None and t.other_drops["cue"] > 1.0 for t in swapped)


def test_a_small_study_end_to_end(tmp_path):
    study = trust_study(["tiny_resnet_shortcut", "tiny_vgg"], ["gradcam", "gradient"],
                        scenes=2, metrics=["mass", "sparseness"], progress=False)
    assert study.kinds == {"tiny_resnet_shortcut": "cue", "tiny_vgg": "course"}
    assert study.regions["tiny_vgg"] == ("bird", "reflection", "rest")
    assert study.uses["tiny_vgg"] == ("bird",)
    assert len(study.rows) == 2 * 2 * 4
    for r in study.rows:
        shares = [r[f"share_{g}"] for g in study.regions[r["model"]]]
        assert sum(shares) == pytest.approx(1.0)
        assert 0.0 <= r["truth_mass"] <= 1.0 and -1.0 <= r["truth_rank"] <= 1.0
        # the other metrics on the cue models only
        assert ("mass" in r) == (r["model"] == "tiny_resnet_shortcut")
    shortcut = [r for r in study.rows if r["model"] == "tiny_resnet_shortcut"
                and r["method"] == "gradcam"]
    assert all(r["mass"] == pytest.approx(r["share_bird"]) for r in shortcut)
    files = write_trust(tmp_path, study)
    assert (tmp_path / "trust.md").read_text().count("tiny_vgg") >= 2 and len(files) == 4
    with pytest.raises(ValueError, match="reliance is measured"):
        trust_study(["resnet18"], ["gradcam"], scenes=1, progress=False)
    with pytest.raises(ValueError, match="unknown method"):
        trust_study(["tiny_resnet_shortcut"], ["nosuch"], scenes=1, progress=False)


def test_the_ground_truth_metrics_stay_out_of_the_experiment():
    from xai_tutor.experiment import Settings

    names = Settings().metric_names()
    assert not set(names) & {m.name for m in ev.metrics_in(family="ground_truth")}
    assert Settings(metrics=["mass", "truth_mass"]).metric_names() == ["mass"]


def test_the_study_explains_scenes_the_model_classifies_right():
    from xai_tutor.reliance import predictions
    from xai_tutor.trust.study import _classified_right

    model = load_model("tiny_vgg_shortcut")  # accuracy about 0.7: some scenes are passed over
    index, scenes, passed = _classified_right("tiny_vgg_shortcut", model, 8, 700_000)
    assert len(scenes) == 8 and index == sorted(index) and passed == index[-1] + 1 - 8 > 0
    assert (predictions(model, [s.image for s in scenes]) == [s.label for s in scenes]).all()
    assert [s.seed for s in scenes] == [700_000 + i for i in index]
