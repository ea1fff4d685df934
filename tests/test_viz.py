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
    assert len(axes) == 9 + 2  # 3 x 3 cells and one colour bar per method row
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


# --- figures that carry their message ------------------------------------------------------

class FakeExplanation:
    """What the figures read from an Explanation: attribution, saliency, method."""

    def __init__(self, attribution, saliency, method):
        self.attribution = torch.as_tensor(attribution)[None]
        self.saliency = torch.as_tensor(saliency)[None]
        self.method = method


def colorbars(fig):
    return [ax for ax in fig.get_axes() if ax.get_label() == "<colorbar>"]


def test_course_order_follows_the_notebooks_declared_in_the_registry():
    got = viz.course_order(["scorecam", "my combo", "lrp", "Grad-CAM++", "cam", "deconvnet",
                            "centre_baseline", "guided_backprop lrp", "gradient"])
    assert got == ["gradient", "deconvnet", "guided_backprop lrp", "lrp", "cam", "Grad-CAM++",
                   "scorecam", "my combo", "centre_baseline"]
    assert viz.method_title("gradcampp") == "Grad-CAM++" and viz.method_title("A") == "A"


def test_robust_scale_is_not_dominated_by_one_outlier():
    s = np.zeros((50, 50))
    s[10:30, 10:30] = 0.5     # the object: 16 % of the pixels
    s[0, 0] = 1000.0          # one outlier pixel
    minmax = viz.as_saliency(s)
    robust = viz.robust_scale(s, 99)
    assert minmax[20, 20] < 1e-3            # min-max: the object is invisible
    assert robust[20, 20] == 1.0 and robust[0, 0] == 1.0 and robust[40, 40] == 0.0
    # so the opacity view is no longer blank on the object
    img = np.zeros((50, 50, 3), np.uint8)
    assert viz.opacity(img, s)[20, 20, 0] > 250
    assert viz.opacity(img, s, scale="robust")[20, 20, 0] == 0
    assert (viz.edges(np.zeros((50, 50, 3), np.uint8), s, scale="robust") == 255).all()
    signed = np.zeros((50, 50))
    signed[10:30, 10:30] = -0.2
    signed[0, 0] = 50.0
    a = viz.robust_scale(signed, 99, signed=True)
    assert a[20, 20] == -1.0 and a[0, 0] == 1.0 and a[40, 40] == 0.0
    with pytest.raises(ValueError, match="signed=True"):
        viz.robust_scale(signed)
    with pytest.raises(ValueError, match="percentile"):
        viz.robust_scale(s, 0)


def test_signed_heatmap_is_diverging_and_centred_at_zero():
    img = np.full((4, 6, 3), 100, np.uint8)
    a = np.zeros((4, 6))
    a[0, 0], a[0, 1] = 3.0, -1.0  # asymmetric range: the scale is still symmetric
    a[1, :] = 0.5
    out = viz.signed_heatmap(img, a, alpha=1.0, percentile=100).astype(int)
    bwr = matplotlib.colormaps["bwr"]
    white = np.round(np.array(bwr(0.5)[:3]) * 255)
    assert np.allclose(out[3, 3], white, atol=1)               # 0 -> the centre colour
    assert out[0, 0, 0] > 200 and out[0, 0, 2] < 50            # positive -> red
    assert np.allclose(out[0, 1], np.round(np.array(bwr((1 - 1 / 3) / 2)[:3]) * 255), atol=1)
    mirrored = viz.signed_heatmap(img, -a, alpha=1.0, percentile=100).astype(int)
    assert np.array_equal(mirrored[0, 0], out[0, 0][::-1])     # -a swaps red and blue
    # a (3, H, W) pixel attribution is summed over channels
    assert np.allclose(viz.signed_map(np.stack([a, a, -a])), a)


