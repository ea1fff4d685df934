"""Figures: one panel (:func:`show`), the Figure-5 grid (:func:`grid`), the three representations
side by side (:func:`representations`) and the scenes' instance masks (:func:`show_masks`).

Every saliency panel gets a colour bar; rows follow the course order; a cell where a method cannot
explain the model says so (:class:`NotApplicable`, or the exception the method raised).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .maps import ROBUST_PERCENTILE, as_image, display_map
from .names import course_order, method_key, method_title
from .views import REPRESENTATIONS, _colour_map, render, signed_heatmap

__all__ = ["ColourScale", "NotApplicable", "colour_scale", "draw_map", "grid", "representations",
           "show", "show_masks"]


@dataclass(frozen=True)
class NotApplicable:
    """A grid cell for a method that cannot explain a model; drawn as "does not apply: reason"."""

    reason: str

    @classmethod
    def from_exception(cls, err: BaseException) -> NotApplicable:
        """The first sentence of the exception's message (what the method said when it refused)."""
        text = " ".join(str(err).split()) or type(err).__name__
        first = text.split("; ")[0].split(". ")[0]
        return cls(first.rstrip("."))

    def text(self, width: int = 30, max_lines: int = 5) -> str:
        """``"does not apply:"`` and the reason wrapped to ``width`` characters."""
        lines = textwrap.wrap(self.reason, width, break_on_hyphens=False) or [""]
        if len(lines) > max_lines:
            lines = lines[:max_lines]
            lines[-1] = lines[-1][: max(0, width - 1)] + "…"
        return "\n".join(["does not apply:"] + lines)


def _not_applicable(value: Any) -> NotApplicable | None:
    if isinstance(value, NotApplicable):
        return value
    if isinstance(value, BaseException):
        return NotApplicable.from_exception(value)
    return None


@dataclass(frozen=True)
class ColourScale:
    """What a colour bar shows: the colours from ``low`` to ``high`` and what the values mean."""

    colours: Any
    low: float
    high: float
    label: str


def colour_scale(kind: str, representation: str = "heatmap", cmap: str = "jet",
                 percentile: float = ROBUST_PERCENTILE) -> ColourScale:
    """The colour bar of a panel drawn by :func:`draw_map` as ``kind`` in ``representation``.

    ``"signed"``: ``"bwr"`` from -1 to 1, labelled ``signed value / 99th pct of |value|``;
    otherwise 0 to 1 in the heatmap's ``cmap`` (opacity and edges: white to black, the strength
    of the effect), labelled ``saliency, min-max scaled`` (``linear``) or
    ``saliency / 99th pct`` (``robust``), with ``(opacity)`` or ``(edge darkness)`` added for
    those views.

    >>> colour_scale("robust", "opacity").label
    'saliency / 99th pct (opacity)'
    """
    from matplotlib.colors import LinearSegmentedColormap

    if kind == "signed":
        label = f"signed value / {percentile:g}th pct of |value|"
        return ColourScale(_colour_map("bwr"), -1.0, 1.0, label)
    if representation == "heatmap":
        colours = _colour_map(cmap)
    else:  # opacity: the image shows through; edges: edges darken
        colours = LinearSegmentedColormap.from_list("importance", ["white", "black"])
    label = (f"saliency / {percentile:g}th pct" if kind == "robust"
             else "saliency, min-max scaled")
    if representation != "heatmap":
        label += " (opacity)" if representation == "opacity" else " (edge darkness)"
    return ColourScale(colours, 0.0, 1.0, label)


