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

**Robust scaling** (``scale="robust"``, :func:`robust_scale`): ``s / q`` clipped to ``[0, 1]``,
with ``q`` the ``percentile`` (default 99th) of the map. Pixel methods (gradient, guided
backprop, DeconvNet, LRP, SmoothGrad) put their largest values on a handful of pixels: min-max
scaling then leaves 99 % of the map near 0 (a blue wash, a blank opacity or edge view); dividing
by the 99th percentile lets the bulk of the map show while one outlier pixel cannot set the scale.

**Signed maps** (:func:`signed_heatmap`): LRP relevance and the gradient have a sign; they are
drawn with a diverging colour map (``"bwr"``: blue negative, white 0, red positive) centred at 0,
``a / q`` clipped to ``[-1, 1]`` with ``q`` the 99th percentile of ``|a|`` (so ``vmin = -vmax``).

**Figures** (:func:`show`, :func:`grid`) carry a colour bar, name the explained class
(:func:`panel_title`, :func:`explained_class`), put methods in course order (:func:`course_order`)
and write "does not apply: <reason>" where a method cannot explain a model (:class:`NotApplicable`,
or the exception the method raised).

Example::

    >>> import numpy as np
    >>> img = np.full((4, 6, 3), 200, dtype=np.uint8)
    >>> s = np.zeros((4, 6)); s[1, 2] = 1.0
    >>> opacity(img, s)[1, 2].tolist(), opacity(img, s)[0, 0].tolist()
    ([200, 200, 200], [255, 255, 255])
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "COURSE_ORDER",
    "METHOD_TITLES",
    "PIXEL_METHODS",
    "REPRESENTATIONS",
    "SIGNED_METHODS",
    "NotApplicable",
    "as_image",
    "as_saliency",
    "course_order",
    "display_map",
    "edge_strength",
    "edges",
    "explained_class",
    "grid",
    "heatmap",
    "method_title",
    "opacity",
    "panel_title",
    "render",
    "representations",
    "robust_scale",
    "show",
    "show_masks",
    "signed_heatmap",
    "signed_map",
]

REPRESENTATIONS = ("heatmap", "opacity", "edges")

COURSE_ORDER = (
    "gradient",
    "deconvnet",
    "guided_backprop",
    "lrp",
    "cam",
    "gradcam",
    "gradcampp",
    "xgradcam",
    "smoothgrad",
    "smoothgradcampp",
    "fullgrad",
    "ablationcam",
    "scorecam",
)
"""Registry names in the order the notebooks teach them (02 gradient, 03 DeconvNet and guided
backprop, 04 LRP, 05 CAM, 06 Grad-CAM, 07 Grad-CAM++ and XGrad-CAM, 08 SmoothGrad and Smooth
Grad-CAM++, 09 FullGrad, 10 Ablation-CAM and Score-CAM)."""

METHOD_TITLES = {
    "gradient": "Gradient",
    "deconvnet": "DeconvNet",
    "guided_backprop": "Guided backprop",
    "lrp": "LRP",
    "cam": "CAM",
    "gradcam": "Grad-CAM",
    "gradcampp": "Grad-CAM++",
    "xgradcam": "XGrad-CAM",
    "smoothgrad": "SmoothGrad",
    "smoothgradcampp": "Smooth Grad-CAM++",
    "fullgrad": "FullGrad",
    "ablationcam": "Ablation-CAM",
    "scorecam": "Score-CAM",
}

PIXEL_METHODS = frozenset({"gradient", "deconvnet", "guided_backprop", "lrp", "smoothgrad"})
"""Methods whose maps live on single pixels: shown robust-scaled (optionally blurred)."""

SIGNED_METHODS = frozenset({"gradient", "lrp"})
"""Methods whose raw attribution carries a meaningful sign: shown with a diverging colour map."""

ROBUST_PERCENTILE = 99.0


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


def _array(values: Any, what: str) -> np.ndarray:
    if hasattr(values, "attribution") and hasattr(values, "method"):  # an Explanation
        values = values.attribution[0]
    if isinstance(values, torch.Tensor):
        arr = values.detach().cpu().to(torch.float64).numpy()
    elif isinstance(values, np.ndarray):
        arr = values.astype(np.float64)
    else:
        raise TypeError(
            f"{what} must be a torch.Tensor or numpy array; got {type(values).__name__}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{what} contains NaN or infinite values")
    return arr


