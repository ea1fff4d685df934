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


# modules allowed between the chosen block and the logits (the classifier head)
_HEAD_TYPES = (
    nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.AvgPool2d, nn.MaxPool2d, nn.Dropout,
    nn.Dropout2d, nn.Flatten, nn.Linear, nn.Identity, nn.BatchNorm1d, nn.LayerNorm, nn.ReLU,
    nn.ReLU6, nn.SiLU, nn.GELU, nn.Hardswish, nn.Sequential, nn.ModuleList,
)


def _has_conv(module: nn.Module) -> bool:
    return any(isinstance(m, nn.Conv2d) for m in module.modules())


def _is_head(module: nn.Module) -> bool:
    """Pooling, dropout, flatten, norms, activations and linear layers only (1x1 convs allowed,
    as SqueezeNet's classifier has)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            if tuple(m.kernel_size) != (1, 1):
                return False
        elif not isinstance(m, _HEAD_TYPES):
            return False
    return True


def _last_conv_rule(model: nn.Module, prefix: str = "") -> str:
    """The last ``Conv2d`` under ``prefix``, or the ReLU right after it."""
    names = [(n, m) for n, m in model.named_modules() if n and n.startswith(prefix)]
    last = max(i for i, (_n, m) in enumerate(names) if isinstance(m, nn.Conv2d))
    for n, m in names[last + 1 : last + 3]:
        if isinstance(m, (nn.ReLU, nn.ReLU6)):
            return n
    return names[last][0]


def default_layer(model: nn.Module) -> str:
    """The documented default layer: the output of the last convolutional block, i.e. the last
    module whose output feeds the classifier head.

    * a model with an attribute ``default_layer`` (the course models): that name;
    * torchvision ResNet / ResNeXt / Wide ResNet (``layer4`` and ``fc``): ``layer4``;
    * torchvision VGG and AlexNet (a ``features`` stack ending in max-pooling): the ReLU after the
      last convolution, before that pooling (``features.29`` for VGG16, 14x14 at 224x224);
    * otherwise the last top-level child that holds a convolution (auxiliary classifiers such as
      GoogLeNet's ``aux1``/``aux2`` and children named ``classifier``/``fc``/``head``/``heads``
      are skipped), provided only head modules (pooling, dropout, flatten, norms, activations,
      linear layers, 1x1 convs) come after it. When that child is a ``nn.Sequential`` its last
      element is returned (the same tensor, as users write ``model.features[-1]``):

      ====================  ===============================  ============================
      torchvision model     default layer                    output at 224x224
      ====================  ===============================  ============================
      densenet121           ``features.norm5`` (before the   1024 x 7 x 7
                            functional ReLU of forward())
      mobilenet_v2          ``features.18``                  1280 x 7 x 7
      googlenet             ``inception5b``                  1024 x 7 x 7
      efficientnet_b0       ``features.8``                   1280 x 7 x 7
      convnext_tiny         ``features.7`` (last stage)      768 x 7 x 7
      squeezenet1_0         ``features.12``                  512 x 13 x 13
      inception_v3          ``Mixed_7c``                     2048 x 8 x 8 (299 px)
      ====================  ===============================  ============================

      When the child is a single ``Conv2d`` (plain ``nn.Sequential`` models), the ReLU right
      after it is returned if there is one.

    Models whose last convolution is followed by anything else before the head (ViT's
    ``conv_proj`` is followed by a transformer encoder; Swin's features by a permutation to
    channels-last) have no such feature map: a ValueError names the model type and asks for
    ``layer=``.
    """
    named = getattr(model, "default_layer", None)
    if isinstance(named, str):
        find_layer(model, named)
        return named
    if hasattr(model, "layer4") and hasattr(model, "fc"):
        return "layer4"
    if not _has_conv(model):
        raise ValueError(
            f"{type(model).__name__} has no Conv2d layer, so there is no default layer for the "
            "CAM family; pass layer= explicitly"
        )
    features = getattr(model, "features", None)
    if isinstance(features, nn.Sequential) and len(features) and isinstance(
        features[-1], nn.MaxPool2d
    ):
        return _last_conv_rule(model, "features.")
    children = [(n, m) for n, m in model.named_children() if "Aux" not in type(m).__name__]
    heads = {"classifier", "fc", "head", "heads"}
    picks = [i for i, (n, m) in enumerate(children) if _has_conv(m) and n not in heads]
    if not picks:
        picks = [i for i, (_n, m) in enumerate(children) if _has_conv(m)]
    i = picks[-1]
    name, block = children[i]
    after = [(n, m) for n, m in children[i + 1 :] if not _is_head(m)]
    if after:
        what = ", ".join(f"{n} ({type(m).__name__})" for n, m in after)
        raise ValueError(
            f"cannot choose a default layer for {type(model).__name__}: its last convolutional "
            f"part {name!r} ({type(block).__name__}) is followed by {what} before the classifier, "
            "not by a spatial feature map feeding the head; pass layer= with the name of a "
            "layer whose output is (B, K, h, w)"
        )
    if isinstance(block, nn.Conv2d):
        return _last_conv_rule(model)
    if isinstance(block, nn.Sequential) and len(block):
        last = list(block.named_children())[-1][0]
        return f"{name}.{last}"
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
