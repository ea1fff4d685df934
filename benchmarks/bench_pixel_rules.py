"""Guided backprop and DeconvNet against captum and against their floor, interleaved in one process.

The floor of both methods is one plain gradient pass (forward + backward to the input): they
change only what each ReLU passes back. On a shared CPU, separate processes measured minutes apart
see different loads, so this benchmark runs, for each model and image size, the floor, ours and
captum's one after the other in rounds (the same load hits all three alike) and reports the
median and the fastest call of each, and the ratios ``ours / floor`` and ``captum / ours``
(speed-up) from both. Random-weight torchvision models (``torch.manual_seed(0)``), one image,
the top class; captum's attributions are checked to equal ours (relative L2 <= 1e-4).

Usage::

    python benchmarks/bench_pixel_rules.py                      # resnet18/50 at 112 and 224 px
    python benchmarks/bench_pixel_rules.py --threads 2 --rounds 7 --configs resnet50@224
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings

MALLOC_VARS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")
METHODS = {"guided_backprop": "GuidedBackprop", "deconvnet": "Deconvolution"}


def _case(model_name: str, size: int, rounds: int) -> list[dict]:
    import torch
    import torchvision
    from captum.attr import Deconvolution, GuidedBackprop

    import xai_tutor

    torch.manual_seed(0)
    model = getattr(torchvision.models, model_name)(weights=None).eval()
    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        target = int(model(x).argmax())

    def floor() -> None:
        xg = x.clone().requires_grad_(True)
        torch.autograd.grad(model(xg)[:, target].sum(), xg)

    peers = {"guided_backprop": GuidedBackprop(model), "deconvnet": Deconvolution(model)}
    calls = {"floor": floor}
    for method, peer in peers.items():
        calls[method] = (lambda m=method: xai_tutor.explain(model, x, m, target=target).attribution)
        calls[f"captum {method}"] = (lambda p=peer: p.attribute(x.clone(), target=target))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        agree = {}
        for method in peers:  # warm-up, and the agreement
            ours, theirs = calls[method]().detach(), calls[f"captum {method}"]().detach()
            agree[method] = float((ours - theirs).norm() / theirs.norm())
        floor()
        times: dict[str, list[float]] = {k: [] for k in calls}
        for _ in range(rounds):
            for key, call in calls.items():
                start = time.perf_counter()
                call()
                times[key].append(time.perf_counter() - start)
    rows = []
    for method in peers:
        ours, peer, base = times[method], times[f"captum {method}"], times["floor"]
        med = {k: statistics.median(v) for k, v in (("o", ours), ("p", peer), ("f", base))}
        low = {k: min(v) for k, v in (("o", ours), ("p", peer), ("f", base))}
        rows.append({"config": f"{model_name}@{size}", "method": method, "ours": med["o"],
                     "captum": med["p"], "floor": med["f"], "ours/floor": med["o"] / med["f"],
                     "speed-up": med["p"] / med["o"], "min ours/floor": low["o"] / low["f"],
                     "min speed-up": low["p"] / low["o"], "rel L2": agree[method]})
    return rows


COLUMNS = ["config", "method", "ours", "captum", "floor", "ours/floor", "speed-up",
           "min ours/floor", "min speed-up", "rel L2"]


def _cells(row: dict) -> list[str]:
    out = [row["config"], row["method"]]
    out += [f"{row[k] * 1000:.1f} ms" for k in ("ours", "captum", "floor")]
    out += [f"{row['ours/floor']:.2f}", f"{row['speed-up']:.2f}x", f"{row['min ours/floor']:.2f}",
            f"{row['min speed-up']:.2f}x", f"{row['rel L2']:.1e}"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", default="resnet18@112,resnet18@224,resnet50@112,resnet50@224")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5, help="timed calls of each, interleaved")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    malloc = ", ".join(f"{k}={os.environ[k]}" for k in MALLOC_VARS if k in os.environ)
    print(f"# CPU, torch {torch.__version__}, {args.threads} threads, {os.cpu_count()} cores, "
          f"{args.rounds} interleaved rounds, load average {os.getloadavg()[0]:.1f}, malloc: "
          f"{malloc or 'glibc defaults'}", flush=True)
    print("| " + " | ".join(COLUMNS) + " |")
    print("|" + "|".join("---" if i < 2 else "---:" for i in range(len(COLUMNS))) + "|", flush=True)
    for item in args.configs.split(","):
        model_name, _, size = item.partition("@")
        for row in _case(model_name, int(size), args.rounds):
            print("| " + " | ".join(_cells(row)) + " |", flush=True)
    print(f"# load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
