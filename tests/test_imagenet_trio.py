"""The ImageNet path of the course (VGG16, ResNet18, ResNet50) on stand-in weights.

The weights are seeded random ones under torchvision's file names in a temporary ``TORCH_HOME``
(``standin_torch_home`` in conftest.py), so nothing here depends on the weights being real:
shapes, identities and the code paths are checked, never which class a model predicts.
``make test`` runs these (marker ``imagenet``) in its second pass, next to the notebooks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import xai_tutor
from xai_tutor.models import IMAGENET_TRIO, available_models, course_models
from xai_tutor.models.imagenet import weights_path
from xai_tutor.widgets import Explorer

pytestmark = pytest.mark.imagenet

ROOT = Path(__file__).resolve().parents[1]
SIZE = (112, 80)  # (W, H): small scenes keep VGG16 on 2 cores within a second per pass


@pytest.fixture(scope="module")
def trio(imagenet_env: Path) -> dict[str, nn.Module]:
    return course_models()


def test_standin_files_carry_torchvision_names(imagenet_env: Path) -> None:
    import torchvision

    for name, enum in [("vgg16", torchvision.models.VGG16_Weights),
                       ("resnet18", torchvision.models.ResNet18_Weights),
                       ("resnet50", torchvision.models.ResNet50_Weights)]:
        path = weights_path(name)
        assert path.parent == imagenet_env / "hub" / "checkpoints"
        assert path.name == Path(enum.IMAGENET1K_V1.url).name and path.is_file()


def test_cached_weights_switch_the_unpinned_choice(imagenet_env: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Why ``make test`` pins ``XAI_TUTOR_MODELS=offline``: with the three files in the cache the
    automatic choice is the ImageNet trio, so an unpinned run depends on the machine's cache."""
    assert set(IMAGENET_TRIO) <= set(available_models())
    monkeypatch.setenv("XAI_TUTOR_MODELS", "offline")
    assert list(course_models()) == ["tiny_vgg", "tiny_resnet", "efficientnet_lite0"]


def test_course_models_are_the_imagenet_trio(trio: dict[str, nn.Module]) -> None:
    assert list(trio) == list(IMAGENET_TRIO)
    x, _ = xai_tutor.load_image(xai_tutor.make_scene("single", seed=0).image, size=SIZE)
    for name, model in trio.items():
        assert not model.training and model.name == name and len(model.class_names) == 1000
        with torch.no_grad():
            logits = model(x)
        assert logits.shape == (1, 1000) and torch.isfinite(logits).all()


def test_gradcam_identity_on_the_resnets(trio: dict[str, nn.Module]) -> None:
    """On a GAP + linear head, Grad-CAM = ReLU(CAM) / (h w), whatever the weights."""
    x, _ = xai_tutor.load_image(xai_tutor.make_scene("pair", seed=1).image, size=SIZE)
    for name in ("resnet18", "resnet50"):
        model = trio[name]
        cam = xai_tutor.explain(model, x, "cam", target=3)
        grad = xai_tutor.explain(model, x, "gradcam", target=3)
        h, w = cam.attribution.shape[-2:]
        expected = torch.relu(cam.attribution) / (h * w)
        scale = expected.abs().max()
        torch.testing.assert_close(grad.attribution / scale, expected / scale,
                                   atol=1e-5, rtol=1e-4)


def test_explorer_on_the_trio(trio: dict[str, nn.Module]) -> None:
    ex = Explorer(models=trio, method="gradcam", image_size=SIZE, background=False)
    assert ex.message == "" and list(ex.model.options) == list(trio)
    for name in trio:
        ex.model.value = name
        assert ex.message == ""
        assert ex.layer.value == trio[name].default_layer
        assert ex.last_saliency.shape == (SIZE[1], SIZE[0])
        assert 0 <= ex.last_saliency.min() and ex.last_saliency.max() <= 1
        assert len(ex.top5) == 5
        assert [n for _, n, _ in ex.top5] == [trio[name].class_names[i] for i, _, _ in ex.top5]
        ex.method.value = "guided_backprop"
        assert ex.message == "" and np.isfinite(ex.last_saliency).all()
        ex.method.value = "gradcam"


def test_experiment_command_on_the_trio(imagenet_env: Path, tmp_path: Path) -> None:
    out = tmp_path / "results"
    paths = [str(ROOT), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    cmd = [sys.executable, "-m", "xai_tutor", "experiment", "--models", *IMAGENET_TRIO,
           "--methods", "gradcam", "--scenes", "single", "--samples", "0",
           "--size", str(SIZE[0]), str(SIZE[1]), "--curves", "none", "--no-sanity",
           "--no-progress", "--trust-scenes", "0", "--out", str(out)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    run = json.loads((out / "run.json").read_text())
    assert run["models"] == list(IMAGENET_TRIO) and run["skipped"] == []
    for name in IMAGENET_TRIO:
        assert (out / f"grid_{name}.png").is_file()
    rows = (out / "metrics.csv").read_text().splitlines()
    for name in IMAGENET_TRIO:
        assert any(name in row for row in rows[1:]), f"no metrics row for {name}"
