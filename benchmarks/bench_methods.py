"""Speed, memory and agreement of the CAM family against pytorch-grad-cam.

Every case (method x implementation x model) runs in a fresh subprocess, so that the peak
resident memory it reports (``ru_maxrss`` after the call minus ``ru_maxrss`` after building the
model and running one plain forward pass) belongs to that case alone. All cases of one run use
the same machine, the same random-weight torchvision model (``torch.manual_seed(0)``), the same
224 x 224 image and batch 1, on the CPU.

Columns: ``ours`` / ``grad-cam`` median wall time, ``speed-up`` = grad-cam / ours, ``floor`` =
the unavoidable work of the method (one forward pass; forward + backward to the layer; forward +
backward to the input for FullGrad; ``C`` batched forward passes of masked images for Score-CAM;
``n`` forward + backward passes for Smooth Grad-CAM++), ``ours/floor``, ``equal`` = saliency maps
allclose (atol 1e-4), and the two memory deltas.

``--quick``: one timed call for slow cases; grad-cam's Ablation-CAM and Score-CAM (minutes
each on ResNet50) and our Score-CAM are timed on two channel subsets (32 and 96 channels) and
extrapolated linearly to all channels (marked ``~``); their agreement is then checked on a small
stand-in model at full length (ResNet18 / VGG11 at 64 x 64, marked ``*``), since a subset gives
no full map. The Score-CAM floor is extrapolated from 3 batches of 32 in quick mode.

Usage::

    python benchmarks/bench_methods.py --quick
    python benchmarks/bench_methods.py --methods gradcam,fullgrad --models resnet50
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

METHODS = ["cam", "gradcam", "xgradcam", "gradcampp", "smoothgradcampp", "fullgrad",
           "ablationcam", "scorecam"]
MODELS = {"resnet50": "layer4", "vgg16": "features.29"}
STAND_IN = {"resnet50": ("resnet18", "layer4"), "vgg16": ("vgg11", "features.19")}
# our parameters chosen to match the peer's variant, and the peer's class name
OURS = {
    "cam": {"relu": True},
    "gradcam": {},
    "xgradcam": {"variant": "grad-cam"},
    "gradcampp": {"variant": "grad-cam"},
    "smoothgradcampp": {"n": 8, "batch_size": 8, "progress": False},
    "fullgrad": {"variant": "channel"},
    "ablationcam": {"progress": False},
    "scorecam": {"variant": "channel_softmax", "progress": False},
}
PEERS = {"gradcam": "GradCAM", "xgradcam": "XGradCAM", "gradcampp": "GradCAMPlusPlus",
         "fullgrad": "FullGrad", "ablationcam": "AblationCAM", "scorecam": "ScoreCAM"}
SLOW_PEERS = {"ablationcam", "scorecam"}
NO_GAP_HEAD = {"vgg16"}  # VGG's head is flatten + three linear layers: CAM does not apply


# --------------------------------------------------------------------------- one case (child)

def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


def _setup(model_name: str, size: int):
    import torch
    import torchvision

    torch.manual_seed(0)
    model = getattr(torchvision.models, model_name)(weights=None).eval()
    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        target = int(model(x).argmax())
    return model, x, target


def _floor_fn(kind: str, model, x, layer: str, target: int, quick: bool):
    """A callable doing the method's unavoidable work; returns an extrapolation factor."""
    import torch

    from xai_tutor.hooks import capture

    if kind == "forward":
        def run():
            with torch.no_grad():
                model(x)
        return run, 1.0
    if kind == "backward_layer":
        def run():
            with capture(model, layer) as cap:
                y = model(x)[0, target]
                torch.autograd.grad(y, cap.activation)
        return run, 1.0
    if kind.startswith("backward_layer_x"):
        n = int(kind.rsplit("x", 1)[1])
        xb = x.repeat(n, 1, 1, 1)

        def run():
            with capture(model, layer) as cap:
                y = model(xb)[:, target].sum()
                torch.autograd.grad(y, cap.activation)
        return run, 1.0
    if kind == "backward_input":
        def run():
            xg = x.clone().requires_grad_(True)
            torch.autograd.grad(model(xg)[0, target], xg)
        return run, 1.0
    if kind.startswith("batched_forwards"):
        batch = 32
        with torch.no_grad(), capture(model, layer) as cap:
            model(x)
        channels = cap.activation.shape[1]
        batches = -(-channels // batch)
        timed = min(batches, 3) if quick else batches
        xb = x.repeat(batch, 1, 1, 1)

        def run():
            with torch.no_grad():
                for _ in range(timed):
                    model(xb)
        return run, batches / timed
    raise ValueError(kind)


def _peer_fn(method: str, model, x, layer: str, target: int, subset: int | None):
    import numpy as np
    import pytorch_grad_cam as gc
    from pytorch_grad_cam.ablation_layer import AblationLayer
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    module = dict(model.named_modules())[layer]
    targets = [ClassifierOutputTarget(target)]
    cls = getattr(gc, PEERS[method])
    kwargs = {}
    if subset is not None and method == "ablationcam":
        class SubsetAblation(AblationLayer):
            def activations_to_be_ablated(self, activations, ratio_channels_to_ablate=1.0):
                self.indices = np.int32(range(subset))
                return self.indices

        kwargs["ablation_layer"] = SubsetAblation()
    if subset is not None and method == "scorecam":
        class SubsetScoreCAM(gc.ScoreCAM):
            def get_cam_weights(self, input_tensor, target_layer, targets, activations, grads):
                part = super().get_cam_weights(input_tensor, target_layer, targets,
                                               activations[:, :subset], grads)
                full = np.zeros(activations.shape[:2], dtype=part.dtype)
                full[:, :subset] = part
                return full

        cls = SubsetScoreCAM
    layers = [] if method == "fullgrad" else [module]

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with cls(model, layers, **kwargs) as extractor:
                return extractor(x, targets=targets)
    return run


def run_case(spec: dict) -> dict:
    import numpy as np
    import torch

    if spec.get("threads"):
        torch.set_num_threads(spec["threads"])

    model_name, layer = spec["model"], spec["layer"]
    model, x, target = _setup(model_name, spec["size"])
    with torch.no_grad():
        model(x)
    base = _rss_mb()
    factor = 1.0
    if spec["impl"] == "ours":
        import xai_tutor

        params = dict(OURS[spec["method"]])
        if spec.get("subset_jobs"):  # quick mode: only the first batches of masked images
            from xai_tutor.methods.cam import scorecam as module

            jobs = spec["subset_jobs"]
            module.progress_bar = lambda items, *args, **kwargs: list(items)[:jobs]
        use_layer = None if spec["method"] == "fullgrad" else layer

        def fn():
            return xai_tutor.explain(model, x, spec["method"], target=target, layer=use_layer,
                                     **params).saliency.numpy()
    elif spec["impl"] == "peer":
        fn = _peer_fn(spec["method"], model, x, layer, target, spec.get("subset"))
    else:
        fn, factor = _floor_fn(spec["floor"], model, x, layer, target, spec["quick"])
    times = []
    start = time.perf_counter()
    out = fn()
    times.append(time.perf_counter() - start)
    peak = _rss_mb() - base
    for _ in range(spec["repeats"] - 1):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    if spec.get("save") and out is not None:
        np.save(spec["save"], np.asarray(out, dtype=np.float32))
    timed = times[1:] if len(times) > 1 else times
    return {"time": statistics.median(timed) * factor, "mem_mb": peak}


# --------------------------------------------------------------------------- driver (parent)

def _spawn(spec: dict) -> dict:
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    proc = subprocess.run([sys.executable, __file__, "--case", json.dumps(spec)],
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"case {spec} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


FLOORS = {"cam": "forward", "gradcam": "backward_layer", "xgradcam": "backward_layer",
          "gradcampp": "backward_layer", "smoothgradcampp": "backward_layer_x8",
          "fullgrad": "backward_input", "ablationcam": "forward",
          "scorecam": "batched_forwards"}


def _channels(model: str, layer: str) -> int:
    return 2048 if model == "resnet50" else 512


def bench(methods: list[str], models: list[str], quick: bool, size: int, threads: int | None,
          log) -> list[dict]:
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="bench_cam_"))
    for model in models:
        layer = MODELS[model]
        for method in methods:
            if method == "cam" and model in NO_GAP_HEAD:
                log(f"{model:9s} {method:16s} (not applicable: no GAP + linear head)")
                continue
            slow = method in {"scorecam", "smoothgradcampp"}
            repeats = 1 if (quick and slow) else (3 if quick else 5)
            common = {"model": model, "layer": layer, "method": method, "size": size,
                      "quick": quick, "repeats": repeats, "threads": threads}
            ours_path = str(tmp / f"{model}_{method}_ours.npy")
            channels = _channels(model, layer)
            if quick and method == "scorecam":  # 1 and 3 batches of 32 masks, extrapolated
                a = _spawn({**common, "impl": "ours", "subset_jobs": 1})
                b = _spawn({**common, "impl": "ours", "subset_jobs": 3})
                per = (b["time"] - a["time"]) / 64
                ours = {"time": a["time"] + per * (channels - 32),
                        "mem_mb": max(a["mem_mb"], b["mem_mb"])}
            else:
                ours = _spawn({**common, "impl": "ours", "save": ours_path})
            floor = _spawn({**common, "impl": "floor", "floor": FLOORS[method],
                            "repeats": 1 if (quick and slow) else repeats})
            row = {"model": model, "method": method, "ours": ours["time"],
                   "ours_mb": ours["mem_mb"], "floor": floor["time"], "peer": None,
                   "peer_mb": None, "equal": None, "note": ""}
            if method in PEERS:
                if quick and method in SLOW_PEERS:
                    step = 32
                    a = _spawn({**common, "impl": "peer", "subset": step, "repeats": 1})
                    b = _spawn({**common, "impl": "peer", "subset": 3 * step, "repeats": 1})
                    per = (b["time"] - a["time"]) / (2 * step)
                    row["peer"] = a["time"] + per * (channels - step)
                    row["peer_mb"] = max(a["mem_mb"], b["mem_mb"])
                    row["note"] = f"~extrapolated from {step}/{3 * step} channels"
                    if method == "scorecam":
                        row["note"] = "~ours and " + row["note"]
                    row["equal"] = _check_small(model, method, tmp, threads)
                    row["note"] += "; equality on " + "@".join(
                        [STAND_IN[model][0], "64px*"])
                else:
                    peer_path = str(tmp / f"{model}_{method}_peer.npy")
                    p = _spawn({**common, "impl": "peer", "save": peer_path,
                                "repeats": 1 if method in SLOW_PEERS else repeats})
                    row["peer"], row["peer_mb"] = p["time"], p["mem_mb"]
                    row["equal"] = _allclose(ours_path, peer_path)
            rows.append(row)
            log(_format_row(row))
    return rows


