"""What every method shares: the registry, input checks, target choice and the default layer.

A method is a function ``fn(model, images, target=None, layer=None, **params) -> Explanation``
registered with :func:`register`. :func:`xai_tutor.explain` looks methods up by name here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..hooks import find_layer

__all__ = [
    "MethodInfo",
    "METHODS",
    "register",
    "check_images",
    "resolve_target",
    "default_layer",
    "progress",
]


@dataclass(frozen=True)
class MethodInfo:
    """A registered method: its function, family (``"pixel"`` or ``"cam"``) and one-line summary."""

    name: str
    fn: Callable[..., Any]
    family: str
    summary: str
    expensive: bool = False

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)


METHODS: dict[str, MethodInfo] = {}


def register(name: str, family: str, summary: str, expensive: bool = False) -> Callable:
    """Decorator adding a finished method to :data:`METHODS` under ``name``."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in METHODS:
            raise RuntimeError(f"method {name!r} registered twice")
        METHODS[name] = MethodInfo(name, fn, family, summary, expensive)
        return fn

    return wrap


def check_images(images: Any) -> torch.Tensor:
    """Return ``images`` as a float ``(B, C, H, W)`` tensor, or raise a clear error.

    A single ``(C, H, W)`` image gets a batch dimension. Anything else (lists, NumPy arrays,
    integer tensors, wrong rank, empty batch, NaN) is refused with a message that says what to pass.
    """
    if not isinstance(images, torch.Tensor):
        raise TypeError(
            "images must be a torch.Tensor of shape (B, 3, H, W) as returned by "
            f"xai_tutor.load_image; got {type(images).__name__}"
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


def resolve_target(
    logits: torch.Tensor, target: int | Sequence[int] | torch.Tensor | None
) -> torch.Tensor:
    """Class index per image: the top class when ``target`` is None, else ``target`` checked.

    ``target`` may be one int (same class for every image) or one int per image; a length that
    differs from the batch size, or a class outside ``[0, num_classes)``, is an error.
    """
    batch, classes = logits.shape
    if target is None:
        return logits.argmax(dim=1)
    if isinstance(target, torch.Tensor) and target.dim() == 0:
        target = target.item()
    if isinstance(target, bool):
        raise TypeError(f"target must be None, an int or a sequence of ints; got {target!r}")
    if isinstance(target, int) or (hasattr(target, "__index__") and not hasattr(target, "__len__")):
        values = [int(target)] * batch
    elif isinstance(target, torch.Tensor):
        values = target.detach().reshape(-1).tolist()
    elif isinstance(target, Sequence) and not isinstance(target, str):
        values = list(target)
    else:
        raise TypeError(f"target must be None, an int or a sequence of ints; got {target!r}")
    if len(values) != batch:
        raise ValueError(
            f"target has {len(values)} entries but the batch has {batch} images; give one class "
            "per image, a single int for all, or None for each image's top class"
        )
    out = []
    for v in values:
        if isinstance(v, bool) or not float(v).is_integer():
            raise TypeError(f"target classes must be integers; got {v!r}")
        v = int(v)
        if not 0 <= v < classes:
            raise ValueError(f"target class {v} is outside the model's classes 0..{classes - 1}")
        out.append(v)
    return torch.tensor(out, dtype=torch.long, device=logits.device)


def default_layer(model: nn.Module) -> str:
    """The documented default layer: the output of the last convolutional block.

    * a model with an attribute ``default_layer`` (the course models): that name;
    * torchvision VGG: ``features.29``, the ReLU after the last convolution (14x14 at 224x224),
      before the last max-pooling;
    * torchvision ResNet: ``layer4``;
    * anything else: the last ``Conv2d``, or the module after it when that module is a ReLU.
    """
    named = getattr(model, "default_layer", None)
    if isinstance(named, str):
        find_layer(model, named)
        return named
    if hasattr(model, "layer4") and hasattr(model, "fc"):
        return "layer4"
    names = [(n, m) for n, m in model.named_modules() if n]
    last_conv = None
    for i, (n, m) in enumerate(names):
        if isinstance(m, nn.Conv2d):
            last_conv = i
    if last_conv is None:
        raise ValueError("the model has no Conv2d layer; pass layer= explicitly")
    name, _ = names[last_conv]
    for n, m in names[last_conv + 1 : last_conv + 3]:
        if isinstance(m, (nn.ReLU, nn.ReLU6)):
            return n
    return name


def progress(iterable: Any, enabled: bool, desc: str, total: int | None = None) -> Any:
    """Wrap ``iterable`` in a ``tqdm.auto`` progress bar when ``enabled``."""
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, leave=False)