def test_display_map_policy():
    rng = np.random.default_rng(0)
    att = rng.normal(size=(3, 20, 30))
    sal = np.abs(att).max(0)
    sal /= sal.max()
    m, kind = viz.display_map(FakeExplanation(att, sal, "lrp"))
    assert kind == "signed" and m.min() == -1.0 and m.max() == 1.0
    m, kind = viz.display_map(FakeExplanation(att, sal, "guided_backprop"))
    assert kind == "robust" and np.allclose(m, viz.robust_scale(sal))
    cam = np.clip(rng.random((20, 30)), 0, 1)
    m, kind = viz.display_map(FakeExplanation(rng.random((5, 6)), cam, "gradcam"))
    assert kind == "linear" and np.array_equal(m, cam)
    m, kind = viz.display_map(att[0])                      # an array with negatives: signed
    assert kind == "signed"
    m, kind = viz.display_map(sal, method="Gradient", signed=False, blur=1.5, size=(40, 60))
    assert kind == "robust" and m.shape == (40, 60)


def test_grid_colour_bars_titles_order_and_does_not_apply(image, sal):
    signed = sal - 0.5
    rows = {
        "scorecam": [sal, sal, None],
        "lrp": [FakeExplanation(np.stack([signed] * 3), sal, "lrp")] * 3,
        "cam": [ValueError("CAM needs a global-average-pooling head; this model has two FC "
                           "layers. Use Grad-CAM."), viz.NotApplicable("no GAP head"), sal],
    }
    fig = viz.grid([image] * 3, rows, column_titles=["a", "b", "c"],
                   cell_titles={"scorecam": [viz.panel_title("flamingo", 0.973, "scorecam"),
                                             None, None]})
    axes = [ax for ax in fig.get_axes() if ax.get_label() != "<colorbar>"]
    labels = [axes[3 * r].get_ylabel() for r in range(4)]
    assert labels == ["input", "LRP", "CAM", "Score-CAM"]         # course order, paper names
    bars = colorbars(fig)
    assert len(bars) == 3                                          # one per method row
    lo, hi = sorted(bars[0].get_ylim())                            # the LRP row: signed
    assert np.isclose(lo, -hi) and np.isclose(hi, 1.0)             # vmin = -vmax
    assert sorted(bars[2].get_ylim()) == [0.0, 1.0]                # Score-CAM: saliency
    cam_texts = [t.get_text() for t in axes[6].texts + axes[7].texts]
    assert cam_texts[0].startswith("does not apply:") and "global-average-pooling" in cam_texts[0]
    assert "Grad-CAM" not in cam_texts[0]                          # only the first sentence
    assert cam_texts[1] == "does not apply:\nno GAP head"
    assert len(axes[8].images) == 1                                # a map where CAM applies
    assert axes[9].get_title() == "Score-CAM: flamingo (p = 0.97)"
    plain = viz.grid([image], {"B": [sal], "A": [sal]}, order=None, colorbar=False)
    assert [ax.get_ylabel() for ax in plain.get_axes()] == ["input", "B", "A"]
    assert not colorbars(plain)


def test_show_has_colour_bar_and_centred_signed_scale(image, sal):
    fig = viz.show(image, FakeExplanation(np.stack([sal - 0.3] * 3), sal, "gradient"),
                   title="t")
    bars = colorbars(fig)
    assert len(bars) == 1
    lo, hi = sorted(bars[0].get_ylim())
    assert np.isclose(lo, -hi) and np.isclose(hi, 1.0)
    fig = viz.show(image, sal, "opacity", method="gradcam")
    lo, hi = sorted(colorbars(fig)[0].get_ylim())
    assert (lo, hi) == (0.0, 1.0)
    fig = viz.show(image, viz.NotApplicable("needs a GAP head"))
    assert "does not apply" in fig.get_axes()[0].texts[0].get_text() and not colorbars(fig)


