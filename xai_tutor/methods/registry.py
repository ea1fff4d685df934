"""The method registry: what each method is, what it accepts, and the one place a call is checked.

A method is a function ``fn(model, images, target=None, layer=None, **params) -> Explanation``
decorated with :func:`register`, which

* records a :class:`MethodInfo` under the method's name in :data:`METHODS`: its family, its
  parameters (:class:`~xai_tutor.methods.declarations.Param`), its cost model, and what the
  course and the figures know about it: the title as its paper spells it, whether its map
  carries a sign, the resolution of its map, and the notebook that teaches it;
* puts a **checked** function in the module in place of ``fn``. Every call, direct
  (``xai_tutor.methods.cam.gradcam.gradcam(model, x)``) or through
  :func:`xai_tutor.explain`, runs :meth:`MethodInfo.call`: the model, the images
  (:func:`~xai_tutor.methods.inputs.check_input`: rank, channels, dtype, device, size, finite
  values), ``layer`` and the method's own parameters are checked once, before the method runs,
  and a forward pass that fails on a too-small image becomes a ``ValueError`` naming the size the
  model needs. So a bad value gets the same message whichever way the method was called.

The function as written stays available, unchecked, as :attr:`MethodInfo.unchecked`: a method
that runs another one many times (SmoothGrad over noisy copies) checks once and then calls that.
Method bodies therefore hold the formula, not the checks.

Example::

    >>> import torch
    >>> from xai_tutor.methods import METHODS
    >>> info = METHODS["gradcampp"]
    >>> info.title, info.family, info.resolution, info.notebook
    ('Grad-CAM++', 'cam', 'feature map', '07_gradcampp_xgradcam')
    >>> info.param("variant").choices
    ('paper', 'grad-cam', 'authors')
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from torch import nn

from .declarations import AUTO_BATCH_ESTIMATE, COSTS, MISSING, Param, Passes, one_pass
from .inputs import check_input, size_problem

__all__ = ["MethodInfo", "METHODS", "RESOLUTIONS", "register"]

#: what one value of a method's map stands for: one input pixel ("pixel": fine-grained, drawn
#: robust-scaled), one position of a layer's feature map ("feature map": coarse, upsampled), or
#: an input-resolution sum of upsampled layer maps ("input": FullGrad)
RESOLUTIONS = ("pixel", "feature map", "input")

#: the arguments every method takes that are not its own parameters
_COMMON = ("model", "images", "target", "layer", "progress")


@dataclass(frozen=True)
class MethodInfo:
    """A registered method: its function, family (``"pixel"`` or ``"cam"``), one-line summary,
    and what callers need to know without reading its signature.

    Attributes:
        fn: the method's function as its module exports it; for a registered method it checks
            every call (:meth:`call`).
        params: the method's parameters (:class:`~xai_tutor.methods.declarations.Param`),
            defaults filled in from the signature; :meth:`validate` checks values against them.
        takes_layer: the method explains a layer's activations and uses ``layer=``.
        supports_progress: the method loops over batches and reports each step to
            :func:`~xai_tutor.methods.progress.progress` (a tqdm bar with ``progress=True``, and
            any :func:`~xai_tutor.methods.progress.progress_listener`).
        cost: ``"one pass"``, ``"n passes"`` or ``"per channel"`` (see :meth:`passes`).
        estimate: ``f(channels, samples, batch_size) -> Passes`` for :meth:`passes`.
        relations: checks between parameters, ``f(method, params) -> None`` (e.g. LRP's
            ``low < high``), run by :meth:`validate` after every single value passed.
        extra: for a method with ``**kwargs`` that it hands on (SmoothGrad's base method):
            ``f(method, params, extras) -> extras`` checks them; without it they are refused.
        title: the method's name as its paper writes it (``"Grad-CAM++"``).
        signed: the sign of its raw attribution carries meaning (drawn on a diverging map).
        resolution: one of :data:`RESOLUTIONS`.
        notebook: stem of the notebook that teaches it (``"06_gradcam"``), or None.
        position: its place within that notebook (the course order sorts by notebook, then
            position).
        layer_via: the parameter naming another registered method that receives ``layer=``
            (SmoothGrad's ``base``), or None.
        unchecked: the function as written, run by :meth:`call` after the checks, with checked
            inputs only (None: ``fn``).
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
    title: str = ""
    signed: bool = False
    resolution: str = ""
    notebook: str | None = None
    position: int = 0
    layer_via: str | None = None
    unchecked: Callable[..., Any] | None = None

    def __post_init__(self) -> None:
        if not self.title:
            object.__setattr__(self, "title", self.name)
        if not self.resolution:
            object.__setattr__(self, "resolution",
                               "pixel" if self.family == "pixel" else "feature map")
        if self.resolution not in RESOLUTIONS:
            raise ValueError(f"{self.name}: resolution must be one of {RESOLUTIONS}; "
                             f"got {self.resolution!r}")

    # ------------------------------------------------------------------ calling
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the method with every check (:meth:`call`)."""
        return self.call(*args, **kwargs)

    def call(self, model: Any, images: Any, *args: Any, **kwargs: Any) -> Any:
        """Check everything once, then run the method.

        In this order: ``model`` is an ``nn.Module``; the method's own keyword parameters
        (:meth:`validate`); ``layer`` (:meth:`check_layer`); the images against the model
        (:func:`~xai_tutor.methods.inputs.check_input`). A ``RuntimeError`` from the forward
        pass is turned into a ``ValueError`` when the image is too small for the model
        (:func:`~xai_tutor.methods.inputs.size_problem`). Positional arguments after ``images``
        follow the function's signature (``target``, ``layer``, then its own parameters).
        """
        if args:
            kwargs = self._keywords(args, kwargs)
        target = kwargs.pop("target", None)
        layer = kwargs.pop("layer", None)
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
        checked = self.validate(kwargs)
        self.check_layer(layer, checked)
        x = check_input(model, images)
        run = self.unchecked if self.unchecked is not None else self.fn
        try:
            return run(model, x, target=target, layer=layer, **checked)
        except RuntimeError as err:  # torch's own error: is the image too small for the model?
            problem = size_problem(model, x)
            if problem is not None:
                raise ValueError(problem) from err
            raise

    def _keywords(self, args: tuple, kwargs: dict[str, Any]) -> dict[str, Any]:
        fn = self.unchecked if self.unchecked is not None else self.fn
        positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        names = [p.name for p in list(inspect.signature(fn).parameters.values())[2:]
                 if p.kind in positional]
        if len(args) > len(names):
            raise TypeError(f"{self.name} takes at most {len(names) + 2} positional arguments "
                            f"(model, images, {', '.join(names)}); got {len(args) + 2}")
        out = dict(kwargs)
        for key, value in zip(names, args):
            if key in out:
                raise TypeError(f"{self.name} got multiple values for {key!r}")
            out[key] = value
        return out

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
        return _accepts(self.unchecked if self.unchecked is not None else self.fn, "progress")

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

    def check_layer(self, layer: Any, params: dict[str, Any]) -> None:
        """A ``ValueError`` when ``layer`` is given to a method that explains no layer.

        A method with ``layer_via`` hands ``layer=`` to the method its parameter names (with
        ``params``, else the default); that method decides.
        """
        if layer is None or self.takes_layer:
            return
        who = self.name
        if self.layer_via is not None:
            other = params.get(self.layer_via, self.defaults().get(self.layer_via))
            if other in METHODS and METHODS[other].takes_layer:
                return
            who = f"{self.name} with {self.layer_via}={other!r}"
        layered = ", ".join(n for n, i in METHODS.items() if i.takes_layer)
        raise ValueError(
            f"{who} takes no layer: it does not weight one layer's activations (the methods "
            f"that do: {layered}); leave layer=None (got {layer!r})"
        )

    # ------------------------------------------------------------------ cost
    def passes(
        self, channels: int | None = None, params: dict[str, Any] | None = None
    ) -> Passes:
        """Estimated work of one call per image (:class:`~xai_tutor.methods.declarations.Passes`).

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
    title: str | None = None,
    signed: bool = False,
    resolution: str | None = None,
    notebook: str | None = None,
    position: int = 0,
    layer_via: str | None = None,
) -> Callable:
    """Decorator adding a finished method to :data:`METHODS` under ``name``; the decorated name
    becomes the checked function (:meth:`MethodInfo.call`).

    ``params`` declares the method's parameters (defaults come from the signature when not
    given); ``takes_layer`` defaults to ``family == "cam"``; ``progress``: the method reports its
    loop through :func:`~xai_tutor.methods.progress.progress`; ``cost`` names the cost model and
    ``estimate`` computes it (default: the first estimator of that model in
    :data:`~xai_tutor.methods.declarations.COSTS`). ``title``, ``signed``, ``resolution``
    (default: ``"pixel"`` for the pixel family, ``"feature map"`` for the CAM family),
    ``notebook`` and ``position``: see :class:`MethodInfo`.
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
        declared = _declare(name, fn, params)
        if layer_via is not None and layer_via not in {p.name for p in declared}:
            raise TypeError(f"{name}: layer_via names {layer_via!r}, which is no parameter")

        @functools.wraps(fn)
        def checked(model: nn.Module, images: Any, *args: Any, **kwargs: Any) -> Any:
            return info.call(model, images, *args, **kwargs)

        info = MethodInfo(
            name, checked, family, summary, expensive,
            params=declared,
            takes_layer=family == "cam" if takes_layer is None else takes_layer,
            supports_progress=progress,
            cost=cost,
            estimate=estimate or COSTS[cost][0],
            relations=relations,
            extra=extra,
            title=title or name,
            signed=signed,
            resolution=resolution or "",
            notebook=notebook,
            position=position,
            layer_via=layer_via,
            unchecked=fn,
        )
        METHODS[name] = info
        return checked

    return wrap
