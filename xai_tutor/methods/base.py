"""What every method shares: the registry, input checks, target choice and the default layer.

A method is a function ``fn(model, images, target=None, layer=None, **params) -> Explanation``
registered with :func:`register`. :func:`xai_tutor.explain` looks methods up by name here.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

from ..hooks import find_layer
from .params import AUTO_BATCH_ESTIMATE, COSTS, MISSING, Param, Passes, one_pass

__all__ = [
    "MethodInfo",
    "METHODS",
    "Param",
    "Passes",
    "register",
    "check_images",
    "check_input",
    "size_problem",
    "resolve_target",
    "default_layer",
    "progress",
    "progress_listener",
]


@dataclass(frozen=True)
class MethodInfo:
    """A registered method: its function, family (``"pixel"`` or ``"cam"``), one-line summary,
    and what callers need to know without reading its signature.

    Attributes:
        params: the method's parameters (:class:`~xai_tutor.methods.params.Param`), defaults
            filled in from the signature; :meth:`validate` checks values against them.
        takes_layer: the method explains a layer's activations and uses ``layer=``.
        supports_progress: the method loops over batches and reports each step to
            :func:`progress` (a tqdm bar with ``progress=True``, and any
            :func:`progress_listener`).
        cost: ``"one pass"``, ``"n passes"`` or ``"per channel"`` (see :meth:`passes`).
        estimate: ``f(channels, samples, batch_size) -> Passes`` for :meth:`passes`.
        relations: checks between parameters, ``f(method, params) -> None`` (e.g. LRP's
            ``low < high``), run by :meth:`validate` after every single value passed.
        extra: for a method with ``**kwargs`` that it hands on (SmoothGrad's base method):
            ``f(method, params, extras) -> extras`` checks them; without it they are refused.
    """

    name: str
    fn: Callable[..., Any]
    family: str
    summary: str
    expensive: bool = False
    params: tuple[Param, ...] = ()
    takes_layer: bool = False
    supports_progress: bool = False
    cost: str = "one pass"
    estimate: Callable[..., Passes] = one_pass
    relations: Callable[[str, dict[str, Any]], None] | None = None
    extra: Callable[[str, dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the method; its own keyword parameters are checked first (:meth:`validate`)."""
        common = {k: kwargs.pop(k) for k in ("target", "layer") if k in kwargs}
        return self.fn(*args, **common, **self.validate(kwargs))

    # ------------------------------------------------------------------ parameters
    def param(self, name: str) -> Param:
        """The declaration of parameter ``name`` (``KeyError`` naming the known ones)."""
        for p in self.params:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.params) or "none"
        raise KeyError(f"{self.name} has no parameter {name!r}; its parameters: {known}")

    def defaults(self) -> dict[str, Any]:
        """``{name: default}`` of every declared parameter."""
        return {p.name: p.default for p in self.params}

    @property
    def accepts_progress(self) -> bool:
        """Whether the function takes a ``progress=`` keyword (it may do nothing with it)."""
        return _accepts(self.fn, "progress")

    def validate(self, params: dict[str, Any]) -> dict[str, Any]:
        """Check ``params`` (keyword arguments of a call) against the declarations.

        Returns the checked values (NumPy scalars made Python numbers). ``progress`` must be a
        bool; it is kept only when the function takes it. An unknown name, a value of the wrong
        type, a non-finite number or a value outside its range raises ``TypeError`` /
        ``ValueError`` naming the method, the parameter, the value and what is allowed.
        """
        out: dict[str, Any] = {}
        extras: dict[str, Any] = {}
        declared = {p.name: p for p in self.params}
        for key, value in params.items():
            if key == "progress":
                if not isinstance(value, bool):
                    raise TypeError(f"{self.name}: progress must be True or False; got {value!r}")
                if self.accepts_progress:
                    out[key] = value
            elif key in declared:
                out[key] = declared[key].check(self.name, value)
            else:
                extras[key] = value
        if extras:
            if self.extra is None:
                known = ", ".join(sorted(declared)) or "none"
                names = ", ".join(repr(k) for k in extras)
                raise TypeError(
                    f"{self.name} has no parameter {names}; its parameters are: {known} "
                    "(and progress=)"
                )
            out.update(self.extra(self.name, out, extras))
        if self.relations is not None:
            merged = {**self.defaults(), **out}
            self.relations(self.name, merged)
        return out

    # ------------------------------------------------------------------ cost
    def passes(
        self, channels: int | None = None, params: dict[str, Any] | None = None
    ) -> Passes:
        """Estimated work of one call per image (:class:`~xai_tutor.methods.params.Passes`).

        ``channels``: the channel count of the layer (Score-CAM, Ablation-CAM); ``params``: the
        call's parameters (``n`` and ``batch_size`` are read from them, else the defaults).
        """
        values = {**self.defaults(), **(params or {})}
        samples = values.get("n")
        batch = values.get("batch_size")
        if batch is None:  # chosen by the method at run time; estimate with its usual choice
            batch = AUTO_BATCH_ESTIMATE
        return self.estimate(
            int(channels or 0),
            int(samples) if isinstance(samples, int) else 0,
            int(batch) if isinstance(batch, int) and batch > 0 else 1,
        )


