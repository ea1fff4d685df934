"""Score-CAM does no forward pass its result does not need, and picks its batch by a rule."""

from __future__ import annotations

import torch
from torch import nn

import xai_tutor
from xai_tutor.methods.cam.scorecam import auto_batch, distinct_channels

from conftest import make_small, small_input


class TwinChannels(nn.Module):
    """A conv layer whose channels 2 and 3 are 2x and 0.25x channel 0 (same masks; powers of two
    keep the float maps exactly proportional)."""

    default_layer = "act"

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 5, 3, padding=1)
        with torch.no_grad():
            self.conv.weight[2] = 2 * self.conv.weight[0]
            self.conv.bias[2] = 2 * self.conv.bias[0]
            self.conv.weight[3] = 0.25 * self.conv.weight[0]
            self.conv.bias[3] = 0.25 * self.conv.bias[0]
        self.act = nn.Identity()
        self.fc = nn.Linear(5 * 8 * 8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.act(self.conv(x))
        return self.fc(torch.relu(a).flatten(1))


def test_channels_with_equal_masks_are_run_once() -> None:
    model = TwinChannels().eval()
    x = small_input(1, 8, seed=5)
    with torch.no_grad():
        a = model.conv(x)[0]
    rows, inverse = distinct_channels(a)
    assert len(rows) == 3 and inverse[0] == inverse[2] == inverse[3]
    images = []
    model.conv.register_forward_pre_hook(lambda m, args: images.append(args[0].shape[0]))
    e = xai_tutor.explain(model, x, "scorecam", progress=False)
    assert sum(images) == 1 + 3  # the clean pass, then one masked image per distinct mask
    # the same as masking with every channel on its own (reference written here)
    with torch.no_grad():
        act = a
        probs = []
        for k in range(5):
            m = torch.nn.functional.interpolate(act[k][None, None], size=(8, 8), mode="bilinear")
            m = (m - m.min()) / (m.max() - m.min())
            probs.append(torch.softmax(model(x * m), 1)[0, e.target[0]])
        ref = (torch.stack(probs)[:, None, None] * act).sum(0)  # the ReLU comes after upsampling
    torch.testing.assert_close(e.attribution[0], ref, rtol=1e-5, atol=1e-6)


def test_batch_rule_and_auto_equals_explicit() -> None:
    assert auto_batch(torch.zeros(1, 3, 112, 112)) == (32, True)
    assert auto_batch(torch.zeros(1, 3, 224, 224)) == (32, True)
    assert auto_batch(torch.zeros(1, 3, 448, 448)) == (8, True)
    model = make_small("resnet", torch.float64)
    x = small_input(2, 16, torch.float64, seed=1)
    auto = xai_tutor.explain(model, x, "scorecam", progress=False)
    assert auto.params["batch"] == 32 and auto.params["batch_size"] is None
    for batch_size in (1, 3):
        e = xai_tutor.explain(model, x, "scorecam", batch_size=batch_size, progress=False)
        torch.testing.assert_close(e.attribution, auto.attribution, rtol=0, atol=1e-12)


def test_cpu_probe_picks_8_or_32_and_changes_no_value() -> None:
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(3, 400, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Linear(400, 3)).double().eval()
    x = small_input(1, 8, torch.float64, seed=3)
    forwards = []
    model[0].register_forward_pre_hook(lambda m, args: forwards.append(args[0].shape[0]))
    e = xai_tutor.explain(model, x, "scorecam", layer="1", progress=False)
    assert e.params["batch"] in (8, 32)
    assert forwards[1:5] == [8, 8, 32, 32]  # after the clean pass: the probe, real work
    ref = xai_tutor.explain(model, x, "scorecam", layer="1", batch_size=400, progress=False)
    torch.testing.assert_close(e.attribution, ref.attribution, rtol=0, atol=1e-12)
