"""Loading any image into the ImageNet-normalised tensor the course models take.

``load_image`` accepts a path, a PIL image or a numpy array (uint8, uint16, bool, or float in
[0, 1]; gray, RGB or RGBA; channels last or first), undoes EXIF rotation, composites
transparency on white, optionally resizes to ``size`` = (W, H), and returns

    x = (rgb / 255 - mean) / std,   mean = (0.485, 0.456, 0.406), std = (0.229, 0.224, 0.225),

as a float32 tensor (1, 3, H, W), plus the display image uint8 (H, W, 3) it was made from.
``denormalise`` inverts the formula. Bad input (not an image, truncated, empty, tiny, huge)
raises a ``ValueError`` that names the problem and the file; a file's declared size is checked
from its header before anything is decoded (:func:`check_declared_size`, also for uploads), so
PIL's ``DecompressionBombError`` never surfaces. ``max_side=N`` shrinks large photos (aspect
kept) with an :class:`ImageResizedWarning`. :func:`to_rgb` is the one PIL-image-to-RGB path
(transparency on white) that ``load_image`` and the explorer's upload share.

Example::

    >>> import numpy as np
    >>> x, shown = load_image(np.zeros((32, 48, 3), np.uint8))
    >>> tuple(x.shape), shown.shape
    ((1, 3, 32, 48), (32, 48, 3))
"""

from __future__ import annotations

import io
import threading
import warnings
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from ..constants import IMAGENET_MEAN, IMAGENET_STD

MIN_SIDE = 8
MAX_SIDE = 10_000
MAX_PIXELS = 50_000_000

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "ImageResizedWarning",
    "check_declared_size",
    "denormalise",
    "fit_within",
    "load_image",
    "normalise",
    "to_display",
    "to_rgb",
]


class ImageResizedWarning(UserWarning):
    """``load_image(..., max_side=N)`` shrank an image; the message gives both sizes."""


def _stat(shape: tuple[int, ...]) -> torch.Tensor:
    return torch.tensor(shape, dtype=torch.float32)


def normalise(images: torch.Tensor) -> torch.Tensor:
    """(rgb - mean) / std for a float tensor in [0, 1] of shape (3, H, W) or (N, 3, H, W)."""
    if not isinstance(images, torch.Tensor) or images.dim() not in (3, 4) or images.shape[-3] != 3:
        raise ValueError(
            "normalise expects a tensor (3, H, W) or (N, 3, H, W) with values in [0, 1]"
        )
    view = (3, 1, 1)
    mean = _stat(IMAGENET_MEAN).to(images).view(view)
    std = _stat(IMAGENET_STD).to(images).view(view)
    return (images - mean) / std


def denormalise(tensor: torch.Tensor) -> torch.Tensor:
    """Invert the ImageNet normalisation: ``x * std + mean``, clamped to [0, 1].

    >>> x, shown = load_image(np.full((16, 16, 3), 200, np.uint8))
    >>> round(float(denormalise(x)[0, 0, 0, 0]) * 255)
    200
    """
    if not isinstance(tensor, torch.Tensor) or tensor.dim() not in (3, 4) or tensor.shape[-3] != 3:
        raise ValueError(
            "denormalise expects a normalised tensor (3, H, W) or (N, 3, H, W), got "
            + (f"shape {tuple(tensor.shape)}" if isinstance(tensor, torch.Tensor)
               else type(tensor).__name__)
        )
    view = (3, 1, 1)
    mean = _stat(IMAGENET_MEAN).to(tensor).view(view)
    std = _stat(IMAGENET_STD).to(tensor).view(view)
    return (tensor.detach() * std + mean).clamp(0.0, 1.0)


def to_display(tensor: torch.Tensor) -> np.ndarray:
    """A normalised tensor (1, 3, H, W) or (3, H, W) back to a uint8 (H, W, 3) image."""
    rgb = denormalise(tensor)
    if rgb.dim() == 4:
        if rgb.shape[0] != 1:
            raise ValueError(f"to_display takes one image, got a batch of {rgb.shape[0]}")
        rgb = rgb[0]
    return (rgb.permute(1, 2, 0).cpu().numpy() * 255.0 + 0.5).astype(np.uint8)


# --------------------------------------------------------------------------- input handling


def _name(where: str | None) -> str:
    return f" ({where})" if where else ""


