"""The course's CNN classifiers: torchvision ImageNet models, EfficientNet-Lite0 and tiny models.

See :mod:`xai_tutor.models.registry` for the list of names and how each is loaded.

Example::

    >>> from xai_tutor.models import available_models, load_model
    >>> model = load_model("tiny_vgg")
    >>> model.class_names[:2], model.default_layer
    (['flamingo', 'toucan'], 'features.11')
"""

from .cue_models import CUE_MODELS, CueModel
from .efficientnet_lite import EfficientNetLite0
from .imagenet import WeightsUnavailableError, imagenet_classes
from .registry import (
    CUE_MODEL_NAMES,
    IMAGENET_TRIO,
    MODEL_NAMES,
    OFFLINE_TRIO,
    UncommittedWeightsWarning,
    WeightsChecksumError,
    available_models,
    committed_sha256,
    course_models,
    load_model,
    models_dir,
)
from .tiny import BasicBlock, TinyResNet, TinyVGG

__all__ = [
    "BasicBlock",
    "CUE_MODELS",
    "CUE_MODEL_NAMES",
    "CueModel",
    "EfficientNetLite0",
    "IMAGENET_TRIO",
    "MODEL_NAMES",
    "OFFLINE_TRIO",
    "TinyResNet",
    "TinyVGG",
    "UncommittedWeightsWarning",
    "WeightsChecksumError",
    "WeightsUnavailableError",
    "available_models",
    "committed_sha256",
    "course_models",
    "imagenet_classes",
    "load_model",
    "models_dir",
]
