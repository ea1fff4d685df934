"""The explanation methods. Importing this package registers every finished method in METHODS.

Each method lives in its own module (``gradient.py``, ``cam/gradcam.py``, ``lrp/...``) and
registers itself with :func:`xai_tutor.methods.registry.register` when imported, declaring its
parameters (:class:`~xai_tutor.methods.declarations.Param`), whether it takes a layer, whether it
reports progress, its cost model, its title, the sign and resolution of its map and the notebook
that teaches it; :func:`xai_tutor.explain`, the widgets and the figures read them there.

What the methods share lives in small modules named for what they do: :mod:`.registry` (the
registry and the one place every call is checked), :mod:`.declarations` (parameters, cost
models), :mod:`.inputs` (the input rules), :mod:`.targets` (the explained class),
:mod:`.layer_choice` (the default layer), :mod:`.progress` (progress bars and listeners),
:mod:`.pixel_backward` (the backward pass of the pixel methods) and :mod:`.relu_rules`.
"""

from __future__ import annotations

import importlib
import pkgutil

from .declarations import Param, Passes
from .layer_choice import default_layer
from .registry import METHODS, MethodInfo, register

__all__ = ["METHODS", "MethodInfo", "Param", "Passes", "default_layer", "register"]


def _import_all() -> None:
    for info in pkgutil.walk_packages(__path__, prefix=__name__ + "."):
        importlib.import_module(info.name)


_import_all()
