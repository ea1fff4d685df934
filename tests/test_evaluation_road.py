"""ROAD: the noisy linear imputation against a dense float64 solve written here, its defining
property, the MoRF / LeRF curves against a loop, and Quantus 0.6."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from xai_tutor import evaluation as ev

from conftest import make_small

OFFSETS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]


def weight(dy: int, dx: int) -> float:
    return 1 / 6 if dy == 0 or dx == 0 else 1 / 12


def imputation_by_loops(img: np.ndarray, removed: np.ndarray) -> np.ndarray:
    """Each removed pixel = weighted mean of its in-image neighbours, as one dense system."""
    c, h, w = img.shape
    unknown = [(i, j) for i in range(h) for j in range(w) if removed[i, j]]
    index = {p: k for k, p in enumerate(unknown)}
    a = np.zeros((len(unknown), len(unknown)))
    b = np.zeros((len(unknown), c))
    for k, (i, j) in enumerate(unknown):
        for dy, dx in OFFSETS:
            y, x = i + dy, j + dx
            if 0 <= y < h and 0 <= x < w:
                a[k, k] += weight(dy, dx)
                if removed[y, x]:
                    a[k, index[(y, x)]] -= weight(dy, dx)
                else:
                    b[k] += weight(dy, dx) * img[:, y, x]
    solved = np.linalg.solve(a, b)
    out = img.copy()
    for k, (i, j) in enumerate(unknown):
        out[:, i, j] = solved[k]
    return out


@pytest.mark.parametrize("share", [0.1, 0.5, 0.9])
def test_imputation_equals_the_dense_solve(share):
    rng = np.random.default_rng(int(share * 10))
    img = rng.standard_normal((3, 7, 9))
    removed = rng.random((7, 9)) < share
    removed[0, 0] = False
    ours = ev.noisy_linear_imputation(torch.from_numpy(img), removed, noise=0.0).numpy()
    assert np.abs(ours - imputation_by_loops(img, removed)).max() < 1e-10
    # kept pixels are untouched; each removed one is the weighted mean of its neighbours
    assert np.array_equal(ours[:, ~removed], img[:, ~removed])
    for i, j in zip(*np.nonzero(removed)):
        near = [(weight(dy, dx), ours[:, i + dy, j + dx]) for dy, dx in OFFSETS
                if 0 <= i + dy < 7 and 0 <= j + dx < 9]
        mean = sum(wt * v for wt, v in near) / sum(wt for wt, _ in near)
        assert np.allclose(ours[:, i, j], mean, atol=1e-10)


def test_imputation_keeps_constants_and_interior_ramps_and_adds_seeded_noise():
    yy, xx = np.mgrid[0:8, 0:10].astype(np.float64)
    ramp = np.stack([2 * yy - xx, np.full((8, 10), 0.7)])
    removed = np.zeros((8, 10), bool)
    removed[2:6, 3:7] = True            # an interior hole: the stencil is symmetric there
    out = ev.noisy_linear_imputation(torch.from_numpy(ramp), removed, noise=0.0).numpy()
    assert np.allclose(out, ramp, atol=1e-12)  # linear functions are reproduced
    a = ev.noisy_linear_imputation(torch.from_numpy(ramp), removed, noise=0.01, seed=3)
    b = ev.noisy_linear_imputation(torch.from_numpy(ramp), removed, noise=0.01, seed=3)
    assert torch.equal(a, b)
    spread = (a.numpy() - out)[:, removed]
    assert 0.005 < spread.std() < 0.02
    assert np.array_equal(a.numpy()[:, ~removed], ramp[:, ~removed])
    batched = ev.noisy_linear_imputation(torch.from_numpy(ramp)[None], removed, noise=0.0)
    assert batched.shape == (1, 2, 8, 10)


def test_imputation_refuses_bad_input():
    img = torch.zeros(3, 4, 5)
    with pytest.raises(ValueError, match="every pixel is removed"):
        ev.noisy_linear_imputation(img, np.ones((4, 5), bool))
    with pytest.raises(ValueError, match="bool array"):
        ev.noisy_linear_imputation(img, np.ones((5, 4), bool))
    with pytest.raises(ValueError, match="noise"):
        ev.noisy_linear_imputation(img, np.zeros((4, 5), bool), noise=-1.0)


def curve_by_loop(model, x, saliency, target, order, shares, seed):
    s = saliency.reshape(-1)
    n = s.size
    ranked = sorted(range(n), key=lambda i: (-s[i] if order == "morf" else s[i], i))
    rng = np.random.default_rng(seed)
    probs = []
    for p in shares:
        removed = np.zeros(n, bool)
        removed[ranked[: int(p * n // 100)]] = True
        xi = ev.noisy_linear_imputation(x, removed.reshape(saliency.shape), 0.01, rng)
        with torch.no_grad():
            probs.append(float(torch.softmax(model(xi).double(), 1)[0, target]))
    return np.array(probs)


def test_road_curves_follow_the_definition():
    torch.manual_seed(0)
    model = make_small("vgg")
    x = torch.randn(1, 3, 24, 28)
    target = int(model(x).argmax())
    sal = ev.explainer("gradcam")(model, x, target)
    morf, lerf = ev.road(model, x, sal, percentages=(20, 50, 80), seed=4, progress=False)
    assert (morf.order, lerf.order, morf.target) == ("morf", "lerf", target)
    for curve in (morf, lerf):
        loop = curve_by_loop(model, x, sal, target, curve.order, (20, 50, 80), 4)
        assert np.allclose(curve.probs, loop, atol=1e-9)
        assert curve.score == pytest.approx(loop.mean())
    again = ev.road_curve(model, x, sal, order="morf", percentages=(20, 50, 80), seed=4,
                          progress=False)
    assert np.array_equal(again.probs, morf.probs)  # seeded
    with pytest.raises(ValueError, match="order"):
        ev.road_curve(model, x, sal, order="random", progress=False)
    with pytest.raises(ValueError, match="percentages"):
        ev.road_curve(model, x, sal, percentages=(0, 50), progress=False)


def test_road_separates_a_faithful_map_from_its_reverse():
    """A linear model that only reads a square: removing the square first (a faithful map,
    MoRF) must lower the class probability more than removing the rest first (LeRF)."""
    h, w = 12, 14
    inside = np.zeros((h, w), bool)
    inside[3:8, 4:10] = True
    model = nn.Sequential(nn.Flatten(), nn.Linear(h * w, 2))
    with torch.no_grad():
        model[1].weight.zero_()
        model[1].weight[0] = torch.from_numpy(inside.reshape(-1) * 0.5).float()
        model[1].bias.zero_()
    x = torch.from_numpy(np.where(inside, 1.0, -1.0)).float()[None, None]
    faithful = inside.astype(float) + 0.01 * np.random.default_rng(0).random((h, w))
    morf, lerf = ev.road(model, x, faithful, target=0, percentages=(20, 40), progress=False)
    assert morf.score < lerf.score
    assert morf.hits.dtype == bool and lerf.hits.all()


# --- Quantus 0.6 (test-only reference) ------------------------------------------------------

quantus = pytest.importorskip("quantus")


def test_imputation_agrees_with_quantus():
    from quantus.functions.perturb_func import noisy_linear_imputation as quantus_imputation

    rng = np.random.default_rng(0)
    img = rng.random((3, 9, 11))
    flat = rng.permutation(99)[:60]
    removed = np.zeros(99, bool)
    removed[flat] = True
    ours = ev.noisy_linear_imputation(torch.from_numpy(img), removed.reshape(9, 11), noise=0.0)
    theirs = quantus_imputation(img, flat, noise=0.0)
    assert np.abs(ours.numpy() - theirs).max() < 1e-12


def test_road_morf_hits_agree_with_quantus_on_one_channel():
    """Quantus 0.6's ROAD broadcasts a one-channel map over the image's channels and then indexes
    a per-pixel mask with (channel, pixel) indices, which fails on RGB images (IndexError): it
    is compared on a one-channel model, where both read the same pixels."""
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Linear(4, 3)).eval()
    x = torch.randn(2, 1, 10, 12)
    y = model(x).argmax(1).numpy()
    maps = np.random.default_rng(2).random((2, 1, 10, 12))
    shares = [10, 30, 50, 70, 90]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        road = quantus.ROAD(percentages=shares, noise=0.0, normalise=False,
                            disable_warnings=True)
        road(model=model, x_batch=x.numpy(), y_batch=y, a_batch=maps, device="cpu")
    theirs = np.stack(road.evaluation_scores if isinstance(road.evaluation_scores, list)
                      else [road.evaluation_scores[p] for p in shares])
    ours = np.stack([ev.road_curve(model, x[i:i + 1], maps[i, 0], int(y[i]), "morf", shares,
                                   noise=0.0, progress=False).hits for i in range(2)])
    assert np.abs(theirs - ours.mean(axis=0)).max() == 0.0  # accuracy per share
    with warnings.catch_warnings(), pytest.raises(IndexError):
        warnings.simplefilter("ignore")
        rgb = make_small("vgg")
        x3 = torch.randn(1, 3, 10, 12)
        quantus.ROAD(percentages=[50], noise=0.0, normalise=False, disable_warnings=True)(
            model=rgb, x_batch=x3.numpy(), y_batch=rgb(x3).argmax(1).detach().numpy(),
            a_batch=maps[:1], device="cpu")