def test_panel_title_and_explained_class():
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 4 * 4, 3))
    net.class_names = ["flamingo", "toucan", "pelican"]
    net.train()
    x = torch.randn(1, 3, 4, 4)
    with torch.no_grad():
        p = torch.softmax(net(x).double(), 1)[0]
    top = viz.explained_class(net, x)
    assert top.index == int(p.argmax()) and top.name == net.class_names[top.index]
    assert top.probability == pytest.approx(float(p.max()))
    assert net.training                                            # mode restored
    other = viz.explained_class(net, x, target=2)
    assert other.name == "pelican" and other.probability == pytest.approx(float(p[2]))
    assert viz.panel_title(other) == f"pelican (p = {float(p[2]):.2f})"
    assert viz.panel_title("lakeside", 0.4, "gradcam") == "Grad-CAM: lakeside (p = 0.40)"
    with pytest.raises(ValueError, match="target"):
        viz.explained_class(net, x, target=7)
    with pytest.raises(ValueError, match="probability"):
        viz.panel_title("x", 1.5)


def test_representations_lrp_edge_and_opacity_views_are_not_blank():
    rng = np.random.default_rng(4)
    img = np.full((40, 60, 3), 230, np.uint8)
    img[10:30, 20:40] = rng.integers(0, 256, size=(20, 20, 3))   # a textured object
    sal = np.zeros((40, 60))
    sal[10:30, 20:40] = 0.05 * rng.random((20, 20)) + 0.05        # LRP-like: low on the object
    sal[0, 0] = 1.0                                               # and one extreme pixel
    fig = viz.representations([img], {"gradcampp": [sal], "lrp": [sal]}, column_titles=["x"])
    axes = [ax for ax in fig.get_axes() if ax.get_label() != "<colorbar>"]
    labels = [ax.get_ylabel() for ax in axes]
    assert labels[:4] == ["input", "LRP heatmap", "LRP opacity", "LRP edges"]
    assert len(colorbars(fig)) == 6
    legacy_edges = 255 - viz.edges(img, sal)[10:30, 20:40].astype(float)
    legacy_opacity = 255 - viz.opacity(img, sal)[10:30, 20:40].astype(float)
    shown_opacity = 255 - axes[2].images[0].get_array()[10:30, 20:40].astype(float)
    shown_edges = 255 - axes[3].images[0].get_array()[10:30, 20:40].astype(float)
    assert legacy_edges.mean() < 10 and legacy_opacity.mean() < 15     # nearly blank before
    assert shown_edges.mean() > 5 * legacy_edges.mean()
    assert shown_opacity.mean() > 5 * legacy_opacity.mean()
    with pytest.raises(ValueError, match="representation"):
        viz.representations([img], {"lrp": [sal]}, kinds=("contour",))
    # rows keyed by model (notebook 04): method= says they are LRP maps
    by_model = viz.grid([img], {"tiny_vgg": [sal]}, "edges", method="lrp")
    shown = 255 - by_model.get_axes()[1].images[0].get_array()[10:30, 20:40].astype(float)
    assert np.allclose(shown, shown_edges)


def test_projection_image_is_grey_at_zero_and_robust_to_one_outlier():
    rng = np.random.default_rng(2)
    p = rng.normal(size=(3, 20, 30)) * 0.01
    p[:, 5:10, 5:10] += 0.05                                      # the structure to see
    p[0, 0, 0] = 50.0                                             # one extreme value
    pic = viz.projection_image(torch.from_numpy(p)[None])
    assert pic.shape == (20, 30, 3) and pic.min() >= 0 and pic.max() <= 1
    assert np.allclose(viz.projection_image(np.zeros((3, 4, 4))), 0.5)   # 0 is grey
    # min-max by the largest value would leave the patch at 0.5 + 0.5 * 0.05 / 50: invisible
    assert pic[5:10, 5:10].mean() > 0.8
    assert abs(viz.projection_image(-p)[5:10, 5:10].mean() - (1 - pic[5:10, 5:10].mean())) < 1e-12
    with pytest.raises(ValueError, match="projection"):
        viz.projection_image(np.zeros((4, 4)))


def test_grid_row_labels_break_between_words_only(image, sal):
    fig = viz.grid([image], {"Grad-CAM efficientnet_lite0": [sal]})
    label = fig.get_axes()[1].get_ylabel()
    assert label.split("\n") == ["Grad-CAM", "efficientnet_lite0"]
