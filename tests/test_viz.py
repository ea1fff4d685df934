"""The three representations against their formulas, computed by hand in float64."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import torch
from PIL import Image

from xai_tutor import viz


@pytest.fixture
def image() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(12, 16, 3), dtype=np.uint8)


@pytest.fixture
def sal() -> np.ndarray:
    rng = np.random.default_rng(1)
    return rng.random((12, 16))


def test_opacity_formula(image, sal):
    out = viz.opacity(image, sal)
    expected = image.astype(np.float64) * sal[..., None] + 255.0 * (1 - sal[..., None])
    assert out.dtype == np.uint8 and out.shape == image.shape
    assert np.abs(out.astype(float) - expected).max() <= 0.5 + 1e-9


def test_opacity_extremes_are_blank_and_image(image):
    s = np.zeros((12, 16))
    s[3, 4] = 1.0
    out = viz.opacity(image, s)
    assert (out[0, 0] == 255).all()
    assert (out[3, 4] == image[3, 4]).all()


def test_heatmap_is_linear_jet_blend(image, sal):
    out = viz.heatmap(image, sal, alpha=0.4)
    jet = matplotlib.colormaps["jet"](sal)[..., :3] * 255
    expected = 0.6 * image + 0.4 * jet
    assert np.abs(out.astype(float) - expected).max() <= 0.5 + 1e-9
    # red = important, blue = not
    pure = viz.heatmap(np.zeros((1, 2, 3), np.uint8), np.array([[0.0, 1.0]]), alpha=1.0)
    assert pure[0, 1, 0] > 100 and pure[0, 1, 2] == 0
    assert pure[0, 0, 2] > 100 and pure[0, 0, 0] == 0


def test_saliency_used_linearly_no_gamma(image):
    """Doubling a map inside [0, 1] doubles the opacity effect exactly (no squaring)."""
    s = np.full((12, 16), 0.25)
    a = 255 - viz.opacity(np.zeros_like(image), s).astype(float)
    b = 255 - viz.opacity(np.zeros_like(image), 2 * s).astype(float)
    assert np.allclose(b, 2 * a, atol=1.0)


def test_edges_formula_on_a_step_image():
    img = np.zeros((6, 8, 3), np.uint8)
    img[:, 4:] = 255  # a vertical step between columns 3 and 4
    e = viz.edge_strength(img)
    assert np.allclose(e[:, :3], 0, atol=1e-12) and np.allclose(e[:, 5:], 0, atol=1e-12)
    assert np.allclose(e[:, 3], 1.0) and np.allclose(e[:, 4], 1.0)
    s = np.zeros((6, 8))
    s[:3] = 1.0
    s[3:] = 0.5
    out = viz.edges(img, s)
    assert out.dtype == np.uint8 and out.shape == (6, 8, 3)
    assert (out[:3, 3] == 0).all()          # strong edge, important -> black
    assert (out[3:, 3] == 128).all()        # 255 * (1 - 1 * 0.5) = 127.5 -> 128
    assert (out[:, 0] == 255).all()         # no edge -> white


def test_inputs_tensor_pil_and_resize(image):
    pil = Image.fromarray(image)
    s = torch.rand(1, 6, 8)
    out = viz.render(pil, s, "heatmap")
    assert out.shape == (12, 16, 3)
    t = torch.from_numpy(image).permute(2, 0, 1).float() / 255
    assert np.array_equal(viz.as_image(t), image)
    # a map outside [0, 1] is min-max scaled
    assert np.allclose(viz.as_saliency(np.array([[2.0, 4.0]])), [[0.0, 1.0]])


def test_errors(image):
    with pytest.raises(ValueError, match="representation"):
        viz.render(image, np.zeros((12, 16)), "contour")
    with pytest.raises(ValueError, match="NaN"):
        viz.opacity(image, np.full((12, 16), np.nan))
    with pytest.raises(ValueError, match="one map"):
        viz.opacity(image, np.zeros((2, 12, 16)))
    with pytest.raises(TypeError):
        viz.opacity([1, 2], np.zeros((12, 16)))
    with pytest.raises(ValueError, match="row"):
        viz.grid([image, image], {"m": [np.zeros((12, 16))]})


def test_grid_layout(image, sal):
    fig = viz.grid([image, image, image], {"A": [sal] * 3, "B": [sal, None, sal]},
                   representation="opacity", column_titles=["x", "y", "z"])
    axes = fig.get_axes()
    assert len(axes) == 9
    assert axes[0].get_ylabel() == "input" and axes[3].get_ylabel() == "A"
    assert axes[6].get_ylabel() == "B"
    assert len(axes[7].images) == 0 and len(axes[8].images) == 1


def test_show_masks_draws_boxes():
    class S:
        image = Image.new("RGB", (10, 8), (0, 0, 0))
        masks = np.zeros((2, 8, 10), bool)
        boxes = np.array([[0, 0, 3, 3], [5, 4, 9, 8]])
        species = ["a", "b"]

    S.masks[0, :3, :3] = True
    S.masks[1, 4:, 5:9] = True
    fig = viz.show_masks(S())
    ax = fig.get_axes()[0]
    assert len(ax.patches) == 2 and len(ax.texts) == 2
    shown = ax.images[0].get_array()
    assert shown[0, 0].sum() > 0 and shown[0, 9].sum() == 0
