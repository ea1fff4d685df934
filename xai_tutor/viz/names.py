"""Method names, the course's order of methods, and panel titles naming the explained class.

* :data:`COURSE_ORDER`: the registry names in the order the notebooks teach them;
  :func:`course_order` sorts row labels that way, :func:`method_title` gives the papers' spelling.
* :data:`PIXEL_METHODS` (drawn robust-scaled) and :data:`SIGNED_METHODS` (drawn on a diverging
  colour map): how :mod:`xai_tutor.viz.maps` prepares each method's map.
* :func:`explained_class` (index, name, softmax probability) and :func:`panel_title`
  (``"Grad-CAM: flamingo (p = 0.97)"``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

import torch

__all__ = ["COURSE_ORDER", "METHOD_TITLES", "PIXEL_METHODS", "SIGNED_METHODS", "ExplainedClass",
           "course_order", "explained_class", "method_title", "panel_title"]

COURSE_ORDER = (
    "gradient",
    "deconvnet",
    "guided_backprop",
    "lrp",
    "cam",
    "gradcam",
    "gradcampp",
    "xgradcam",
    "smoothgrad",
    "smoothgradcampp",
    "fullgrad",
    "ablationcam",
    "scorecam",
)
"""Registry names in the order the notebooks teach them (02 gradient, 03 DeconvNet and guided
backprop, 04 LRP, 05 CAM, 06 Grad-CAM, 07 Grad-CAM++ and XGrad-CAM, 08 SmoothGrad and Smooth
Grad-CAM++, 09 FullGrad, 10 Ablation-CAM and Score-CAM)."""


METHOD_TITLES = {
    "gradient": "Gradient",
    "deconvnet": "DeconvNet",
    "guided_backprop": "Guided backprop",
    "lrp": "LRP",
    "cam": "CAM",
    "gradcam": "Grad-CAM",
    "gradcampp": "Grad-CAM++",
    "xgradcam": "XGrad-CAM",
    "smoothgrad": "SmoothGrad",
    "smoothgradcampp": "Smooth Grad-CAM++",
    "fullgrad": "FullGrad",
    "ablationcam": "Ablation-CAM",
    "scorecam": "Score-CAM",
}


PIXEL_METHODS = frozenset({"gradient", "deconvnet", "guided_backprop", "lrp", "smoothgrad"})
"""Methods whose maps live on single pixels: shown robust-scaled (optionally blurred)."""


SIGNED_METHODS = frozenset({"gradient", "lrp"})
"""Methods whose raw attribution carries a meaningful sign: shown with a diverging colour map."""


def _method_key(name: Any) -> str | None:
    """The registry name a row label or method stands for (``"Grad-CAM++"`` -> ``gradcampp``)."""
    if not isinstance(name, str):
        return None
    if name in METHOD_TITLES:
        return name
    titles = {v.lower(): k for k, v in METHOD_TITLES.items()}
    if name.lower() in titles:
        return titles[name.lower()]
    head = name.split()[0] if name.split() else name
    if head != name:
        return _method_key(head)
    return None


def course_order(names: Iterable[str]) -> list[str]:
    """``names`` sorted in :data:`COURSE_ORDER`; names that are no method keep their order, last.

    Row labels such as ``"Grad-CAM++"`` or ``"lrp edges"`` count as their method.
    """
    items = list(names)
    rank = {m: i for i, m in enumerate(COURSE_ORDER)}

    def key(pair: tuple[int, str]) -> tuple[int, int]:
        i, name = pair
        m = _method_key(name)
        return (rank[m], i) if m in rank else (len(rank), i)

    return [name for _, name in sorted(enumerate(items), key=key)]


def method_title(name: str) -> str:
    """The method's name as the papers write it (``"gradcampp"`` -> ``"Grad-CAM++"``)."""
    key = _method_key(name)
    return METHOD_TITLES[key] if key == name else name


class ExplainedClass(NamedTuple):
    """The class an explanation is about: its index, name and softmax probability."""

    index: int
    name: str
    probability: float


def explained_class(model: Any, x: Any, target: int | None = None) -> ExplainedClass:
    """Index, name and softmax probability of the explained class for one image ``(1, 3, H, W)``.

    ``target=None``: the model's top class, as :func:`xai_tutor.explain` uses. The name comes from
    ``model.class_names`` (every course model has it), else the index. The model is left in the
    mode it was in.
    """
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[0] != 1:
        raise ValueError(
            f"x must be one normalised image tensor (1, 3, H, W); got "
            f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}"
        )
    training = model.training
    model.eval()
    try:
        with torch.no_grad():
            p = torch.softmax(model(x).double(), dim=1)[0]
    finally:
        model.train(training)
    index = int(p.argmax()) if target is None else int(target)
    if not 0 <= index < p.numel():
        raise ValueError(f"target must lie in [0, {p.numel() - 1}]; got {target}")
    names = getattr(model, "class_names", None)
    name = str(names[index]) if names is not None and index < len(names) else str(index)
    return ExplainedClass(index, name, float(p[index]))


def panel_title(class_name: Any, probability: float | None = None,
                method: str | None = None) -> str:
    """A panel title naming the explained class: ``"Grad-CAM: flamingo (p = 0.97)"``.

    ``class_name`` may be an :class:`ExplainedClass` (then ``probability`` comes from it).
    """
    if isinstance(class_name, ExplainedClass):
        class_name, probability = class_name.name, class_name.probability
    text = str(class_name)
    if probability is not None:
        if not 0.0 <= float(probability) <= 1.0:
            raise ValueError(f"probability must lie in [0, 1]; got {probability}")
        text += f" (p = {float(probability):.2f})"
    return f"{method_title(method)}: {text}" if method else text
