"""What xai_tutor adds around Grad-CAM: its time against the bare work, with and without ``.grad``.

An earlier measurement on a GPU found that Grad-CAM took 2-3x longer once a training step had left
``.grad`` on the parameters. The bare work of Grad-CAM is one forward pass and one backward pass
from the target logit to the layer; ``floor`` below does exactly that with a plain forward hook
(no xai_tutor code). ``ratio`` = Grad-CAM / floor, target <= 1.2 at batch 1 and 16, both with
fresh parameters (``.grad`` None) and after ``model(x).sum().backward()`` has left ``.grad`` on
every parameter. Each time is the median of ``--repeats`` calls after one warm-up call, ours and
the floor alternating, so that load from other processes hits both alike.

Usage::

    python benchmarks/bench_guard.py                       # ResNet50, 224 px, CPU
    python benchmarks/bench_guard.py --device cuda --repeats 50
    python benchmarks/bench_guard.py --model resnet18 --size 112 --batches 1,4
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torchvision

import xai_tutor
from xai_tutor.hooks import find_layer

LAYERS = {"resnet50": "layer4", "resnet18": "layer4", "vgg16": "features.29",
          "vgg11": "features.19"}


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def floor_fn(model: torch.nn.Module, layer: str, x: torch.Tensor, target: int):
    """Forward + backward from the target logit to the layer, with a bare forward hook."""
    module = find_layer(model, layer)[1]
    store = {}

    def hook(_m, _i, out):
        store["a"] = out

    def run():
        handle = module.register_forward_hook(hook)
        try:
            y = model(x)[:, target].sum()
            torch.autograd.grad(y, store["a"])
        finally:
            handle.remove()

    return run


def timed(fns: dict, repeats: int, device: str) -> dict[str, float]:
    times: dict[str, list[float]] = {k: [] for k in fns}
    for fn in fns.values():  # warm-up
        fn()
    _sync(device)
    for _ in range(repeats):
        for key, fn in fns.items():
            start = time.perf_counter()
            fn()
            _sync(device)
            times[key].append(time.perf_counter() - start)
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="resnet50", choices=sorted(LAYERS))
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batches", default="1,16")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("--device cuda asked for, but torch sees no CUDA device")
    torch.manual_seed(0)
    model = getattr(torchvision.models, args.model)(weights=None).eval().to(args.device)
    layer = LAYERS[args.model]
    where = torch.cuda.get_device_name() if args.device.startswith("cuda") else "CPU"
    print(f"# {where}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{args.model} {args.size}x{args.size}, layer {layer}, median of {args.repeats}")
    print(f"{'batch':>5} {'.grad':>8} {'gradcam s':>10} {'floor s':>9} {'ratio':>6}")
    for batch in [int(b) for b in args.batches.split(",")]:
        x = torch.randn(batch, 3, args.size, args.size, device=args.device,
                        generator=torch.Generator().manual_seed(1)) if args.device == "cpu" \
            else torch.randn(batch, 3, args.size, args.size).to(args.device)
        with torch.no_grad():
            target = int(model(x[:1]).argmax())
        for state in ("none", "present"):
            model.zero_grad(set_to_none=True)
            if state == "present":
                model(x).sum().backward()
            fns = {
                "ours": lambda x=x, target=target: xai_tutor.explain(
                    model, x, "gradcam", target=target, layer=layer),
                "floor": floor_fn(model, layer, x, target),
            }
            t = timed(fns, args.repeats, args.device)
            print(f"{batch:>5} {state:>8} {t['ours']:>10.4f} {t['floor']:>9.4f} "
                  f"{t['ours'] / t['floor']:>6.2f}", flush=True)


if __name__ == "__main__":
    main()
