"""What the explorer decides, without any widget: which image and model are in use, which layers
and classes to offer, which maps the controls ask for, whether to compute them now or wait for
*Run*, and whether a finished run may be drawn.

The controls are read into a :class:`Selection` (plain values); the :class:`Controller` answers
with plain values too (options, a chosen layer, jobs, messages), and keeps the results and what
the status line says. :class:`~xai_tutor.widgets.explorer.Explorer` builds the widgets, passes
their values in and shows what comes back; :mod:`.drawing` draws the figure. The state that
needs no decision (images, models, predictions, layer shapes, the explanation cache) lives in
:class:`~xai_tutor.widgets.session.Session`, background work in
:class:`~xai_tutor.widgets.runner.Runner`.

Rules:

* cheap methods are computed as soon as a control changes; an expensive one
  (``METHODS[name].expensive``) that is not cached waits for *Run*, and the status line says what
  it costs;
* a run that finishes after its inputs changed is cached but not drawn over the new inputs
  (:meth:`Controller.accept`);
* lasting notes (a model that could not be loaded, an image left out or shown smaller) are kept
  apart from the status line, which every update rewrites.

Example::

    >>> sel = Selection(image="image:a", model="m", method="gradcam")
    >>> sel.compare, sel.representation
    (False, 'heatmap')
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from .controls import TargetError, UploadError, parse_target, read_upload
from .param_specs import NO_LAYER
from .runner import Cancelled, Runner
from .session import MAX_SHOWN_SIDE, Job, Loaded, Session, course_scenes

__all__ = ["Controller", "Selection", "GENERATED", "UPLOAD"]

#: the image choices that are not a fixed picture
GENERATED = "generated"
UPLOAD = "upload"


@dataclass(frozen=True)
class Selection:
    """What the controls say, as plain values.

    ``image`` is the image choice (``"scene:single"``, ``"image:<name>"``, :data:`GENERATED`,
    :data:`UPLOAD`), ``kind``/``seed`` the generated scene's; ``target`` the chosen top-5 class
    and ``target_text`` a class typed in the box (which wins when not empty); ``params`` the
    method's parameters (``None`` = the method's automatic choice).
    """

    image: str
    model: str
    method: str
    kind: str = "single"
    seed: int = 0
    layer: str | None = None
    target: int | None = None
    target_text: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    compare: bool = False
    method2: str = ""
    representation: str = "heatmap"


@dataclass
class Status:
    """What the status line says: ``text`` (an error when ``error``) after an ``aside``."""

    text: str = ""
    error: bool = False
    aside: str = ""


class Controller:
    """The explorer's decisions and results (see the module docstring).

    Args: as :class:`~xai_tutor.widgets.explorer.Explorer`. ``on_status`` and ``on_notes`` are
    called whenever the status line or the notes change (the explorer redraws them).
    """

    def __init__(self, methods: Mapping[str, Any], images: Mapping[str, Any] | None,
                 scenes: bool, models: Mapping[str, nn.Module] | Sequence[str] | None,
                 image_size: tuple[int, int] | None = None, cache_size: int = 32,
                 max_side: int = MAX_SHOWN_SIDE) -> None:
        self.session = Session(methods, image_size=image_size, cache_size=cache_size,
                               max_side=max_side)
        self.runner = Runner()
        self.status = Status()
        self.message = ""
        self.notes: list[str] = []
        self.on_status: Callable[[], None] = lambda: None
        self.on_notes: Callable[[], None] = lambda: None
        self.pending = False  # controls changed while a run was busy
        self.current_image_key = ""
        self.upload_key = ""
        self.last_image_error = ""
        self.last_jobs: list[Job] = []
        self.last_explanation: Any = None
        self.last_explanation2: Any = None
        self.last_saliency: np.ndarray | None = None
        self.last_saliency2: np.ndarray | None = None
        self.discarded: list[Job] | None = None
        self.top5: list[tuple[int, str, float]] = []
        self.class_names: list[str] = []
        self._sources(images, scenes)
        self._models(models)

    # ------------------------------------------------------------------ messages
    def say(self, text: str, error: bool = True, aside: str = "") -> None:
        """Set the status line (rewritten by every update); ``message`` keeps errors only."""
        self.message = text if error else ""
        self.status = Status(text, error, aside)
        self.on_status()

    def note(self, text: str) -> None:
        """A lasting note (its own line, not wiped by updates); each text once."""
        if text and text not in self.notes:
            self.notes.append(text)
        self.on_notes()

    # ------------------------------------------------------------------ methods
    @property
    def methods(self) -> dict[str, Any]:
        return self.session.methods

    def takes_layer(self, name: str) -> bool:
        """Whether method ``name`` takes a layer (the CAM family, FullGrad excepted)."""
        return self.session.takes_layer(name)

    def method_order(self) -> list[str]:
        """Pixel methods first, then the CAM family, each alphabetically."""
        return sorted(self.methods, key=lambda n: (self.takes_layer(n) or n in NO_LAYER, n))

    def label(self, name: str) -> str:
        """``"gradcam (cam)"``; ``⏱`` marks an expensive method."""
        info = self.methods[name]
        return f"{name} ({getattr(info, 'family', '?')})" + (
            " ⏱" if getattr(info, "expensive", False) else "")

    # ------------------------------------------------------------------ images
    def _sources(self, images: Mapping[str, Any] | None, scenes: bool) -> None:
        self.extra_images = dict(images or {})
        self.scenes: dict[str, Any] = {}
        options = [(f"image: {k}", f"image:{k}") for k in self.extra_images]
        if scenes:
            try:
                self.scenes = dict(course_scenes())
            except Exception as err:  # the data package may be missing pieces
                self.notes.append(f"course scenes unavailable: {err}")
            options += [(f"course scene: {k}", f"scene:{k}") for k in self.scenes]
            options += [("generated scene (kind, seed)", GENERATED), ("uploaded file", UPLOAD)]
        if not [o for o in options if o[1] != UPLOAD]:
            raise ValueError(
                "no image to explore: pass images={'name': image}"
                + (f" ({'; '.join(self.notes)})" if self.notes else ""))
        self.image_options: list[tuple[str, str]] = options

    def image_key(self, choice: str, kind: str, seed: int) -> str:
        """The cache key of an image choice (a generated scene: its kind and seed)."""
        if choice == GENERATED:
            return f"generated:{kind}:{seed}"
        if choice == UPLOAD:
            return self.upload_key
        return str(choice)

    def _keep(self, key: str, loaded: Loaded) -> None:
        if loaded.note:
            self.note(loaded.note)
        self.session.images[key] = loaded
        self.current_image_key = key

    def load_image(self, choice: str, kind: str = "single", seed: int = 0,
                   quiet: bool = False) -> bool:
        """Make ``choice`` the current image; ``False`` (and a message unless ``quiet``) when
        it cannot be read or nothing was uploaded yet."""
        if choice == UPLOAD and not self.upload_key:
            self.say("upload an image file with the upload button", error=False)
            return False
        key = self.image_key(choice, kind, seed)
        if key in self.session.images:
            self.current_image_key = key
            return True
        try:
            if choice == GENERATED:
                from ..data import make_scene

                loaded = self.session.read(make_scene(kind, seed=int(seed)).image, key)
            elif choice.startswith("scene:"):
                loaded = self.session.read(self.scenes[choice[len("scene:"):]].image, key)
            elif choice.startswith("image:"):
                name = choice[len("image:"):]
                loaded = self.session.read(self.extra_images[name], f"image {name!r}")
            else:
                raise ValueError(f"unknown image choice {choice!r}")
        except Exception as err:
            self.last_image_error = str(err)
            if not quiet:
                self.say(f"could not load the image: {err}")
            return False
        self._keep(key, loaded)
        return True

    def first_image(self, kind: str = "single", seed: int = 0) -> str:
        """The first image choice that loads (a generated scene last); those that do not are
        left out of :attr:`image_options` with a note. ``ValueError`` when none loads."""
        errors = []
        candidates = sorted((o for o in self.image_options if o[1] != UPLOAD),
                            key=lambda o: o[1] == GENERATED)
        for label, choice in candidates:
            if self.load_image(choice, kind, seed, quiet=True):
                break
            errors.append(f"{label}: {self.last_image_error}")
            if choice != GENERATED:
                self.image_options.remove((label, choice))
        else:
            raise ValueError("none of the images could be loaded: " + "; ".join(errors))
        for error in errors:
            self.note(f"left out {error}")
        return choice

    def upload(self, value: Any) -> bool:
        """Make an upload (a ``FileUpload`` value) the current image; ``False`` with a message
        when it is not a readable image."""
        try:
            name, image = read_upload(value)
            loaded = self.session.read(image, name)
        except UploadError as err:
            self.say(str(err))
            return False
        except Exception as err:
            self.say(f"could not use the uploaded file: {err}")
            return False
        digest = hashlib.sha1(loaded.display.tobytes()).hexdigest()[:12]
        self.upload_key = f"upload:{name}:{digest}"
        self._keep(self.upload_key, loaded)
        return True

    @property
    def current_image(self) -> tuple[torch.Tensor, np.ndarray]:
        """``(normalised tensor (1, 3, H, W), display uint8 (H, W, 3))`` of the current image."""
        loaded = self.session.images[self.current_image_key]
        return loaded.tensor, loaded.display

    # ------------------------------------------------------------------ models
    def _models(self, models: Mapping[str, nn.Module] | Sequence[str] | None) -> None:
        if isinstance(models, Mapping):
            if not models:
                raise ValueError("models is empty; pass {'name': model}")
            for name, model in models.items():
                if not isinstance(model, nn.Module):
                    raise TypeError(
                        f"models[{name!r}] must be a torch.nn.Module; got {type(model).__name__}")
            self.session.models.update(models)
            self.model_names = list(models)
            return
        if models is None:
            from ..models import available_models

            models = available_models()
        if isinstance(models, str) or not all(isinstance(m, str) for m in models):
            raise TypeError("models must be a dict {name: module} or a list of model names")
        self.model_names = list(models)
        if not self.model_names:
            raise ValueError("no models to choose from")

    def first_model(self) -> str:
        """The first model that loads; the others that failed are named in a note."""
        errors = []
        for name in self.model_names:
            try:
                self.session.model(name)
            except Exception as err:
                errors.append(f"{name}: {err}")
                continue
            if errors:
                self.note("skipped models: " + "; ".join(errors))
            return name
        raise ValueError("none of the models could be loaded: " + "; ".join(errors))

    def use_model(self, name: str) -> bool:
        """Load model ``name`` (once); ``False`` with a message when it cannot be loaded."""
        try:
            self.session.model(name)
        except Exception as err:
            self.say(f"could not load model {name!r}: {err}")
            return False
        return True

    def model_key(self, name: str) -> tuple[str, int]:
        return (name, id(self.session.models[name]))

    # ------------------------------------------------------------------ layers, classes
    def layer_shapes(self, model: str) -> dict[str, tuple[int, ...]]:
        """``{layer: (1, K, h, w)}`` of the layers a CAM method may use on the current image."""
        return self.session.layer_shapes(self.model_key(model), self.session.models[model],
                                         self.current_image[0])

    def layers(self, model: str, method: str, old: str | None,
               reset: bool) -> tuple[list[str], str | None] | None:
        """``(layer options, the layer to select)`` for ``method`` on ``model``; ``None`` when
        the layer control stays as it is (a pixel method, a busy model, a failing model).

        The previous layer is kept when the model offers it (``reset`` picks the model's
        default layer instead, e.g. after a change of model).
        """
        if not self.takes_layer(method):
            return None
        if self.runner.busy:  # the model is in use by the worker: refresh when it is done
            self.pending = True
            return None
        try:
            names = list(self.layer_shapes(model))
        except Exception as err:
            self.say(f"the model failed on this image: {err}")
            return None
        if not names:
            return names, None
        if not reset and old in names:
            return names, old
        from ..methods import default_layer

        try:
            default = default_layer(self.session.models[model])
        except Exception:
            default = names[-1]
        return names, default if default in names else names[-1]

    def predictions(self, model: str) -> list[tuple[str, int]] | None:
        """The class options (top 5 with probabilities) for the current image on ``model``;
        ``None`` when busy or when the model fails (with a message)."""
        if self.runner.busy:
            self.pending = True
            return None
        try:
            top, names = self.session.predictions(
                self.current_image_key, self.model_key(model), self.session.models[model],
                self.current_image[0])
        except Exception as err:
            self.say(f"the model failed on this image: {err}")
            return None
        self.top5, self.class_names = top, names
        return [(f"{name} ({p:.1%})", i) for i, name, p in top]

    def target(self, sel: Selection) -> int:
        """The class to explain: the typed class if any, else the chosen top-5 class."""
        text = sel.target_text.strip()
        if text:
            return parse_target(text, self.class_names)
        return int(sel.target)

    def probability(self, job: Job) -> float:
        """The model's probability of the class ``job`` explains, on ``job``'s image."""
        net = self.session.models[job.model[0]]
        x = self.session.images[job.image].tensor
        return float(self.session.probabilities(job.image, job.model, net, x)[job.target])

    # ------------------------------------------------------------------ jobs
    def jobs(self, sel: Selection) -> list[Job]:
        """The maps ``sel`` asks for: the method's, and the compared method's. Raises
        :class:`TargetError` for a class the model does not have."""
        target = self.target(sel)
        image, model = self.current_image_key, self.model_key(sel.model)
        params = dict(sel.params)
        jobs = [self.session.job(image, model, sel.method, sel.layer, target, params)]
        if sel.compare:
            params2 = params if sel.method2 == sel.method else {}
            jobs.append(self.session.job(image, model, sel.method2, sel.layer or None, target,
                                         params2))
        return jobs

    def cost(self, model: str, method: str, layer: str | None = None,
             params: Mapping[str, Any] | None = None) -> str:
        """A rough price of ``method`` on the current image, e.g. ``"~512 forwards"``."""
        return self.session.cost(method, layer, params, lambda: self.layer_shapes(model),
                                 self.current_image[0])

    def ready(self, sel: Selection) -> bool:
        """Whether the maps ``sel`` asks for can be drawn now: not while a run is busy (they
        are then drawn after it), not for a bad class, not for an expensive method that is not
        cached yet (the status line says to press Run and what it costs)."""
        if self.runner.busy:
            self.pending = True
            self.say("a computation is running: wait for it or press Cancel", error=False)
            return False
        try:
            jobs = self.jobs(sel)
        except TargetError as err:
            self.say(str(err))
            return False
        waiting = [j for j in jobs
                   if self.session.expensive(j.method) and j not in self.session.cache]
        if waiting:
            job = waiting[0]
            self.say(f"{job.method} is expensive "
                     f"({self.cost(sel.model, job.method, job.layer, dict(job.params))}): "
                     "press Run", error=False)
            return False
        return True

    def compute(self, jobs: list[Job], net: nn.Module, x: torch.Tensor,
                on_start: Callable[[Job], None] = lambda job: None,
                on_progress: Callable[[str, int, int | None], None] | None = None,
                ) -> tuple[list[Any] | None, BaseException | None]:
        """Every job's explanation (from the cache when there), or the error that stopped them.

        ``on_start(job)`` is called before a job that is not cached; ``on_progress`` receives
        the method's progress (and may raise :class:`Cancelled`).
        """
        try:
            out = []
            for job in jobs:
                if job not in self.session.cache:
                    on_start(job)
                out.append(self.session.explain(job, net, x, on_progress))
            return out, None
        except Exception as err:
            return None, err

    def accept(self, jobs: list[Job], results: list[Any] | None, error: BaseException | None,
               current: list[Job]) -> bool:
        """Whether ``results`` of ``jobs`` are to be drawn: not when cancelled or failed (the
        status line says so), not when the controls now ask for ``current``, other jobs (the
        results stay cached; :attr:`discarded` names their inputs). Accepted results become
        the ``last_*`` results."""
        if isinstance(error, Cancelled):
            self.say("cancelled", error=False)
            return False
        if error is not None:
            self.say(f"{jobs[0].method} failed: {type(error).__name__}: {error}")
            return False
        if current != jobs:
            self.discarded = list(jobs)
            self.say(f"finished {jobs[0].describe()}, but the inputs changed meanwhile: the "
                     "result is cached, not drawn over other inputs", error=False)
            return False
        self.discarded = None
        results = results or []
        self.last_jobs = list(jobs)
        self.last_explanation = results[0]
        self.last_saliency = _as_map(results[0])
        second = results[1] if len(results) > 1 else None
        self.last_explanation2 = second
        self.last_saliency2 = None if second is None else _as_map(second)
        return True


def _as_map(explanation: Any) -> np.ndarray:
    return explanation.saliency[0].detach().cpu().double().numpy()
