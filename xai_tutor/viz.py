"""Three ways to show a saliency map (paper, Section 4.1) and the Figure-5 grid.

* :func:`heatmap`: a warm/cold colour map blended over the image. Red means important, blue means
  indecisive (matplotlib's ``"jet"`` map, as in the paper's Figure 5).
* :func:`opacity`: the importance becomes the opacity of the image over a blank (white) frame:
  ``pixel = image * s + white * (1 - s)``.
* :func:`edges`: the edges of the image (Sobel gradient magnitude of the grey image), drawn dark on
  white, kept only where the saliency is high: ``pixel = 255 * (1 - e * s)`` with ``e`` the edge
  strength in ``[0, 1]``.

The saliency ``s`` is used **linearly**: no gamma, no squaring, no thresholding. A map already in
``[0, 1]`` is used as it is; any other map is min-max scaled to ``[0, 1]`` first (a constant map
becomes all zeros). A map whose size differs from the image is resized bilinearly.

Example::

    >>> import numpy as np
    >>> img = np.full((4, 6, 3), 200, dtype=np.uint8)
    >>> s = np.zeros((4, 6)); s[1, 2] = 1.0
    >>> opacity(img, s)[1, 2].tolist(), opacity(img, s)[0, 0].tolist()
    ([200, 200, 200], [255, 255, 255])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "REPRESENTATIONS",
    "as_image",
    "as_saliency",
    "heatmap",
    "opacity",
    "edges",
    "edge_strength",
    "render",
    "grid",
    "show_masks",
]

REPRESENTATIONS = ("heatmap", "opacity", "edges")


def as_image(image: Any) -> np.ndarray:
    """Return ``image`` as a ``uint8`` array ``(H, W, 3)``.

    Accepts a PIL image, a ``uint8`` array ``(H, W, 3)`` or ``(H, W)`` (grey), a float array in
    ``[0, 1]``, or a float tensor ``(3, H, W)`` / ``(1, 3, H, W)`` in ``[0, 1]`` (use
    :func:`xai_tutor.data.denormalise` on a normalised model input first).
    """
    if hasattr(image, "convert") and hasattr(image, "size"):  # PIL image
        return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()
    if isinstance(image, torch.Tensor):
        t = image.detach().cpu()
        if t.dim() == 4 and t.shape[0] == 1:
            t = t[0]
        if t.dim() == 3 and t.shape[0] in (1, 3):
            t = t.permute(1, 2, 0)
        image = t.numpy()
    if not isinstance(image, np.ndarray):
        raise TypeError(
            "image must be a PIL image, a uint8 array (H, W, 3) or a float tensor (3, H, W) in "
            f"[0, 1]; got {type(image).__name__}"
        )
    arr = image
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (1, 3):
        raise ValueError(f"image must have shape (H, W, 3) or (H, W); got {image.shape}")
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    if arr.dtype == np.uint8:
        return arr.copy()
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise ValueError("image contains NaN or infinite values")
        if arr.min() < 0 or arr.max() > 1:
            raise ValueError(
                "a float image must lie in [0, 1]; for a normalised model input use "
                "xai_tutor.data.denormalise first"
            )
        return np.round(arr * 255).astype(np.uint8)
    raise TypeError(f"image dtype must be uint8 or float; got {arr.dtype}")


def as_saliency(saliency: Any, size: tuple[int, int] | None = None) -> np.ndarray:
    """Return ``saliency`` as a float64 array ``(H, W)`` in ``[0, 1]``, resized to ``size``.

    A ``(1, H, W)`` batch of one is squeezed. Values already in ``[0, 1]`` are kept as they are;
    otherwise the map is min-max scaled (constant -> zeros). Resizing (when ``size = (H, W)``
    differs) is bilinear with ``align_corners=False``.
    """
    if hasattr(saliency, "saliency") and hasattr(saliency, "method"):  # an Explanation
        saliency = saliency.saliency
    if isinstance(saliency, torch.Tensor):
        arr = saliency.detach().cpu().to(torch.float64).numpy()
    elif isinstance(saliency, np.ndarray):
        arr = saliency.astype(np.float64)
    else:
        raise TypeError(
            f"saliency must be a torch.Tensor or numpy array (H, W); got {type(saliency).__name__}"
        )
    while arr.ndim > 2 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 2:
        raise ValueError(
            f"saliency must be one map of shape (H, W) (or (1, H, W)); got {saliency.shape}"
        )
    if not np.isfinite(arr).all():
        raise ValueError("saliency contains NaN or infinite values")
    low, high = float(arr.min()), float(arr.max())
    if low < 0 or high > 1:
        arr = (arr - low) / (high - low) if high > low else np.zeros_like(arr)
    if size is not None and tuple(arr.shape) != tuple(size):
        t = torch.from_numpy(np.ascontiguousarray(arr))[None, None]
        arr = F.interpolate(t, size=tuple(size), mode="bilinear", align_corners=False)[0, 0]
        arr = arr.numpy().clip(0.0, 1.0)
    return arr


def _colour_map(name: str) -> Any:
    import matplotlib

    return matplotlib.colormaps[name]


def heatmap(image: Any, saliency: Any, alpha: float = 0.5, cmap: str = "jet") -> np.ndarray:
    """Blend a warm/cold colour map of ``saliency`` over ``image``.

    ``pixel = (1 - alpha) * image + alpha * cmap(s)``, with ``cmap = "jet"``: ``s = 1`` is red
    (important), ``s = 0`` is dark blue (indecisive). Returns ``uint8 (H, W, 3)``.

    Example::

        >>> import numpy as np
        >>> out = heatmap(np.zeros((2, 2, 3), np.uint8), np.array([[0.0, 1.0], [0.5, 0.0]]))
        >>> out.shape, out.dtype.name
        ((2, 2, 3), 'uint8')
    """
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1]; got {alpha}")
    img = as_image(image).astype(np.float64)
    s = as_saliency(saliency, img.shape[:2])
    colours = _colour_map(cmap)(s)[..., :3] * 255.0
    out = (1.0 - alpha) * img + alpha * colours
    return np.round(out).clip(0, 255).astype(np.uint8)


def opacity(image: Any, saliency: Any) -> np.ndarray:
    """Show the image through a white frame whose opacity is the importance.

    ``pixel = image * s + 255 * (1 - s)``: where ``s = 1`` the image shows fully, where ``s = 0``
    the frame stays blank. Returns ``uint8 (H, W, 3)``.
    """
    img = as_image(image).astype(np.float64)
    s = as_saliency(saliency, img.shape[:2])[..., None]
    out = img * s + 255.0 * (1.0 - s)
    return np.round(out).clip(0, 255).astype(np.uint8)


def edge_strength(image: Any) -> np.ndarray:
    """Sobel edge strength of the image in ``[0, 1]``, float64 ``(H, W)``.

    ``grey = 0.299 R + 0.587 G + 0.114 B``; ``g = sqrt(Gx^2 + Gy^2)`` with the 3x3 Sobel kernels
    (replicate padding); ``e = min(g / q, 1)`` where ``q`` is the 99th percentile of ``g`` (so a few
    very strong edges do not wash out the others). A flat image gives ``e = 0`` everywhere.
    """
    img = as_image(image).astype(np.float64) / 255.0
    grey = img @ np.array([0.299, 0.587, 0.114])
    t = torch.from_numpy(grey)[None, None]
    t = F.pad(t, (1, 1, 1, 1), mode="replicate")
    kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], dtype=torch.float64)
    kernels = torch.stack([kx, kx.T])[:, None]
    g = F.conv2d(t, kernels)[0]
    mag = torch.sqrt(g[0] ** 2 + g[1] ** 2).numpy()
    q = float(np.percentile(mag, 99))
    if q <= 0:
        q = float(mag.max())
    if q <= 0:
        return np.zeros_like(mag)
    return np.minimum(mag / q, 1.0)


def edges(image: Any, saliency: Any) -> np.ndarray:
    """Edges of the image, drawn dark on white where the saliency is high.

    ``pixel = 255 * (1 - e * s)`` on all three channels, with ``e`` from :func:`edge_strength`.
    An edge shows at full darkness only where it is strong *and* the map says important.
    Returns ``uint8 (H, W, 3)``.
    """
    img = as_image(image)
    s = as_saliency(saliency, img.shape[:2])
    e = edge_strength(img)
    grey = 255.0 * (1.0 - e * s)
    out = np.repeat(grey[..., None], 3, axis=2)
    return np.round(out).clip(0, 255).astype(np.uint8)


def render(image: Any, saliency: Any, representation: str = "heatmap", **kwargs: Any) -> np.ndarray:
    """Dispatch to :func:`heatmap`, :func:`opacity` or :func:`edges` by name."""
    if representation == "heatmap":
        return heatmap(image, saliency, **kwargs)
    if representation == "opacity":
        return opacity(image, saliency, **kwargs)
    if representation == "edges":
        return edges(image, saliency, **kwargs)
    raise ValueError(
        f"unknown representation {representation!r}; use one of {', '.join(REPRESENTATIONS)}"
    )


def grid(
    images: Sequence[Any],
    rows: Mapping[str, Sequence[Any]],
    representation: str = "heatmap",
    column_titles: Sequence[str] | None = None,
    title: str | None = None,
    cell_width: float = 2.6,
    **kwargs: Any,
) -> Any:
    """A Figure-5 style grid: first row the input images, then one row per method.

    Args:
        images: one image per column (PIL, uint8 array or float tensor in ``[0, 1]``).
        rows: ``{row label: [saliency per column]}``, e.g. ``{"Grad-CAM": [s1, s2, s3]}``;
            ``None`` in a row leaves that cell blank.
        representation: ``"heatmap"``, ``"opacity"`` or ``"edges"``.
        column_titles: optional titles above the first row.
        title: optional figure title.
        cell_width: width of one cell in inches (the height follows the first image's aspect).
        **kwargs: passed to the representation (e.g. ``alpha`` for the heatmap).

    Returns:
        a :class:`matplotlib.figure.Figure` (not shown; ``fig.savefig(path)`` writes it).
    """
    from matplotlib.figure import Figure

    imgs = [as_image(im) for im in images]
    if not imgs:
        raise ValueError("grid needs at least one image")
    for label, maps in rows.items():
        if len(maps) != len(imgs):
            raise ValueError(
                f"row {label!r} has {len(maps)} maps but there are {len(imgs)} images; give one "
                "map (or None) per image"
            )
    if column_titles is not None and len(column_titles) != len(imgs):
        raise ValueError("column_titles must have one title per image")
    h, w = imgs[0].shape[:2]
    nrows, ncols = 1 + len(rows), len(imgs)
    label_w = 1.3
    fig = Figure(figsize=(label_w + cell_width * ncols, cell_width * h / w * nrows + 0.4),
                 layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    labelled = [("input", [None] * ncols)] + list(rows.items())
    for r, (label, maps) in enumerate(labelled):
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
            elif maps[c] is not None:
                ax.imshow(render(imgs[c], maps[c], representation, **kwargs))
            if c == 0:
                ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=10)
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
