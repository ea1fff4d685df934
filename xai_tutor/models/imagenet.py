"""torchvision's ImageNet classifiers (VGG16, ResNet18, ResNet50) with offline-friendly loading.

The weights come from torch's hub cache (``$TORCH_HOME/hub/checkpoints``, by default
``~/.cache/torch/hub/checkpoints``). When the file is not there, a download through torchvision's
weights API is tried only if the weights host answers a 2-second connection probe (or the
environment variable ``XAI_TUTOR_ALLOW_DOWNLOAD=1`` asks for it), so that on a machine without
network the failure is immediate: :class:`WeightsUnavailableError` names the file, the cache
folder and how to get the file.

Weights used (the classic ones of the CAM / Grad-CAM literature): ``VGG16_Weights.IMAGENET1K_V1``,
``ResNet18_Weights.IMAGENET1K_V1``, ``ResNet50_Weights.IMAGENET1K_V1``.

Example::

    >>> from xai_tutor.models.imagenet import weights_path
    >>> weights_path("resnet18").name
    'resnet18-f37072fd.pth'
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import zipfile
from pathlib import Path
from urllib.parse import urlparse

import torch
import torchvision
from torch import nn

__all__ = ["WeightsUnavailableError", "IMAGENET_MODELS", "weights_enum", "weights_path",
           "is_cached", "is_complete", "load_imagenet_model", "imagenet_classes", "probe_host"]


class WeightsUnavailableError(RuntimeError):
    """Pretrained weights that are neither in the local cache nor downloadable right now."""


# name -> (torchvision builder, weights enum member name, default CAM layer)
IMAGENET_MODELS: dict[str, tuple[str, str, str]] = {
    "vgg16": ("vgg16", "VGG16_Weights", "features.29"),
    "resnet18": ("resnet18", "ResNet18_Weights", "layer4"),
    "resnet50": ("resnet50", "ResNet50_Weights", "layer4"),
}


def weights_enum(name: str) -> torchvision.models.WeightsEnum:
    """The torchvision weights entry (``IMAGENET1K_V1``) used for ``name``."""
    _, enum_name, _ = IMAGENET_MODELS[name]
    return getattr(torchvision.models, enum_name).IMAGENET1K_V1


def cache_dir() -> Path:
    """torch's checkpoint cache folder (honours ``TORCH_HOME``)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def weights_path(name: str) -> Path:
    """Where torch keeps (or would keep) the weight file of ``name``."""
    return cache_dir() / os.path.basename(urlparse(weights_enum(name).url).path)


# (path, size, mtime_ns) -> verdict of is_complete, so repeated calls cost one stat()
_COMPLETE: dict[tuple[str, int, int], bool] = {}


def is_complete(path: Path, expected_mib: float | None) -> bool:
    """Cheap check that a cached weight file is whole (not truncated by a broken download).

    The file must hold at least 95 % of the size torchvision records for it (``_file_size``,
    in MiB) and be either in torch's zip format and end with the zip's central directory (a
    truncated zip does not), or in torch's legacy format (a pickle: first byte 0x80). The
    answer is cached per (path, size, modification time).
    """
    try:
        stat = path.stat()
    except OSError:
        return False
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _COMPLETE:
        ok = expected_mib is None or stat.st_size >= 0.95 * expected_mib * 2**20
        if ok:
            with open(path, "rb") as fh:
                head = fh.read(4)
            ok = zipfile.is_zipfile(path) if head == b"PK\x03\x04" else head[:1] == b"\x80"
        _COMPLETE[key] = ok
    return _COMPLETE[key]


def is_cached(name: str) -> bool:
    """True when the weight file of ``name`` is in the cache and whole (no network used)."""
    path = weights_path(name)
    return path.is_file() and is_complete(path, weights_enum(name).meta.get("_file_size"))


def probe_host(url: str, timeout: float = 2.0) -> bool:
    """True when a TCP connection to the host of ``url`` opens within ``timeout`` seconds.

    Name resolution can block far longer than a socket timeout, so the probe runs in a daemon
    thread that is abandoned after ``timeout`` (+0.5 s).
    """
    parsed = urlparse(url)
    host, port = parsed.hostname, parsed.port or (443 if parsed.scheme == "https" else 80)
    result: list[bool] = []

    def attempt() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(timeout + 0.5)
    return bool(result and result[0])


def _unavailable(name: str, reason: str) -> WeightsUnavailableError:
    url = weights_enum(name).url
    return WeightsUnavailableError(
        f"ImageNet weights for {name!r} are not available: {reason}.\n"
        f"  file:   {weights_path(name).name}\n"
        f"  folder: {cache_dir()}  (set TORCH_HOME to use another cache)\n"
        f"  get it: on a machine with internet run\n"
        f"    python -c \"import torchvision; torchvision.models.{IMAGENET_MODELS[name][0]}"
        f"(weights='IMAGENET1K_V1')\"\n"
        f"  or download {url} into that folder. The offline course models "
        f"(tiny_vgg, tiny_resnet, efficientnet_lite0) need no download."
    )


_ANNOUNCED: set[str] = set()
_LABELS = {"vgg16": "VGG16", "resnet18": "ResNet18", "resnet50": "ResNet50"}


def announce(name: str, cached: bool) -> None:
    """Say, once per process and model, which weight file is loaded (or downloaded) and how big.

    Loading VGG16's 528 MB takes seconds on a laptop; a download shows torch's progress bar too.
    The line goes to stderr, as torch's own download messages do.
    """
    if name in _ANNOUNCED:
        return
    _ANNOUNCED.add(name)
    path = weights_path(name)
    if cached:
        size = path.stat().st_size / 1e6
        line = f"Loading {_LABELS[name]} ImageNet weights ({size:.0f} MB) from {path}"
    else:
        line = f"Downloading {_LABELS[name]} ImageNet weights to {path}"
    print(line, file=sys.stderr, flush=True)


def load_imagenet_model(name: str) -> nn.Module:
    """Build torchvision's ``name`` with ImageNet weights from the cache, downloading if possible.

    Raises :class:`WeightsUnavailableError` (within a few seconds) when the file is not cached
    and the weights host cannot be reached.
    """
    weights = weights_enum(name)
    path = weights_path(name)
    cached = is_cached(name)
    if path.is_file() and not cached:
        raise _unavailable(name, f"the cached file {path} is incomplete or damaged "
                                 f"({path.stat().st_size} bytes); delete it and download again")
    if not cached:
        forced = os.environ.get("XAI_TUTOR_ALLOW_DOWNLOAD", "") == "1"
        if not forced and not probe_host(weights.url):
            raise _unavailable(name, "not in the cache and the download host is unreachable "
                                     "(set XAI_TUTOR_ALLOW_DOWNLOAD=1 to try anyway)")
    builder = getattr(torchvision.models, IMAGENET_MODELS[name][0])
    announce(name, cached)
    try:
        model = builder(weights=weights)
    except (OSError, RuntimeError) as err:  # URLError is an OSError; bad/partial files RuntimeError
        raise _unavailable(name, f"loading or downloading failed ({err})") from err
    return model.eval()


def imagenet_classes() -> list[str]:
    """The 1000 ImageNet class names in torchvision's index order (no download needed).

    >>> imagenet_classes()[130]
    'flamingo'
    """
    return list(torchvision.models.ResNet18_Weights.IMAGENET1K_V1.meta["categories"])
