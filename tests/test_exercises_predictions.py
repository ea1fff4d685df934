"""The predict-then-check exercises (one per notebook): the notebooks' predictions pass their
checks on the offline course models, every other choice gets the outcome and its reason, and the
measured outcomes are what the mathematics says."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

import xai_tutor
from xai_tutor.data import course_scenes, load_image
from xai_tutor.exercises import EXERCISES
from xai_tutor.exercises import cam as ex_cam
from xai_tutor.exercises import fullgrad as ex_fg
from xai_tutor.teaching.syllabus import id_order, notebook_files, notebook_id

from conftest import make_small, small_input
from solutions import checks, run_solution

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def world() -> dict:
    """A namespace like the notebooks', on the offline course models at a small image size."""
    models = xai_tutor.course_models()
    scenes = course_scenes()
    x, _ = load_image(scenes["single"].image, size=(156, 104))
    model = next(iter(models.values()))
    with torch.no_grad():
        c = int(model(x)[0].argmax())
    torch.manual_seed(4)
    net = nn.Sequential(nn.Flatten(), nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 4), nn.ReLU(),
                        nn.Linear(4, 3)).double().eval()
    x0 = torch.rand(1, 1, 2, 3, dtype=torch.float64) * 2 - 1
    net64 = copy.deepcopy(xai_tutor.load_model("tiny_resnet")).double().eval()
    x64 = x.double()
    rng = np.random.default_rng(0)
    weights, features = rng.normal(size=8), rng.normal(size=8)
    agnostic = np.array([weights @ features - weights @ np.where(np.arange(8) == i, 0, features)
                         for i in range(8)])
    return {"models": models, "scenes": scenes, "model": model, "x": x, "c": c,
            "layer": model.default_layer, "net": net, "x0": x0,
            "c0": int(net(x0)[0].argmax()), "net64": net64, "x64": x64,
            "c64": int(net64(x64)[0].argmax()), "ex_masks": scenes["flock"].masks,
            "agnostic": agnostic, "specific": weights * features,
            "first_model": model, "half_images": [x, load_image(scenes["pair"].image,
                                                                  size=(156, 104))[0]],
            "shortcut_model": xai_tutor.load_model("tiny_resnet_shortcut")}


PREDICTIONS = sorted(k for k in checks() if EXERCISES[k].prediction)


def test_every_notebook_has_one() -> None:
    books = [notebook_id(p.stem) for p in notebook_files()]
    assert len(books) >= 15
    assert sorted((EXERCISES[k].notebook for k in PREDICTIONS), key=id_order) == books


@pytest.mark.parametrize("key", PREDICTIONS)
def test_the_notebooks_prediction_is_right_and_the_others_learn_why(world, key) -> None:
    ns = dict(world)
    if key == "cam.bias_in_cam":   # notebook 05 takes the first model with a GAP head
        ns["model"] = world["models"]["tiny_resnet"]
        with torch.no_grad():
            ns["c"] = int(ns["model"](ns["x"])[0].argmax())
    fb = run_solution(key, ns)
    assert fb.ok, fb.text()
    ex = EXERCISES[key]
    right = ns[ex.names[0]]
    choices = ((True, False) if isinstance(right, bool) else
               next(v for v in vars(__import__(ex.check.__module__, fromlist=["_"])).values()
                    if isinstance(v, tuple) and right in v))
    for other in choices:
        if other == right:
            continue
        wrong = ex.check(other, *(ns[n] for n in ex.names[1:]))
        assert not wrong.ok and wrong.answered, (key, other)
        assert f"the outcome is {right!r}, not {other!r}: " in wrong.message
        assert len(wrong.message) > 80, "the feedback explains the reason"
    odd = ex.check("perhaps" if isinstance(right, bool) else 42, *(ns[n] for n in ex.names[1:]))
    assert not odd.ok and "should be one of" in odd.message


def test_gap_heads_have_one_gradient_per_channel_and_dense_heads_do_not() -> None:
    gap, dense = make_small("vgg", seed=3), make_small("vgg_dense", seed=11)
    x = small_input(1, 16, seed=5)
    assert ex_cam.has_gap_head(gap, x) and not ex_cam.has_gap_head(dense, x)
    fb = ex_cam.check_gap_gradient("the same at every position", {"gap": gap, "dense": dense}, x)
    assert fb.ok and any(d.startswith("gap:") for d in fb.details)
    with pytest.raises(ValueError, match="GAP"):
        ex_cam.check_gap_gradient("the same at every position", {"dense": dense}, x)


def test_xgradcam_equals_gradcam_exactly_on_a_gap_head() -> None:
    from xai_tutor.exercises.gradcampp import check_same_as_gradcam

    x = small_input(1, 16, seed=5)
    assert check_same_as_gradcam(True, make_small("vgg", seed=3), x).ok
    assert check_same_as_gradcam(False, make_small("vgg_dense", seed=11), x).ok


def test_relu_keeps_the_scaling_that_relu6_breaks(world) -> None:
    net, x, c, t = world["net64"], world["x64"], world["c64"], 2.5
    with torch.no_grad():
        y, y_scaled = float(net(x)[0, c]), float(ex_fg._scaled_biases(net, t)(t * x)[0, c])
    assert abs(y_scaled - t * y) < 1e-9 * max(1.0, abs(y_scaled))
    fb = ex_fg.check_relu6_scaling(False, net, x, c)
    assert fb.ok and "ReLU6 inputs above 6" in fb.details[0]
    assert all(isinstance(m, nn.ReLU) for m in net.modules() if "ReLU" in type(m).__name__)
