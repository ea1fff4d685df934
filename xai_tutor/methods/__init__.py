"""The explanation methods. Importing this package registers every finished method in METHODS.

Each method lives in its own module (``gradient.py``, ``cam/gradcam.py``, ``lrp/...``) and
registers itself with :func:`xai_tutor.methods.base.register` when imported, declaring its
parameters (:class:`~xai_tutor.methods.params.Param`), whether it takes a layer, whether it
reports progress and its cost model; :func:`xai_tutor.explain` and the widgets read them there.
"""

from __future__ import annotations

import importlib
import pkgutil

from .base import METHODS, MethodInfo, default_layer, register
from .params import Param, Passes

__all__ = ["METHODS", "MethodInfo", "Param", "Passes", "default_layer", "register"]


def _import_all() -> None:
    for info in pkgutil.walk_packages(__path__, prefix=__name__ + "."):
        importlib.import_module(info.name)


_import_all()
