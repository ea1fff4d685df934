"""The layer a CAM method explains when the caller names none: :func:`default_layer`.

Example::

    >>> import torchvision
    >>> default_layer(torchvision.models.vgg16(weights=None))
    'features.29'
"""

from __future__ import annotations

from torch import nn

from ..hooks import find_layer

__all__ = ["default_layer"]


# modules allowed between the chosen block and the logits (the classifier head)
_HEAD_TYPES = (
    nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.AvgPool2d, nn.MaxPool2d, nn.Dropout,
    nn.Dropout2d, nn.Flatten, nn.Linear, nn.Identity, nn.BatchNorm1d, nn.LayerNorm, nn.ReLU,
    nn.ReLU6, nn.SiLU, nn.GELU, nn.Hardswish, nn.Sequential, nn.ModuleList,
)


def _has_conv(module: nn.Module) -> bool:
    return any(isinstance(m, nn.Conv2d) for m in module.modules())


def _is_head(module: nn.Module) -> bool:
    """Pooling, dropout, flatten, norms, activations and linear layers only (1x1 convs allowed,
    as SqueezeNet's classifier has)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            if tuple(m.kernel_size) != (1, 1):
                return False
        elif not isinstance(m, _HEAD_TYPES):
            return False
    return True


def _last_conv_rule(model: nn.Module, prefix: str = "") -> str:
    """The last ``Conv2d`` under ``prefix``, or the ReLU right after it."""
    names = [(n, m) for n, m in model.named_modules() if n and n.startswith(prefix)]
    last = max(i for i, (_n, m) in enumerate(names) if isinstance(m, nn.Conv2d))
    for n, m in names[last + 1 : last + 3]:
        if isinstance(m, (nn.ReLU, nn.ReLU6)):
            return n
    return names[last][0]


def default_layer(model: nn.Module) -> str:
    """The documented default layer: the output of the last convolutional block, i.e. the last
    module whose output feeds the classifier head.

    * a model with an attribute ``default_layer`` (the course models): that name;
    * torchvision ResNet / ResNeXt / Wide ResNet (``layer4`` and ``fc``): ``layer4``;
    * torchvision VGG and AlexNet (a ``features`` stack ending in max-pooling): the ReLU after the
      last convolution, before that pooling (``features.29`` for VGG16, 14x14 at 224x224);
    * otherwise the last top-level child that holds a convolution (auxiliary classifiers such as
      GoogLeNet's ``aux1``/``aux2`` and children named ``classifier``/``fc``/``head``/``heads``
      are skipped), provided only head modules (pooling, dropout, flatten, norms, activations,
      linear layers, 1x1 convs) come after it. When that child is a ``nn.Sequential`` its last
      element is returned (the same tensor, as users write ``model.features[-1]``):

      ====================  ===============================  ============================
      torchvision model     default layer                    output at 224x224
      ====================  ===============================  ============================
      densenet121           ``features.norm5`` (before the   1024 x 7 x 7
                            functional ReLU of forward())
      mobilenet_v2          ``features.18``                  1280 x 7 x 7
      googlenet             ``inception5b``                  1024 x 7 x 7
      efficientnet_b0       ``features.8``                   1280 x 7 x 7
      convnext_tiny         ``features.7`` (last stage)      768 x 7 x 7
      squeezenet1_0         ``features.12``                  512 x 13 x 13
      inception_v3          ``Mixed_7c``                     2048 x 8 x 8 (299 px)
      ====================  ===============================  ============================

      When the child is a single ``Conv2d`` (plain ``nn.Sequential`` models), the ReLU right
      after it is returned if there is one.

    Models whose last convolution is followed by anything else before the head (ViT's
    ``conv_proj`` is followed by a transformer encoder; Swin's features by a permutation to
    channels-last) have no such feature map: a ValueError names the model type and asks for
    ``layer=``.
    """
    named = getattr(model, "default_layer", None)
    if isinstance(named, str):
        find_layer(model, named)
        return named
    if hasattr(model, "layer4") and hasattr(model, "fc"):
        return "layer4"
    if not _has_conv(model):
        raise ValueError(
            f"{type(model).__name__} has no Conv2d layer, so there is no default layer for the "
            "CAM family; pass layer= explicitly"
        )
    features = getattr(model, "features", None)
    if isinstance(features, nn.Sequential) and len(features) and isinstance(
        features[-1], nn.MaxPool2d
    ):
        return _last_conv_rule(model, "features.")
    children = [(n, m) for n, m in model.named_children() if "Aux" not in type(m).__name__]
    heads = {"classifier", "fc", "head", "heads"}
    picks = [i for i, (n, m) in enumerate(children) if _has_conv(m) and n not in heads]
    if not picks:
        picks = [i for i, (_n, m) in enumerate(children) if _has_conv(m)]
    i = picks[-1]
    name, block = children[i]
    after = [(n, m) for n, m in children[i + 1 :] if not _is_head(m)]
    if after:
        what = ", ".join(f"{n} ({type(m).__name__})" for n, m in after)
        raise ValueError(
            f"cannot choose a default layer for {type(model).__name__}: its last convolutional "
            f"part {name!r} ({type(block).__name__}) is followed by {what} before the classifier, "
            "not by a spatial feature map feeding the head; pass layer= with the name of a "
            "layer whose output is (B, K, h, w)"
        )
    if isinstance(block, nn.Conv2d):
        return _last_conv_rule(model)
    if isinstance(block, nn.Sequential) and len(block):
        last = list(block.named_children())[-1][0]
        return f"{name}.{last}"
    return name

