"""Building blocks of the explorer: parameter controls, class lookup and upload reading.

Everything here is plain Python around ipywidgets 8, so that it can be tested without a browser.

Example::

    >>> from xai_tutor.widgets.param_specs import ParamSpec
    >>> w = param_control(ParamSpec("n_samples", "int", 25, 1, 100, 1))
    >>> w.value, w.continuous_update
    (25, False)
    >>> parse_target("robin", ["sparrow", "robin"])
    1
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from typing import Any

import ipywidgets as W
import numpy as np
from PIL import Image, UnidentifiedImageError

from .param_specs import ParamSpec

__all__ = ["param_control", "parse_target", "read_upload", "TargetError", "UploadError"]

STYLE = {"description_width": "initial"}


class TargetError(ValueError):
    """A class given in the target box that the model does not have."""


class UploadError(ValueError):
    """An uploaded file that is not a readable image."""


def param_control(spec: ParamSpec) -> W.Widget:
    """The widget for one :class:`ParamSpec`; sliders update only on release."""
    common = {"description": spec.name, "style": STYLE, "description_allow_html": False}
    if spec.help:
        common["tooltip"] = spec.help
    if spec.kind == "float":
        return W.FloatSlider(
            value=float(spec.default), min=spec.low, max=spec.high, step=spec.step,
            continuous_update=False, readout_format=".2f", **common,
        )
    if spec.kind == "log":
        return W.FloatLogSlider(
            value=float(spec.default), base=10, min=spec.low, max=spec.high, step=spec.step,
            continuous_update=False, readout_format=".1e", **common,
        )
    if spec.kind == "int":
        return W.IntSlider(
            value=int(spec.default), min=int(spec.low), max=int(spec.high),
            step=int(spec.step or 1), continuous_update=False, **common,
        )
    if spec.kind == "choice":
        return W.Dropdown(options=list(spec.choices), value=spec.default, **common)
    return W.Checkbox(value=bool(spec.default), indent=False, **common)


def parse_target(text: str, class_names: Sequence[str]) -> int:
    """A class index from what a user typed: an index, or a class name (case-insensitive).

    Raises :class:`TargetError` with a message saying what is valid.
    """
    text = str(text).strip()
    count = len(class_names)
    if not text:
        raise TargetError("type a class index or a class name")
    try:
        index = int(text)
    except ValueError:
        index = None
    if index is not None:
        if not 0 <= index < count:
            raise TargetError(
                f"class {index} does not exist: this model has classes 0..{count - 1}"
            )
        return index
    lowered = [str(n).lower() for n in class_names]
    if text.lower() in lowered:
        return lowered.index(text.lower())
    partial = [i for i, n in enumerate(lowered) if text.lower() in n]
    if len(partial) == 1:
        return partial[0]
    hint = ", ".join(class_names[i] for i in partial[:5]) or ", ".join(list(class_names)[:5])
    raise TargetError(
        f"no class named {text!r}; give an index 0..{count - 1} or a class name such as {hint}"
    )


def read_upload(value: Any) -> tuple[str, Image.Image]:
    """``(file name, decoded PIL image)`` from a ``FileUpload`` value — ipywidgets 8: a tuple of
    dicts with ``name`` and ``content``; ipywidgets 7 (Colab): a dict ``{name: {"metadata":
    ..., "content": bytes}}`` — for :func:`xai_tutor.load_image` (which undoes EXIF rotation
    and composites transparency on white: the same path as a file on disk).

    The size the file declares is checked *before* decoding (PIL reads only the header on
    ``open``): more than :data:`xai_tutor.data.images.MAX_SIDE` pixels per side or
    ``MAX_PIXELS`` in all, or fewer than 8 per side, raise :class:`UploadError` without
    decoding. Raises :class:`UploadError` for an empty upload or a file PIL cannot
    read as an image.
    """
    from ..data.images import MAX_PIXELS, MAX_SIDE

    if isinstance(value, dict):  # ipywidgets 7: {file name: {"metadata": ..., "content": ...}}
        value = [dict(item, name=item.get("metadata", {}).get("name", key))
                 for key, item in value.items() if isinstance(item, dict)]
    files = list(value) if isinstance(value, (tuple, list)) else []
    if not files:
        raise UploadError("no file uploaded")
    item = files[-1]
    name = str(item.get("name", "upload")) if isinstance(item, dict) else "upload"
    content = item.get("content") if isinstance(item, dict) else None
    if content is None:
        raise UploadError(f"{name}: the upload carries no data")
    unreadable = (f"{name} is not an image PIL can read ({{}}); upload a PNG or JPEG")
    try:
        with warnings.catch_warnings():  # the size is checked below, with a clearer message
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(bytes(content)))  # the header only
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as err:
        raise UploadError(unreadable.format(type(err).__name__)) from None
    width, height = img.size
    if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
        img.close()
        raise UploadError(
            f"{name} declares {width}x{height} pixels, over the limit of {MAX_SIDE} per side and "
            f"{MAX_PIXELS // 1_000_000} megapixels; it was not decoded. Shrink it first")
    if min(width, height) < 8:
        raise UploadError(f"{name} is only {width}x{height} pixels; use at least 8x8")
    try:
        img.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise UploadError(unreadable.format(type(err).__name__)) from None
    return name, img


def as_uint8(image: Any) -> np.ndarray:
    """A ``(H, W, 3)`` uint8 array from a PIL image or an array in [0, 1] or [0, 255]."""
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"), dtype=np.uint8)
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        arr = np.clip(arr * (255.0 if arr.max() <= 1.0 else 1.0), 0, 255).round().astype(np.uint8)
    return arr