def _check_dims(
    width: int,
    height: int,
    where: str | None,
    max_pixels: int = MAX_PIXELS,
    max_side: int = MAX_SIDE,
) -> None:
    if width == 0 or height == 0:
        raise ValueError(f"the image is empty: {width} x {height} pixels{_name(where)}")
    if min(width, height) < MIN_SIDE:
        raise ValueError(
            f"the image is too small: {width} x {height} pixels; each side needs at least "
            f"{MIN_SIDE}{_name(where)}"
        )
    if max(width, height) > max_side or width * height > max_pixels:
        raise ValueError(
            f"the image is too large: {width} x {height} pixels ({width * height / 1e6:.1f} "
            f"megapixels); the limits are {max_side} pixels per side and "
            f"{max_pixels / 1e6:g} megapixels{_name(where)}"
        )


# PIL refuses (DecompressionBombError) or warns about huge images already in Image.open, before
# the caller can look at the declared size; the header is read with that check off (under a lock,
# as it is a module-wide setting), and our own limits are applied to the declared size instead.
_HEADER_LOCK = threading.Lock()


def _open_header(source: str | Path | IO[bytes], where: str) -> Image.Image:
    """``Image.open`` (header only, nothing decoded) without PIL's decompression-bomb check."""
    with _HEADER_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            return Image.open(source)
        except UnidentifiedImageError:
            raise ValueError(f"{where} is not an image file that PIL can read") from None
        except OSError as err:
            raise ValueError(f"cannot read image file {where}: {err}") from None
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def check_declared_size(
    source: str | Path | bytes | bytearray | IO[bytes],
    max_pixels: int = MAX_PIXELS,
    max_side: int = MAX_SIDE,
    name: str | None = None,
) -> tuple[int, int]:
    """``(width, height)`` an image file declares in its header, checked before any decoding.

    ``source``: a path, the file's bytes (e.g. an upload) or a binary file object. Only the
    header is read, so a small file declaring a huge image costs nothing. Raises ``ValueError``
    naming the file (``name``, else the path) when it is not an image, is empty or smaller than
    8 pixels a side, or declares more than ``max_pixels`` pixels or ``max_side`` pixels a side.

    >>> buf = io.BytesIO(); Image.new("RGB", (640, 480)).save(buf, "PNG")
    >>> check_declared_size(buf.getvalue(), name="upload.png")
    (640, 480)
    """
    if isinstance(source, (bytes, bytearray)):
        where = name or "the uploaded file"
        stream: Any = io.BytesIO(bytes(source))
    elif isinstance(source, (str, Path)):
        path = Path(source)
        where = name or str(path)
        if not path.exists():
            raise FileNotFoundError(f"no such image file: {path}")
        if path.is_dir():
            raise ValueError(f"{path} is a folder, not an image file")
        stream = path
    elif hasattr(source, "read"):
        where = name or getattr(source, "name", None) or "the image file"
        stream = source
    else:
        raise TypeError(
            f"check_declared_size takes a path, bytes or a binary file; got {type(source).__name__}"
        )
    with _open_header(stream, str(where)) as im:
        width, height = im.size
    _check_dims(width, height, str(where), max_pixels, max_side)
    return width, height


def _open(path: Path) -> Image.Image:
    if not path.exists():
        raise FileNotFoundError(f"no such image file: {path}")
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not an image file")
    im = _open_header(path, str(path))
    try:
        _check_dims(*im.size, str(path))
    except ValueError:
        im.close()
        raise
    try:
        im.load()
    except Exception as err:  # PIL raises OSError, SyntaxError, ValueError... for broken files
        im.close()
        raise ValueError(f"the image file {path} is truncated or corrupt ({err})") from None
    return im


