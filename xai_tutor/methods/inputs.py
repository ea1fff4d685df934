"""The input rules every method shares: what ``images`` must be for a given model.

:func:`check_input` is run once per call of every registered method (by the registry, see
:mod:`xai_tutor.methods.registry`): rank, floating point, finite values, channels against the
model's first convolution (channels-last arrays recognised), dtype and device against the model's
parameters. :func:`size_problem` explains, after a failed forward pass, whether the image was too
small for the model and which size it needs.

Example::

    >>> import torch, torchvision
    >>> net = torchvision.models.resnet18(weights=None).eval()
    >>> check_input(net, torch.rand(3, 32, 32)).shape        # one image gets a batch dimension
    torch.Size([1, 3, 32, 32])
    >>> try:
    ...     check_input(net, torch.rand(1, 32, 32, 3))
    ... except ValueError as err:
    ...     print(str(err).split("; ")[-1])
    use images.permute(0, 3, 1, 2) to get channels first (B, C, H, W)
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..hooks import model_guard

__all__ = ["check_images", "check_input", "size_problem"]


def check_images(images: Any) -> torch.Tensor:
    """Return ``images`` as a float ``(B, C, H, W)`` tensor, or raise a clear error.

    A single ``(C, H, W)`` image gets a batch dimension. Anything else (lists, NumPy arrays,
    integer tensors, wrong rank, empty batch, NaN) is refused with a message that says what to pass.
    """
    if not isinstance(images, torch.Tensor):
        hint = ""
        if type(images).__module__ == "numpy":
            hint = " (for a NumPy image use xai_tutor.load_image(array), which also normalises it)"
        raise TypeError(
            "images must be a torch.Tensor of shape (B, 3, H, W) as returned by "
            f"xai_tutor.load_image; got {type(images).__name__}{hint}"
        )
    if images.dim() == 3:
        images = images.unsqueeze(0)
    if images.dim() != 4:
        raise ValueError(
            f"images must have shape (B, C, H, W) or (C, H, W); got {tuple(images.shape)}"
        )
    if images.shape[0] == 0:
        raise ValueError("images is an empty batch")
    if not images.is_floating_point():
        raise TypeError(
            f"images must be a floating-point tensor (normalised as the model expects); got "
            f"{images.dtype}. xai_tutor.load_image does the conversion"
        )
    if not torch.isfinite(images).all():
        raise ValueError("images contain NaN or infinite values")
    return images


def _first_conv(model: nn.Module) -> nn.Module | None:
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            return m
    return None


def _first_param(model: nn.Module) -> torch.Tensor | None:
    for p in model.parameters():
        if p.is_floating_point():
            return p
    return None


def check_input(model: nn.Module, images: Any) -> torch.Tensor:
    """``images`` as a ``(B, C, H, W)`` batch the model can take, or a clear error.

    :func:`xai_tutor.explain` and every registered method's own function run this once per call
    (see :mod:`xai_tutor.methods.registry`). Besides :func:`check_images`
    (tensor, rank 3 or 4, floating point, finite) it compares the images with the model:

    * channels: ``C`` must equal the ``in_channels`` of the model's first convolution; a
      channels-last array ``(B, H, W, C)`` is recognised and the fix (``permute``) suggested;
    * dtype: the images' dtype must be the model's parameters' (float16, bfloat16 or float64
      images for a float32 model are refused, naming both);
    * device: the images must be on the model's device;
    * size: at least 1 x 1 (the size a model needs is checked after a failed forward pass, see
      :func:`size_problem`).

    Every message says what was given and what is expected.
    """
    if isinstance(images, torch.Tensor) and images.dim() in (3, 4):
        conv = _first_conv(model)
        shape = tuple(images.shape)
        batch_shape = shape if len(shape) == 4 else (1, *shape)
        if conv is not None and batch_shape[1] != conv.in_channels:
            want = conv.in_channels
            given = (f"images of shape {shape} have {batch_shape[1]} channels (dimension "
                     f"{len(shape) - 3})")
            expected = f"the model's first convolution expects {want}"
            if batch_shape[-1] == want:
                dims = "(0, 3, 1, 2)" if len(shape) == 4 else "(2, 0, 1)"
                raise ValueError(
                    f"{given}, but {expected}: the images look channels-last (..., H, W, C); "
                    f"use images.permute{dims} to get channels first (B, C, H, W)"
                )
            hint = ""
            if batch_shape[1] == 1 and want == 3:
                hint = "; for a gray image repeat it: images.expand(-1, 3, -1, -1)"
            elif batch_shape[1] == 4 and want == 3:
                hint = ("; RGBA: drop or composite the alpha channel, as xai_tutor.load_image does "
                        "(transparent pixels on white)")
            raise ValueError(f"{given}, but {expected}{hint}")
    x = check_images(images)
    if x.shape[-1] == 0 or x.shape[-2] == 0:
        raise ValueError(f"images have no pixels: shape {tuple(x.shape)}")
    param = _first_param(model)
    if param is not None:
        if x.dtype != param.dtype:
            raise TypeError(
                f"images are {x.dtype} but the model's parameters are {param.dtype}; convert "
                f"the images with images.to({param.dtype}) (or the model with "
                f"model.to({x.dtype}))"
            )
        if x.device != param.device:
            raise ValueError(
                f"images are on {x.device} but the model is on {param.device}; move them with "
                f"images.to({str(param.device)!r})"
            )
    return x


#: largest square side :func:`size_problem` tries when looking for the size a model needs
_PROBE_MAX = 1024


def _runs(model: nn.Module, like: torch.Tensor, height: int, width: int) -> bool:
    probe = torch.zeros(1, like.shape[1], height, width, dtype=like.dtype, device=like.device)
    try:
        model(probe)
    except RuntimeError:
        return False
    return True


def size_problem(model: nn.Module, images: torch.Tensor) -> str | None:
    """Why ``images`` may be too small for ``model``, or ``None`` if their size is not the problem.

    Runs the model (guarded, without gradients) on one zero image of the same size: if that
    works, the size is fine. Otherwise it looks for the smallest square side in ``1..1024`` at
    which a forward pass works (doubling, then bisecting), and returns a message with the given
    and the needed size (or the one size it runs at, for a model with a fixed-size head).
    ``None`` also when no size up to 1024 works (then the problem is something else).
    """
    height, width = int(images.shape[-2]), int(images.shape[-1])
    with model_guard(model), torch.no_grad():
        if _runs(model, images, height, width):
            return None
        low, side = max(1, min(height, width)), max(1, min(height, width))
        while side <= _PROBE_MAX and not _runs(model, images, side, side):
            low, side = side, side * 2
        if side > _PROBE_MAX:
            return None
        while side - low > 1:  # low fails (or is the given size), side works
            mid = (low + side) // 2
            if _runs(model, images, mid, mid):
                side = mid
            else:
                low = mid
        fixed = not _runs(model, images, 2 * side, 2 * side)
    if fixed:
        return (
            f"images of {height} x {width} pixels do not fit {type(model).__name__}: its "
            f"forward pass fails at that size and works at {side} x {side} but not at "
            f"{2 * side} x {2 * side}, so it seems to need {side} x {side} pixels "
            f"(resize the image, e.g. xai_tutor.load_image(path, size=({side}, {side})))"
        )
    return (
        f"images of {height} x {width} pixels are too small for {type(model).__name__}: its "
        f"forward pass fails at that size; it needs at least {side} x {side} pixels (resize "
        f"the image, e.g. xai_tutor.load_image(path, size=(224, 224)))"
    )

