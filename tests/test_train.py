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
        (["--out", "x" * 300 + "/models"], "cannot be created: File name too long"),
        (["--out", ""], "--out must name a folder"),
        (["--model", "tiny_vgg", "tiny_resnet_shortcut"], "separate commands"),
        (["--model", "tiny_resnet_mixed", "--zoom", "0.3"], "--zoom must be 0"),
        (["--model", "tiny_resnet_mixed", "--crop", "200", "150"], "--crop is not used"),
    ],
)
def test_bad_arguments_exit_2_with_one_line_before_any_work(tmp_path, monkeypatch, capsys,
                                                            argv, message):
    (tmp_path / "FILE").write_text("not a folder")
    argv = [str(tmp_path / a) if a.startswith(("FILE", "xxx")) else a for a in argv]
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


CUE_SMALL = ["--scenes", "8", "--val", "4", "--epochs", "1", "--batch", "4", "--no-progress"]


def test_cue_models_train_reproducibly_and_record_their_reliance(tmp_path):
    names = ["tiny_resnet_shortcut", "tiny_resnet_mixed"]
    main(["--out", str(tmp_path / "a"), "--model", *names, *CUE_SMALL])
    main(["--out", str(tmp_path / "b"), "--model", names[1], *CUE_SMALL])
    meta = json.loads((tmp_path / "a" / "models.json").read_text())
    assert sorted(meta) == sorted(names)
    for name in names:
        entry = meta[name]
        assert entry["architecture"] == "TinyResNet" and entry["scene_size"] == [320, 224]
        assert entry["epochs"] == 1 and entry["scenes"] == 8 and entry["val_scenes"] == 4
        assert entry["train_seed_offset"] == train_module.CUE_TRAIN_SEED_OFFSET
        assert entry["augment"]["zoom"] == 0.0 and "cue scenes" in entry["input"]
        reliance = entry["reliance"]
        for key in ("accuracy_without_cue", "accuracy_without_bird", "swap_follows_cue"):
            assert 0.0 <= reliance[key] <= 1.0
        assert sorted(reliance["logit_drop"]) == ["bird", "control", "cue", "rest"]
    assert meta["tiny_resnet_shortcut"]["label_agrees_with"]["cue"] == 1.0
    assert meta["tiny_resnet_mixed"]["label_from"] == {"both": 0.5, "bird": 0.25, "cue": 0.25}
    # a model does not depend on which other models the command trains
    again = json.loads((tmp_path / "b" / "models.json").read_text())["tiny_resnet_mixed"]
    assert again["sha256"] == meta["tiny_resnet_mixed"]["sha256"]


def test_cue_labels_follow_the_recipe():
    birds = torch.arange(1600) % 16
    for shares in [(0.0, 0.0, 1.0), (0.5, 0.25, 0.25), (0.0, 1.0, 0.0), (1.0, 0.0, 0.0)]:
        labels, cues = train_module.cue_labels(birds, shares, seed=0)
        both = (labels == birds) & (cues == birds)
        kinds = {"both": both, "bird": (labels == birds) & ~both,
                 "cue": (labels == cues) & ~both}
        # a random class matches the bird 1 time in 16: the "both" share grows by that much
        chance = (shares[1] + shares[2]) / 16
        assert abs(float(kinds["both"].float().mean()) - shares[0] - chance) < 0.03
        assert ((labels == birds) | (labels == cues)).all()
        if shares[2] == 1.0:  # the shortcut: the badge is the label, the bird is independent
            assert torch.equal(labels, cues)
            assert abs(float((labels == birds).float().mean()) - 1 / 16) < 0.03
        again = train_module.cue_labels(birds, shares, seed=0)
        assert torch.equal(again[0], labels) and torch.equal(again[1], cues)
