"""Every metric against values computed by hand or by an independent float64 formula."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

from xai_tutor.evaluation import (
    area_recall,
    covered_instances,
    deletion_curve,
    gaussian_blur,
    insertion_auc,
    insertion_curve,
    instance_mass,
    multi_instance_coverage,
    parameterised_layers,
    pointing_game,
    rankdata,
    relevance_mass,
    shape_iou,
    spearman,
)


def square_mask(h=40, w=40, box=(20, 30, 20, 30)):
    m = np.zeros((1, h, w), bool)
    r0, r1, c0, c1 = box
    m[0, r0:r1, c0:c1] = True
    return m


# --- pointing game -------------------------------------------------------------------------

def test_pointing_tolerance_is_euclidean_and_inclusive():
    m = square_mask()
    s = np.zeros((40, 40))
    s[5, 25] = 1.0  # 15 px straight above the square's top row (row 20)
    assert pointing_game(s, m, 15).hit
    assert not pointing_game(s, m, 14.9).hit
    s = np.zeros((40, 40))
    s[9, 9] = 1.0  # diagonal to the corner (20, 20): sqrt(11^2 + 11^2) = 15.56
    r = pointing_game(s, m, 15)
    assert not r.hit and r.instance == -1
    assert pointing_game(s, m, 15.6).hit
    assert math.isclose(pointing_game(s, m, 15.6).distance, math.hypot(11, 11))


def test_pointing_inside_and_instance_index():
    m = np.zeros((2, 10, 10), bool)
    m[0, :3, :3] = True
    m[1, 6:, 6:] = True
    s = np.zeros((10, 10))
    s[8, 7] = 2.0
    r = pointing_game(s, m, 0)
    assert r.hit and r.instance == 1 and r.point == (8, 7) and r.distance == 0 and r.ties == 1


def test_pointing_ties_take_first_in_row_major_order():
    m = square_mask(10, 10, (6, 10, 6, 10))
    s = np.zeros((10, 10))
    s[0, 0] = s[8, 8] = 1.0  # the first maximum (0, 0) is far from the mask
    r = pointing_game(s, m, 2)
    assert r.point == (0, 0) and r.ties == 2 and not r.hit
    s[0, 0] = 0.5
    assert pointing_game(s, m, 2).hit


def test_pointing_constant_and_empty():
    m = square_mask()
    for value in (0.0, 0.7):
        r = pointing_game(np.full((40, 40), value), m)
        assert not r.hit and r.point is None and r.ties == 1600
    s = np.zeros((40, 40))
    s[25, 25] = 1
    assert not pointing_game(s, np.zeros((2, 40, 40), bool)).hit


def test_pointing_errors():
    with pytest.raises(ValueError, match="shape"):
        pointing_game(np.zeros((4, 4)), np.zeros((1, 5, 5), bool))
    with pytest.raises(ValueError, match="non-negative"):
        pointing_game(-np.ones((4, 4)), np.zeros((1, 4, 4), bool))
    with pytest.raises(ValueError, match="NaN"):
        pointing_game(np.full((4, 4), np.nan), np.zeros((1, 4, 4), bool))
    with pytest.raises(TypeError):
        pointing_game([[1.0]], np.zeros((1, 1, 1), bool))


# --- relevance mass --------------------------------------------------------------------------

def test_relevance_mass_by_hand():
    s = np.array([[1.0, 2.0, 0.0], [3.0, 0.0, 4.0]])
    m = np.zeros((2, 2, 3), bool)
    m[0, 0, 1] = True  # 2
    m[1, 1, 2] = True  # 4
    m[1, 0, 1] = True  # overlap: counted once in the union
    assert relevance_mass(s, m) == pytest.approx(6 / 10)
    assert np.allclose(instance_mass(s, m), [0.2, 0.6])
    assert relevance_mass(torch.tensor(s)[None], m) == pytest.approx(0.6)


def test_relevance_mass_edge_cases():
    m = square_mask(10, 10, (0, 5, 0, 4))  # 20 of 100 pixels
    assert relevance_mass(np.zeros((10, 10)), m) == 0.0
    assert relevance_mass(np.full((10, 10), 3.0), m) == pytest.approx(0.2)
    assert relevance_mass(np.full((10, 10), 3.0), np.zeros((1, 10, 10), bool)) == 0.0
    assert np.array_equal(instance_mass(np.zeros((10, 10)), m), [0.0])


# --- coverage, recall, shape -------------------------------------------------------------------

def two_instances():
    m = np.zeros((3, 4, 6), bool)
    m[0, :2, :2] = True  # 4 px
    m[1, 2:, 4:] = True  # 4 px
    m[2, 0, 5] = True  # 1 px
    return m


def test_coverage_by_hand():
    m = two_instances()
    s = np.zeros((4, 6))
    s[:2, :2] = 1.0  # d0 = 1
    s[3, 5] = 0.4  # d1 = 0.1
    s[0, 5] = 0.3  # d2 = 0.3
    # d_U = (4 + 0.4 + 0.3) / 9 = 0.5222; half: 0.2611
    assert covered_instances(s, m).tolist() == [True, False, True]
    assert multi_instance_coverage(s, m) == pytest.approx(2 / 3)
    # fraction 0.6 -> threshold 0.3133 > 0.3
    assert multi_instance_coverage(s, m, fraction=0.6) == pytest.approx(1 / 3)


def test_coverage_edge_cases():
    m = two_instances()
    assert multi_instance_coverage(np.full((4, 6), 0.2), m) == 1.0  # uniform: all fair shares
    assert multi_instance_coverage(np.zeros((4, 6)), m) == 0.0
    empty = m.copy()
    empty[2] = False  # a fully occluded instance is left out of the count
    s = np.zeros((4, 6))
    s[:2, :2] = 1.0
    assert multi_instance_coverage(s, empty) == pytest.approx(1 / 2)
    assert multi_instance_coverage(s, np.zeros((2, 4, 6), bool)) == 0.0
    single = m[:1]
    assert multi_instance_coverage(s, single) == 1.0


def test_area_recall_and_shape_iou_by_hand():
    m = square_mask(4, 4, (0, 2, 0, 2))  # 4 px
    s = np.array([[1.0, 0.6, 0.0, 0.0],
                  [0.2, 0.0, 0.9, 0.0],
                  [0.0, 0.0, 0.0, 0.0],
                  [0.0, 0.0, 0.0, 0.0]])
    assert area_recall(s, m) == pytest.approx(2 / 4)  # 1.0 and 0.6 >= 0.5
    assert area_recall(s, m, threshold=0.1) == pytest.approx(3 / 4)
    # top-4 pixels: 1.0, 0.9, 0.6, 0.2 -> 3 inside the mask; IoU = 3 / (4 + 4 - 3)
    assert shape_iou(s, m) == pytest.approx(3 / 5)
    assert shape_iou(np.full((4, 4), 0.5), m) == 0.0
    assert area_recall(np.zeros((4, 4)), m) == 0.0
    perfect = m[0].astype(float)
    assert shape_iou(perfect, m) == 1.0


# --- deletion and insertion --------------------------------------------------------------------

class Linear2(nn.Module):
    """p(class 0) = sigmoid(2 z), z = sum(w * x): simple enough to compute by hand."""

    def __init__(self, shape):
        super().__init__()
        self.w = nn.Parameter(torch.randn(shape, generator=torch.Generator().manual_seed(3)))

    def forward(self, x):
        z = (x * self.w).sum(dim=(1, 2, 3))
        return torch.stack([z, -z], dim=1)


def reference_curve(x, s, base, steps, insert, target=0):
    """Pixel-by-pixel float64 reference, written independently of the implementation."""
    h, w = s.shape
    ranked = sorted(range(h * w), key=lambda p: (-s.reshape(-1)[p], p))
    probs = []
    for j in range(steps + 1):
        k = round(j * h * w / steps)
        img = (base if insert else x).clone().double()
        src = (x if insert else base).double()
        for p in ranked[:k]:
            r, c = divmod(p, w)
            img[..., r, c] = src[..., r, c]
        z = (img * model_w).sum()
        logits = torch.stack([z, -z])
        probs.append(float(torch.softmax(logits, 0)[target]))
    fr = np.array([round(j * h * w / steps) / (h * w) for j in range(steps + 1)])
    pr = np.array(probs)
    return fr, pr, float(np.trapezoid(pr, fr))


model_w = None


@pytest.mark.parametrize("insert", [False, True])
def test_deletion_insertion_match_reference(insert):
    global model_w
    x = torch.randn(1, 3, 5, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    model = Linear2((1, 3, 5, 4)).double()
    model_w = model.w.detach()
    s = np.round(np.random.default_rng(1).random((5, 4)), 1)  # rounding creates ties
    base = gaussian_blur(x) if insert else torch.zeros_like(x)
    before = copy.deepcopy(model.state_dict())
    fn = insertion_curve if insert else deletion_curve
    curve = fn(model, x, s, target=0, steps=7, batch_size=3, progress=False)
    fr, pr, auc = reference_curve(x, s, base, 7, insert)
    assert np.allclose(curve.fractions, fr) and np.allclose(curve.probs, pr, atol=1e-12)
    assert curve.auc == pytest.approx(auc, abs=1e-12)
    assert curve.fractions[0] == 0 and curve.fractions[-1] == 1
    other = fn(model, x, s, target=0, steps=7, batch_size=100, progress=False)
    assert np.allclose(other.probs, curve.probs)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    assert model.w.requires_grad


def test_deletion_edge_cases_and_errors(small_vgg):
    x = torch.randn(1, 3, 16, 16)
    s = torch.rand(8, 8)  # resized to the image
    c = deletion_curve(small_vgg, x, s, steps=4, progress=False)
    assert c.probs.shape == (5,) and np.all((c.probs >= 0) & (c.probs <= 1))
    assert c.target == int(small_vgg(x).argmax())
    assert 0 <= insertion_auc(small_vgg, x, s, steps=4, progress=False) <= 1
    with pytest.raises(ValueError, match="one image"):
        deletion_curve(small_vgg, torch.randn(2, 3, 16, 16), s)
    with pytest.raises(ValueError, match="steps"):
        deletion_curve(small_vgg, x, s, steps=0)
    with pytest.raises(ValueError, match="baseline"):
        deletion_curve(small_vgg, x, s, baseline="noise")


def test_gaussian_blur_matches_numpy_reference():
    x = torch.randn(1, 2, 13, 14, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    t = np.arange(11) - 5
    k1 = np.exp(-t**2 / 50.0)
    k1 /= k1.sum()
    k2 = np.outer(k1, k1)
    ref = np.zeros((1, 2, 13, 14))
    for ch in range(2):
        padded = np.pad(x[0, ch].numpy(), 5, mode="reflect")
        for r in range(13):
            for c in range(14):
                ref[0, ch, r, c] = (padded[r:r + 11, c:c + 11] * k2).sum()
    assert np.allclose(gaussian_blur(x).numpy(), ref, atol=1e-12)
    const = torch.full((1, 3, 4, 4), 0.3, dtype=torch.float64)  # small: replicate padding
    assert torch.allclose(gaussian_blur(const), const)


# --- randomisation -----------------------------------------------------------------------------

def test_rankdata_and_spearman_match_scipy():
    assert rankdata(np.array([3.0, 1.0, 3.0, 2.0])).tolist() == [3.5, 1.0, 3.5, 2.0]
    rng = np.random.default_rng(0)
    a = np.round(rng.random((6, 7)), 1)
    b = np.round(a + rng.random((6, 7)), 1)
    assert spearman(a, b) == pytest.approx(stats.spearmanr(a.ravel(), b.ravel())[0], abs=1e-12)
    assert spearman(a, a) == pytest.approx(1.0)
    assert spearman(a, np.ones((6, 7))) == 0.0


def test_parameterised_layers(small_resnet):
    names = parameterised_layers(small_resnet)
    assert names[0] == "conv1" and names[-1] == "fc" and "layer2.down.1" in names


# --- cost ------------------------------------------------------------------------------------

def test_measure_sees_tensor_memory():
    """In a fresh process: a long test session's heap may hand back pages it already holds, and
    RSS then rightly does not grow."""
    import subprocess
    import sys

    code = (
        "import time, torch\n"
        "from xai_tutor.evaluation.cost import measure\n"
        "def allocate():\n"
        "    t = torch.ones(4096, 4096)  # 64 MiB, alive until return\n"
        "    time.sleep(0.2)  # RSS is sampled every millisecond\n"
        "    return float(t[0, 0])\n"
        "c = measure(allocate)\n"
        "print(c.result, c.seconds > 0, c.peak_bytes)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout.split()
    assert out[0] == "1.0" and out[1] == "True"
    assert int(out[2]) >= 48 * 2**20
