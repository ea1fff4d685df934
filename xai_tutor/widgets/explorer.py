"""The Explorer: the widgets, and what a change of each does.

This module builds the ipywidgets, reads them into a
:class:`~xai_tutor.widgets.controller.Selection`, asks the
:class:`~xai_tutor.widgets.controller.Controller` what to do (it decides: which layers and
classes to offer, which maps to compute, whether to wait for *Run*, whether a finished run may be
drawn) and shows the answer; :mod:`.drawing` draws the figure, with a colour bar under each map.

Every control is an attribute (``explorer.method``, ``explorer.layer``, ``explorer.target`` ...),
and every result is stored (``explorer.last_saliency``, ``explorer.last_figure``,
``explorer.message``), so the explorer can be driven and tested from Python without a browser.

* Cheap methods update as soon as a control changes (sliders report on release only).
* Expensive methods (``METHODS[name].expensive``: Score-CAM, Ablation-CAM, ...) wait for the
  *Run* button, show what they cost ("~512 forwards"), fill a progress bar, and can be cancelled:
  the computation runs in a background thread and *Cancel* sets a flag that is checked between
  two steps of the method's progress loop (:func:`xai_tutor.methods.progress.progress_listener`), so
  it stops after the batch in flight. A method that never reports progress is only stopped when
  it finishes; its result is then thrown away. A run that finishes after its inputs changed
  (another image, model, method, layer, class or parameter) is cached but not drawn over the new
  inputs: every figure shows the map of the inputs named in its caption.
* Notes that stay (models that could not be loaded, images that could not be read, a large photo
  shown at a smaller size) sit in their own line above the status line, which each update
  rewrites.
* Results are cached per ``(image, model, method, layer, target, params)`` in a small LRU cache,
  so going back to an earlier setting, or changing only the representation, costs nothing.
* Bad input (a file that is no image, a class the model does not have, a method that fails)
  shows a message in the status line; the explorer keeps working with the previous state.

Example::

    >>> import xai_tutor
    >>> from xai_tutor.widgets import Explorer
    >>> ex = Explorer(models=xai_tutor.course_models())   # doctest: +SKIP
    >>> ex                                    # doctest: +SKIP
    >>> ex.method.value = "gradcampp"         # doctest: +SKIP
    >>> ex.last_saliency.shape                # doctest: +SKIP

    (``ex`` shows the widget in a notebook; set controls from code or use them; the map is
    ``(H, W)`` in [0, 1].)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import ipywidgets as W
import numpy as np
import torch
from torch import nn

from ..data import KINDS
from . import drawing
from .controller import GENERATED, UPLOAD, Controller, Selection
from .controls import STYLE, TargetError, param_control
from .figure import download_link, png_bytes
from .param_specs import AUTO, ParamSpec, method_params
from .runner import Cancelled
from .session import MAX_SHOWN_SIDE, Job

__all__ = ["Explorer", "method_explorer", "Cancelled"]

REPRESENTATIONS = ("heatmap", "opacity", "edges")


class _FromController:
    """A read-only attribute of the explorer that is its controller's attribute of that name
    (the results and messages: see :class:`Explorer`)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, explorer: Any, owner: type | None = None) -> Any:
        return self if explorer is None else getattr(explorer.control, self.name)

    def __set__(self, explorer: Any, value: Any) -> None:
        raise AttributeError(f"explorer.{self.name} is a result; set the controls instead")


def _methods() -> Mapping[str, Any]:
    from ..methods import METHODS

    return METHODS


