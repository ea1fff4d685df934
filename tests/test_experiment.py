"""The experiment and its command line, end to end on small models, and the claim rules."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from xai_tutor.__main__ import main
from xai_tutor.experiment import (
    CENTRE,
    centre_baseline,
    evaluate_claims,
    run_experiment,
    summarise,
)

from conftest import make_small

UNIT = ("pointing", "mass", "coverage", "recall", "shape_iou", "deletion", "insertion")
VERDICTS = {"supported", "partly supported", "contradicted", "inconclusive", "not supported",
            "not measured"}


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
    assert {"gradcam", "gradcampp", "gradient", "ablationcam", CENTRE} <= methods
    # 2 models x 3 kinds x (1 canonical + 1 sample) x (3 methods + centre), and the expensive
    # Ablation-CAM on the canonical scenes only
    assert len(rows) == 2 * 3 * 2 * 4 + 2 * 3
    assert {r["scene"] for r in rows if r["method"] == "ablationcam"} == {"canonical"}
    for r in rows:
        for key in UNIT:
            v = float(r[key])
            if key in ("deletion", "insertion") and r["scene"] != "canonical":
                assert math.isnan(v)  # curves run on the canonical scenes by default
                continue
            assert math.isfinite(v) and 0.0 <= v <= 1.0, (key, v)
        if r["method"] != CENTRE:
            assert float(r["seconds"]) >= 0 and float(r["peak_mb"]) >= 0
    for m in result.metrics:
        assert m["n"] == (1 if m["method"] == "ablationcam" else 2) and m["n_curves"] == 1
        for key in UNIT:
            assert math.isfinite(m[key])
            if key in ("deletion", "insertion"):
                assert math.isnan(m[f"{key}_se"])  # one value: no standard error
            elif m["n"] > 1:
                assert m[f"{key}_se"] >= 0
    for t in result.timing:
        assert t["full_seconds"] > 0 and t["half_size"] == "40x32"
    for s in result.sanity:
        assert -1.0 <= s["spearman"] <= 1.0
    assert {c["verdict"] for c in result.claims} <= VERDICTS
    assert len(result.claims) >= 8
    text = (out / "claims.md").read_text()
    assert "Grad-CAM++ does better" in text and "Combining explanations" in text


def test_summarise_mean_and_standard_error():
    scores = [{"method": "m", "model": "a", "kind": "pair", "correct": c, "area": 0.5,
               **{k: v for k in ("pointing", "mass", "coverage", "recall", "shape_iou",
                                 "deletion", "insertion", "seconds", "peak_mb")}}
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
                         "coverage": cov + 0.01 * (i % 2), "mass": 0.5, "recall": 0.5,
                         "shape_iou": 0.3, "pointing": 1.0, "peak_mb": 10.0,
                         "seconds": 1.0})
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
