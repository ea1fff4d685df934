"""What every method shares: the registry, input checks, target choice and the default layer.

A method is a function ``fn(model, images, target=None, layer=None, **params) -> Explanation``
registered with :func:`register`. :func:`xai_tutor.explain` looks methods up by name here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
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
    "progress_listener",
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
    for i, (_n, m) in enumerate(names):
        if isinstance(m, nn.Conv2d):
            last_conv = i
    if last_conv is None:
        raise ValueError("the model has no Conv2d layer; pass layer= explicitly")
    name, _ = names[last_conv]
    for n, m in names[last_conv + 1 : last_conv + 3]:
        if isinstance(m, (nn.ReLU, nn.ReLU6)):
            return n
    return name


ProgressCallback = Callable[[str, int, "int | None"], None]

_LISTENER: ContextVar[ProgressCallback | None] = ContextVar("xai_tutor_progress", default=None)


@contextlib.contextmanager
def progress_listener(callback: ProgressCallback) -> Iterator[None]:
    """Call ``callback(desc, done, total)`` before every step of every :func:`progress` loop.

    The callback runs in the context (thread) that entered the block, before each step and once
    after the last one, whether or not the tqdm bar is shown. It may raise, which stops the
    method between two steps (the widgets use this to cancel a long Score-CAM run)::

        >>> seen = []
        >>> with progress_listener(lambda desc, done, total: seen.append(done)):
        ...     _ = list(progress(range(2), False, "demo"))
        >>> seen
        [0, 1, 2]
    """
    token = _LISTENER.set(callback)
    try:
        yield
    finally:
        _LISTENER.reset(token)


def _reported(iterable: Any, callback: ProgressCallback, desc: str, total: int | None) -> Any:
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)
    done = 0
    for item in iterable:
        callback(desc, done, total)
        yield item
        done += 1
    callback(desc, done, total)


def progress(iterable: Any, enabled: bool, desc: str, total: int | None = None) -> Any:
    """Wrap ``iterable`` in a ``tqdm.auto`` progress bar when ``enabled``.

    Inside :func:`progress_listener` every step is also reported to the listener.
    """
    callback = _LISTENER.get()
    if callback is not None:
        iterable = _reported(iterable, callback, desc, total)
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, leave=False)
