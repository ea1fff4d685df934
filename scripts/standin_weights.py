"""Write stand-in ImageNet weights for VGG16, ResNet18 and ResNet50 into a TORCH_HOME folder.

The files are seeded *random* weights of the right shapes, saved under the file names of
torchvision's ``IMAGENET1K_V1`` weights in ``DIR/hub/checkpoints``. torchvision checks a file's
hash only while downloading it, so with ``TORCH_HOME=DIR`` these load exactly as the real ones
would: the whole ImageNet path of the course (model choice, notebooks, explorer, experiment) can
be tested on a machine without the real weights and without network. Their predictions are
meaningless (random classes); shapes, identities and run times are those of the real models.

Only for tests: the files are generated at test time (``make test``, ``tests/conftest.py``) into
a temporary folder, never committed or shipped.

Usage::

    python scripts/standin_weights.py DIR            # then TORCH_HOME=DIR XAI_TUTOR_MODELS=imagenet
    python scripts/standin_weights.py DIR --force    # overwrite existing files
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from urllib.parse import urlparse

import torch
import torchvision

from xai_tutor.atomic import atomic_write

# torchvision builder -> weights enum, the ``IMAGENET1K_V1`` weights the course uses
MODELS: dict[str, str] = {
    "vgg16": "VGG16_Weights",
    "resnet18": "ResNet18_Weights",
    "resnet50": "ResNet50_Weights",
}
SEED = 0


def file_name(name: str) -> str:
    """torchvision's file name of ``name``'s ``IMAGENET1K_V1`` weights (``vgg16-397923af.pth``)."""
    url = getattr(torchvision.models, MODELS[name]).IMAGENET1K_V1.url
    return os.path.basename(urlparse(url).path)


def standin_state(name: str, seed: int = SEED) -> dict[str, torch.Tensor]:
    """Seeded random weights of torchvision's ``name`` (its own initialisation)."""
    torch.manual_seed(seed + sorted(MODELS).index(name))
    return getattr(torchvision.models, name)(weights=None).state_dict()


def write_standin_weights(torch_home: str | Path, force: bool = False,
                          names: tuple[str, ...] = tuple(MODELS)) -> list[Path]:
    """Write the stand-in files into ``torch_home/hub/checkpoints``; return their paths.

    Existing files are kept unless ``force`` (each file is written to a temporary name in the
    same folder and renamed, so a reader never sees half a file).
    """
    folder = Path(torch_home) / "hub" / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names:
        path = folder / file_name(name)
        paths.append(path)
        if path.exists() and not force:
            continue
        atomic_write(path, lambda fh, n=name: torch.save(standin_state(n), fh))
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dir", help="the TORCH_HOME folder to fill")
    parser.add_argument("--force", action="store_true", help="overwrite existing files")
    args = parser.parse_args(argv)
    for path in write_standin_weights(args.dir, force=args.force):
        print(f"stand-in weights: {path} ({path.stat().st_size / 2**20:.0f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
