"""What the course notebooks share: which class of a model each bird of a scene is, which class
a notebook explains on a scene (the best-scoring bird present, or the top class), how a
statement about a map is worded from its numbers (:func:`on_region`, :func:`lift_word`) and on
which models it is asserted (:func:`known_model`), and the canonical scenes at another size
(:func:`course_scenes_at`: the same pictures resized, not new layouts).

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

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from .models.registry import OFFLINE_TRIO

__all__ = ["bird_class", "true_classes", "scene_target", "top_class_target", "known_model",
           "lift_word", "on_region", "class_title", "scaled_scene", "course_scenes_at",
           "read_table", "mean_se", "show_table"]


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


# --- statements about maps: measured on the course's own models, worded from the numbers -------

def known_model(model: nn.Module) -> bool:
    """Whether the notebooks **assert** their statements about this model's maps and predictions.

    True for the offline trio (``tiny_vgg``, ``tiny_resnet``, ``efficientnet_lite0``): their
    weights are fixed (checked by SHA-256 when loaded), so what a notebook says about their maps
    was measured on exactly these weights and the test suite re-measures it. False for any other
    model (the ImageNet trio, whose weights the course never ran with, and the test suite's
    seeded stand-in weights under torchvision's file names): there a notebook prints what it
    measures, with the comparative word chosen by the number, but asserts nothing about it.

    >>> import xai_tutor
    >>> known_model(xai_tutor.load_model("tiny_vgg")), known_model(torch.nn.Linear(2, 2))
    (True, False)
    """
    return getattr(model, "name", None) in OFFLINE_TRIO


#: lift (mass / area) thresholds and the words for them: below 0.8 the map avoids the region,
#: up to 1.25 it is what a uniform map would give, up to 2 a little more, from 2 on it
#: concentrates there.
LIFT_WORDS = ((0.8, "off", "less than a uniform map's share: the map lies mostly off {what}"),
              (1.25, "uniform", "about a uniform map's share: the map does not single out {what}"),
              (2.0, "some", "{lift:.1f} times a uniform map's share: a little more than chance"),
              (math.inf, "on", "{lift:.1f} times a uniform map's share: the map concentrates on "
                               "{what}"))


def lift_word(mass: float, area: float) -> str:
    """``"off"``, ``"uniform"``, ``"some"`` or ``"on"``: how the share ``mass`` of a map on a
    region compares with the region's share ``area`` of the image (the **lift**, ``mass / area``;
    a uniform map has lift 1). Thresholds: :data:`LIFT_WORDS`.

    >>> lift_word(0.06, 0.057), lift_word(0.40, 0.057), lift_word(0.01, 0.057)
    ('uniform', 'on', 'off')
    """
    if not 0.0 < float(area) <= 1.0:
        raise ValueError(f"area must be a share of the image in (0, 1]; got {area}")
    lift = float(mass) / float(area)
    return next(key for bound, key, _ in LIFT_WORDS if lift < bound)


def on_region(mass: float, area: float, what: str = "the bird") -> str:
    """A sentence part saying how much of a map lies on a region, chosen by the lift.

    >>> on_region(0.403, 0.057)[:53]
    '40.3% of the map on the bird (5.7% of the image): 7.1'
    >>> on_region(0.403, 0.057).split(": ")[-1], on_region(0.06, 0.057, "the birds").split(": ")[-1]
    ('the map concentrates on the bird', 'the map does not single out the birds')
    """
    key = lift_word(mass, area)
    text = next(t for _, k, t in LIFT_WORDS if k == key)
    lift = float(mass) / float(area)
    return (f"{float(mass):.1%} of the map on {what} ({float(area):.1%} of the image): "
            + text.format(what=what, lift=lift))


def class_title(model: nn.Module, x: torch.Tensor, target: int | None = None) -> str:
    """The explained class of ``model`` on one image ``x``, for a figure title:
    ``"flamingo (p = 0.99)"`` (``target=None``: the top class, as ``explain`` uses).

    >>> import xai_tutor
    >>> from xai_tutor.data import load_image
    >>> model = xai_tutor.load_model("tiny_resnet")
    >>> class_title(model, load_image(course_scenes_at((313, 209))["single"].image)[0])
    'flamingo (p = 1.00)'
    """
    from .viz import explained_class, panel_title

    return panel_title(explained_class(model, x, target))


def top_class_target(model: nn.Module, scene: Any, x: torch.Tensor) -> tuple[int, np.ndarray, bool]:
    """The model's **top** class on ``x`` (the paper's choice), the masks of the birds of that
    class, and whether there is any: when the top class is no bird of the scene (a
    misclassification), every bird's mask and ``False``."""
    with torch.no_grad():
        cls = int(model(x)[0].argmax())
    keep = np.array([bird_class(model, scene, i) == cls for i in range(len(scene.species))])
    return cls, (scene.masks[keep] if keep.any() else scene.masks), bool(keep.any())


