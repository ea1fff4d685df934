"""The experiment and its command line, end to end on small models, and the claim rules."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from xai_tutor import evaluation as ev
from xai_tutor.__main__ import main
from xai_tutor.experiment import (
    CENTRE,
    centre_baseline,
    evaluate_claims,
    run_experiment,
    summarise,
)
from xai_tutor.experiment.judge import ALL, MULTI, judge
from xai_tutor.experiment.sanity import FLAG, REFERENCES, STAGES, failures, flag, verdicts
from xai_tutor.experiment.spec import RANDOM, random_baseline, scene_seed

from conftest import make_small

#: metrics whose values lie in [0, 1]
UNIT = ("pointing", "mass", "rank_accuracy", "coverage", "energy", "recall", "shape_iou",
        "deletion", "insertion", "road_morf", "road_lerf", "sparseness")
#: metrics that run the model (computed on the canonical scenes by default)
MODEL = tuple(m.name for m in ev.metrics_in() if "model" in m.needs and "truth" not in m.needs)
VERDICTS = {"supported", "partly supported", "contradicted", "inconclusive", "not supported",
            "not measured"}


def known_verdict(v: str) -> bool:
    return v in VERDICTS or v.startswith("undecided (uninformative metric: ")


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("exp")
    models = {"svgg": make_small("vgg"), "sres": make_small("resnet")}  # tiny: milliseconds
    result = run_experiment(models=models,
                            methods=["gradcam", "gradcampp", "gradient", "ablationcam"],
                            samples=1, size=(80, 64), out=out, steps=4, progress=False)
    return out, result


@pytest.mark.slow
def test_files_written_and_readable(small_run):
    out, result = small_run
    for name in ("scores.csv", "metrics.csv", "metrics.md", "timing.csv", "claims.csv",
                 "baselines.csv",
                 "claims.md", "sanity.csv", "run.json", "scenes.png", "grid_svgg.png",
                 "grid_sres.png", "representations_svgg.png"):
        assert (out / name).is_file(), name
        assert out / name in result.files
    with Image.open(out / "grid_svgg.png") as im:
        assert im.size[0] > 100 and im.size[1] > 100


def test_numbers_are_finite_and_in_range(small_run):
    out, result = small_run
    rows = list(csv.DictReader((out / "scores.csv").open()))
    methods = {r["method"] for r in rows}
    assert {"gradcam", "gradcampp", "gradient", "ablationcam", CENTRE, RANDOM} <= methods
    # 2 models x 3 kinds x (1 canonical + 1 sample) x (3 methods + centre + random), and the
    # expensive Ablation-CAM on the canonical scenes only
    assert len(rows) == 2 * 3 * 2 * 5 + 2 * 3
    assert {r["scene"] for r in rows if r["method"] == "ablationcam"} == {"canonical"}
    # every registered metric scored, but those that need a model of known reliance
    truth = {m.name for m in ev.metrics_in() if "truth" in m.needs}
    assert set(ev.METRICS) - {"tensor_mb"} - truth <= set(rows[0])
    assert not truth & set(rows[0])
    for r in rows:
        for key in UNIT:
            v = float(r[key])
            if key in MODEL and r["scene"] != "canonical":
                assert math.isnan(v)  # run on the canonical scenes by default
                continue
            assert math.isfinite(v) and 0.0 <= v <= 1.0, (key, v)
        for key in MODEL:
            assert math.isnan(float(r[key])) == (r["scene"] != "canonical"), (key, r["method"])
        if r["method"] in (CENTRE, RANDOM) and r["scene"] == "canonical":
            # an image-blind map does not change with the input, the class or the model
            assert float(r["max_sensitivity"]) == 0.0 and float(r["random_logit"]) == 1.0
            assert float(r["emprt"]) == 1.0
        if r["method"] not in (CENTRE, RANDOM):
            assert float(r["seconds"]) >= 0
    for m in result.metrics:
        assert m["n"] == (1 if m["method"] == "ablationcam" else 2) and m["n_curves"] == 1
        for key in UNIT:
            assert math.isfinite(m[key])
            if key in MODEL:
                assert math.isnan(m[f"{key}_se"])  # one value: no standard error
            elif m["n"] > 1:
                assert m[f"{key}_se"] >= 0
    for t in result.timing:
        assert t["full_seconds"] > 0 and t["half_size"] == "40x32"
        # tensor memory is deterministic and grows with the pixels
        assert 0 < t["half_tensor_mb"] < t["full_tensor_mb"]
    for s in result.sanity:
        assert -1.0 <= s["similarity"] <= 1.0 and s["kind"] in ("trained", "chance")
    # cascading, on 2 scenes per kind (the canonical one first) with 3 seeds: per model, method,
    # scene and stage, 3 maps against the trained map and 3 pairs of randomised maps (chance);
    # the two reference maps beside the methods
    names = {"gradcam", "gradcampp", "gradient", "ablationcam"} | set(REFERENCES)
    for model in ("svgg", "sres"):
        rows = [s for s in result.sanity if s["model"] == model]
        assert {s["method"] for s in rows} == names
        assert {s["image"] for s in rows} == {f"{k}/{i}" for k in ("single", "pair", "flock")
                                              for i in ("canonical", "s1000")}
        assert len(rows) == len(names) * 6 * STAGES * (3 + 3)
        stages = sorted({(s["stage"], s["layers"]) for s in rows})
        assert [st for st, _ in stages] == [1, 2, 3]
        assert stages[0][1] < stages[1][1] < stages[2][1]
        table = verdicts(result.sanity)[model]
        assert table["image_edges"].verdict == "fails"    # the image alone: nothing changes
        assert table["weight_noise"].verdict == "passes"  # changes completely, shows nothing
    assert all(known_verdict(c["verdict"]) for c in result.claims)
    assert len(result.claims) >= 8
    text = (out / "claims.md").read_text()
    assert "Grad-CAM++ does better" in text and "Combining explanations" in text


def test_baselines_table_follows_the_rule(small_run):
    out, result = small_run
    rows = list(csv.DictReader((out / "baselines.csv").open()))
    assert {r["scenes"] for r in rows} == {ALL, MULTI}
    assert {r["metric"] for r in rows} == {m.name for m in ev.metrics_in(judged=True)}
    scores = list(csv.DictReader((out / "scores.csv").open()))
    # recomputed independently: median of the explanation methods minus the centre blob
    for metric, higher in (("mass", True), ("energy", True), ("deletion", False)):
        row = next(r for r in rows if r["scenes"] == ALL and r["metric"] == metric)
        table: dict = {}
        for r in scores:
            table.setdefault((r["model"], r["kind"], r["scene"]), {})[r["method"]] = float(
                r[metric])
        sign = 1 if higher else -1
        diffs = []
        for vals in table.values():
            own = [v for m, v in vals.items()
                   if m in ("gradcam", "gradcampp", "gradient", "ablationcam")
                   and math.isfinite(v)]
            if own and math.isfinite(vals[CENTRE]):
                diffs.append(sign * (float(np.median(own)) - vals[CENTRE]))
        d = np.array(diffs)
        se = d.std(ddof=1) / math.sqrt(d.size)
        assert float(row["margin"]) == pytest.approx(d.mean(), rel=1e-4, abs=1e-6)
        assert float(row["se"]) == pytest.approx(se, rel=1e-4, abs=1e-6)
        assert int(row["n"]) == d.size
        rnd = []
        for vals in table.values():
            own = [v for m, v in vals.items()
                   if m in ("gradcam", "gradcampp", "gradient", "ablationcam")
                   and math.isfinite(v)]
            if own and math.isfinite(vals[RANDOM]):
                rnd.append(sign * (float(np.median(own)) - vals[RANDOM]))
        r_ = np.array(rnd)
        beats_random = r_.mean() - 2 * r_.std(ddof=1) / math.sqrt(r_.size) > 0
        assert float(row["margin_random"]) == pytest.approx(r_.mean(), rel=1e-4, abs=1e-6)
        # informative: the median method beats BOTH image-blind baselines by 2 SE
        assert row["verdict"] == ("informative" if d.mean() - 2 * se > 0 and beats_random
                                  else "uninformative")
        assert float(row["random_mean"]) == pytest.approx(np.mean(
            [float(r[metric]) for r in scores if r["method"] == RANDOM
             and math.isfinite(float(r[metric]))]), rel=1e-4)
    md = (out / "metrics.md").read_text()
    assert md.index("## Baselines") < md.index("## All models")
    assert f"`{RANDOM}`" in md
    top = md.split("## Baselines")[1].split("## Scores")[0]
    for r in rows:  # each judged metric's line in the section carries its verdict
        assert f"| {r['scenes']} |" in top and f"**{r['verdict']}**" in top
    assert [(r["scenes"], r["metric"], r["verdict"]) for r in result.baselines] == [
        (r["scenes"], r["metric"], r["verdict"]) for r in rows]


def test_randomisation_failures_are_flagged_next_to_the_scores(small_run):
    out, result = small_run
    failing = failures(result.sanity)
    assert set(failing) == {"svgg", "sres"}
    md = (out / "metrics.md").read_text()
    claims = (out / "claims.md").read_text()
    assert "## Methods that fail the randomisation check" in claims
    for model, names in failing.items():
        line = next(x for x in claims.splitlines() if x.startswith(f"- {model}: "))
        assert all(n in line for n in names) or (not names and line.endswith("none"))
        for name in names:  # every per-model table row of a failing method carries the flag
            assert f"| {name} ({FLAG}) |" in md
        for name in {"gradcam", "gradient"} - set(names):
            assert f"| {name} ({FLAG})" not in md.split(f"## {model}")[1].split("## ")[0]


def test_flag_marks_a_failing_method():
    failing = {"a": ["guided_backprop"], "b": []}
    assert flag("guided_backprop", failing, "a") == f"guided_backprop ({FLAG})"
    assert flag("guided_backprop", failing, "b") == "guided_backprop"
    assert flag("guided_backprop", failing) == f"guided_backprop ({FLAG}: a)"
    assert flag("gradcam", failing) == "gradcam"
    # stage 1 keeps the map (0.9 +- 0.02) above the threshold 0.55 (chance 0.1 at the last
    # stage): fails; the reference maps are not methods and never listed
    rows = [{"model": "a", "method": name, "stage": st, "layers": st, "deepest": "x",
             "kind": kind, "seeds": "0", "similarity": v}
            for name in ("m", "image_edges")
            for st, kind, values in ((1, "trained", (0.88, 0.9, 0.92)),
                                     (2, "trained", (0.2, 0.3, 0.1)), (2, "chance", (0.1, 0.1)))
            for v in values]
    assert failures(rows) == {"a": ["m"]}
    assert verdicts(rows)["a"]["image_edges"].verdict == "fails"


def test_random_baseline_is_seeded_per_scene():
    a = random_baseline((40, 60), scene_seed(0, "pair", "canonical"))
    assert a.shape == (40, 60) and 0.0 <= a.min() and a.max() < 1.0
    assert np.array_equal(a, random_baseline((40, 60), scene_seed(0, "pair", "canonical")))
    assert not np.allclose(a, random_baseline((40, 60), scene_seed(0, "flock", "canonical")))
    assert not np.allclose(a, random_baseline((40, 60), scene_seed(1, "pair", "canonical")))
    assert np.array_equal(a, ev.random_map((40, 60), scene_seed(0, "pair", "canonical"),
                                           resolution=(7, 7)))


def test_summarise_mean_and_standard_error():
    scores = [{"method": "m", "model": "a", "kind": "pair", "correct": c, "area": 0.5,
               **{k: v for k in ("pointing", "mass", "coverage", "energy", "recall",
                                 "shape_iou", "deletion", "insertion", "seconds")}}
              for v, c in ((0.2, 1), (0.4, 0), (0.9, 1))]
    (m,) = summarise(scores)
    assert m["n"] == 3 and m["mass"] == pytest.approx(0.5)
    assert m["mass_se"] == pytest.approx(np.std([0.2, 0.4, 0.9], ddof=1) / math.sqrt(3))
    assert m["correct"] == pytest.approx(2 / 3)


def synthetic_scores(gradcam_cov, gradcampp_cov, n=6):
    rows = []
    for i in range(n):
        for method, cov in (("gradcam", gradcam_cov), ("gradcampp", gradcampp_cov),
                            ("fullgrad", 1.0), ("scorecam", 1.0)):
            rows.append({"model": "m", "kind": "flock", "scene": f"s{i}", "method": method,
                         "energy": cov + 0.01 * (i % 2), "coverage": 0.5, "mass": 0.5,
                         "recall": 0.5,
                         "shape_iou": 0.3, "pointing": 1.0, "seconds": 1.0})
    return rows


def test_claim_rules_follow_the_numbers():
    low = {c["claim"]: c["verdict"] for c in evaluate_claims(synthetic_scores(0.3, 0.8), [])}
    assert low["Grad-CAM struggles with multiple instances"] == "supported"
    assert low["Grad-CAM++ does better than Grad-CAM on multiple instances"] == "supported"
    flipped = {c["claim"]: c["verdict"]
               for c in evaluate_claims(synthetic_scores(1.0, 0.4), [])}
    assert flipped["Grad-CAM struggles with multiple instances"] == "inconclusive"
    assert flipped["Grad-CAM++ does better than Grad-CAM on multiple instances"] == \
        "contradicted"
    timing = [{"model": "m", "method": m, "full_seconds": s, "time_ratio": r}
              for m, s, r in (("gradcam", 0.1, 4.0), ("scorecam", 2.0, 3.9),
                              ("ablationcam", 1.0, 1.2))]
    speed = [c for c in evaluate_claims([], timing) if c["claim"].startswith("Gradient-free")]
    assert speed[0]["verdict"] == "partly supported"  # slower, but Ablation-CAM does not scale
    # a model that resizes its input itself is not asked to scale with the image size
    fixed = [{**t, "resizes_input": t["method"] == "ablationcam"} for t in timing]
    speed = [c for c in evaluate_claims([], fixed) if c["claim"].startswith("Gradient-free")]
    assert speed[0]["verdict"] == "supported" and "not counted" in speed[0]["measured"]


def with_centre(rows, energy):
    """``rows`` plus a centre-baseline row per scene with the given energy score."""
    scenes = {(r["model"], r["kind"], r["scene"]) for r in rows}
    return rows + [{"model": m, "kind": k, "scene": s, "method": CENTRE,
                    "energy": energy + 0.02 * (i % 3), "coverage": 0.5, "mass": 0.3,
                    "recall": 0.5, "shape_iou": 0.3, "pointing": 1.0,
                    "seconds": float("nan")} for i, (m, k, s) in enumerate(sorted(scenes))]


def test_an_uninformative_metric_decides_no_verdict():
    # the median method's energy is 0.9; a blob at 0.2 is beaten, one at 0.95 is not
    rows = synthetic_scores(0.3, 0.8)
    fine = {c["claim"]: c for c in evaluate_claims(with_centre(rows, 0.2), [])}
    blind = {c["claim"]: c for c in evaluate_claims(with_centre(rows, 0.95), [])}
    name = "Grad-CAM++ does better than Grad-CAM on multiple instances"
    assert fine[name]["verdict"] == "supported"
    assert blind[name]["verdict"] == "undecided (uninformative metric: energy)"
    assert "energy is uninformative on the pair+flock scenes" in blind[name]["measured"]
    assert "energy" in blind[name]["rule"] and "coverage" not in blind[name]["rule"]
    assert blind["Grad-CAM struggles with multiple instances"]["verdict"].startswith("undecided")
    # mass (0.5 for every method, 0.3 for the blob) stays informative: not undecided
    judged = judge(with_centre(rows, 0.95))
    assert judged[ALL]["mass"].informative and not judged[MULTI]["energy"].informative
    assert not any(c["verdict"].startswith("undecided") for c in fine.values())


def test_centre_baseline_peaks_at_the_centre():
    c = centre_baseline((5, 7))
    assert c.shape == (5, 7) and c[2, 3] == pytest.approx(1.0)
    assert np.unravel_index(np.argmax(c), c.shape) == (2, 3)


def test_cli_reports_bad_input(tmp_path, capsys):
    assert main(["experiment", "--methods", "nosuch", "--out", str(tmp_path),
                 "--no-progress"]) == 2
    assert "unknown method" in capsys.readouterr().err
    assert main(["experiment", "--samples", "-1", "--out", str(tmp_path)]) == 2
    assert "--samples must be" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_end_to_end_on_a_course_model(tmp_path, capsys):
    out = Path(tmp_path) / "res"
    status = main(["experiment", "--models", "tiny_resnet", "--methods", "gradcam", "cam",
                   "--samples", "0", "--size", "96", "64", "--steps", "4", "--no-sanity",
                   "--out", str(out), "--no-progress"])
    assert status == 0
    printed = capsys.readouterr().out
    assert str(out) in printed and "grid_tiny_resnet.png" in printed
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert {r["method"] for r in rows} >= {"gradcam", "cam", "gradcam*cam"} - {"gradcam*cam"}
    for r in rows:
        assert 0 <= float(r["mass"]) <= 1 and int(r["n"]) == 1


def test_slow_methods_stop_after_the_first_scene(tmp_path):
    result = run_experiment(models={"svgg": make_small("vgg")}, methods=["gradcam"],
                            kinds=("single", "pair"), samples=0, size=(80, 64), out=tmp_path,
                            steps=2, max_seconds=0.0, sanity=False, progress=False)
    assert [(r["kind"], r["method"]) for r in result.scores if r["method"] == "gradcam"] == \
        [("single", "gradcam")]
    assert "first scene only" in (tmp_path / "metrics.md").read_text()


def test_results_readme_names_the_baselines_and_the_uninformative_metrics(small_run):
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "scripts" / "results_readme.py"
    spec = importlib.util.spec_from_file_location("results_readme", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out, result = small_run
    text = module.readme(out)
    assert "`baselines.csv`" in text and "instance energy" in text
    rows = list(csv.DictReader((out / "baselines.csv").open()))
    for scope in (ALL, MULTI):
        bad = [r["metric"] for r in rows
               if r["scenes"] == scope and r["verdict"] == "uninformative"]
        where = "all scenes" if scope == ALL else f"the {scope} scenes"
        assert f"on {where}: {', '.join(bad) if bad else 'none'}" in text
    for names in failures(result.sanity).values():
        for name in names:
            assert f"{name} (fails randomisation: " in text


def test_a_run_without_curves_sanity_or_multi_instance_scenes(tmp_path):
    result = run_experiment(models={"svgg": make_small("vgg")}, methods=["gradcam", "gradient"],
                            kinds=("single",), samples=1, size=(80, 64), out=tmp_path,
                            curves="none", sanity=False, progress=False)
    rows = {r["metric"]: r for r in csv.DictReader((tmp_path / "baselines.csv").open())}
    assert {r["scenes"] for r in rows.values()} == {ALL}  # no pair or flock scene
    assert rows["deletion"]["verdict"] == rows["insertion"]["verdict"] == "not measured"
    assert rows["mass"]["verdict"] in ("informative", "uninformative")
    assert int(rows["mass"]["n"]) == 2
    assert FLAG not in (tmp_path / "metrics.md").read_text()
    assert "fail the randomisation" not in (tmp_path / "claims.md").read_text()
    assert not result.sanity and len(result.baselines) == len(rows)


def test_a_metric_the_random_map_matches_is_uninformative():
    # the median method beats the centre blob (0.2) clearly, but a random map scores 0.95:
    # the metric does not tell the methods from a guess, so it decides no verdict
    rows = with_centre(synthetic_scores(0.3, 0.8), 0.2)
    scenes = sorted({(r["model"], r["kind"], r["scene"]) for r in rows})
    rnd = [{"model": m, "kind": k, "scene": s, "method": RANDOM, "energy": 0.95 + 0.01 * (i % 2),
            "coverage": 0.5, "mass": 0.1, "recall": 0.5, "shape_iou": 0.3, "pointing": 1.0,
            "seconds": float("nan")} for i, (m, k, s) in enumerate(scenes)]
    judged = judge(rows + rnd)
    energy = judged[MULTI]["energy"]
    assert energy.beats_centre and energy.beats_random is False and not energy.informative
    assert judged[ALL]["mass"].informative  # mass beats both
    claims = {c["claim"]: c for c in evaluate_claims(rows + rnd, [], judged)}
    name = "Grad-CAM++ does better than Grad-CAM on multiple instances"
    assert claims[name]["verdict"] == "undecided (uninformative metric: energy)"
    assert "random map" in claims[name]["measured"]


def test_memory_claim_uses_the_tensor_memory_of_every_model():
    def timing(ratio_a, ratio_b):
        rows = []
        for model, ratio in (("a", ratio_a), ("b", ratio_b)):
            for method, mb in (("gradcam", 2.0), ("gradcampp", 2.0), ("xgradcam", 3.0),
                               ("fullgrad", 2.0 * ratio)):
                rows.append({"model": model, "method": method, "full_tensor_mb": mb,
                             "full_seconds": 0.1, "time_ratio": 4.0})
        return rows

    name = "FullGrad captures the whole bird but adds noise and uses a lot of memory"
    scores = synthetic_scores(0.5, 0.5)
    for ratios, part in (((2.0, 1.6), "supported"), ((2.0, 1.2), "inconclusive"),
                         ((0.5, 0.9), "contradicted")):
        claim = next(c for c in evaluate_claims(scores, timing(*ratios))
                     if c["claim"] == name)
        assert f"a {ratios[0]:.2f}x, b {ratios[1]:.2f}x" in claim["measured"]
        assert claim["measured"].endswith(f", {part}]") or f", {part}]" in claim["measured"]
    none = next(c for c in evaluate_claims(scores, []) if c["claim"] == name)
    assert "memory FullGrad / median other CAM method at full size: not measured" in \
        none["measured"]
