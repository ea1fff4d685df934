"""Widgets for trying explanation methods in a notebook (ipywidgets 8).

* :class:`Explorer`: image (course scene, generated scene, upload), model, method, layer, class,
  representation and the method's parameters; side-by-side comparison; PNG download.
* :func:`method_explorer`: a compact explorer with the method fixed, for the method notebooks.

Example::

    >>> from xai_tutor.widgets import method_explorer
    >>> method_explorer("gradcam")   # doctest: +SKIP
"""

from __future__ import annotations

from .cache import LRUCache
from .figure import PNG_SIGNATURE, download_link, png_bytes
from .layers import layer_shapes, spatial_layers
from .param_specs import PARAM_SPECS, ParamSpec, method_params
from .runner import Cancelled, Runner
from .session import Job, Session
from .view import Explorer, method_explorer

__all__ = [
    "Explorer",
    "method_explorer",
    "Cancelled",
    "Job",
    "Runner",
    "Session",
    "LRUCache",
    "PARAM_SPECS",
    "ParamSpec",
    "method_params",
    "spatial_layers",
    "layer_shapes",
    "png_bytes",
    "download_link",
    "PNG_SIGNATURE",
]