def _colorbar(fig: Any, axes: Any, kind: str, representation: str, cmap: str,
              percentile: float) -> Any:
    """One colour bar for ``axes`` showing the colour (or opacity/darkness) of each value."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    scale = colour_scale(kind, representation, cmap, percentile)
    mappable = ScalarMappable(Normalize(scale.low, scale.high), scale.colours)
    bar = fig.colorbar(mappable, ax=axes, fraction=0.04, pad=0.01, shrink=0.9)
    bar.set_label(scale.label, fontsize=7)
    bar.ax.tick_params(labelsize=7)
    return bar


def draw_map(image: Any, value: Any, representation: str = "heatmap", method: str | None = None,
             signed: bool | None = None, percentile: float = ROBUST_PERCENTILE,
             blur: float | None = None, **kwargs: Any) -> tuple[np.ndarray, str]:
    """``value`` drawn over ``image`` as a figure panel draws it, and its ``kind`` (the scale).

    The map comes from :func:`display_map`; a signed map is drawn on the diverging
    :func:`signed_heatmap` in the heatmap view and by its magnitude (robust-scaled) in the
    opacity and edge views. ``kwargs`` go to the heatmap (``alpha``, ``cmap``). Returns
    ``(uint8 (H, W, 3), kind)``; :func:`colour_scale` gives the matching colour bar.
    """
    image = as_image(image)
    m, kind = display_map(value, method, signed, percentile, blur, image.shape[:2])
    if kind == "signed":
        if representation == "heatmap":
            alpha = kwargs.get("alpha", 0.75)
            return signed_heatmap(image, m, alpha=alpha, percentile=100.0), kind
        m, kind = np.abs(m), "robust"  # opacity and edges show the magnitude
    extra = {k: v for k, v in kwargs.items() if representation == "heatmap"}
    return render(image, np.clip(m, 0.0, 1.0), representation, **extra), kind


def show(image: Any, saliency: Any, representation: str = "heatmap", ax: Any = None,
         method: str | None = None, title: str | None = None, colorbar: bool = True,
         signed: bool | None = None, percentile: float = ROBUST_PERCENTILE,
         blur: float | None = None, **kwargs: Any) -> Any:
    """Draw one saliency panel, with its colour bar, and return the figure.

    ``saliency`` is a map, an Explanation (pixel methods robust-scaled, LRP and the gradient drawn
    signed, see :func:`display_map`), a :class:`NotApplicable` or the exception a method raised
    ("does not apply: reason"). ``title``: e.g. :func:`panel_title`. ``kwargs`` go to the
    representation (``alpha``, ``cmap`` for the heatmap).
    """
    from matplotlib.figure import Figure

    img = as_image(image)
    if ax is None:
        h, w = img.shape[:2]
        fig = Figure(figsize=(5.2, 4.2 * h / w + 0.5), layout="constrained")
        ax = fig.subplots()
    else:
        fig = ax.figure
    ax.set_xticks([])
    ax.set_yticks([])
    na = _not_applicable(saliency)
    if na is not None:
        ax.text(0.5, 0.5, na.text(), ha="center", va="center", fontsize=9,
                transform=ax.transAxes, wrap=True)
    else:
        out, kind = draw_map(img, saliency, representation, method, signed, percentile, blur,
                             **kwargs)
        ax.imshow(out)
        if colorbar:
            _colorbar(fig, ax, kind, representation, kwargs.get("cmap", "jet"), percentile)
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def grid(
    images: Sequence[Any],
    rows: Mapping[str, Sequence[Any]],
    representation: str = "heatmap",
    column_titles: Sequence[str] | None = None,
    title: str | None = None,
    cell_width: float = 2.6,
    *,
    cell_titles: Mapping[str, Sequence[str | None]] | None = None,
    colorbar: bool = True,
    order: str | None = "course",
    method_titles: bool = True,
    method: str | None = None,
    signed: bool | None = None,
    percentile: float = ROBUST_PERCENTILE,
    blur: float | None = None,
    **kwargs: Any,
) -> Any:
    """A Figure-5 style grid: first row the input images, then one row per method.

    Args:
        images: one image per column (PIL, uint8 array or float tensor in ``[0, 1]``).
        rows: ``{row label: [cell per column]}``, e.g. ``{"gradcam": [s1, s2, s3]}``. A cell is
            a saliency map, an Explanation, ``None`` (left blank), or a :class:`NotApplicable` /
            the exception the method raised (drawn as "does not apply: reason").
        representation: ``"heatmap"``, ``"opacity"`` or ``"edges"``.
        column_titles: optional titles above the first row (e.g. the scene and, when every
            method explains the same class, :func:`panel_title` of it).
        title: optional figure title.
        cell_width: width of one cell in inches (the height follows the first image's aspect).
        cell_titles: optional ``{row label: [title per column]}`` (e.g. :func:`panel_title` of
            each cell's explained class), drawn above the cells.
        colorbar: one colour bar per method row (its scale: linear, robust or signed).
        order: ``"course"`` puts method rows in the course's order (:func:`course_order`; other
            rows keep their order, after them); ``None`` keeps the given order.
        method_titles: label rows named by a registry name with the paper's name ("Grad-CAM++").
        method: the method shown in rows whose label names no method (e.g. rows keyed by model:
            ``method="lrp"`` draws them as LRP maps, robust-scaled).
        signed: ``None``: Explanations of LRP and the gradient, and arrays with negative values,
            are drawn signed; ``False`` never; ``True`` always (see :func:`display_map`).
        percentile: robust scaling percentile for pixel methods and signed maps.
        blur: Gaussian sigma (pixels) applied to pixel methods' maps before scaling (heatmaps of
            single-pixel maps read better blurred); ``None``: none.
        **kwargs: passed to the representation (e.g. ``alpha`` for the heatmap).

    Returns:
        a :class:`matplotlib.figure.Figure` (not shown; ``fig.savefig(path)`` writes it).
    """
    if representation not in REPRESENTATIONS:
        raise ValueError(
            f"unknown representation {representation!r}; use one of {', '.join(REPRESENTATIONS)}"
        )
    if order not in (None, "course"):
        raise ValueError(f"order must be 'course' or None; got {order!r}")
    labels = course_order(rows) if order == "course" else list(rows)
    specs = [(label, rows[label], representation,
              label if method_key(label) is not None or method is None else method)
             for label in labels]
    return _grid_figure(images, specs, column_titles, title, cell_width, cell_titles, colorbar,
                        method_titles, signed, percentile, blur, kwargs)


def representations(
    images: Sequence[Any],
    maps_by_method: Mapping[str, Sequence[Any]],
    column_titles: Sequence[str] | None = None,
    title: str | None = None,
    cell_width: float = 2.6,
    *,
    kinds: Sequence[str] = REPRESENTATIONS,
    colorbar: bool = True,
    signed: bool | None = None,
    percentile: float = ROBUST_PERCENTILE,
    blur: float | None = None,
) -> Any:
    """The paper's three representations side by side: for each method, one row per ``kinds``.

    Like :func:`grid` (course order, colour bars, robust scaling of pixel methods so that LRP's
    edge and opacity views are not blank, "does not apply" cells), with rows labelled
    ``"<method> <representation>"``.
    """
    for rep in kinds:
        if rep not in REPRESENTATIONS:
            raise ValueError(f"unknown representation {rep!r}; use any of {REPRESENTATIONS}")
    specs = [(f"{method_title(m)} {rep}", maps_by_method[m], rep, m)
             for m in course_order(maps_by_method) for rep in kinds]
    return _grid_figure(images, specs, column_titles, title, cell_width, None, colorbar, False,
                        signed, percentile, blur, {})


def _grid_figure(images, specs, column_titles, title, cell_width, cell_titles, colorbar,
                 method_titles, signed, percentile, blur, kwargs) -> Any:
    """The figure behind :func:`grid` and :func:`representations`; ``specs`` holds, per row,
    ``(label, cells, representation, method)``."""
    from matplotlib.figure import Figure

    imgs = [as_image(im) for im in images]
    if not imgs:
        raise ValueError("grid needs at least one image")
    for label, maps, _, _ in specs:
        if len(maps) != len(imgs):
            raise ValueError(
                f"row {label!r} has {len(maps)} maps but there are {len(imgs)} images; give one "
                "map (or None) per image"
            )
    if column_titles is not None and len(column_titles) != len(imgs):
        raise ValueError("column_titles must have one title per image")
    labels = {label for label, _, _, _ in specs}
    for label, titles in (cell_titles or {}).items():
        if label not in labels or len(titles) != len(imgs):
            raise ValueError(
                f"cell_titles[{label!r}] must name a row and give one title per image"
            )
    h, w = imgs[0].shape[:2]
    nrows, ncols = 1 + len(specs), len(imgs)
    label_w = 1.3
    extra_h = 0.25 if cell_titles else 0.0
    fig = Figure(figsize=(label_w + cell_width * ncols + (0.9 if colorbar else 0.0),
                          (cell_width * h / w + extra_h) * nrows + 0.4),
                 layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    wrap = max(12, int(11 * cell_width))
    rows = [("input", [None] * ncols, None, None)] + list(specs)
    for r, (label, maps, rep, method) in enumerate(rows):
        kinds = []
        for c in range(ncols):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if r == 0:
                ax.imshow(imgs[c])
                if column_titles is not None:
                    ax.set_title(column_titles[c], fontsize=10)
            elif (na := _not_applicable(maps[c])) is not None:
                ax.text(0.5, 0.5, na.text(wrap), ha="center", va="center", fontsize=8,
                        color="#444", transform=ax.transAxes)
            elif maps[c] is not None:
                out, kind = draw_map(imgs[c], maps[c], rep, method, signed, percentile, blur,
                                     **kwargs)
                ax.imshow(out)
                kinds.append(kind)
            if r > 0 and cell_titles and label in cell_titles and cell_titles[label][c]:
                ax.set_title(cell_titles[label][c], fontsize=8)
            if c == 0:
                shown = method_title(label) if method_titles and r > 0 else label
                shown = ("\n".join(textwrap.wrap(shown, 12, break_on_hyphens=False,
                                                  break_long_words=False))
                         if len(shown) > 14 else shown)
                ax.set_ylabel(shown, rotation=0, ha="right", va="center", fontsize=10)
        if colorbar and kinds:
            kind = "signed" if "signed" in kinds else "robust" if "robust" in kinds else "linear"
            _colorbar(fig, list(axes[r]), kind, rep, kwargs.get("cmap", "jet"), percentile)
    if title:
        fig.suptitle(title)
    return fig


def show_masks(scene: Any, ax: Any = None, alpha: float = 0.45) -> Any:
    """Draw a scene's instance masks (coloured) and boxes (with species labels) on its image.

    ``scene`` is a :class:`xai_tutor.data.Scene` (``image``, ``masks (N, H, W)``, ``boxes (N, 4)``
    as ``x0, y0, x1, y1``, ``species``). Returns the figure drawn on (a new one when ``ax`` is
    None).
    """
    import matplotlib.patches as patches
    from matplotlib.figure import Figure

    for attr in ("image", "masks", "boxes"):
        if not hasattr(scene, attr):
            raise TypeError(f"scene must be a xai_tutor.data.Scene with .{attr}; got {scene!r:.80}")
    img = as_image(scene.image).astype(np.float64)
    masks = np.asarray(scene.masks, dtype=bool)
    if masks.ndim != 3 or masks.shape[1:] != img.shape[:2]:
        raise ValueError(f"masks must have shape (N, {img.shape[0]}, {img.shape[1]})")
    palette = _colour_map("tab10")
    out = img.copy()
    for i, m in enumerate(masks):
        colour = np.array(palette(i % 10)[:3]) * 255.0
        out[m] = (1 - alpha) * out[m] + alpha * colour
    if ax is None:
        h, w = img.shape[:2]
        fig = Figure(figsize=(6, 6 * h / w), layout="constrained")
        ax = fig.subplots()
    else:
        fig = ax.figure
    ax.imshow(np.round(out).astype(np.uint8))
    species = list(getattr(scene, "species", [])) or [""] * len(masks)
    for i, box in enumerate(np.asarray(scene.boxes).reshape(-1, 4)):
        x0, y0, x1, y1 = (float(v) for v in box)
        colour = palette(i % 10)
        ax.add_patch(patches.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, lw=2,
                                       edgecolor=colour))
        name = species[i] if i < len(species) else ""
        ax.text(x0, y0, f"{i}: {name}", color="white", fontsize=8, va="bottom",
                bbox={"facecolor": colour, "alpha": 0.8, "pad": 1, "lw": 0})
    ax.set_axis_off()
    return fig
