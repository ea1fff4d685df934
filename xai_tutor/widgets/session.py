"""The explorer's state without any widget: images, models, predictions, layers, cached maps.

A :class:`Session` answers the questions the controls ask (which images load, what the model
predicts, which layers a CAM method may use, what a method costs) and computes explanations for a
:class:`Job`, the complete set of inputs of one map. A job is hashable: it is the key of the
explanation cache and what a background run compares with the current controls when it finishes
(a result whose job is no longer current is not drawn over other inputs).

Example::

    >>> from xai_tutor.widgets.session import Job
    >>> Job("image:a", ("m", 1), "gradcam", "layer4", 3, ()).describe()
    'gradcam on image:a, model m, layer layer4, class 3'
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from .cache import LRUCache
from .controls import as_uint8
from .layers import layer_shapes
from .param_specs import AUTO, NO_LAYER, method_params

__all__ = ["Job", "Loaded", "Session", "MAX_SHOWN_SIDE", "class_names"]

#: images with a longer side are resized to it (keeping the aspect ratio), with a note
MAX_SHOWN_SIDE = 1024


@dataclass(frozen=True)
class Job:
    """Every input of one explanation: image key, ``(model name, id)``, method, layer, class,
    and the parameters as sorted ``(name, value)`` pairs."""

    image: str
    model: tuple[str, int]
    method: str
    layer: str | None
    target: int
    params: tuple

    def describe(self) -> str:
        where = f", layer {self.layer}" if self.layer else ""
        return f"{self.method} on {self.image}, model {self.model[0]}{where}, class {self.target}"


@dataclass(frozen=True)
class Loaded:
    """An image ready for the models: normalised tensor, display copy, and a note (resizing)."""

    tensor: torch.Tensor
    display: np.ndarray
    note: str = ""


def class_names(model: nn.Module, count: int) -> list[str]:
    """The model's ``class_names`` when it has ``count`` of them, else ``class 0`` ..."""
    names = getattr(model, "class_names", None)
    if isinstance(names, Sequence) and len(names) == count:
        return [str(n) for n in names]
    return [f"class {i}" for i in range(count)]


@functools.lru_cache(maxsize=1)
def course_scenes() -> dict[str, Any]:
    """The three course scenes, built once per process and shared by all explorers."""
    from ..data import course_scenes as build

    return dict(build())