def _resize(arr: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    if size is None or tuple(arr.shape) == tuple(size):
        return arr
    t = torch.from_numpy(np.ascontiguousarray(arr))[None, None]
    return F.interpolate(t, size=tuple(size), mode="bilinear", align_corners=False)[0, 0].numpy()


def _blur(arr: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur (``sigma`` in pixels, kernel radius ``3 sigma``, replicate edges)."""
    if not sigma or sigma <= 0:
        return arr
    half = max(1, int(np.ceil(3 * sigma)))
    t = torch.arange(-half, half + 1, dtype=torch.float64)
    k = torch.exp(-(t**2) / (2 * sigma**2))
    k = k / k.sum()
    x = torch.from_numpy(np.ascontiguousarray(arr))[None, None]
    x = F.conv2d(F.pad(x, (half, half, 0, 0), mode="replicate"), k.view(1, 1, 1, -1))
    x = F.conv2d(F.pad(x, (0, 0, half, half), mode="replicate"), k.view(1, 1, -1, 1))
    return x[0, 0].numpy()


def robust_scale(values: Any, percentile: float = ROBUST_PERCENTILE,
                 signed: bool = False) -> np.ndarray:
    """Scale a map by a high percentile instead of its maximum, clipping what lies above.

    Non-negative map: ``clip(s / q, 0, 1)`` with ``q = percentile(s)``. Signed map
    (``signed=True``): ``clip(a / q, -1, 1)`` with ``q = percentile(|a|)``, so 0 stays 0 and the
    scale is symmetric (``vmin = -vmax``). When ``q = 0`` (a map that is 0 on all but a few
    pixels) the maximum is used instead; an all-zero map stays 0.
    One outlier pixel changes ``q`` by at most one rank: it cannot wash out the rest of the map.

    Example::

        >>> import numpy as np
        >>> s = np.linspace(0, 1, 101); s[-1] = 1000.0  # one outlier
        >>> robust_scale(s, 99)[50].round(2), robust_scale(s, 99)[-1]
        (np.float64(0.51), np.float64(1.0))
    """
    if not 0.0 < float(percentile) <= 100.0:
        raise ValueError(f"percentile must lie in (0, 100]; got {percentile}")
    arr = _array(values, "the map")
    if signed:
        mag = np.abs(arr)
        q = float(np.percentile(mag, percentile))
        q = q if q > 0 else float(mag.max())
        return np.clip(arr / q, -1.0, 1.0) if q > 0 else np.zeros_like(arr)
    if arr.size and arr.min() < 0:
        raise ValueError(
            "robust_scale got negative values; pass signed=True for a signed map (LRP, gradient) "
            "or a non-negative saliency"
        )
    q = float(np.percentile(arr, percentile)) if arr.size else 0.0
    q = q if q > 0 else float(arr.max(initial=0.0))
    return np.clip(arr / q, 0.0, 1.0) if q > 0 else np.zeros_like(arr)


def signed_map(attribution: Any) -> np.ndarray:
    """A signed map ``(H, W)`` from a raw attribution: the sum over colour channels.

    Accepts an Explanation (its first ``attribution``), or a tensor/array ``(3, H, W)``,
    ``(1, 3, H, W)``, ``(1, H, W)`` or ``(H, W)``. For LRP the channel sum is the relevance of the
    pixel (conservation holds per pixel); for the gradient it is the directional derivative along
    ``(1, 1, 1)``. The sign is kept.
    """
    arr = _array(attribution, "attribution")
    while arr.ndim > 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim == 3:
        arr = arr.sum(axis=0)
    if arr.ndim != 2:
        raise ValueError(
            f"attribution must be (3, H, W), (1, 3, H, W), (1, H, W) or (H, W); got {arr.shape}"
        )
    return arr


def _method_key(name: Any) -> str | None:
    """The registry name a row label or method stands for (``"Grad-CAM++"`` -> ``gradcampp``)."""
    if not isinstance(name, str):
        return None
    if name in METHOD_TITLES:
        return name
    titles = {v.lower(): k for k, v in METHOD_TITLES.items()}
    if name.lower() in titles:
        return titles[name.lower()]
    head = name.split()[0] if name.split() else name
    if head != name:
        return _method_key(head)
    return None


def display_map(value: Any, method: str | None = None, signed: bool | None = None,
                percentile: float = ROBUST_PERCENTILE, blur: float | None = None,
                size: tuple[int, int] | None = None) -> tuple[np.ndarray, str]:
    """The map a figure should draw for ``value``, and how it is scaled.

    Returns ``(map, kind)`` with ``kind`` one of

    * ``"signed"``: a signed map in ``[-1, 1]`` (:func:`signed_map`, robust-scaled, centred at 0),
      for an Explanation of a method in :data:`SIGNED_METHODS` (unless ``signed=False``) or for an
      array with negative values;
    * ``"robust"``: a non-negative map robust-scaled to ``[0, 1]``, for pixel methods
      (:data:`PIXEL_METHODS`), optionally blurred by a Gaussian of ``blur`` pixels first;
    * ``"linear"``: the saliency as :func:`as_saliency` gives it (CAM family).

    ``method`` (a registry name or row label) defaults to the Explanation's method; ``size``
    resizes the map (bilinear) before scaling.
    """
    key = _method_key(method) if method is not None else None
    is_expl = hasattr(value, "saliency") and hasattr(value, "method")
    if is_expl and key is None:
        key = _method_key(value.method)
    if signed is None:
        if is_expl:
            signed = key in SIGNED_METHODS
        else:
            signed = float(_array(value, "saliency").min(initial=0.0)) < 0
    if signed:
        a = _resize(signed_map(value), size)
        return robust_scale(_blur(a, blur or 0.0), percentile, signed=True), "signed"
    sal = value.saliency if is_expl else value
    if key in PIXEL_METHODS:
        arr = _array(sal, "saliency")
        while arr.ndim > 2 and arr.shape[0] == 1:
            arr = arr[0]
        if arr.ndim == 3:  # a raw pixel attribution (3, H, W): its magnitude
            arr = np.abs(arr).max(axis=0)
        arr = np.abs(_resize(arr, size))
        return robust_scale(_blur(arr, blur or 0.0), percentile), "robust"
    return as_saliency(sal, size), "linear"


def _scaled(saliency: Any, size: tuple[int, int], scale: str | None,
            percentile: float) -> np.ndarray:
    if scale is None or scale == "linear":
        return as_saliency(saliency, size)
    if scale == "robust":
        return robust_scale(as_saliency(saliency, size), percentile)
    raise ValueError(f"scale must be None, 'linear' or 'robust'; got {scale!r}")


def _colour_map(name: str) -> Any:
    import matplotlib

    return matplotlib.colormaps[name]


def heatmap(image: Any, saliency: Any, alpha: float = 0.5, cmap: str = "jet",
            scale: str | None = None, percentile: float = ROBUST_PERCENTILE) -> np.ndarray:
    """Blend a warm/cold colour map of ``saliency`` over ``image``.

    ``pixel = (1 - alpha) * image + alpha * cmap(s)``, with ``cmap = "jet"``: ``s = 1`` is red
    (important), ``s = 0`` is dark blue (indecisive). ``scale="robust"`` first divides by the
    ``percentile`` of the map (:func:`robust_scale`). Returns ``uint8 (H, W, 3)``.

    Example::

        >>> import numpy as np
        >>> out = heatmap(np.zeros((2, 2, 3), np.uint8), np.array([[0.0, 1.0], [0.5, 0.0]]))
        >>> out.shape, out.dtype.name
        ((2, 2, 3), 'uint8')
    """
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1]; got {alpha}")
    img = as_image(image).astype(np.float64)
    s = _scaled(saliency, img.shape[:2], scale, percentile)
    colours = _colour_map(cmap)(s)[..., :3] * 255.0
    out = (1.0 - alpha) * img + alpha * colours
    return np.round(out).clip(0, 255).astype(np.uint8)


def opacity(image: Any, saliency: Any, scale: str | None = None,
            percentile: float = ROBUST_PERCENTILE) -> np.ndarray:
    """Show the image through a white frame whose opacity is the importance.

    ``pixel = image * s + 255 * (1 - s)``: where ``s = 1`` the image shows fully, where ``s = 0``
    the frame stays blank. ``scale="robust"``: see :func:`robust_scale` (use it for pixel
    methods, whose min-max scaled maps leave the frame nearly blank). Returns ``uint8 (H, W, 3)``.
    """
    img = as_image(image).astype(np.float64)
    s = _scaled(saliency, img.shape[:2], scale, percentile)[..., None]
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


def edges(image: Any, saliency: Any, scale: str | None = None,
          percentile: float = ROBUST_PERCENTILE) -> np.ndarray:
    """Edges of the image, drawn dark on white where the saliency is high.

    ``pixel = 255 * (1 - e * s)`` on all three channels, with ``e`` from :func:`edge_strength`.
    An edge shows at full darkness only where it is strong *and* the map says important.
    ``scale="robust"``: see :func:`robust_scale`. Returns ``uint8 (H, W, 3)``.
    """
    img = as_image(image)
    s = _scaled(saliency, img.shape[:2], scale, percentile)
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


def signed_heatmap(image: Any, attribution: Any, alpha: float = 0.75, cmap: str = "bwr",
                   percentile: float = ROBUST_PERCENTILE) -> np.ndarray:
    """A signed map drawn with a diverging colour map centred at 0, over the grey image.

    ``a = robust_scale(signed_map(attribution), percentile, signed=True)`` in ``[-1, 1]``;
    ``pixel = (1 - alpha) * grey + alpha * cmap((a + 1) / 2)``: with ``"bwr"`` positive relevance
    is red, negative blue and 0 white, whatever the map's own range (``vmin = -vmax``).
    Returns ``uint8 (H, W, 3)``.
    """
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1]; got {alpha}")
    img = as_image(image).astype(np.float64)
    a = robust_scale(_resize(signed_map(attribution), img.shape[:2]), percentile, signed=True)
    grey = (img @ np.array([0.299, 0.587, 0.114]))[..., None]
    colours = _colour_map(cmap)((a + 1.0) / 2.0)[..., :3] * 255.0
    out = (1.0 - alpha) * grey + alpha * colours
    return np.round(out).clip(0, 255).astype(np.uint8)


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


def course_order(names: Iterable[str]) -> list[str]:
    """``names`` sorted in :data:`COURSE_ORDER`; names that are no method keep their order, last.

    Row labels such as ``"Grad-CAM++"`` or ``"lrp edges"`` count as their method.
    """
    items = list(names)
    rank = {m: i for i, m in enumerate(COURSE_ORDER)}

    def key(pair: tuple[int, str]) -> tuple[int, int]:
        i, name = pair
        m = _method_key(name)
        return (rank[m], i) if m in rank else (len(rank), i)

    return [name for _, name in sorted(enumerate(items), key=key)]


def method_title(name: str) -> str:
    """The method's name as the papers write it (``"gradcampp"`` -> ``"Grad-CAM++"``)."""
    key = _method_key(name)
    return METHOD_TITLES[key] if key == name else name


class ExplainedClass(tuple):
    """``(index, name, probability)`` of the class an explanation is about."""

    __slots__ = ()

    def __new__(cls, index: int, name: str, probability: float) -> ExplainedClass:
        return super().__new__(cls, (index, name, probability))

    @property
    def index(self) -> int:
        return int(self[0])

    @property
    def name(self) -> str:
        return str(self[1])

    @property
    def probability(self) -> float:
        return float(self[2])


def explained_class(model: Any, x: Any, target: int | None = None) -> ExplainedClass:
    """Index, name and softmax probability of the explained class for one image ``(1, 3, H, W)``.

    ``target=None``: the model's top class, as :func:`xai_tutor.explain` uses. The name comes from
    ``model.class_names`` (every course model has it), else the index. The model is left in the
    mode it was in.
    """
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[0] != 1:
        raise ValueError(
            f"x must be one normalised image tensor (1, 3, H, W); got "
            f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}"
        )
    training = model.training
    model.eval()
    try:
        with torch.no_grad():
            p = torch.softmax(model(x).double(), dim=1)[0]
    finally:
        model.train(training)
    index = int(p.argmax()) if target is None else int(target)
    if not 0 <= index < p.numel():
        raise ValueError(f"target must lie in [0, {p.numel() - 1}]; got {target}")
    names = getattr(model, "class_names", None)
    name = str(names[index]) if names is not None and index < len(names) else str(index)
    return ExplainedClass(index, name, float(p[index]))


def panel_title(class_name: Any, probability: float | None = None,
                method: str | None = None) -> str:
    """A panel title naming the explained class: ``"Grad-CAM: flamingo (p = 0.97)"``.

    ``class_name`` may be an :class:`ExplainedClass` (then ``probability`` comes from it).
    """
    if isinstance(class_name, ExplainedClass):
        class_name, probability = class_name.name, class_name.probability
    text = str(class_name)
    if probability is not None:
        if not 0.0 <= float(probability) <= 1.0:
            raise ValueError(f"probability must lie in [0, 1]; got {probability}")
        text += f" (p = {float(probability):.2f})"
    return f"{method_title(method)}: {text}" if method else text


_COLORBAR_LABELS = {
    "signed": "relevance / 99th pct of |a| (0 = white)",
    "robust": "saliency / 99th percentile",
    "linear": "saliency",
}


def _colorbar(fig: Any, axes: Any, kind: str, representation: str, cmap: str,
              percentile: float) -> Any:
    """One colour bar for ``axes`` showing the colour (or opacity/darkness) of each value."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import LinearSegmentedColormap, Normalize

    if kind == "signed":
        mappable = ScalarMappable(Normalize(-1.0, 1.0), _colour_map("bwr"))
        label = f"relevance / {percentile:g}th pct of |a|"
    else:
        if representation == "heatmap":
            colours = _colour_map(cmap)
        else:  # opacity: the image shows through; edges: edges darken
            colours = LinearSegmentedColormap.from_list("importance", ["white", "black"])
        mappable = ScalarMappable(Normalize(0.0, 1.0), colours)
        label = (f"saliency / {percentile:g}th pct" if kind == "robust" else "saliency")
        if representation != "heatmap":
            label += " (opacity)" if representation == "opacity" else " (edge darkness)"
    bar = fig.colorbar(mappable, ax=axes, fraction=0.04, pad=0.01, shrink=0.9)
    bar.set_label(label, fontsize=7)
    bar.ax.tick_params(labelsize=7)
    return bar


def _draw(image: np.ndarray, value: Any, representation: str, method: str | None,
          signed: bool | None, percentile: float, blur: float | None,
          kwargs: dict[str, Any]) -> tuple[np.ndarray, str]:
    m, kind = display_map(value, method, signed, percentile, blur, image.shape[:2])
    if kind == "signed":
        if representation == "heatmap":
            alpha = kwargs.get("alpha", 0.75)
            return signed_heatmap(image, m, alpha=alpha, percentile=100.0), kind
        m, kind = np.abs(m), "robust"  # opacity and edges show the magnitude
    extra = {k: v for k, v in kwargs.items() if representation == "heatmap"}
    return render(image, np.clip(m, 0.0, 1.0), representation, **extra), kind


def _not_applicable(value: Any) -> NotApplicable | None:
    if isinstance(value, NotApplicable):
        return value
    if isinstance(value, BaseException):
        return NotApplicable.from_exception(value)
    return None


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
        out, kind = _draw(img, saliency, representation, method, signed, percentile, blur, kwargs)
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
        order: ``"course"`` puts method rows in :data:`COURSE_ORDER` (other rows keep their
            order, after them); ``None`` keeps the given order.
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
              label if _method_key(label) is not None or method is None else method)
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
                out, kind = _draw(imgs[c], maps[c], rep, method, signed, percentile, blur, kwargs)
                ax.imshow(out)
                kinds.append(kind)
            if r > 0 and cell_titles and label in cell_titles and cell_titles[label][c]:
                ax.set_title(cell_titles[label][c], fontsize=8)
            if c == 0:
                shown = method_title(label) if method_titles and r > 0 else label
                shown = ("\n".join(textwrap.wrap(shown, 12, break_on_hyphens=False))
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
