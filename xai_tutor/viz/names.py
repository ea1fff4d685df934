"""Method names, the course's order of methods, and panel titles naming the explained class.

What is known about each method is declared where it is registered (:mod:`xai_tutor.methods`)
and read from there:

* :func:`course_order` sorts row labels in the order the notebooks teach the methods (the
  registry's ``notebook`` and ``position``), :func:`method_title` gives the papers' spelling
  (``title``); :func:`method_key` turns a row label back into a registry name;
* :func:`explained_class` (index, name, softmax probability) and :func:`panel_title`
  (``"Grad-CAM: flamingo (p = 0.97)"``).

Example::

    >>> course_order(["Score-CAM", "gradcam", "a row", "lrp edges"])
    ['lrp edges', 'gradcam', 'Score-CAM', 'a row']
    >>> method_title("gradcampp")
    'Grad-CAM++'
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

import torch

from ..methods import METHODS

__all__ = ["ExplainedClass", "course_order", "explained_class", "method_key", "method_title",
           "panel_title"]


def method_key(name: Any) -> str | None:
    """The registry name a row label or method stands for (``"Grad-CAM++"`` -> ``gradcampp``,
    ``"lrp edges"`` -> ``lrp``), or None."""
    if not isinstance(name, str):
        return None
    if name in METHODS:
        return name
    titles = {info.title.lower(): key for key, info in METHODS.items()}
    if name.lower() in titles:
        return titles[name.lower()]
    head = name.split()[0] if name.split() else name
    if head != name:
        return method_key(head)
    return None


def _course_rank() -> dict[str, tuple[int, str, int]]:
    """``{name: (0, notebook, position)}`` for the methods a notebook teaches; others rank last."""
    return {key: (0, info.notebook, info.position) if info.notebook else (1, "", 0)
            for key, info in METHODS.items()}


def course_order(names: Iterable[str]) -> list[str]:
    """``names`` sorted in the order the notebooks teach the methods (by notebook, then position
    within it, as registered); names that are no method keep their order, last.

    Row labels such as ``"Grad-CAM++"`` or ``"lrp edges"`` count as their method.
    """
    items = list(names)
    rank = _course_rank()
    last = (2, "", 0)

    def key(pair: tuple[int, str]) -> tuple[tuple[int, str, int], int]:
        i, name = pair
        m = method_key(name)
        return (rank[m] if m in rank else last, i)

    return [name for _, name in sorted(enumerate(items), key=key)]


def method_title(name: str) -> str:
    """The method's name as the papers write it (``"gradcampp"`` -> ``"Grad-CAM++"``); any other
    label is returned as it is."""
    return METHODS[name].title if name in METHODS else name


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
