"""Interventions: logits, logit drops of removed regions and the control square, by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xai_tutor.data import load_image
from xai_tutor.data.cues import make_cue_scene
from xai_tutor.data.regions import region_scene, to_tensor
from xai_tutor.models import load_model
from xai_tutor.reliance import control_drops, control_image, logits, predictions, region_drops
from xai_tutor.reliance.interventions import entropy

SIZE = (200, 140)  # small scenes: the course models take any size


@pytest.fixture(scope="module")
def model():
    return load_model("tiny_resnet")


@pytest.fixture(scope="module")
def scenes():
    return [make_cue_scene("toucan", seed=81_000, size=SIZE),
            region_scene("flamingo", seed=81_001, size=SIZE, background="water")]


def test_the_input_is_what_load_image_gives(scenes):
    x, _ = load_image(scenes[0].pil)
    assert torch.allclose(scenes[0].input(), x, atol=1e-6)
    assert torch.equal(scenes[0].input("cue"), to_tensor(scenes[0].removed["cue"]))
    with pytest.raises(ValueError, match="unknown region 'reflection'"):
        scenes[0].input("reflection")
    with pytest.raises(ValueError, match="uint8"):
        to_tensor(np.zeros((4, 4, 3), np.float32))


def test_logits_match_a_plain_forward_and_leave_the_model_as_it_was(model, scenes):
    model.train()
    try:
        out = logits(model, [s.image for s in scenes], batch=1)
        assert model.training  # put back in the mode it was in
    finally:
        model.eval()
    with torch.no_grad():
        expected = torch.cat([model(s.input()) for s in scenes]).double()
    assert torch.allclose(out, expected, atol=1e-5)
    assert predictions(model, np.stack([s.image for s in scenes])).tolist() == \
        expected.argmax(1).tolist()
    p = torch.softmax(expected, 1)
    assert np.allclose(entropy(expected), -(p * p.log()).sum(1).numpy())
    with pytest.raises(TypeError, match="torch.nn.Module"):
        logits("tiny_resnet", [scenes[0].image])


def test_region_drops_by_hand(model, scenes):
    drops = region_drops(model, scenes)
    assert drops.regions == ("bird", "cue", "rest", "reflection")
    with torch.no_grad():
        for i, scene in enumerate(scenes):
            t = scene.label
            clean = model(scene.input())[0, t].item()
            assert drops.clean[i] == pytest.approx(clean, abs=1e-5)
            for j, region in enumerate(drops.regions):
                if region not in scene.regions:
                    assert np.isnan(drops.drops[i, j])
                    continue
                without = model(scene.input(region))[0, t].item()
                assert drops.drops[i, j] == pytest.approx(clean - without, abs=1e-5)
    assert drops.mean()["cue"] == pytest.approx(drops.drops[0, 1])  # only scene 0 has a cue
    assert list(drops.entropy) == ["clean", *drops.regions]
    as_cue = region_drops(model, scenes[:1], target="cue")
    assert as_cue.targets.tolist() == [scenes[0].cue]
    fixed = region_drops(model, scenes, target=3)
    assert fixed.targets.tolist() == [3, 3]
    with pytest.raises(ValueError, match="all have a cue"):
        region_drops(model, scenes, target="cue")
    with pytest.raises(ValueError, match="target"):
        region_drops(model, scenes, target="bird")
    with pytest.raises(ValueError, match="unknown region"):
        drops.column("tail")


def test_the_control_square_changes_background_only(model, scenes):
    for scene, region in ((scenes[0], "cue"), (scenes[1], "reflection")):
        moved = (control_image(scene, region) != scene.image).any(-1)
        assert moved.any() and not moved[~scene.regions["rest"]].any()
        ys, xs = np.nonzero(moved)
        side = int(np.ceil(np.sqrt(scene.regions[region].sum())))
        assert ys.max() - ys.min() < side and xs.max() - xs.min() < side
        assert np.array_equal(control_image(scene, region), control_image(scene, region))
    with pytest.raises(ValueError, match="other than 'rest'"):
        control_image(scenes[0], "rest")
    drops = control_drops(model, scenes[:1], "cue")
    with torch.no_grad():
        t = scenes[0].label
        by_hand = (model(scenes[0].input())[0, t]
                   - model(to_tensor(control_image(scenes[0], "cue")))[0, t]).item()
    assert drops.shape == (1,) and drops[0] == pytest.approx(by_hand, abs=1e-5)