class Session:
    """What the explorer knows and computes, independent of the widgets.

    Args:
        methods: ``{name: MethodInfo}`` to explain with.
        image_size: ``(W, H)`` every image is resized to; ``None``: native size, but a longer
            side than ``max_side`` is scaled down to it (with a note).
        cache_size: explanations kept in the LRU cache.
        max_side: see ``image_size``.
    """

    def __init__(self, methods: Mapping[str, Any], image_size: tuple[int, int] | None = None,
                 cache_size: int = 32, max_side: int = MAX_SHOWN_SIDE) -> None:
        self.methods = dict(methods)
        self.image_size = image_size
        self.max_side = int(max_side)
        self.cache = LRUCache(cache_size)
        self._side = LRUCache(4 * cache_size)  # predictions and layer shapes
        self.images: dict[str, Loaded] = {}
        self.models: dict[str, nn.Module] = {}

    # ------------------------------------------------------------------ images
    def read(self, source: Any, label: str = "the image") -> Loaded:
        """Load ``source`` (anything :func:`xai_tutor.load_image` reads, or a ready
        ``(tensor, display)`` pair) through ``load_image``: one path for files, arrays, uploads
        (transparency composited on white there). A native image with a side over ``max_side``
        is scaled down to it, and the note says so."""
        if isinstance(source, tuple) and len(source) == 2 and isinstance(source[0], torch.Tensor):
            tensor, display = source
            return Loaded(tensor[None] if tensor.dim() == 3 else tensor, as_uint8(display))
        from ..data import load_image

        tensor, display = load_image(source, size=self.image_size)
        h, w = display.shape[:2]
        if self.image_size is not None or max(h, w) <= self.max_side:
            return Loaded(tensor, as_uint8(display))
        scale = self.max_side / max(h, w)
        size = (max(round(w * scale), 8), max(round(h * scale), 8))
        tensor, display = load_image(display, size=size)
        note = (f"{label} is {w}x{h} pixels: shown and explained at {size[0]}x{size[1]} "
                f"(longest side {self.max_side}) to keep the methods fast")
        return Loaded(tensor, as_uint8(display), note)

    # ------------------------------------------------------------------ models
    def model(self, name: str) -> nn.Module:
        """The model ``name``, loaded with :func:`xai_tutor.load_model` when first asked for."""
        if name not in self.models:
            from ..models import load_model

            self.models[name] = load_model(name)
        return self.models[name]

    def probabilities(self, image: str, model: tuple[str, int], net: nn.Module,
                      x: torch.Tensor) -> torch.Tensor:
        """The softmax over every class of ``net`` on ``x`` (float64, 1-D), cached."""
        key = ("probs", image, model)
        probs = self._side.get(key)
        if probs is None:
            from ..hooks import model_guard

            with model_guard(net), torch.no_grad():
                logits = net(x)
            probs = torch.softmax(logits[0].detach().cpu().double(), dim=0)
            self._side.put(key, probs)
        return probs

    def predictions(self, image: str, model: tuple[str, int], net: nn.Module,
                    x: torch.Tensor) -> tuple[list[tuple[int, str, float]], list[str]]:
        """``(top 5 as (index, name, probability), all class names)``, cached."""
        key = ("top5", image, model)
        cached = self._side.get(key)
        if cached is not None:
            return cached
        probs = self.probabilities(image, model, net, x)
        names = class_names(net, probs.numel())
        values, indices = probs.topk(min(5, probs.numel()))
        top = [(int(i), names[int(i)], float(p)) for p, i in zip(values, indices)]
        self._side.put(key, (top, names))
        return top, names

    def layer_shapes(self, model: tuple[str, int], net: nn.Module,
                     x: torch.Tensor) -> dict[str, tuple[int, ...]]:
        """``{layer: (1, K, h, w)}`` of the layers a CAM method may use on ``x``, cached."""
        key = ("layers", model, tuple(x.shape[1:]))
        shapes = self._side.get(key)
        if shapes is None:
            shapes = layer_shapes(net, x)
            self._side.put(key, shapes)
        return shapes

    # ------------------------------------------------------------------ methods
    def takes_layer(self, name: str) -> bool:
        """Whether method ``name`` takes a layer: its registry entry says so (for an entry
        without ``takes_layer``: the CAM family, FullGrad excepted)."""
        info = self.methods[name]
        guess = getattr(info, "family", "pixel") == "cam" and name not in NO_LAYER
        return bool(getattr(info, "takes_layer", guess))

    def expensive(self, name: str) -> bool:
        return bool(getattr(self.methods[name], "expensive", False))

    def default(self, method: str, param: str, fallback: Any) -> Any:
        """The default of ``param`` as the method's parameter table gives it."""
        for spec in method_params(method, self.methods[method].fn):
            if spec.name == param:
                return spec.default
        return fallback

    def cost(self, method: str, layer: str | None, params: Mapping[str, Any] | None,
             shapes: Callable[[], Mapping[str, tuple[int, ...]]],
             x: torch.Tensor | None = None) -> str:
        """A rough price of ``method``, e.g. ``"~512 forwards in 64 batches"``.

        Score-CAM: one forward of the whole network per channel of ``layer``; Ablation-CAM: one
        pass of only the layers after ``layer`` per channel (it re-runs the tail); the
        SmoothGrad family: ``n`` forward/backward passes. ``shapes`` gives the layer shapes.
        Batch size and ``n``: the values set, else the method's own defaults; Score-CAM's
        automatic batch size (``None``) is the one it picks for the image ``x``.
        """
        params = dict(params or {})

        def value(name: str, fallback: int) -> int:
            given = params.get(name)
            given = given if given is not None else self.default(method, name, None)
            if given == AUTO:  # the method chooses at run time
                given = None
            if given is None and name == "batch_size" and method == "scorecam" and x is not None:
                from ..methods.cam.scorecam import auto_batch

                given = auto_batch(x)[0]
            return int(given) if isinstance(given, (int, float)) else fallback

        if method in ("scorecam", "ablationcam") and layer:
            channels = int(shapes().get(layer, (0, 0))[1])
            batch = max(value("batch_size", 8 if method == "scorecam" else 128), 1)
            batches = math.ceil(channels / batch)
            if method == "scorecam":
                return f"~{channels} forwards in {batches} batches"
            return (f"~{channels} passes through the layers after {layer} in {batches} "
                    "batches, plus 1 forward/backward")
        if method in ("smoothgrad", "smoothgradcampp"):
            return f"~{value('n', 25)} forward/backward passes"
        return "~1 forward/backward pass"

    def job(self, image: str, model: tuple[str, int], method: str, layer: str | None,
            target: int, params: Mapping[str, Any]) -> Job:
        """The job for these inputs (``params`` values must be hashable: the widgets' are)."""
        return Job(image, model, method, layer if self.takes_layer(method) else None, target,
                   tuple(sorted((str(k), v) for k, v in params.items())))

    def explain(self, job: Job, net: nn.Module, x: torch.Tensor,
                on_progress: Callable[[str, int, int | None], None] | None = None) -> Any:
        """The explanation of ``job`` (from the cache when there), reporting progress."""
        cached = self.cache.get(job)
        if cached is not None:
            return cached
        from ..methods.progress import progress_listener

        call = dict(job.params)
        info = self.methods[job.method]
        if getattr(info, "accepts_progress", None) or "progress" in accepted(info.fn):
            call["progress"] = False
        listener = (progress_listener(on_progress) if on_progress is not None
                    else contextlib.nullcontext())
        with listener:
            result = self.methods[job.method].fn(net, x, target=job.target, layer=job.layer,
                                                 **call)
        self.cache.put(job, result)
        return result


def accepted(fn: Any) -> set[str]:
    """The keyword names ``fn`` accepts (``progress`` too when it takes ``**kwargs``)."""
    import inspect

    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return set()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return set(params) | {"progress"}
    return set(params)
