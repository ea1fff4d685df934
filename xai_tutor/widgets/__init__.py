"""Widgets for trying explanation methods in a notebook (ipywidgets 8; 7.7 on Colab).

* :class:`Explorer`: image (course scene, generated scene, upload), model, method, layer, class,
  representation and the method's parameters; side-by-side comparison; PNG download.
* :func:`method_explorer`: a compact explorer with the method fixed, for the method notebooks.

The package: :mod:`.explorer` (the widgets and what a change of each does), :mod:`.controller`
(what the explorer decides, without widgets), :mod:`.drawing` (the figure: maps with colour
bars, captions), :mod:`.session` (images, models, predictions, cached maps), :mod:`.runner`
(background work), :mod:`.controls`, :mod:`.param_specs`, :mod:`.layers`, :mod:`.cache` and
:mod:`.figure` (building blocks).

Example::

    >>> from xai_tutor.widgets import method_explorer
    >>> method_explorer("gradcam")   # doctest: +SKIP
"""

from __future__ import annotations

from .cache import LRUCache
from .controller import Controller, Selection
from .explorer import Explorer, method_explorer
from .figure import PNG_SIGNATURE, download_link, png_bytes
from .layers import layer_shapes, spatial_layers
from .param_specs import PARAM_SPECS, ParamSpec, method_params
from .runner import Cancelled, Runner
from .session import Job, Session

__all__ = [
    "Explorer",
    "method_explorer",
    "Cancelled",
    "Controller",
    "Selection",
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