def _array_to_float(arr: np.ndarray, where: str | None) -> np.ndarray:
    """Any 2-D / 3-D numeric array to float RGB or RGBA in [0, 1], channels last.

    uint8 RGB comes back unchanged (it already is a display image).
    """
    if arr.ndim == 3 and arr.shape[0] in (1, 3, 4) and arr.shape[-1] not in (1, 3, 4):
        arr = np.moveaxis(arr, 0, -1)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (3, 4)):
        raise ValueError(
            f"an image array must be (H, W), (H, W, 1|3|4) or (1|3|4, H, W), got shape "
            f"{arr.shape}{_name(where)}"
        )
    _check_dims(arr.shape[1], arr.shape[0], where)
    if arr.dtype == np.bool_:
        out = arr.astype(np.float32)
    elif arr.dtype == np.uint8:
        if arr.ndim == 3 and arr.shape[-1] == 3:
            return arr  # already a display image: no float round trip
        out = arr.astype(np.float32) / 255.0
    elif arr.dtype == np.uint16:
        out = arr.astype(np.float32) / 65535.0
    elif np.issubdtype(arr.dtype, np.integer):
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi > 65535:
            raise ValueError(
                f"integer image values must lie in [0, 255] (8-bit) or [0, 65535] (16-bit), "
                f"got [{lo}, {hi}]{_name(where)}"
            )
        out = arr.astype(np.float32) / (255.0 if hi <= 255 else 65535.0)
    elif np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise ValueError(f"the image array holds NaN or infinite values{_name(where)}")
        lo, hi = float(arr.min()), float(arr.max())
        if lo < -1e-3 or hi > 1 + 1e-3:
            raise ValueError(
                f"float image arrays must hold values in [0, 1], got [{lo:.4g}, {hi:.4g}]; "
                f"divide 8-bit data by 255{_name(where)}"
            )
        out = np.clip(arr.astype(np.float32), 0.0, 1.0)
    else:
        raise TypeError(f"load_image cannot read an image array of dtype {arr.dtype}; "
                        f"{_WHAT_TO_PASS}{_name(where)}")
    if out.ndim == 2:
        out = np.repeat(out[..., None], 3, axis=-1)
    return out


_WHAT_TO_PASS = ("pass uint8 values in [0, 255] or float32 values in [0, 1] (a tensor: "
                 "`x.float()`)")


def _tensor_array(tensor: torch.Tensor) -> np.ndarray:
    """The tensor as a numpy array, or a ``TypeError`` naming a dtype numpy cannot hold
    (bfloat16, the float8 types, complex, quantised) and what to pass instead."""
    floats = (torch.float16, torch.float32, torch.float64)
    if (tensor.is_complex() or tensor.is_quantized
            or (tensor.is_floating_point() and tensor.dtype not in floats)):
        raise TypeError(f"load_image cannot read a {tensor.dtype} tensor; {_WHAT_TO_PASS}")
    try:
        return tensor.detach().cpu().numpy()
    except TypeError:  # a dtype numpy has no counterpart for
        raise TypeError(f"load_image cannot read a {tensor.dtype} tensor; {_WHAT_TO_PASS}"
                        ) from None


def _pil_to_float(im: Image.Image, where: str | None) -> np.ndarray:
    """A PIL image to float RGB / RGBA in [0, 1], or to uint8 RGB when nothing is lost."""
    _check_dims(*im.size, where)
    try:
        im = ImageOps.exif_transpose(im) or im
    except Exception:  # a broken EXIF block should not stop the image from loading
        pass
    if im.mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return _array_to_float(np.asarray(im).astype(np.uint16), where)
    if im.mode == "I":
        return _array_to_float(np.asarray(im), where)
    if im.mode == "F":
        arr = np.asarray(im, np.float32)
        return _array_to_float(arr / 255.0 if arr.max() > 1.0 else arr, where)
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif im.mode in ("LA", "PA", "RGBa", "La"):
        im = im.convert("RGBA")
    elif im.mode != "RGBA":
        return np.asarray(im.convert("RGB"))  # uint8 RGB, used as it is
    return np.asarray(im, np.float32) / 255.0


def _composite_on_white(rgba: np.ndarray) -> np.ndarray:
    if rgba.shape[-1] == 4:
        alpha = rgba[..., 3:4]
        return rgba[..., :3] * alpha + (1.0 - alpha)
    return rgba