# --- the canonical scenes at another size --------------------------------------------------------

def scaled_scene(scene: Any, size: tuple[int, int]) -> Any:
    """``scene`` resized to ``size = (W, H)``: the same picture, not a new layout.

    The image is resized as :func:`xai_tutor.data.load_image` resizes (bilinear), so
    ``load_image(scaled_scene(s, size).image)`` is ``load_image(s.image, size=size)``. Each
    pixel of a mask is the share of the bird's pixels in the area it covers (box filter): a
    pixel belongs to a bird when birds cover at least half of it, and then to the bird that
    covers most of it (so the masks stay disjoint). Boxes are the boxes of the new masks.
    (``make_scene(kind, size=...)`` draws a *new* layout at that size instead: the birds move.)
    """
    from PIL import Image

    from .data.scenes import Scene

    width, height = (int(v) for v in size)
    if width < 8 or height < 8:
        raise ValueError(f"size must be (W, H) with both sides >= 8 pixels; got {size}")
    image = scene.image.convert("RGB").resize((width, height), Image.BILINEAR)
    shares = np.stack([
        np.asarray(Image.fromarray(m.astype(np.float32)).resize((width, height), Image.BOX))
        for m in np.asarray(scene.masks, dtype=bool)]) if len(scene.masks) else \
        np.zeros((0, height, width), np.float32)
    birds = shares.sum(axis=0) >= 0.5 if len(shares) else np.zeros((height, width), bool)
    owner = shares.argmax(axis=0) if len(shares) else None
    masks = np.stack([birds & (owner == i) for i in range(len(shares))]) if len(shares) else \
        np.zeros((0, height, width), bool)
    boxes = []
    for m in masks:
        ys, xs = np.nonzero(m)
        boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1] if len(xs) else [0, 0, 0, 0])
    occluder = None
    if scene.occluder is not None:
        occ = np.asarray(Image.fromarray(scene.occluder.astype(np.float32)).resize(
            (width, height), Image.BOX))
        occluder = (occ >= 0.5) & ~birds
    return Scene(image=image, kind=scene.kind, species=list(scene.species),
                 imagenet_ids=list(scene.imagenet_ids), masks=masks,
                 boxes=np.asarray(boxes, dtype=int).reshape(-1, 4), seed=scene.seed,
                 background=scene.background, occluder=occluder,
                 visible_fraction=scene.visible_fraction)


def course_scenes_at(size: tuple[int, int]) -> dict[str, Any]:
    """The three canonical course scenes resized to ``size = (W, H)`` (:func:`scaled_scene`).

    >>> half = course_scenes_at((313, 209))
    >>> half["pair"].species, half["pair"].masks.shape
    (['toucan', 'flamingo'], (2, 209, 313))
    """
    from .data import course_scenes

    return {kind: scaled_scene(s, size) for kind, s in course_scenes().items()}


# --- the experiment's tables in a notebook (notebooks 11 and 11b) ---------------------------------

def read_table(path: Any) -> list[dict[str, Any]]:
    """The rows of a results CSV (``results/*.csv``) as dicts, numbers as floats.

    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = f.write_text("method,mass\\ngradcam,0.25\\n")
    >>> read_table(f)
    [{'method': 'gradcam', 'mass': 0.25}]
    """
    import csv

    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        for key, value in row.items():
            try:
                row[key] = float(value)
            except (TypeError, ValueError):
                pass
    return rows


def mean_se(value: Any, se: Any = None, digits: int = 3) -> str:
    """``"0.250 ± 0.010"``; a missing number (NaN, empty) is ``"–"``; text stays text.

    >>> mean_se(0.25, 0.01), mean_se(float("nan")), mean_se("supported")
    ('0.250 ± 0.010', '–', 'supported')
    """
    if isinstance(value, str):
        return value
    if not isinstance(value, float) or math.isnan(value):
        return "–"
    text = f"{value:.{digits}f}"
    if isinstance(se, float) and not math.isnan(se):
        text += f" ± {se:.{digits}f}"
    return text


def show_table(rows: list[dict[str, Any]], columns: list[tuple[str, Any]],
               caption: str = "") -> None:
    """Display ``rows`` as an HTML table in a notebook; ``columns`` is ``[(title, function of a
    row -> text)]`` (no pandas needed)."""
    import html

    from IPython.display import HTML, display

    head = "".join(f"<th>{html.escape(t)}</th>" for t, _ in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(f(r)))}</td>" for _, f in columns)
                   + "</tr>" for r in rows)
    cap = f"<caption style='caption-side:top'>{html.escape(caption)}</caption>" if caption else ""
    display(HTML(f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"))
