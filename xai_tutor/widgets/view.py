"""The Explorer's view: the controls, and what a change of each control does.

The state lives in :class:`~xai_tutor.widgets.session.Session` (images, models, predictions,
layers, the explanation cache) and background work in :class:`~xai_tutor.widgets.runner.Runner`;
this module builds the ipywidgets and wires them to those two.

Every control is an attribute (``explorer.method``, ``explorer.layer``, ``explorer.target`` ...),
and every result is stored (``explorer.last_saliency``, ``explorer.last_figure``,
``explorer.message``), so the explorer can be driven and tested from Python without a browser.

* Cheap methods update as soon as a control changes (sliders report on release only).
* Expensive methods (``METHODS[name].expensive``: Score-CAM, Ablation-CAM, ...) wait for the
  *Run* button, show what they cost ("~512 forwards"), fill a progress bar, and can be cancelled:
  the computation runs in a background thread and *Cancel* sets a flag that is checked between
  two steps of the method's progress loop (:func:`xai_tutor.methods.base.progress_listener`), so
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
import hashlib
import html
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import ipywidgets as W
import numpy as np
import torch
from torch import nn

from ..data import KINDS as SCENE_KINDS
from .controls import (
    STYLE,
    TargetError,
    UploadError,
    as_uint8,
    param_control,
    parse_target,
    read_upload,
)
from .figure import download_link, png_bytes, side_by_side
from .param_specs import AUTO, NO_LAYER, ParamSpec, method_params
from .runner import Cancelled, Runner
from .session import MAX_SHOWN_SIDE, Job, Session, course_scenes

__all__ = ["Explorer", "method_explorer", "Cancelled"]

REPRESENTATIONS = ("heatmap", "opacity", "edges")
GENERATED = "generated"
UPLOAD = "upload"


def _methods() -> Mapping[str, Any]:
    from ..methods import METHODS

    return METHODS


class Explorer:
    """An interactive explanation explorer (ipywidgets 8).

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

    The produced arrays: ``last_saliency`` (``(H, W)`` in [0, 1]), ``last_saliency2`` (the
    compared method's map or ``None``), ``last_explanation(2)``, ``last_jobs`` (the inputs of the
    maps shown), ``discarded`` (the inputs of a run that finished after they changed, or
    ``None``), ``last_figure`` (the uint8 RGB image shown), ``top5`` (``[(index, name,
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
                    f"unknown method {name!r}; choose from {', '.join(sorted(table))}"
                )
        self.session = Session(table, image_size=image_size, cache_size=cache_size,
                               max_side=max_side)
        self.runner = Runner()
        self.image_size = image_size
        self.background = background
        self._hold_count = 0
        self._pending = False
        self._current_image = ""
        self._upload_key = ""
        self.message = ""
        self.notes: list[str] = []
        self.last_saliency: np.ndarray | None = None
        self.last_saliency2: np.ndarray | None = None
        self.last_explanation: Any = None
        self.last_explanation2: Any = None
        self.last_jobs: list[Job] = []
        self.discarded: list[Job] | None = None
        self.last_figure: np.ndarray | None = None
        self.last_png: bytes | None = None
        self.top5: list[tuple[int, str, float]] = []
        self.class_names: list[str] = []
        self.param_widgets: dict[str, W.Widget] = {}
        self.param_specs: list[ParamSpec] = []
        self._build_sources(images, scenes)
        self._build_models(models)
        self._build_controls(method, compare, fixed_method)
        self._layout(fixed_method)
        self._start()

    # ------------------------------------------------------------------ compatibility
    @property
    def cache(self) -> Any:
        """The explanation cache (:class:`~xai_tutor.widgets.cache.LRUCache`)."""
        return self.session.cache

    @property
    def _method_table(self) -> dict[str, Any]:
        return self.session.methods

    # ------------------------------------------------------------------ set-up
    def _build_sources(self, images: Mapping[str, Any] | None, scenes: bool) -> None:
        self._extra_images = dict(images or {})
        self._scenes: dict[str, Any] = {}
        options: list[tuple[str, str]] = [(f"image: {k}", f"image:{k}") for k in self._extra_images]
        if scenes:
            try:
                self._scenes = dict(course_scenes())
            except Exception as err:  # the data package may be missing pieces
                self.notes.append(f"course scenes unavailable: {err}")
            options += [(f"course scene: {k}", f"scene:{k}") for k in self._scenes]
            options += [("generated scene (kind, seed)", GENERATED), ("uploaded file", UPLOAD)]
        if not [o for o in options if o[1] != UPLOAD]:
            raise ValueError(
                "no image to explore: pass images={'name': image}"
                + (f" ({'; '.join(self.notes)})" if self.notes else "")
            )
        self._image_options = options

    def _build_models(self, models: Mapping[str, nn.Module] | Sequence[str] | None) -> None:
        if isinstance(models, Mapping):
            if not models:
                raise ValueError("models is empty; pass {'name': model}")
            for name, model in models.items():
                if not isinstance(model, nn.Module):
                    raise TypeError(
                        f"models[{name!r}] must be a torch.nn.Module; got {type(model).__name__}"
                    )
            self.session.models.update(models)
            self._model_names = list(models)
        else:
            if models is None:
                from ..models import available_models

                models = available_models()
            if isinstance(models, str) or not all(isinstance(m, str) for m in models):
                raise TypeError("models must be a dict {name: module} or a list of model names")
            self._model_names = list(models)
            if not self._model_names:
                raise ValueError("no models to choose from")

    def _build_controls(self, method: str | None, compare: str | None, fixed: bool) -> None:
        names = sorted(  # pixel methods first, then the CAM family
            self._method_table, key=lambda n: (self._is_cam(n) or n in NO_LAYER, n)
        )
        if method is None:
            method = "gradcam" if "gradcam" in names else names[0]
        self.image = W.Dropdown(
            options=self._image_options, description="image", style=STYLE
        ).add_class("xai-image")
        self.scene_kind = W.Dropdown(options=SCENE_KINDS, description="kind", style=STYLE)
        self.scene_seed = W.BoundedIntText(
            value=0, min=0, max=10**6, description="seed", style=STYLE,
            layout=W.Layout(width="140px"),
        )
        self.upload = W.FileUpload(accept="image/*", multiple=False, description="upload")
        self.model = W.Dropdown(
            options=self._model_names, description="model", style=STYLE
        ).add_class("xai-model")
        self.method = W.Dropdown(
            options=[(self._label(n), n) for n in names], value=method, description="method",
            style=STYLE,
        ).add_class("xai-method")
        self.layer = W.Dropdown(options=[], description="layer", style=STYLE).add_class(
            "xai-layer"
        )
        self.target = W.Dropdown(options=[], description="class", style=STYLE).add_class(
            "xai-target"
        )
        self.target_text = W.Text(
            value="", placeholder="any class: index or name", description="or",
            continuous_update=False, style=STYLE,
        ).add_class("xai-target-text")
        self.representation = W.ToggleButtons(
            options=REPRESENTATIONS, value="heatmap", description="view", style=STYLE
        ).add_class("xai-representation")
        self.compare = W.Checkbox(
            value=compare is not None, description="compare with", indent=False
        ).add_class("xai-compare")
        second = compare if compare is not None else next(
            (n for n in ("gradcampp", "gradient") if n in names and n != method), names[0]
        )
        self.method2 = W.Dropdown(
            options=[(self._label(n), n) for n in names], value=second, style=STYLE
        ).add_class("xai-method2")
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
        rows = [
            W.HBox([self.image, self.upload]),
            self.scene_box,
            W.HBox([self.model, self.method, self.layer]),
            W.HBox([self.target, self.target_text]),
            self.representation,
            self.params_box,
            W.HBox([self.compare, self.method2]),
            W.HBox([self.run_button, self.cancel_button, self.progress]),
            self.notes_line,
            self.status,
            self.caption,
            self.figure,
            self.download,
        ]
        if fixed:
            self.method.layout.display = "none"
            rows[6].layout.display = "none"
        if not any(o[1] == UPLOAD for o in self._image_options):
            self.upload.layout.display = "none"
        self.widget = W.VBox(rows).add_class("xai-explorer")

    def _start(self) -> None:
        with self._hold():
            self._select_first_model()
            self._select_first_image()
            self._refresh_method_controls()
            self._refresh_predictions()
        for control in (self.layer, self.target, self.compare, self.method2):
            control.observe(self._on_change, names="value")
        self.target_text.observe(self._on_change, names="value")
        self.image.observe(self._on_image, names="value")
        self.scene_kind.observe(self._on_image, names="value")
        self.scene_seed.observe(self._on_image, names="value")
        self.upload.observe(self._on_upload, names="value")
        self.model.observe(self._on_model, names="value")
        self.method.observe(self._on_method, names="value")
        self.representation.observe(self._on_representation, names="value")
        self._sync_visibility()
        self.request_update()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def _label(self, name: str) -> str:
        info = self._method_table[name]
        return f"{name} ({getattr(info, 'family', '?')})" + (
            " ⏱" if getattr(info, "expensive", False) else ""
        )

    @contextlib.contextmanager
    def _hold(self) -> Iterator[None]:
        self._hold_count += 1
        try:
            yield
        finally:
            self._hold_count -= 1

    # ------------------------------------------------------------------ messages
    def _say(self, text: str, error: bool = True) -> None:
        """The status line: what the last action did; rewritten by every update."""
        self.message = text if error else ""
        colour = "#b00020" if error else "#555"
        self.status.value = (f'<span style="color:{colour}">{html.escape(text)}</span>'
                             if text else "")

    def _note(self, text: str) -> None:
        """A lasting note (its own line, not wiped by updates); each text once."""
        if text and text not in self.notes:
            self.notes.append(text)
        self.notes_line.value = "<br>".join(
            f'<span style="color:#8a5a00">{html.escape(n)}</span>' for n in self.notes)

    # ------------------------------------------------------------------ images
    def _image_key(self) -> str:
        value = self.image.value
        if value == GENERATED:
            return f"generated:{self.scene_kind.value}:{self.scene_seed.value}"
        if value == UPLOAD:
            return self._upload_key
        return str(value)

    def _read(self, source: Any, label: str = "the image") -> tuple[torch.Tensor, np.ndarray]:
        loaded = self.session.read(source, label)
        if loaded.note:
            self._note(loaded.note)
        return loaded.tensor, loaded.display

    def _select_first_image(self) -> None:
        """Select the first image that loads; leave out (with a note) those that do not."""
        errors = []
        candidates = [o for o in self._image_options if o[1] != UPLOAD]
        candidates.sort(key=lambda o: o[1] == GENERATED)  # a generated scene last
        for label, value in candidates:
            with self._hold():
                self.image.value = value
            if self._load_current_image(revert_to=None, quiet=True):
                break
            errors.append(f"{label}: {self._last_image_error}")
            if value != GENERATED:
                self._image_options.remove((label, value))
                self.image.options = self._image_options
        else:
            raise ValueError("none of the images could be loaded: " + "; ".join(errors))
        for error in errors:
            self._note(f"left out {error}")

    def _load_current_image(self, revert_to: Any, quiet: bool = False) -> bool:
        value = self.image.value
        if value == UPLOAD and not self._upload_key:
            self._say("upload an image file with the upload button", error=False)
            self._revert(self.image, revert_to)
            return False
        key = self._image_key()
        if key in self.session.images:
            self._current_image = key
            return True
        try:
            if value == GENERATED:
                from ..data import make_scene

                scene = make_scene(self.scene_kind.value, seed=int(self.scene_seed.value))
                loaded = self.session.read(scene.image, key)
            elif value.startswith("scene:"):
                loaded = self.session.read(self._scenes[value[len("scene:"):]].image, key)
            elif value.startswith("image:"):
                name = value[len("image:"):]
                loaded = self.session.read(self._extra_images[name], f"image {name!r}")
            else:
                raise ValueError(f"unknown image choice {value!r}")
        except Exception as err:
            self._last_image_error = str(err)
            if not quiet:
                self._say(f"could not load the image: {err}")
            self._revert(self.image, revert_to)
            return False
        if loaded.note:
            self._note(loaded.note)
        self.session.images[key] = loaded
        self._current_image = key
        return True

    def _revert(self, control: W.Widget, value: Any) -> None:
        if value is None or control.value == value:
            return
        with self._hold():
            control.value = value

    def _on_image(self, change: dict) -> None:
        if self._hold_count:
            return
        self._sync_visibility()
        old = change["old"] if change["owner"] is self.image else None
        if self._load_current_image(revert_to=old):
            self._refresh_after_input()

    def _on_upload(self, change: dict) -> None:
        if self._hold_count or not change["new"]:
            return
        try:
            name, image = read_upload(change["new"])
            loaded = self.session.read(image, name)
        except UploadError as err:
            self._say(str(err))
            return
        except Exception as err:
            self._say(f"could not use the uploaded file: {err}")
            return
        if loaded.note:
            self._note(loaded.note)
        digest = hashlib.sha1(loaded.display.tobytes()).hexdigest()[:12]
        self._upload_key = f"upload:{name}:{digest}"
        self.session.images[self._upload_key] = loaded
        self._current_image = self._upload_key
        with self._hold():
            self.image.value = UPLOAD
        self._sync_visibility()
        self._refresh_after_input()

    def _sync_visibility(self) -> None:
        self.scene_box.layout.display = None if self.image.value == GENERATED else "none"

    # ------------------------------------------------------------------ models
    def _get_model(self, name: str) -> nn.Module:
        return self.session.model(name)

    def _select_first_model(self) -> None:
        errors = []
        for name in self._model_names:
            try:
                self._get_model(name)
            except Exception as err:
                errors.append(f"{name}: {err}")
                continue
            self.model.value = name
            if errors:
                self._note("skipped models: " + "; ".join(errors))
            return
        raise ValueError("none of the models could be loaded: " + "; ".join(errors))

    @property
    def current_model(self) -> nn.Module:
        """The selected model."""
        return self.session.models[self.model.value]

    @property
    def current_image(self) -> tuple[torch.Tensor, np.ndarray]:
        """The selected image as ``(normalised tensor (1, 3, H, W), display uint8 (H, W, 3))``."""
        loaded = self.session.images[self._current_image]
        return loaded.tensor, loaded.display

    def _on_model(self, change: dict) -> None:
        if self._hold_count:
            return
        try:
            self._get_model(change["new"])
        except Exception as err:
            self._say(f"could not load model {change['new']!r}: {err}")
            self._revert(self.model, change["old"])
            return
        with self._hold():
            self._refresh_layers(reset=True)
        self._refresh_after_input()

    def _refresh_after_input(self) -> None:
        self._say("", error=False)
        with self._hold():
            self._refresh_layers(reset=False)
            self._refresh_predictions()
        self.request_update()

    # ------------------------------------------------------------------ layers, classes
    def _model_key(self) -> tuple[str, int]:
        return (self.model.value, id(self.current_model))

    def layer_shapes(self) -> dict[str, tuple[int, ...]]:
        """``{layer: (1, K, h, w)}`` of the layers a CAM method may use on the current input."""
        return self.session.layer_shapes(self._model_key(), self.current_model,
                                         self.current_image[0])

    def _is_cam(self, name: str) -> bool:
        """Whether method ``name`` takes a layer (the CAM family, FullGrad excepted)."""
        return self.session.takes_layer(name)

    def _refresh_layers(self, reset: bool) -> None:
        is_cam = self._is_cam(self.method.value)
        self.layer.disabled = not is_cam
        if not is_cam:
            return
        if self._busy():  # the model is in use by the worker: refresh when it is done
            self._pending = True
            return
        try:
            names = list(self.layer_shapes())
        except Exception as err:
            self._say(f"the model failed on this image: {err}")
            return
        old = self.layer.value
        if tuple(self.layer.options) != tuple(names):
            self.layer.options = names
        if not names:
            return
        if reset or old not in names:
            from ..methods.base import default_layer

            try:
                default = default_layer(self.current_model)
            except Exception:
                default = names[-1]
            self.layer.value = default if default in names else names[-1]
        else:
            self.layer.value = old

    def _refresh_predictions(self) -> None:
        if self._busy():
            self._pending = True
            return
        try:
            top, names = self.session.predictions(
                self._current_image, self._model_key(), self.current_model,
                self.current_image[0])
        except Exception as err:
            self._say(f"the model failed on this image: {err}")
            return
        self.top5 = top
        self.class_names = names
        options = [(f"{name} ({p:.1%})", i) for i, name, p in top]
        self.target.options = options  # a new image or model: explain its top class again
        self.target.value = options[0][1]

    def current_target(self) -> int:
        """The class to explain: the typed class if any, else the chosen top-5 class."""
        text = self.target_text.value.strip()
        if text:
            return parse_target(text, self.class_names)
        return int(self.target.value)

    # ------------------------------------------------------------------ method controls
    def _on_method(self, change: dict) -> None:
        if self._hold_count:
            return
        with self._hold():
            self._refresh_method_controls()
        self.request_update()

    def _refresh_method_controls(self) -> None:
        name = self.method.value
        for widget in self.param_widgets.values():
            widget.unobserve(self._on_change, names="value")
        self.param_specs = method_params(name, self._method_table[name].fn)
        self.param_widgets = {spec.name: param_control(spec) for spec in self.param_specs}
        for widget in self.param_widgets.values():
            widget.observe(self._on_change, names="value")
        self.params_box.children = list(self.param_widgets.values())
        self.run_button.button_style = "primary" if self.session.expensive(name) else ""
        self._refresh_layers(reset=False)

    def params(self) -> dict[str, Any]:
        """The current values of the method's parameter controls."""
        return {
            name: (None if widget.value == AUTO else widget.value)
            for name, widget in self.param_widgets.items()
        }

    def _on_change(self, _change: dict) -> None:
        if not self._hold_count:
            self.request_update()

    def _on_representation(self, _change: dict) -> None:
        if not self._hold_count:
            self.request_update()  # the maps come from the cache; only the drawing changes

    # ------------------------------------------------------------------ computing
    def jobs(self, target: int | None = None) -> list[Job]:
        """The maps the controls ask for now: the method's, and the compared method's."""
        target = self.current_target() if target is None else target
        first = self.method.value
        image, model = self._current_image, self._model_key()
        jobs = [self.session.job(image, model, first, self.layer.value, target, self.params())]
        if self.compare.value:
            second = self.method2.value
            params2 = self.params() if second == first else {}
            jobs.append(self.session.job(image, model, second, self.layer.value or None,
                                         target, params2))
        return jobs

    def cost(self, method: str, layer: str | None = None, params: dict | None = None) -> str:
        """A rough price of ``method`` on the current input, e.g. ``"~512 forwards"``."""
        return self.session.cost(method, layer, params, self.layer_shapes, self.current_image[0])

    def _busy(self) -> bool:
        return self.runner.busy

    def request_update(self) -> None:
        """What a control change does: update now when cheap or cached, else wait for Run."""
        if self._busy():
            self._pending = True
            self._say("a computation is running: wait for it or press Cancel", error=False)
            return
        try:
            jobs = self.jobs()
        except TargetError as err:
            self._say(str(err))
            return
        waiting = [j for j in jobs
                   if self.session.expensive(j.method) and j not in self.session.cache]
        if waiting:
            job = waiting[0]
            self._say(f"{job.method} is expensive "
                      f"({self.cost(job.method, job.layer, dict(job.params))}): press Run",
                      error=False)
            return
        self.update()

    def update(self) -> np.ndarray | None:
        """Compute (or fetch from the cache) every map the controls ask for and show them.

        Runs in the caller, expensive methods included. Returns the figure (uint8 RGB) or
        ``None`` when something went wrong; ``message`` then says what.
        """
        try:
            jobs = self.jobs()
        except TargetError as err:
            self._say(str(err))
            return None
        return self._finish(jobs, *self._compute(jobs, self.current_model,
                                                 self.current_image[0]))

    def render(self) -> np.ndarray | None:
        """Alias of :meth:`update`."""
        return self.update()

    def _compute(self, jobs: list[Job], net: nn.Module,
                 x: torch.Tensor) -> tuple[list[Any] | None, BaseException | None]:
        try:
            return [self._explain(job, net, x) for job in jobs], None
        except Exception as err:
            return None, err

    def _explain(self, job: Job, net: nn.Module, x: torch.Tensor) -> Any:
        if job not in self.session.cache:
            self.progress.description = job.method
            self.progress.value = 0
        return self.session.explain(job, net, x, self._on_progress)

    def _on_progress(self, desc: str, done: int, total: int | None) -> None:
        self.runner.check()
        if total:
            self.progress.max = max(int(total), 1)
            self.progress.value = min(int(done), self.progress.max)

    def _finish(self, jobs: list[Job], results: list[Any] | None,
                error: BaseException | None) -> np.ndarray | None:
        """Show ``results`` of ``jobs``, unless they failed or are no longer what is asked."""
        if isinstance(error, Cancelled):
            self._say("cancelled", error=False)
            return None
        if error is not None:
            self._say(f"{jobs[0].method} failed: {type(error).__name__}: {error}")
            return None
        try:
            current = self.jobs()
        except TargetError:
            current = []
        if current != jobs:
            self.discarded = list(jobs)
            self._say(f"finished {jobs[0].describe()}, but the inputs changed meanwhile: the "
                      "result is cached, not drawn over other inputs", error=False)
            return None
        self.discarded = None
        self._store(jobs, results or [])
        try:
            figure = self._show()
        except Exception as err:
            self._say(f"could not draw the {self.representation.value} view: {err}")
            return None
        self._say("", error=False)
        return figure

    def _store(self, jobs: list[Job], results: list[Any]) -> None:
        self.last_jobs = list(jobs)
        self.last_explanation = results[0]
        self.last_saliency = results[0].saliency[0].detach().cpu().double().numpy()
        if len(results) > 1:
            self.last_explanation2 = results[1]
            self.last_saliency2 = results[1].saliency[0].detach().cpu().double().numpy()
        else:
            self.last_explanation2 = None
            self.last_saliency2 = None

    def _show(self) -> np.ndarray:
        from ..viz import render

        display = self.session.images[self.last_jobs[0].image].display
        panels = [as_uint8(render(display, self.last_saliency, self.representation.value))]
        captions = [self._caption(self.last_explanation, self.last_jobs[0])]
        if self.last_saliency2 is not None:
            panels.append(
                as_uint8(render(display, self.last_saliency2, self.representation.value))
            )
            captions.append(self._caption(self.last_explanation2, self.last_jobs[1]))
        figure = side_by_side(panels)
        self.last_figure = figure
        self.last_png = png_bytes(figure)
        self.figure.value = self.last_png
        where = html.escape(self.last_jobs[0].image)
        self.caption.value = " &nbsp;|&nbsp; ".join(captions) + f" &nbsp;<i>({where})</i>"
        self.download.value = download_link(self.last_png, f"{self.method.value}.png")
        return figure

    def _caption(self, e: Any, job: Job) -> str:
        """``<b>Grad-CAM</b>, layer <code>x</code>: flamingo (p = 0.97) (class #3, logit 5.21)``."""
        from ..viz import method_title, panel_title

        target = int(e.target[0])
        name = self.class_names[target] if target < len(self.class_names) else str(target)
        probs = self.session.probabilities(job.image, job.model, self.current_model,
                                           self.current_image[0])
        title = panel_title(name, float(probs[target]))
        where = f", layer <code>{html.escape(str(e.layer))}</code>" if e.layer else ""
        return (f"<b>{html.escape(method_title(e.method))}</b>{where}: {html.escape(title)}"
                f" (class #{target}, logit {float(e.score[0]):.2f})")

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
        if self._busy():
            self._say("already running: wait for it or press Cancel", error=False)
            return
        try:
            jobs = self.jobs()
        except TargetError as err:
            self._say(str(err))
            return
        label = ", ".join(f"{j.method} ({self.cost(j.method, j.layer, dict(j.params))})"
                          for j in jobs)
        self._say(f"running {label}...", error=False)
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
        if self._pending:  # controls changed meanwhile
            self._pending = False
            with self._hold():
                self._refresh_layers(reset=False)
                self._refresh_predictions()
        self._finish(jobs, results, failure)
        if self.discarded == jobs and not self.runner.cancelled:
            # show what the current inputs ask for (cached or cheap), or ask for Run; keep
            # saying that the finished run was put aside
            self.request_update()
            if not self.message:
                aside = (f"(the run for {jobs[0].describe()} finished after its inputs changed: "
                         "cached, not shown) ")
                self.status.value = (f'<span style="color:#555">{html.escape(aside)}</span>'
                                     + self.status.value)

    def cancel(self) -> None:
        """The Cancel button: stop the running method at its next progress step."""
        if not self.runner.cancel():
            self._say("nothing is running", error=False)
            return
        self._say("cancelling after the current batch...", error=False)

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