METHODS: dict[str, MethodInfo] = {}

#: the arguments every method takes that are not its own parameters
_COMMON = ("model", "images", "target", "layer", "progress")


def _accepts(fn: Callable[..., Any], name: str) -> bool:
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _declare(name: str, fn: Callable[..., Any], params: Sequence[Param]) -> tuple[Param, ...]:
    """The declarations with defaults from ``fn``'s signature; undeclared keywords of the
    signature get an ``"object"`` declaration (unchecked) so a new parameter still passes."""
    signature = inspect.signature(fn).parameters
    var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.values())
    out = []
    for p in params:
        if not isinstance(p, Param):
            raise TypeError(f"{name}: params must be Param declarations; got {p!r}")
        if p.name not in signature:
            if not var_kw:
                raise TypeError(f"{name} declares parameter {p.name!r} that it does not take")
        elif p.default is MISSING:
            default = signature[p.name].default
            p = replace(p, default=None if default is inspect.Parameter.empty else default)
        out.append(p)
    seen = {p.name for p in out}
    for pname, sp in signature.items():
        if pname in _COMMON or pname in seen or sp.kind in (
            inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL
        ):
            continue
        default = None if sp.default is inspect.Parameter.empty else sp.default
        out.append(Param(pname, "object", default, doc="(not declared)"))
    return tuple(out)


def register(
    name: str,
    family: str,
    summary: str,
    expensive: bool = False,
    *,
    params: Sequence[Param] = (),
    takes_layer: bool | None = None,
    progress: bool = False,
    cost: str = "one pass",
    estimate: Callable[..., Passes] | None = None,
    relations: Callable[[str, dict[str, Any]], None] | None = None,
    extra: Callable[[str, dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None,
) -> Callable:
    """Decorator adding a finished method to :data:`METHODS` under ``name``.

    ``params`` declares the method's parameters (defaults come from the signature when not
    given); ``takes_layer`` defaults to ``family == "cam"``; ``progress``: the method reports its
    loop through :func:`progress`; ``cost`` names the cost model and ``estimate`` computes it
    (default: the first estimator of that model in :data:`~xai_tutor.methods.params.COSTS`).
    """
    if family not in ("pixel", "cam"):
        raise ValueError(f"family must be 'pixel' or 'cam'; got {family!r}")
    if cost not in COSTS:
        raise ValueError(f"cost must be one of {', '.join(COSTS)}; got {cost!r}")
    if estimate is not None and estimate not in COSTS[cost]:
        raise ValueError(f"estimate {estimate.__name__} is not a {cost!r} cost model")

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in METHODS:
            raise RuntimeError(f"method {name!r} registered twice")
        if progress and not _accepts(fn, "progress"):
            raise TypeError(f"{name} reports progress but takes no progress= argument")
        METHODS[name] = MethodInfo(
            name, fn, family, summary, expensive,
            params=_declare(name, fn, params),
            takes_layer=family == "cam" if takes_layer is None else takes_layer,
            supports_progress=progress,
            cost=cost,
            estimate=estimate or COSTS[cost][0],
            relations=relations,
            extra=extra,
        )
        return fn

    return wrap


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

    :func:`xai_tutor.explain` runs this once for every method. Besides :func:`check_images`
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
    from ..hooks import model_guard

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
