"""The experiment's cost: a short probe predicts the run time, printed before the run; presets."""

from __future__ import annotations

import json
import time

import pytest
import torch

import xai_tutor
import xai_tutor.api as api
import xai_tutor.experiment as experiment
from xai_tutor.__main__ import main
from xai_tutor.experiment import PRESETS
from xai_tutor.experiment.estimate import PROBE_SCALE, estimate_run, run_cost
from xai_tutor.experiment.sanity import STAGES

from conftest import make_small


@pytest.fixture
def small_models(monkeypatch):
    monkeypatch.setattr(experiment.spec, "resolve_models",
                        lambda models: {"svgg": make_small("vgg")})


def scene(size=(160, 128)):
    return experiment.spec.make_scenes(["single"], 0, size, 0)[0][1]


class PixelTimed(torch.nn.Module):
    """A stand-in network whose forward pass takes a time proportional to the pixels."""

    def __init__(self, per_pixel: float) -> None:
        super().__init__()
        self.per_pixel = per_pixel

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        time.sleep(self.per_pixel * x.shape[2] * x.shape[3])
        return x.mean(dim=(2, 3))


def test_probe_time_is_scaled_to_the_run_size(monkeypatch):
    """A method and a model whose times follow the pixels: the estimate at the run's size."""
    per_pixel = 2e-6

    def fake_explain(model, x, method, **kwargs):
        time.sleep(per_pixel * x.shape[2] * x.shape[3])

    monkeypatch.setattr(api, "explain", fake_explain)
    sc = scene((320, 256))
    monkeypatch.setattr(xai_tutor.evaluation, "tensor_memory",
                        lambda fn, *a, **k: fn(*a, **k))  # counting: no overhead here
    settings = experiment.Settings(methods=["gradcam"], samples=1, size=(320, 256),
                                   kinds=("single", "pair", "flock"), curves="none",
                                   sanity=False)
    # 3 kinds x (1 + 1 sample) = 6 scenes, of which 3 canonical
    est = estimate_run({"m": PixelTimed(2 * per_pixel)}, settings, sc)
    row = next(r for r in est.rows if r["method"] == "gradcam")
    full = per_pixel * 320 * 256
    assert row["probe_s"] == pytest.approx(full * PROBE_SCALE**2, rel=0.3)
    assert row["map_s"] == pytest.approx(full, rel=0.3)
    assert row["half_share"] == pytest.approx(0.25, rel=0.3)
    assert row["maps"] == 6
    parts = run_cost(row["map_s"], 6, 3, False, 60.0, 0.0, 0, False, row["half_share"],
                     memory_overhead_s=0.0)
    assert row["total_s"] == pytest.approx(parts["total"], rel=0.3)


def test_score_cam_is_estimated_from_one_batch_and_the_channels():
    settings = experiment.Settings(methods=["scorecam", "gradcam"], samples=1, size=(160, 128))
    est = estimate_run({"m": make_small("vgg")}, settings, scene())
    row = next(r for r in est.rows if r["method"] == "scorecam")
    from xai_tutor.methods.cam.scorecam import auto_batch

    x, _ = xai_tutor.load_image(scene().image)
    batch = auto_batch(x)[0]  # the batch Score-CAM picks itself at the run's size
    assert f"10 channels / batch {batch}" in row["note"]  # SmallVGG's features.7
    assert row["maps"] == 3  # expensive: the canonical scenes only
    assert est.seconds == pytest.approx(sum(r["total_s"] for r in est.rows))
    text = est.table()
    assert "scorecam" in text and "expected run time" in text


def test_run_cost_rules():
    slow = run_cost(100.0, 15, 3, False, 60.0, 1.0, 3, True)
    assert slow["maps"] == 1 and slow["sanity"] == 0.0  # over max_seconds: first scene only
    costly = run_cost(1.0, 15, 3, True, 60.0, 0.0, 3, True)
    assert costly["maps"] == 3
    # the cascading sanity check: the trained model's map and one per stage, at half size
    assert costly["sanity"] == pytest.approx((1 + STAGES * 2) * 1.0 * 0.25)
    # with seeds and scenes: 1 + STAGES x seeds maps per scene, as many scenes as fit
    seeded = run_cost(1.0, 15, 3, False, 60.0, 0.0, 3, True, sanity_images=6, sanity_seeds=3,
                      sanity_seconds=8.0)
    assert seeded["sanity"] == pytest.approx(3 * (1 + STAGES * 3) * 0.25)  # 2.5 s a scene
    assert run_cost(40.0, 15, 3, False, 60.0, 0.0, 3, True, sanity_images=6,
                    sanity_seconds=8.0)["sanity"] == 0.0   # one scene does not fit: none
    # a self-resizing model: half = full time; plus one counted call per size for the memory
    fixed = run_cost(4.0, 3, 3, False, 60.0, 0.0, 3, False, half_share=1.0,
                     memory_overhead_s=0.5)
    assert fixed["timing"] == pytest.approx(4.0 + 4.0 + 4.0 + 2 * 0.5)
    # the metrics that recompute the map: N + 2 maps per map on the curve scenes, if fast
    fast = run_cost(0.5, 15, 3, False, 60.0, 0.0, 3, False, recompute_maps=6,
                    recompute_seconds=1.0)
    assert fast["recompute"] == pytest.approx(3 * 6 * 0.5)
    assert run_cost(2.0, 15, 3, False, 60.0, 0.0, 3, False, recompute_maps=6,
                    recompute_seconds=1.0)["recompute"] == 0.0


def test_estimate_only_prints_and_writes_nothing(tmp_path, small_models, capsys):
    out = tmp_path / "r"
    assert main(["experiment", "--estimate-only", "--preset", "quick", "--out", str(out),
                 "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "expected run time" in printed and "gradcam" in printed
    assert "leaves out scorecam" in printed
    assert "scorecam " not in printed.split("leaves out")[0]
    assert not out.exists()


def test_quick_preset_settings_and_command_line_wins(tmp_path, small_models, capsys):
    out = tmp_path / "q"
    assert main(["experiment", "--preset", "quick", "--methods", "gradcam", "scorecam",
                 "--scenes", "single", "--out", str(out), "--no-progress",
                 "--trust-scenes", "0"]) == 0
    printed = capsys.readouterr().out
    assert "expected run time" in printed.split("wrote")[0]  # printed before the run
    run = json.loads((out / "run.json").read_text())
    assert run["preset"] == "quick" and run["samples"] == 0 and run["size"] == [313, 209]
    assert run["max_seconds"] == 20.0 and not (out / "sanity.csv").exists()
    assert run["curves"] == "none" and run["settings"]["leave_out"] == ["scorecam"]
    assert "scorecam" in run["methods"] and run["left_out"] == []  # named: kept
    assert run["estimated_seconds"] >= 0
    # the preset asks for a trust section of 4 scenes per model; the command line said none
    assert PRESETS["quick"].trust_scenes == 4 and run["settings"]["trust_scenes"] == 0
    assert run["trust"] is None and not (out / "trust.md").exists()
    out2 = tmp_path / "q2"
    assert main(["experiment", "--preset", "quick", "--samples", "1", "--methods", "gradcam",
                 "--scenes", "single", "--out", str(out2), "--no-progress",
                 "--trust-scenes", "0"]) == 0
    assert json.loads((out2 / "run.json").read_text())["samples"] == 1