def _allclose(a: str, b: str) -> str:
    import numpy as np

    x, y = np.load(a), np.load(b)
    diff = float(np.abs(x - y).max())
    return f"{'yes' if diff <= 1e-4 else 'NO'} ({diff:.1e})"


def _check_small(model: str, method: str, tmp: Path, threads: int | None) -> str:
    small, layer = STAND_IN[model]
    common = {"model": small, "layer": layer, "method": method, "size": 64, "quick": True,
              "repeats": 1, "threads": threads}
    a, b = str(tmp / f"{small}_{method}_ours.npy"), str(tmp / f"{small}_{method}_peer.npy")
    _spawn({**common, "impl": "ours", "save": a})
    _spawn({**common, "impl": "peer", "save": b})
    return _allclose(a, b) + "*"


HEADER = (f"{'model':9s} {'method':16s} {'ours s':>8s} {'grad-cam s':>11s} {'speed-up':>9s} "
          f"{'floor s':>8s} {'ours/floor':>10s} {'ours MB':>8s} {'peer MB':>8s}  equal / note")


def _format_row(r: dict) -> str:
    peer = "-" if r["peer"] is None else f"{r['peer']:.2f}"
    if r["peer"] is not None and r["note"].startswith("~"):
        peer = "~" + peer
    speed = "-" if r["peer"] is None else f"{r['peer'] / r['ours']:.1f}x"
    ratio = f"{r['ours'] / r['floor']:.2f}"
    ours = f"{r['ours']:.2f}"
    if r["note"].startswith("~ours"):
        ours = "~" + ours
    pmb = "-" if r["peer_mb"] is None else f"{r['peer_mb']:.0f}"
    note = " ".join(s for s in [r["equal"] or "", r["note"]] if s)
    return (f"{r['model']:9s} {r['method']:16s} {ours:>8s} {peer:>11s} {speed:>9s} "
            f"{r['floor']:8.2f} {ratio:>10s} {r['ours_mb']:8.0f} {pmb:>8s}  {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer repeats; slow peers timed on channel subsets, extrapolated")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--threads", type=int, help="torch threads per case (default: torch's)")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(json.loads(args.case))))
        return
    methods = [m for m in args.methods.split(",") if m]
    models = [m for m in args.models.split(",") if m]
    for m in methods:
        if m not in METHODS:
            parser.error(f"unknown method {m!r}; choose from {', '.join(METHODS)}")
    for m in models:
        if m not in MODELS:
            parser.error(f"unknown model {m!r}; choose from {', '.join(MODELS)}")
    import torch

    threads = args.threads or torch.get_num_threads()
    print(f"# CPU, torch {torch.__version__}, {threads} threads, "
          f"{os.cpu_count()} cores, {args.size}x{args.size}, batch 1, "
          f"{'quick' if args.quick else 'full'} mode", flush=True)
    print(HEADER, flush=True)
    rows = bench(methods, models, args.quick, args.size, args.threads,
                 lambda s: print(s, flush=True))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