def _to_uint8(rgb: np.ndarray) -> np.ndarray:
    """Float RGB/RGBA in [0, 1] (composited on white) or uint8 RGB to uint8 RGB."""
    if rgb.dtype == np.uint8:
        return rgb
    return (np.clip(_composite_on_white(rgb), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def to_rgb(image: Image.Image) -> Image.Image:
    """The RGB image the course shows and explains for any PIL image, as :func:`load_image` does.

    EXIF rotation undone; transparency (RGBA, LA, palette with a transparent colour) composited
    on **white**, ``rgb = alpha * colour + (1 - alpha) * 255``; 16-bit and float modes scaled to
    8 bits; gray repeated to three channels. ``load_image(image)`` shows exactly this image.
    Use it wherever an uploaded or opened picture becomes RGB (``image.convert("RGB")`` would
    turn transparent pixels black).

    >>> im = Image.new("RGBA", (8, 8), (255, 0, 0, 0))   # fully transparent red
    >>> to_rgb(im).getpixel((0, 0))
    (255, 255, 255)
    """
    if not isinstance(image, Image.Image):
        raise TypeError(f"to_rgb takes a PIL image; got {type(image).__name__}")
    return Image.fromarray(np.ascontiguousarray(_to_uint8(_pil_to_float(image, None))), "RGB")


def _check_size(size) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in size)
    except (TypeError, ValueError):
        raise TypeError(f"size must be a (width, height) pair of ints, got {size!r}") from None
    _check_dims(width, height, "requested size")
    return width, height


def _check_max_side(max_side: Any) -> int:
    if isinstance(max_side, bool) or not isinstance(max_side, (int, np.integer)):
        raise TypeError(f"max_side must be an int (pixels) or None, got {max_side!r}")
    if not MIN_SIDE <= int(max_side) <= MAX_SIDE:
        raise ValueError(f"max_side must lie in [{MIN_SIDE}, {MAX_SIDE}] pixels, got {max_side}")
    return int(max_side)


def fit_within(width: int, height: int, max_side: int) -> tuple[int, int]:
    """``(w, h)`` scaled so that the longer side is ``max_side``, aspect kept (rounded, >= 1).

    >>> fit_within(4000, 3000, 1024)
    (1024, 768)
    """
    scale = max_side / max(width, height)
    if scale >= 1:
        return width, height
    return max(1, round(width * scale)), max(1, round(height * scale))


def load_image(
    source: Any,
    size: tuple[int, int] | None = None,
    max_side: int | None = None,
) -> tuple[torch.Tensor, np.ndarray]:
    """Load an image as the ImageNet-normalised tensor (1, 3, H, W) and a uint8 (H, W, 3) copy.

    ``source``: a path (str or Path), a PIL image, a numpy array (see the module docstring) or
    a tensor read as that array; a tensor numpy cannot hold (bfloat16, float8, complex) is
    refused with a ``TypeError`` that names its dtype: pass ``x.float()``.
    A file's declared size is checked before it is decoded (:func:`check_declared_size`).
    ``size``: optional (W, H) to resize to (bilinear, antialiased). ``max_side``: optional
    limit on the longer side; a larger image is shrunk to it, keeping its aspect ratio, and an
    :class:`ImageResizedWarning` says so ("photo.jpg: 4000 x 3000 resized to 1024 x 768").
    Give ``size`` or ``max_side``, not both. The tensor is computed from the uint8 display
    image, so ``denormalise(x) * 255`` rounds back to it exactly. Transparency is composited on
    white, as by :func:`to_rgb`.

    >>> x, shown = load_image(np.zeros((20, 30), np.uint8), size=(64, 48))
    >>> tuple(x.shape), shown.shape
    ((1, 3, 48, 64), (48, 64, 3))
    """
    if size is not None and max_side is not None:
        raise ValueError("give size=(W, H) or max_side=N, not both")
    limit = None if max_side is None else _check_max_side(max_side)
    where = None
    if isinstance(source, (str, Path)):
        where = str(source)
        with _open(Path(source)) as im:
            rgb = _pil_to_float(im, where)
    elif isinstance(source, Image.Image):
        rgb = _pil_to_float(source, None)
    elif isinstance(source, np.ndarray):
        rgb = _array_to_float(source, None)
    elif isinstance(source, torch.Tensor):
        arr = _tensor_array(source)
        rgb = _array_to_float(arr[0] if arr.ndim == 4 and arr.shape[0] == 1 else arr, None)
    else:
        raise TypeError(
            "load_image takes a file path, a PIL image or a numpy array, got "
            f"{type(source).__name__}"
        )
    display = _to_uint8(rgb)
    if limit is not None:
        old_w, old_h = display.shape[1], display.shape[0]
        new_w, new_h = fit_within(old_w, old_h, limit)
        if (new_w, new_h) != (old_w, old_h):
            warnings.warn(
                f"{where or 'image'}: {old_w} x {old_h} resized to {new_w} x {new_h} "
                f"(max_side={limit})",
                ImageResizedWarning,
                stacklevel=2,
            )
            display = np.asarray(
                Image.fromarray(display, "RGB").resize((new_w, new_h), Image.BILINEAR)
            )
    if size is not None:
        width, height = _check_size(size)
        if (width, height) != (display.shape[1], display.shape[0]):
            display = np.asarray(
                Image.fromarray(display, "RGB").resize((width, height), Image.BILINEAR)
            )
    display = np.array(display, dtype=np.uint8, order="C")  # a writable copy
    # the normalisation in numpy: no torch thread start-up for a small element-wise job
    mean = np.asarray(IMAGENET_MEAN, np.float32)
    std = np.asarray(IMAGENET_STD, np.float32)
    x = (display.astype(np.float32) / np.float32(255.0) - mean) / std
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1))[None]), display
