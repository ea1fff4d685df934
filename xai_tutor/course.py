"""What the course notebooks share: which class of a model each bird of a scene is, and which
class a notebook explains on a scene (the best-scoring bird present).

The course's own models (``tiny_vgg``, ``tiny_resnet``) know the species by name
(``model.class_names``); ImageNet models know the birds by the ImageNet id stored with the scene
(``scene.imagenet_ids``, ``None`` where ImageNet has no such class)::

    >>> import xai_tutor
    >>> from xai_tutor.data import course_scenes, load_image
    >>> model, scene = xai_tutor.load_model("tiny_resnet"), course_scenes()["pair"]
    >>> [model.class_names[bird_class(model, scene, i)] for i in range(2)] == scene.species
    True
    >>> x, _ = load_image(scene.image)
    >>> target, masks = scene_target(model, scene, x)
    >>> masks.shape[1:] == scene.masks.shape[1:]
    True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["bird_class", "true_classes", "scene_target"]


def bird_class(model: nn.Module, scene: Any, i: int) -> int | None:
    """The model's class index for bird ``i`` of ``scene``, or ``None`` if it has no such class."""
    species = scene.species[i]
    names = list(getattr(model, "class_names", []) or [])
    if species in names and len(names) < 1000:  # a course model: species by name
        return names.index(species)
    iid = scene.imagenet_ids[i]
    return None if iid is None else int(iid)


def true_classes(model: nn.Module, scene: Any) -> set[int]:
    """The model's classes that are birds really in ``scene``."""
    return {k for i in range(len(scene.species)) if (k := bird_class(model, scene, i)) is not None}


def scene_target(model: nn.Module, scene: Any, x: torch.Tensor) -> tuple[int, np.ndarray]:
    """The best-scoring class among the birds present in ``scene`` (input ``x``), and the masks
    of the birds of that class; when none of the model's classes is in the scene, its top class
    and every bird's mask."""
    with torch.no_grad():
        logits = model(x)[0]
    birds: dict[int, list[int]] = {}
    for i in range(len(scene.species)):
        k = bird_class(model, scene, i)
        if k is not None:
            birds.setdefault(k, []).append(i)
    if not birds:
        return int(logits.argmax()), scene.masks
    best = max(birds, key=lambda k: float(logits[k]))
    return best, scene.masks[birds[best]]
