"""The training script: one command trains both course models, seeded and reproducible."""

from __future__ import annotations

import json

import pytest
import torch

import xai_tutor.train as train_module
from xai_tutor.models.tiny import ARCHITECTURES
from xai_tutor.train import main, sha256_of

SMALL = ["--scenes", "6", "--val", "4", "--epochs", "1", "--batch", "3", "--no-progress"]


def test_one_command_trains_both_models_reproducibly(tmp_path):
    first, second, alone = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    main(["--out", str(first), *SMALL])
    main(["--out", str(second), *SMALL])
    main(["--out", str(alone), "--model", "tiny_vgg", *SMALL])  # one model: the same bytes
    meta = json.loads((first / "models.json").read_text())
    assert sorted(meta) == sorted(ARCHITECTURES) == ["tiny_resnet", "tiny_vgg"]
    for name, entry in meta.items():
        weights = first / entry["file"]
        assert entry["sha256"] == sha256_of(weights)
        assert entry["sha256"] == sha256_of(second / entry["file"])  # seeded: same bytes
        if name == "tiny_vgg":
            assert entry["sha256"] == sha256_of(alone / entry["file"])
        assert entry["crop"] is None and entry["scenes"] == 6 and len(entry["history"]) == 1
        assert entry["total_seconds"] >= entry["train_seconds"] > 0
        model = ARCHITECTURES[name](num_classes=len(entry["classes"]))
        model.load_state_dict(torch.load(weights, weights_only=True))
        assert 0.0 <= entry["held_out_accuracy"] <= 1.0


def test_one_model_and_windows(tmp_path):
    main(["--out", str(tmp_path), "--model", "tiny_vgg", "--crop", "384", "256", *SMALL])
    meta = json.loads((tmp_path / "models.json").read_text())
    assert list(meta) == ["tiny_vgg"] and meta["tiny_vgg"]["crop"] == [384, 256]
    assert "windows" in meta["tiny_vgg"]["input"]


def test_models_json_records_how_the_weights_were_made(tmp_path):
    main(["--out", str(tmp_path), "--model", "tiny_vgg", "--seed", "3", *SMALL])
    entry = json.loads((tmp_path / "models.json").read_text())["tiny_vgg"]
    assert entry["command"].startswith("python -m xai_tutor.train --out ")
    assert "--seed 3" in entry["command"]
    assert entry["epochs"] == 1 and entry["seed"] == 3 and entry["date"].startswith("20")
    assert 0.0 <= entry["held_out_accuracy"] <= 1.0
    assert 0.0 <= entry["held_out_occluded_accuracy"] <= 1.0
    assert sorted(entry["held_out_occluded_by_quadrant"]) == [
        "bottom-left", "bottom-right", "top-left", "top-right"]
    assert entry["train_cpu_seconds"] > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models.json", "tiny_vgg.pt"]  # no temp


def test_existing_weights_are_kept_without_force(tmp_path, capsys):
    main(["--out", str(tmp_path), "--model", "tiny_vgg", *SMALL])
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(SystemExit) as info:
        main(["--out", str(tmp_path), "--model", "tiny_vgg", "--seed", "1", *SMALL])
    assert info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "--force" in error and "tiny_vgg.pt" in error
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    # another model goes in beside it; models.json keeps both entries
    main(["--out", str(tmp_path), "--model", "tiny_resnet", *SMALL])
    assert sorted(json.loads((tmp_path / "models.json").read_text())) == [
        "tiny_resnet", "tiny_vgg"]
    main(["--out", str(tmp_path), "--model", "tiny_vgg", "--seed", "1", "--force", *SMALL])
    assert (tmp_path / "tiny_vgg.pt").read_bytes() != before["tiny_vgg.pt"]


def test_an_interrupted_run_leaves_the_old_weights(tmp_path, monkeypatch):
    main(["--out", str(tmp_path), *SMALL])
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def interrupted(name, args, data):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "train_model", interrupted)
    with pytest.raises(KeyboardInterrupt):
        main(["--out", str(tmp_path), "--force", *SMALL])
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--epochs", "0"], "--epochs must be >= 1"),
        (["--scenes", "-1"], "--scenes must be >= 1"),
        (["--lr", "nan"], "--lr must be a positive number"),
        (["--erase", "1.5"], "--erase is a probability"),
        (["--mix", "0.5", "0.5", "0.5"], "--mix shares"),
        (["--init", "missing.pt", "--model", "tiny_vgg"], "--init missing.pt: no such file"),
        (["--out", "FILE"], "is a file, not a folder"),
        (["--out", "FILE/models"], "cannot be created"),
    ],
)
def test_bad_arguments_exit_2_with_one_line_before_any_work(tmp_path, monkeypatch, capsys,
                                                            argv, message):
    (tmp_path / "FILE").write_text("not a folder")
    argv = [str(tmp_path / a) if a.startswith("FILE") else a for a in argv]
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "out")]

    def no_work(*args, **kwargs):
        raise AssertionError("scenes were rendered before the arguments were checked")

    monkeypatch.setattr(train_module, "render", no_work)
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and message in error, error
    assert not (tmp_path / "out").exists()
