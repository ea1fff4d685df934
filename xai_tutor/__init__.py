"""xai_tutor: reference implementations for the xai-tutor course.

Post-hoc, model-specific explanations of CNN image classifiers (DeconvNet, LRP and the CAM
family), the course's models and bird scenes, metrics against ground truth, and widgets.

The public names are loaded on first use, so ``import xai_tutor`` stays fast::

    >>> import xai_tutor
    >>> model = xai_tutor.load_model("tiny_vgg")
    >>> scene = xai_tutor.make_scene("single", seed=0)
    >>> x, _ = xai_tutor.load_image(scene.image)
    >>> e = xai_tutor.explain(model, x, "gradcam")
"""

from __future__ import annotations

import importlib
from typing import Any

from . import _malloc

__version__ = "0.1.0"

# glibc allocator thresholds for fast CPU forwards, however Python was started (see _malloc.py)
_malloc.tune_malloc()

_LAZY = {
    "explain": "xai_tutor.api",
    "METHODS": "xai_tutor.methods",
    "Explanation": "xai_tutor.explanation",
    "load_model": "xai_tutor.models",
    "available_models": "xai_tutor.models",
    "course_models": "xai_tutor.models",
    "WeightsUnavailableError": "xai_tutor.models",
    "imagenet_classes": "xai_tutor.models",
    "make_scene": "xai_tutor.data",
    "load_image": "xai_tutor.data",
    "course_scenes": "xai_tutor.data",
    "combine": "xai_tutor.combination",
    "model_guard": "xai_tutor.hooks",
    "capture": "xai_tutor.hooks",
    "find_layer": "xai_tutor.hooks",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name])
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'xai_tutor' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
