"""First-time loads of pretrained weights say, in one line on stderr, what they load."""

from __future__ import annotations

from pathlib import Path

import pytest

from xai_tutor.models import efficientnet_lite, imagenet, load_model

from conftest import _standin_script


def test_imagenet_load_says_what_it_loads_once(tmp_path: Path, monkeypatch, capsys) -> None:
    _standin_script().write_standin_weights(tmp_path, names=("resnet18",))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(imagenet, "_ANNOUNCED", set())
    load_model("resnet18")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("Loading ResNet18 ImageNet weights (47 MB) from ")
    assert lines[0].endswith("resnet18-f37072fd.pth")
    load_model("resnet18")
    assert capsys.readouterr().err == ""


def test_imagenet_download_is_announced(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(imagenet, "_ANNOUNCED", set())
    imagenet.announce("vgg16", cached=False)
    out = capsys.readouterr().err
    assert out.startswith("Downloading VGG16 ImageNet weights to ") and out.count("\n") == 1


def test_efficientnet_load_says_what_it_loads_once(monkeypatch, capsys) -> None:
    monkeypatch.setattr(efficientnet_lite, "_ANNOUNCED", [])
    load_model("efficientnet_lite0")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Loading EfficientNet-Lite0 ImageNet weights (")
    load_model("efficientnet_lite0")
    assert capsys.readouterr().err == ""


def test_offline_course_models_load_quietly(capsys) -> None:
    load_model("tiny_vgg")
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("name", ["vgg16", "resnet18", "resnet50"])
def test_every_imagenet_model_has_a_label(name: str) -> None:
    assert name in imagenet._LABELS
