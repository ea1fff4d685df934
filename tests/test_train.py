"""The training script: one command trains both course models, seeded and reproducible."""

from __future__ import annotations

import json

import torch

from xai_tutor.models.tiny import ARCHITECTURES
from xai_tutor.train import main, sha256_of

SMALL = ["--scenes", "6", "--val", "4", "--epochs", "1", "--batch", "3", "--no-progress"]


def test_one_command_trains_both_models_reproducibly(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    main(["--out", str(first), *SMALL])
    main(["--out", str(second), *SMALL])
    meta = json.loads((first / "models.json").read_text())
    assert sorted(meta) == sorted(ARCHITECTURES) == ["tiny_resnet", "tiny_vgg"]
    for name, entry in meta.items():
        weights = first / entry["file"]
        assert entry["sha256"] == sha256_of(weights)
        assert entry["sha256"] == sha256_of(second / entry["file"])  # seeded: same bytes
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
