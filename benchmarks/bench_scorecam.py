"""Score-CAM against pytorch-grad-cam's ScoreCAM, interleaved in one process (noisy machines).

``bench_methods.py`` times every case once, in its own subprocess; on a loaded machine one
Score-CAM call can take twice as long as the next, so its ratios can be off by 2x. Here ours
(``variant="channel_softmax"``, whose output equals grad-cam's) and grad-cam's run alternately,
``--repeats`` times each, in one process with the same model and image; the table gives each
one's minimum and median and the ratio of the minima (peer / ours), and checks the saliency
maps agree (max |diff| <= 1e-4).

Usage::

    python benchmarks/bench_scorecam.py --configs resnet18@224,resnet18@112,vgg11@112
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
import torch
import torchvision

import xai_tutor

LAYERS = {"resnet18": "layer4", "resnet50": "layer4", "vgg11": "features.19",
          "vgg16": "features.29"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", default="resnet18@224,resnet18@112,vgg11@112")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import pytorch_grad_cam as gc
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    torch.set_num_threads(args.threads)
    print(f"# CPU, torch {torch.__version__}, {args.threads} threads, interleaved, "
          f"{args.repeats} calls each")
    print(f"{'config':14s} {'ours min':>9} {'ours med':>9} {'peer min':>9} {'peer med':>9} "
          f"{'speed-up':>8}  agreement")
    for item in args.configs.split(","):
        name, _, size = item.partition("@")
        torch.manual_seed(0)
        model = getattr(torchvision.models, name)(weights=None).eval()
        layer = LAYERS[name]
        x = torch.randn(1, 3, int(size), int(size), generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            target = int(model(x).argmax())
        module = dict(model.named_modules())[layer]
        times: dict[str, list[float]] = {"ours": [], "peer": []}
        out = {}
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            e = xai_tutor.explain(model, x, "scorecam", target=target, layer=layer,
                                  variant="channel_softmax", progress=False)
            times["ours"].append(time.perf_counter() - t0)
            out["ours"] = e.saliency.numpy()
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with gc.ScoreCAM(model, [module]) as cam:
                    out["peer"] = cam(x, targets=[ClassifierOutputTarget(target)])
            times["peer"].append(time.perf_counter() - t0)
        diff = float(np.abs(out["ours"] - out["peer"]).max())
        ours, peer = min(times["ours"]), min(times["peer"])
        print(f"{item:14s} {ours:9.2f} {statistics.median(times['ours']):9.2f} {peer:9.2f} "
              f"{statistics.median(times['peer']):9.2f} {peer / ours:7.2f}x  "
              f"{'yes' if diff <= 1e-4 else 'NO'} (max {diff:.1e}); batch {e.params['batch']}",
              flush=True)


if __name__ == "__main__":
    main()
