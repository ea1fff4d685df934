"""DeconvNet (Zeiler & Fergus 2014) built layer by layer: switches, rectification, filtering.

"Visualizing and understanding convolutional networks" attaches to every layer of a convnet a
*deconvnet* layer that maps a feature map back towards pixel space. Starting from one layer's
activations (all other layers' activations ignored), it repeats three steps down to the image:

1. **Unpool**: max-pooling cannot be inverted, but the forward pass recorded the position of
   each pooling window's maximum (the *switches*). Each value is put back at its switch position,
   every other position gets zero (:func:`torch.nn.functional.max_unpool2d`).
2. **Rectify**: pass the signal through a ReLU, ``max(r, 0)``, so that the reconstruction stays
   a positive "feature" signal, like the activations of the forward pass.
3. **Filter**: apply the transposed filters of the convolution, i.e. the same weights flipped,
   with the same stride and padding (:func:`torch.nn.functional.conv_transpose2d`). The bias is
   not used.

Projection from the class score (``layer=None``) first goes back through the classifier head:
each linear layer by its transposed weight matrix, each ReLU by the same rectification, global
(adaptive) average pooling by spreading each value evenly over its window, flattening by
reshaping.

Those steps are the backward pass of the network with one change: ReLUs pass ``max(g, 0)`` back
instead of ``g * 1[x > 0]``. The registered method :func:`xai_tutor.methods.deconvnet.deconvnet`
(``explain(..., "deconvnet")``) computes the same numbers that way on any architecture, with the
rule of :mod:`xai_tutor.methods.relu_rules`; :class:`DeconvNet` and :func:`project` here build the
projection explicitly so that every stage can be looked at (notebook 03 builds it by hand). The
explicit construction supports VGG-style networks: a ``model.features`` ``nn.Sequential`` made
of ``Conv2d``, ``ReLU`` and ``MaxPool2d`` only, followed by a head of ``AdaptiveAvgPool2d``,
``Flatten``, ``Linear``, ``ReLU`` and ``Dropout``. Anything else (ResNets, BatchNorm) raises
:class:`UnsupportedArchitectureError`.

Example::

    >>> import torch, torchvision
    >>> from xai_tutor.methods.deconvnet_projection import DeconvNet, project
    >>> net = torchvision.models.vgg11(weights=None).eval()
    >>> x = torch.rand(1, 3, 64, 64)
    >>> tuple(project(net, x, "features.12", channel=5).shape)   # one feature map
    (1, 3, 64, 64)
    >>> d = DeconvNet(net)
    >>> record = d.forward_with_switches(x)            # activations and switches of every layer
    >>> stages = list(d.project_steps(12, record.activations[12]))   # each unpool/rectify/filter
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ..hooks import forward_hooks, model_guard
from .inputs import check_input
from .targets import resolve_target

__all__ = [
    "UnsupportedArchitectureError",
    "ForwardRecord",
    "DeconvNet",
    "project",
    "select_activations",
    "unpool",
]

_FEATURE_TYPES = (nn.Conv2d, nn.ReLU, nn.MaxPool2d)
_HEAD_TYPES = (nn.AdaptiveAvgPool2d, nn.Flatten, nn.Linear, nn.ReLU, nn.Dropout)
_ADVICE = (
    "use the 'deconvnet' registry method instead (xai_tutor.explain(model, x, 'deconvnet')), "
    "which applies the same DeconvNet rule as a modified backward pass on any architecture"
)


class UnsupportedArchitectureError(ValueError):
    """The model is not a plain conv/ReLU/max-pool stack with a linear head."""


@dataclass
class ForwardRecord:
    """What :meth:`DeconvNet.forward_with_switches` kept of a forward pass.

    Attributes:
        image_shape: shape of the input batch ``(B, 3, H, W)``.
        inputs: ``inputs[i]`` is the input of ``features[i]``.
        activations: ``activations[i]`` is the output of ``features[i]``.
        switches: for each max-pooling index ``i``, the flat positions of the window maxima
            (the ``indices`` of ``max_pool2d(..., return_indices=True)``).
        head_inputs: the input of each step of the classifier head.
        logits: ``(B, classes)``, checked to equal the model's own output.
    """

    image_shape: torch.Size
    inputs: list[torch.Tensor] = field(default_factory=list)
    activations: list[torch.Tensor] = field(default_factory=list)
    switches: dict[int, torch.Tensor] = field(default_factory=dict)
    head_inputs: list[torch.Tensor] = field(default_factory=list)
    logits: torch.Tensor | None = None


def _pair(value: int | tuple[int, ...]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def unpool(
    signal: torch.Tensor, switches: torch.Tensor, pool: nn.MaxPool2d, size: torch.Size
) -> torch.Tensor:
    """Place each value of ``signal`` at its switch position in a zero map of ``size``.

    Non-overlapping windows (stride >= window, as in VGG) use :func:`F.max_unpool2d` with
    ``output_size`` (which handles sizes that the stride does not divide). With overlapping
    windows two outputs can share a maximum; their values are then *added* there, as the
    gradient of max-pooling does (``max_unpool2d`` would keep only one of them).
    """
    k, s = _pair(pool.kernel_size), _pair(pool.stride or pool.kernel_size)
    d, p = _pair(pool.dilation), _pair(pool.padding)
    span = (d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1)
    if s[0] >= span[0] and s[1] >= span[1]:
        return F.max_unpool2d(signal, switches, span, s, p, output_size=list(size[-2:]))
    b, c = signal.shape[:2]
    flat = signal.new_zeros(b, c, size[-2] * size[-1])
    flat.scatter_add_(2, switches.reshape(b, c, -1), signal.reshape(b, c, -1))
    return flat.reshape(b, c, size[-2], size[-1])


def _conv_transpose(signal: torch.Tensor, conv: nn.Conv2d, size: torch.Size) -> torch.Tensor:
    """Filter with the transposed weights of ``conv`` (no bias), back to spatial ``size``."""
    k, s = _pair(conv.kernel_size), _pair(conv.stride)
    d, p = _pair(conv.dilation), _pair(conv.padding)
    extra = []
    for axis in range(2):
        reached = (signal.shape[2 + axis] - 1) * s[axis] - 2 * p[axis] + d[axis] * (k[axis] - 1) + 1
        extra.append(size[2 + axis] - reached)
    return F.conv_transpose2d(signal, conv.weight, None, s, p, tuple(extra), conv.groups, d)


def _adaptive_avg_matrix(n_in: int, n_out: int, like: torch.Tensor) -> torch.Tensor:
    """``(n_out, n_in)`` matrix whose row ``i`` averages adaptive-pooling window ``i``."""
    m = like.new_zeros(n_out, n_in)
    for i in range(n_out):
        start = (i * n_in) // n_out
        end = -((-(i + 1) * n_in) // n_out)  # ceil((i + 1) * n_in / n_out)
        m[i, start:end] = 1.0 / (end - start)
    return m


def _adaptive_size(pool: nn.AdaptiveAvgPool2d, h: int, w: int) -> tuple[int, int]:
    size = pool.output_size
    size = (size, size) if isinstance(size, int) else tuple(size)
    return (size[0] if size[0] is not None else h, size[1] if size[1] is not None else w)


def select_activations(
    activation: torch.Tensor,
    channel: int | None = None,
    position: tuple[int, int] | str | None = None,
) -> torch.Tensor:
    """Keep the chosen activations of a ``(B, C, h, w)`` map and set all others to zero.

    ``channel=None`` keeps every channel, an int keeps one. ``position=None`` keeps the whole
    map, ``(i, j)`` one location, ``"max"`` each image's strongest activation (within ``channel``
    when given, else over all channels: Zeiler & Fergus' "single strongest activation").
    """
    if activation.dim() != 4:
        raise ValueError(f"expected a (B, C, h, w) feature map; got {tuple(activation.shape)}")
    b, c, h, w = activation.shape
    keep = torch.ones_like(activation, dtype=torch.bool)
    if channel is not None:
        if isinstance(channel, bool) or not isinstance(channel, int) or not 0 <= channel < c:
            raise ValueError(f"channel must be an int in 0..{c - 1} or None; got {channel!r}")
        keep = torch.zeros_like(keep)
        keep[:, channel] = True
    if position is None:
        return torch.where(keep, activation, torch.zeros_like(activation))
    if isinstance(position, str):
        if position != "max":
            raise ValueError(f"position must be None, (row, col) or 'max'; got {position!r}")
        masked = torch.where(keep, activation, torch.full_like(activation, -torch.inf))
        best = masked.reshape(b, -1).argmax(dim=1)
        one = torch.zeros(b, c * h * w, dtype=torch.bool, device=activation.device)
        one[torch.arange(b, device=activation.device), best] = True
        one = one.reshape(activation.shape)
    else:
        if (
            not isinstance(position, Sequence)
            or len(position) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in position)
        ):
            raise TypeError(f"position must be None, (row, col) or 'max'; got {position!r}")
        i, j = position
        if not (0 <= i < h and 0 <= j < w):
            raise ValueError(f"position {position} is outside the {h}x{w} feature map")
        one = torch.zeros_like(keep)
        one[:, :, i, j] = True
        one = one & keep
    return torch.where(one, activation, torch.zeros_like(activation))


class DeconvNet:
    """Zeiler & Fergus' deconvnet attached to a VGG-style ``model``.

    Use :meth:`forward_with_switches` once per batch, then :meth:`project_from` (a feature map
    of a chosen layer) or :meth:`project_class` (a class score) as often as needed. The model is
    only read, never changed.
    """

    def __init__(self, model: nn.Module) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
        features = getattr(model, "features", None)
        if not isinstance(features, nn.Sequential):
            raise UnsupportedArchitectureError(
                f"the DeconvNet projection needs a plain conv/ReLU/max-pool stack in "
                f"model.features (an nn.Sequential, as in VGG); {type(model).__name__} has none. "
                + _ADVICE
            )
        prefix = next(n for n, m in model.named_modules() if m is features)
        self.model = model
        self.layers: list[nn.Module] = list(features)
        self.names: list[str] = [f"{prefix}.{n}" for n, _ in features.named_children()]
        for name, m in zip(self.names, self.layers, strict=True):
            if not isinstance(m, _FEATURE_TYPES):
                raise UnsupportedArchitectureError(
                    f"{name} is a {type(m).__name__}; the DeconvNet projection handles only "
                    "Conv2d, ReLU and MaxPool2d in model.features. " + _ADVICE
                )
            odd_padding = isinstance(m, nn.Conv2d) and (
                m.padding_mode != "zeros" or isinstance(m.padding, str)
            )
            if odd_padding:
                raise UnsupportedArchitectureError(
                    f"{name} uses padding={m.padding!r}, padding_mode={m.padding_mode!r}; only "
                    "numeric zero padding is supported. " + _ADVICE
                )
            if isinstance(m, nn.MaxPool2d) and m.return_indices:
                raise UnsupportedArchitectureError(f"{name} returns indices; not supported")
        self.record: ForwardRecord | None = None
        self._head: list[tuple[nn.Module | str, tuple[int, ...] | None]] = []

    def layer_index(self, layer: str | int | nn.Module) -> int:
        """Index in ``model.features`` of ``layer`` (dotted name, index or module)."""
        if isinstance(layer, bool):
            raise TypeError(f"layer must be a name, an index or a module; got {layer!r}")
        if isinstance(layer, int):
            if not 0 <= layer < len(self.layers):
                raise ValueError(f"layer index must be in 0..{len(self.layers) - 1}; got {layer}")
            return layer
        if isinstance(layer, nn.Module):
            for i, m in enumerate(self.layers):
                if m is layer:
                    return i
        elif isinstance(layer, str) and layer in self.names:
            return self.names.index(layer)
        raise ValueError(
            f"layer {layer!r} is not a module of the feature stack; choose one of "
            f"{', '.join(self.names)}, or layer=None to project the class score"
        )

    def _trace_head(self, x: torch.Tensor) -> torch.Tensor:
        """Run the model once, recording which leaf modules run after the feature stack."""
        order: list[tuple[nn.Module, tuple[int, ...]]] = []

        def hook(module: nn.Module, inputs: tuple, _output: torch.Tensor) -> None:
            order.append((module, tuple(inputs[0].shape)))

        leaves = [m for m in self.model.modules() if not list(m.children())]
        with forward_hooks([(m, hook) for m in leaves]):
            logits = self.model(x)
        n = len(self.layers)
        ran = [m for m, _ in order[:n]]
        if len(ran) != n or any(a is not b for a, b in zip(ran, self.layers, strict=True)):
            raise UnsupportedArchitectureError(
                "the model's forward() does not run model.features once, first and in order. "
                + _ADVICE
            )
        head: list[tuple[nn.Module | str, tuple[int, ...] | None]] = []
        dims = len(order[n - 1][1]) if n else 4
        for m, shape in order[n:]:
            if not isinstance(m, _HEAD_TYPES):
                raise UnsupportedArchitectureError(
                    f"the classifier head contains a {type(m).__name__}; the DeconvNet "
                    "projection of a class score handles AdaptiveAvgPool2d, Flatten, Linear, "
                    "ReLU and Dropout only. " + _ADVICE
                )
            if isinstance(m, nn.Linear) and dims == 4 and len(shape) == 2:
                head.append(("flatten", None))  # torch.flatten(x, 1) inside forward()
            head.append((m, shape))
            dims = len(shape) if not isinstance(m, nn.Flatten) else 2
        self._head = head
        return logits

    def forward_with_switches(self, images: torch.Tensor) -> ForwardRecord:
        """Forward pass layer by layer, keeping activations and max-pooling switches.

        The logits are recomputed from the recorded steps and compared with the model's own
        output; a mismatch means ``forward()`` does something the deconvnet cannot replay.
        """
        x = check_input(self.model, images).detach()
        record = ForwardRecord(image_shape=x.shape)
        with model_guard(self.model), torch.no_grad():
            reference = self._trace_head(x)
            a = x
            for i, m in enumerate(self.layers):
                record.inputs.append(a)
                if isinstance(m, nn.Conv2d):
                    a = F.conv2d(a, m.weight, m.bias, m.stride, m.padding, m.dilation, m.groups)
                elif isinstance(m, nn.ReLU):
                    a = F.relu(a)
                else:
                    a, record.switches[i] = F.max_pool2d(
                        a, m.kernel_size, m.stride, m.padding, m.dilation, m.ceil_mode,
                        return_indices=True,
                    )
                record.activations.append(a)
            for step, shape in self._head:
                if shape is not None and tuple(a.shape) != shape:
                    raise UnsupportedArchitectureError(
                        f"{type(step).__name__} of the head receives {shape} in the model but "
                        f"{tuple(a.shape)} when replayed from the recorded modules, so forward() "
                        "does more than a plain VGG between them. " + _ADVICE
                    )
                record.head_inputs.append(a)
                if step == "flatten" or isinstance(step, nn.Flatten):
                    a = a.reshape(a.shape[0], -1)
                elif isinstance(step, nn.AdaptiveAvgPool2d):
                    oh, ow = _adaptive_size(step, a.shape[-2], a.shape[-1])
                    ph = _adaptive_avg_matrix(a.shape[-2], oh, a)
                    pw = _adaptive_avg_matrix(a.shape[-1], ow, a)
                    a = torch.einsum("ih,bchw,jw->bcij", ph, a, pw)
                elif isinstance(step, nn.Linear):
                    a = F.linear(a, step.weight, step.bias)
                elif isinstance(step, nn.ReLU):
                    a = F.relu(a)
                # Dropout: the identity in eval mode
        if a.shape != reference.shape or not torch.allclose(a, reference, rtol=1e-4, atol=1e-4):
            raise UnsupportedArchitectureError(
                "recomputing the logits from model.features and the head modules does not give "
                "the model's output, so forward() does more than a plain VGG between them. "
                + _ADVICE
            )
        record.logits = reference
        self.record = record
        return record

    def _require(self, record: ForwardRecord | None) -> ForwardRecord:
        record = record if record is not None else self.record
        if record is None:
            raise RuntimeError("call forward_with_switches(images) first")
        return record

    def project_steps(
        self, layer_index: int, feature_map: torch.Tensor, record: ForwardRecord | None = None
    ) -> Iterator[tuple[str, str, torch.Tensor]]:
        """Yield ``(layer name, "rectify" | "unpool" | "filter", signal)`` after every stage.

        ``feature_map`` lives at the output of ``features[layer_index]`` and has its shape.
        The last yielded signal is the projection in pixel space.
        """
        record = self._require(record)
        index = self.layer_index(layer_index)
        expected = record.activations[index].shape
        if tuple(feature_map.shape) != tuple(expected):
            raise ValueError(
                f"feature_map must have the shape of the output of {self.names[index]}, "
                f"{tuple(expected)}; got {tuple(feature_map.shape)}"
            )
        r = feature_map
        with torch.no_grad():
            for i in range(index, -1, -1):
                m = self.layers[i]
                size = record.inputs[i].shape
                if isinstance(m, nn.ReLU):
                    r = F.relu(r)
                    yield self.names[i], "rectify", r
                elif isinstance(m, nn.MaxPool2d):
                    r = unpool(r, record.switches[i], m, size)
                    yield self.names[i], "unpool", r
                else:
                    r = _conv_transpose(r, m, size)
                    yield self.names[i], "filter", r

    def project_from(
        self, layer_index: int | str, feature_map: torch.Tensor, record: ForwardRecord | None = None
    ) -> torch.Tensor:
        """Project ``feature_map`` (at the output of that layer) down to pixel space."""
        signal = feature_map
        for _, _, stage in self.project_steps(self.layer_index(layer_index), feature_map, record):
            signal = stage
        return signal

    def head_to_features(self, signal: torch.Tensor, record: ForwardRecord | None = None
                         ) -> torch.Tensor:
        """Take a ``(B, classes)`` signal back through the head to the last feature map."""
        record = self._require(record)
        r = signal
        with torch.no_grad():
            steps = [step for step, _ in self._head]
            for step, inp in zip(reversed(steps), reversed(record.head_inputs), strict=True):
                if step == "flatten" or isinstance(step, nn.Flatten):
                    r = r.reshape(inp.shape)
                elif isinstance(step, nn.AdaptiveAvgPool2d):
                    oh, ow = _adaptive_size(step, inp.shape[-2], inp.shape[-1])
                    ph = _adaptive_avg_matrix(inp.shape[-2], oh, inp)
                    pw = _adaptive_avg_matrix(inp.shape[-1], ow, inp)
                    r = torch.einsum("ih,bcij,jw->bchw", ph, r, pw)
                elif isinstance(step, nn.Linear):
                    r = r @ step.weight
                elif isinstance(step, nn.ReLU):
                    r = F.relu(r)
        return r

    def project_class(
        self,
        target: int | Sequence[int] | torch.Tensor | None = None,
        record: ForwardRecord | None = None,
    ) -> torch.Tensor:
        """Project the class score ``y_c`` (``target``; None = top class) to pixel space."""
        record = self._require(record)
        assert record.logits is not None
        chosen = resolve_target(record.logits, target)
        onehot = F.one_hot(chosen, record.logits.shape[1]).to(record.logits.dtype)
        top = self.head_to_features(onehot, record)
        return self.project_from(len(self.layers) - 1, top, record)


def project(
    model: nn.Module,
    images: torch.Tensor,
    layer: str | int | nn.Module | None = None,
    channel: int | None = None,
    position: tuple[int, int] | str | None = None,
    target: int | Sequence[int] | torch.Tensor | None = None,
) -> torch.Tensor:
    """Zeiler & Fergus DeconvNet projection of ``images`` to pixel space, ``(B, 3, H, W)``.

    ``layer=None`` projects the class score ``target`` (None: the top class) through the head and
    the feature stack. Otherwise the activations of ``layer`` (a name such as ``"features.7"``,
    an index into ``model.features`` or the module) are projected, restricted by ``channel`` and
    ``position`` as in :func:`select_activations`.

    Example::

        p = project(vgg, x, "features.28", channel=10, position="max")
    """
    if layer is None and (channel is not None or position is not None):
        raise ValueError("channel and position select activations of a layer; pass layer= too")
    if layer is not None and target is not None:
        raise ValueError("target selects a class score; it is used only with layer=None")
    deconv = DeconvNet(model)
    index = None if layer is None else deconv.layer_index(layer)
    record = deconv.forward_with_switches(images)
    if index is None:
        return deconv.project_class(target, record)
    chosen = select_activations(record.activations[index], channel, position)
    return deconv.project_from(index, chosen, record)
