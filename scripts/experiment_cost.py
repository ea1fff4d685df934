"""Print the expected run time of ``xai-tutor experiment`` for the ImageNet trio, per preset.

The ImageNet weights cannot be downloaded here, so the models are torchvision's VGG16, ResNet18
and ResNet50 with seeded random weights: the same shapes, hence the same cost per call as the
real weights. The numbers are the experiment's own probe-based estimate (the table the command
prints before a run, :mod:`xai_tutor.experiment.estimate`), not a measured run::

    python scripts/experiment_cost.py                 # default and quick presets
    python scripts/experiment_cost.py --preset quick
"""

from __future__ import annotations

import argparse

import torch
import torchvision

from xai_tutor.experiment import PRESETS, spec
from xai_tutor.experiment.estimate import estimate_run


def stand_in_trio() -> dict[str, torch.nn.Module]:
    torch.manual_seed(0)
    return {name: getattr(torchvision.models, name)(weights=None).eval()
            for name in ("vgg16", "resnet18", "resnet50")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", choices=list(PRESETS), nargs="+", default=list(PRESETS))
    args = parser.parse_args()
    models = stand_in_trio()
    for name in args.preset:
        preset = PRESETS[name]
        scene = spec.make_scenes(preset.kinds[:1], 0, preset.size, preset.seed)[0][1]
        est = estimate_run(models, preset, scene)
        print(f"## --preset {name} ({torch.get_num_threads()} threads), ImageNet trio with "
              "stand-in weights")
        print(est.table())
        print()


if __name__ == "__main__":
    main()