class Explorer:
    """An interactive explanation explorer (ipywidgets 8; 7.7 on Colab).

    Args:
        models: ``{name: model}`` to choose from; or a list of names for
            :func:`xai_tutor.load_model`; ``None``: :func:`xai_tutor.available_models`, each
            loaded when first chosen.
        images: extra images ``{name: image}``; an image is anything
            :func:`xai_tutor.load_image` reads, or a ready ``(tensor (1, 3, H, W), uint8 (H, W,
            3))`` pair. One that cannot be read is left out with a note; none readable (and no
            scenes): ``ValueError`` naming each.
        scenes: offer the three course scenes, a generated scene (kind and seed) and an upload.
        methods: the methods to offer, ``{name: MethodInfo}``; default :data:`xai_tutor.METHODS`.
        method: the method selected first (default: ``"gradcam"`` when available).
        compare: a second method shown side by side (``None``: compare mode off).
        fixed_method: hide the method choice and the compare controls (see
            :func:`method_explorer`).
        image_size: ``(W, H)`` passed to :func:`xai_tutor.load_image` (``None``: native size, a
            longer side than ``max_side`` scaled down to it with a note).
        background: run expensive methods in a thread so that *Cancel* works; ``False`` runs them
            in the caller (tests, scripts).
        cache_size: how many explanations the LRU cache keeps.
        max_side: the longest side of an image at native size (default 1024).

    The results: ``last_saliency`` (``(H, W)`` in [0, 1]), ``last_saliency2`` (the compared
    method's map or ``None``), ``last_explanation(2)``, ``last_jobs`` (the inputs of the maps
    shown), ``discarded`` (the inputs of a run that finished after they changed, or ``None``),
    ``last_panels`` (each map as drawn, with its colour scale), ``last_figure`` (the uint8 RGB
    image shown: the panels titled and with their colour bars), ``top5`` (``[(index, name,
    probability)]``), ``message`` (``""`` when all is well, else what went wrong) and ``notes``
    (lasting remarks: skipped models, resized images).
    """

    def __init__(
        self,
        models: Mapping[str, nn.Module] | Sequence[str] | None = None,
        images: Mapping[str, Any] | None = None,
        scenes: bool = True,
        methods: Mapping[str, Any] | None = None,
        method: str | None = None,
        compare: str | None = None,
        fixed_method: bool = False,
        image_size: tuple[int, int] | None = None,
        background: bool = True,
        cache_size: int = 32,
        max_side: int = MAX_SHOWN_SIDE,
    ) -> None:
        table = dict(_methods() if methods is None else methods)
        if not table:
            raise ValueError("no explanation methods are registered; nothing to explore")
        for name in (method, compare):
            if name is not None and name not in table:
                raise ValueError(
                    f"unknown method {name!r}; choose from {', '.join(sorted(table))}")
        self.control = Controller(table, images, scenes, models, image_size=image_size,
                                  cache_size=cache_size, max_side=max_side)
        self.session = self.control.session
        self.runner = self.control.runner
        self.image_size = image_size
        self.background = background
        self._hold_count = 0
        self.last_panels: list[drawing.Panel] = []
        self.last_figure: np.ndarray | None = None
        self.last_png: bytes | None = None
        self.param_widgets: dict[str, W.Widget] = {}
        self.param_specs: list[ParamSpec] = []
        self._build(method, compare)
        self._layout(fixed_method)
        self.control.on_status = self._show_status
        self.control.on_notes = self._show_notes
        self._show_notes()
        self._start()

    # ------------------------------------------------------------------ results (the controller's)
    message = _FromController()
    notes = _FromController()
    last_saliency = _FromController()
    last_saliency2 = _FromController()
    last_explanation = _FromController()
    last_explanation2 = _FromController()
    last_jobs = _FromController()
    discarded = _FromController()
    top5 = _FromController()
    class_names = _FromController()

    @property
    def current_model(self) -> nn.Module:
        """The selected model."""
        return self.session.models[self.model.value]

    @property
    def current_image(self) -> tuple[torch.Tensor, np.ndarray]:
        """The selected image as ``(normalised tensor (1, 3, H, W), display uint8 (H, W, 3))``."""
        return self.control.current_image

    # ------------------------------------------------------------------ set-up
    def _build(self, method: str | None, compare: str | None) -> None:
        names = self.control.method_order()
        labelled = [(self.control.label(n), n) for n in names]
        if method is None:
            method = "gradcam" if "gradcam" in names else names[0]
        self.image = W.Dropdown(options=self.control.image_options, description="image",
                                style=STYLE).add_class("xai-image")
        self.scene_kind = W.Dropdown(options=KINDS, description="kind", style=STYLE)
        self.scene_seed = W.BoundedIntText(value=0, min=0, max=10**6, description="seed",
                                           style=STYLE, layout=W.Layout(width="140px"))
        self.upload = W.FileUpload(accept="image/*", multiple=False, description="upload")
        self.model = W.Dropdown(options=self.control.model_names, description="model",
                                style=STYLE).add_class("xai-model")
        self.method = W.Dropdown(options=labelled, value=method, description="method",
                                 style=STYLE).add_class("xai-method")
        self.layer = W.Dropdown(options=[], description="layer", style=STYLE).add_class(
            "xai-layer")
        self.target = W.Dropdown(options=[], description="class", style=STYLE).add_class(
            "xai-target")
        self.target_text = W.Text(value="", placeholder="any class: index or name",
                                  description="or", continuous_update=False,
                                  style=STYLE).add_class("xai-target-text")
        self.representation = W.ToggleButtons(options=REPRESENTATIONS, value="heatmap",
                                              description="view",
                                              style=STYLE).add_class("xai-representation")
        self.compare = W.Checkbox(value=compare is not None, description="compare with",
                                  indent=False).add_class("xai-compare")
        second = compare if compare is not None else next(
            (n for n in ("gradcampp", "gradient") if n in names and n != method), names[0])
        self.method2 = W.Dropdown(options=labelled, value=second,
                                  style=STYLE).add_class("xai-method2")
        self.params_box = W.HBox([]).add_class("xai-params")
        self.run_button = W.Button(description="Run", icon="play", button_style="primary")
        self.cancel_button = W.Button(description="Cancel", icon="stop", disabled=True)
        self.progress = W.IntProgress(value=0, min=0, max=1, description="", bar_style="info")
        self.notes_line = W.HTML(value="").add_class("xai-notes")
        self.status = W.HTML(value="").add_class("xai-status")
        self.caption = W.HTML(value="").add_class("xai-caption")
        self.figure = W.Image(format="png").add_class("xai-figure")
        self.download = W.HTML(value="").add_class("xai-download-box")
        self.run_button.on_click(lambda _b: self.run())
        self.cancel_button.on_click(lambda _b: self.cancel())

    def _layout(self, fixed: bool) -> None:
        self.scene_box = W.HBox([self.scene_kind, self.scene_seed])
        compare_row = W.HBox([self.compare, self.method2])
        rows = [
            W.HBox([self.image, self.upload]),
            self.scene_box,
            W.HBox([self.model, self.method, self.layer]),
            W.HBox([self.target, self.target_text]),
            self.representation,
            self.params_box,
            compare_row,
            W.HBox([self.run_button, self.cancel_button, self.progress]),
            self.notes_line,
            self.status,
            self.caption,
            self.figure,
            self.download,
        ]
        if fixed:
            self.method.layout.display = "none"
            compare_row.layout.display = "none"
        if not any(o[1] == UPLOAD for o in self.control.image_options):
            self.upload.layout.display = "none"
        self.widget = W.VBox(rows).add_class("xai-explorer")

    def _start(self) -> None:
        with self._hold():
            self.model.value = self.control.first_model()
            first = self.control.first_image(self.scene_kind.value, int(self.scene_seed.value))
            self.image.options = list(self.control.image_options)  # unreadable ones left out
            self.image.value = first
            self._refresh_method_controls()
            self._refresh_predictions()
        for control in (self.layer, self.target, self.compare, self.method2, self.target_text,
                        self.representation):
            control.observe(self._on_change, names="value")
        for control in (self.image, self.scene_kind, self.scene_seed):
            control.observe(self._on_image, names="value")
        self.upload.observe(self._on_upload, names="value")
        self.model.observe(self._on_model, names="value")
        self.method.observe(self._on_method, names="value")
        self._sync_visibility()
        self.request_update()

    def _ipython_display_(self) -> None:
        """Show the widget as the last expression of a cell (ipywidgets 8, and 7 on Colab,
        whose widgets have no ``_repr_mimebundle_``)."""
        from IPython.display import display

        display(self.widget)

    @contextlib.contextmanager
    def _hold(self) -> Iterator[None]:
        """Set widgets from code without their observers reacting."""
        self._hold_count += 1
        try:
            yield
        finally:
            self._hold_count -= 1

    def _set(self, control: W.Widget, value: Any) -> None:
        if control.value != value:
            with self._hold():
                control.value = value

    def _show_status(self) -> None:
        s = self.control.status
        self.status.value = drawing.status_html(s.text, s.error, s.aside)

    def _show_notes(self) -> None:
        self.notes_line.value = drawing.notes_html(self.control.notes)

    # ------------------------------------------------------------------ reading the controls
    def selection(self) -> Selection:
        """What the controls say now."""
        return Selection(
            image=self.image.value, model=self.model.value, method=self.method.value,
            kind=self.scene_kind.value, seed=int(self.scene_seed.value),
            layer=self.layer.value, target=self.target.value,
            target_text=self.target_text.value, params=self.params(),
            compare=bool(self.compare.value), method2=self.method2.value,
            representation=self.representation.value)

    def params(self) -> dict[str, Any]:
        """The current values of the method's parameter controls (``None``: automatic)."""
        return {name: (None if widget.value == AUTO else widget.value)
                for name, widget in self.param_widgets.items()}

    def current_target(self) -> int:
        """The class to explain: the typed class if any, else the chosen top-5 class."""
        return self.control.target(self.selection())

    def jobs(self) -> list[Job]:
        """The maps the controls ask for now: the method's, and the compared method's."""
        return self.control.jobs(self.selection())

    def layer_shapes(self) -> dict[str, tuple[int, ...]]:
        """``{layer: (1, K, h, w)}`` of the layers a CAM method may use on the current input."""
        return self.control.layer_shapes(self.model.value)

    def cost(self, method: str, layer: str | None = None, params: dict | None = None) -> str:
        """A rough price of ``method`` on the current input, e.g. ``"~512 forwards"``."""
        return self.control.cost(self.model.value, method, layer, params)

    # ------------------------------------------------------------------ control changes
    def _sync_visibility(self) -> None:
        self.scene_box.layout.display = None if self.image.value == GENERATED else "none"

    def _on_image(self, change: dict) -> None:
        if self._hold_count:
            return
        self._sync_visibility()
        if self.control.load_image(self.image.value, self.scene_kind.value,
                                   int(self.scene_seed.value)):
            self._refresh_after_input()
        elif change["owner"] is self.image:
            self._set(self.image, change["old"])
            self._sync_visibility()

    def _on_upload(self, change: dict) -> None:
        if self._hold_count or not change["new"]:
            return
        if self.control.upload(change["new"]):
            self._set(self.image, UPLOAD)
            self._sync_visibility()
            self._refresh_after_input()

    def _on_model(self, change: dict) -> None:
        if self._hold_count:
            return
        if not self.control.use_model(change["new"]):
            self._set(self.model, change["old"])
            return
        self._refresh_layers(reset=True)
        self._refresh_after_input()

    def _on_method(self, _change: dict) -> None:
        if self._hold_count:
            return
        self._refresh_method_controls()
        self.request_update()

    def _on_change(self, _change: dict) -> None:
        if not self._hold_count:
            self.request_update()

    def _refresh_after_input(self) -> None:
        self.control.say("", error=False)
        self._refresh_layers(reset=False)
        self._refresh_predictions()
        self.request_update()

    def _refresh_layers(self, reset: bool) -> None:
        method = self.method.value
        self.layer.disabled = not self.control.takes_layer(method)
        answer = self.control.layers(self.model.value, method, self.layer.value, reset)
        if answer is None:
            return
        names, value = answer
        with self._hold():
            if tuple(self.layer.options) != tuple(names):
                self.layer.options = names
            if value is not None:
                self.layer.value = value

    def _refresh_predictions(self) -> None:
        options = self.control.predictions(self.model.value)
        if options is None:
            return
        with self._hold():  # a new image or model: explain its top class again
            self.target.options = options
            self.target.value = options[0][1]

    def _refresh_method_controls(self) -> None:
        name = self.method.value
        for widget in self.param_widgets.values():
            widget.unobserve(self._on_change, names="value")
        self.param_specs = method_params(name, self.session.methods[name].fn)
        self.param_widgets = {spec.name: param_control(spec) for spec in self.param_specs}
        for widget in self.param_widgets.values():
            widget.observe(self._on_change, names="value")
        self.params_box.children = list(self.param_widgets.values())
        self.run_button.button_style = "primary" if self.session.expensive(name) else ""
        self._refresh_layers(reset=False)

    # ------------------------------------------------------------------ computing
    def request_update(self) -> None:
        """What a control change does: update now when cheap or cached, else wait for Run."""
        if self.control.ready(self.selection()):
            self.update()

    def update(self) -> np.ndarray | None:
        """Compute (or fetch from the cache) every map the controls ask for and show them.

        Runs in the caller, expensive methods included. Returns the figure (uint8 RGB) or
        ``None`` when something went wrong; ``message`` then says what.
        """
        try:
            jobs = self.jobs()
        except TargetError as err:
            self.control.say(str(err))
            return None
        results, error = self._compute(jobs, self.current_model, self.current_image[0])
        return self._finish(jobs, results, error)

    def _compute(self, jobs: list[Job], net: nn.Module,
                 x: torch.Tensor) -> tuple[list[Any] | None, BaseException | None]:
        return self.control.compute(jobs, net, x, self._on_start, self._on_progress)

    def _on_start(self, job: Job) -> None:
        self.progress.description = job.method
        self.progress.value = 0

    def _on_progress(self, _desc: str, done: int, total: int | None) -> None:
        self.runner.check()
        if total:
            self.progress.max = max(int(total), 1)
            self.progress.value = min(int(done), self.progress.max)

    def _finish(self, jobs: list[Job], results: list[Any] | None,
                error: BaseException | None) -> np.ndarray | None:
        """Show ``results`` of ``jobs``, unless they failed or are no longer what is asked."""
        try:
            current = self.jobs()
        except TargetError:
            current = []
        if not self.control.accept(jobs, results, error, current):
            return None
        try:
            figure = self._draw()
        except Exception as err:
            self.control.say(f"could not draw the {self.representation.value} view: {err}")
            return None
        self.control.say("", error=False)
        return figure

    def _draw(self) -> np.ndarray:
        jobs = self.control.last_jobs
        display = self.session.images[jobs[0].image].display
        explanations = [self.control.last_explanation, self.control.last_explanation2]
        self.last_panels = [
            drawing.draw_panel(display, e, self.representation.value, self.class_names,
                               self.control.probability(job))
            for e, job in zip(explanations, jobs) if e is not None]
        figure = drawing.figure(self.last_panels)
        self.last_figure = figure
        self.last_png = png_bytes(figure)
        self.figure.value = self.last_png
        self.caption.value = drawing.caption_html(self.last_panels, jobs[0].image)
        self.download.value = download_link(self.last_png, f"{self.method.value}.png")
        return figure

    def png(self) -> bytes:
        """The current figure as PNG bytes (what the download link holds)."""
        if self.last_png is None:
            raise ValueError("nothing rendered yet: choose a method and press Run")
        return self.last_png

    # ------------------------------------------------------------------ run / cancel
    def run(self) -> None:
        """The Run button: compute now; in a background thread when ``background`` is set.

        The run keeps its own inputs (image, model, method, layer, class, parameters): if the
        controls change while it runs, its result is cached but not shown over the new inputs.
        """
        if self.runner.busy:
            self.control.say("already running: wait for it or press Cancel", error=False)
            return
        try:
            jobs = self.jobs()
        except TargetError as err:
            self.control.say(str(err))
            return
        label = ", ".join(f"{j.method} ({self.cost(j.method, j.layer, dict(j.params))})"
                          for j in jobs)
        self.control.say(f"running {label}...", error=False)
        if not self.background:
            self.update()
            return
        net, x = self.current_model, self.current_image[0]
        self.cancel_button.disabled = False
        self.run_button.disabled = True
        self.runner.start(lambda: self._compute(jobs, net, x),
                          lambda out, err: self._done(jobs, out, err))

    def _done(self, jobs: list[Job], out: Any, error: BaseException | None) -> None:
        self.cancel_button.disabled = True
        self.run_button.disabled = False
        results, failure = out if out is not None else (None, error)
        if self.control.pending:  # controls changed meanwhile
            self.control.pending = False
            self._refresh_layers(reset=False)
            self._refresh_predictions()
        self._finish(jobs, results, failure)
        if self.control.discarded == jobs and not self.runner.cancelled:
            # show what the current inputs ask for (cached or cheap), or ask for Run; keep
            # saying that the finished run was put aside
            self.request_update()
            if not self.message:
                s = self.control.status
                self.control.say(s.text, error=False, aside=(
                    f"(the run for {jobs[0].describe()} finished after its inputs changed: "
                    "cached, not shown) "))

    def cancel(self) -> None:
        """The Cancel button: stop the running method at its next progress step."""
        if not self.runner.cancel():
            self.control.say("nothing is running", error=False)
            return
        self.control.say("cancelling after the current batch...", error=False)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a background run ends; ``True`` when nothing is running any more."""
        return self.runner.wait(timeout)


def method_explorer(method: str, models: Mapping[str, nn.Module] | None = None,
                    **kwargs: Any) -> Explorer:
    """A compact :class:`Explorer` with ``method`` fixed, for the method notebooks.

    ``models`` defaults to :func:`xai_tutor.course_models`; other keyword arguments go to
    :class:`Explorer`. Example::

        >>> ex = method_explorer("gradcam")   # doctest: +SKIP
        >>> ex                                # doctest: +SKIP
    """
    table = kwargs.get("methods") or _methods()
    if method not in table:
        raise ValueError(f"unknown method {method!r}; choose from {', '.join(sorted(table))}")
    if models is None:
        from ..models import course_models

        models = course_models()
    kwargs.setdefault("compare", None)
    return Explorer(models=models, method=method, fixed_method=True, **kwargs)
