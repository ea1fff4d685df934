"""Speed, memory and agreement of xai_tutor's methods against the peer libraries.

Peers (test/benchmark-only imports, never used by ``xai_tutor``): pytorch-grad-cam and torchcam
for the CAM family, captum for the pixel methods (gradient, guided backprop, DeconvNet), zennit
for LRP.

Every case (method x implementation x model) runs in a fresh subprocess, so that the peak
resident memory it reports (``ru_maxrss`` after the call minus ``ru_maxrss`` after building the
model and running one plain forward pass) belongs to that case alone. All cases of one run use
the same machine, the same random-weight torchvision model (``torch.manual_seed(0)``), the same
images (224 x 224 and batch 1 by default) and the same device.

Columns: ``ours`` / ``peer`` median wall time (after one untimed warm-up call; 3 (quick) or 5
calls, more for fast cases until 2 s (quick) or 5 s are timed, at most 30), ``speed-up`` =
peer / ours, ``floor`` = the unavoidable work of the method (one forward pass for CAM /
Ablation-CAM; forward + backward to the layer for the gradient CAMs; forward + backward to the
input for FullGrad, the pixel methods and LRP, i.e. one gradient pass; ``C`` forward passes of
masked images for Score-CAM, batched as Score-CAM batches them on that device and image size
(:func:`xai_tutor.methods.cam.scorecam.auto_batch`); ``n`` forward + backward passes for Smooth
Grad-CAM++),
``ours/floor``, the two memory deltas and the agreement:

* grad-cam: saliency maps (224 x 224, min-max scaled) allclose, max |diff| <= 1e-4;
* torchcam: returns feature-map resolution, so our attribution is min-max scaled at feature-map
  resolution and compared, max |diff| <= 1e-4; ``n/a (known bug)`` where tests/methods pin a
  torchcam bug (Grad-CAM++ never divides alpha; Smooth Grad-CAM++ weights the last noisy pass);
* captum / zennit: raw signed attributions, relative L2 ``|a - b| / |b|`` <= 1e-4 (pixel methods,
  LRP on VGG16) or <= 1e-3 (LRP on ResNet50: zennit's BatchNorm canonizer keeps
  ``x / sqrt(1 + eps)``; tests measured ~1e-7 on VGG16, ~5e-6 on ResNet18).

LRP composites: ``epsilon_gamma_box`` on VGG16 vs zennit ``EpsilonGammaBox`` and ``epsilon_plus``
on ResNet50 vs zennit's epsilon / z+ layer map with a zB first layer and its ``ResNetCanonizer``;
zB bounds are the ImageNet-normalised [0, 1] box; epsilon = stabilizer = 1e-6.

``--quick``: fewer repeats; grad-cam's Ablation-CAM and Score-CAM (minutes each on ResNet50) and
our Score-CAM are timed on two channel subsets (32 and 96 channels) and extrapolated linearly to
all channels (marked ``~``); their agreement is then checked on a small stand-in model at full
length (ResNet18 / VGG11 at 64 x 64, marked ``*``), since a subset gives no full map. The
Score-CAM floor is extrapolated from 12 batches of 8 in quick mode; torchcam's Score-CAM is only
run in full mode. Slow cases (Score-CAM, Ablation-CAM's peer, ...) are timed once in either mode.

``--configs resnet18@224,resnet18@112,vgg11@112`` runs several models at their own image sizes
(default: every ``--models`` at ``--size``). ``--device cuda`` runs every case on the GPU (the
memory columns are then ``torch.cuda.max_memory_allocated`` deltas, times are taken after
``torch.cuda.synchronize()``), with ``--batches 1,16`` by default; with a batch of ``B`` images
every image is explained for the first image's top class.

Run it through ``make benchmark`` (or export the two ``MALLOC_*`` variables of the Makefile
yourself): they change the time of every case, ours and the peers' alike; the header line says
which allocator settings were in force.

Usage::

    python benchmarks/bench_methods.py --quick
    python benchmarks/bench_methods.py --methods gradcam,fullgrad --models resnet50
    python benchmarks/bench_methods.py --methods lrp,gradient --peers zennit,captum \\
        --json rows.json --markdown rows.md
    python benchmarks/bench_methods.py --methods scorecam --peers grad-cam \\
        --configs resnet18@224,resnet18@112,vgg11@112
    python benchmarks/bench_methods.py --device cuda --quick      # batch 1 and 16 on a GPU
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
from dataclasses import dataclass, field
from pathlib import Path

# glibc malloc tuning that `make benchmark` exports (see the Makefile); printed in the header
MALLOC_VARS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")

MODELS = {"resnet50": "layer4", "vgg16": "features.29", "resnet18": "layer4",
          "vgg11": "features.19"}
DEFAULT_MODELS = ["resnet50", "vgg16"]
STAND_IN = {"resnet50": ("resnet18", "layer4"), "vgg16": ("vgg11", "features.19"),
            "resnet18": ("resnet18", "layer4"), "vgg11": ("vgg11", "features.19")}
NO_GAP_HEAD = {"vgg16", "vgg11"}  # VGG's head is flatten + three linear layers: CAM does not apply
LRP_COMPOSITE = {"vgg16": "epsilon_gamma_box", "resnet50": "epsilon_plus",
                 "vgg11": "epsilon_gamma_box", "resnet18": "epsilon_plus"}
LRP_EPS = 1e-6
PEER_LIBS = ["grad-cam", "torchcam", "captum", "zennit"]
KNOWN_BUG = "n/a (known bug)"


@dataclass(frozen=True)
class Peer:
    lib: str  # one of PEER_LIBS
    name: str  # the peer's class (grad-cam, torchcam, captum) or composite (zennit)
    compare: str  # "saliency" | "fmap" | "rel_l2" | "bug"
    slow: bool = False  # timed on channel subsets in --quick mode (grad-cam) or skipped


@dataclass(frozen=True)
class Case:
    floor: str  # key of _floor_fn
    params: dict = field(default_factory=dict)  # ours, chosen to match the peers' variant
    peers: tuple[Peer, ...] = ()
    slow: bool = False  # one timed call in --quick mode
    layer: bool = True  # takes a layer (CAM family)


CASES: dict[str, Case] = {
    "gradient": Case("backward_input", {}, (Peer("captum", "Saliency", "rel_l2"),), layer=False),
    "guided_backprop": Case("backward_input", {}, (Peer("captum", "GuidedBackprop", "rel_l2"),),
                            layer=False),
    "deconvnet": Case("backward_input", {}, (Peer("captum", "Deconvolution", "rel_l2"),),
                      layer=False),
    "lrp": Case("backward_input", {"epsilon": LRP_EPS, "stabilizer": LRP_EPS},
                (Peer("zennit", "composite", "rel_l2"),), layer=False),
    "cam": Case("forward", {"relu": True}),
    "gradcam": Case("backward_layer", {}, (Peer("grad-cam", "GradCAM", "saliency"),
                                           Peer("torchcam", "GradCAM", "fmap"))),
    "xgradcam": Case("backward_layer", {"variant": "grad-cam"},
                     (Peer("grad-cam", "XGradCAM", "saliency"),
                      Peer("torchcam", "XGradCAM", "fmap"))),
    "gradcampp": Case("backward_layer", {"variant": "grad-cam"},
                      (Peer("grad-cam", "GradCAMPlusPlus", "saliency"),
                       Peer("torchcam", "GradCAMpp", "bug"))),
    "smoothgradcampp": Case("backward_layer_x8", {"n": 8, "batch_size": 8, "progress": False},
                            (Peer("torchcam", "SmoothGradCAMpp", "bug"),), slow=True),
    "fullgrad": Case("backward_input", {"variant": "channel"},
                     (Peer("grad-cam", "FullGrad", "saliency"),)),
    "ablationcam": Case("forward", {"progress": False},
                        (Peer("grad-cam", "AblationCAM", "saliency", slow=True),)),
    "scorecam": Case("batched_forwards", {"variant": "channel_softmax", "relu_at": "layer",
                                          "progress": False},
                     (Peer("grad-cam", "ScoreCAM", "saliency", slow=True),
                      Peer("torchcam", "ScoreCAM", "fmap", slow=True)), slow=True),
}
METHODS = list(CASES)
TOLERANCE = {"saliency": 1e-4, "fmap": 1e-4}  # max |diff|; rel_l2 below


def _rel_l2_tolerance(method: str, model: str) -> float:
    return 1e-3 if (method == "lrp" and model == "resnet50") else 1e-4


# --------------------------------------------------------------------------- one case (child)

def _rss_mb(device: str = "cpu") -> float:
    """Peak memory so far: resident set (CPU) or CUDA allocations, in MB."""
    if device.startswith("cuda"):
        import torch

        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def _numpy(t):
    return t.detach().float().cpu().numpy()


def scorecam_batch(device: str, size: int) -> int:
    """The batch of masked images Score-CAM uses on ``device`` at ``size`` (its own rule)."""
    import torch

    from xai_tutor.methods.cam.scorecam import auto_batch

    where = "cpu" if device == "cpu" else "meta"  # the rule only asks whether it is the CPU
    return auto_batch(torch.empty(1, 3, size, size, device=where))[0]


def _setup(model_name: str, size: int, device: str = "cpu", batch: int = 1):
    import torch
    import torchvision

    torch.manual_seed(0)
    model = getattr(torchvision.models, model_name)(weights=None).eval().to(device)
    x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(1)).to(device)
    with torch.no_grad():
        target = int(model(x[:1]).argmax())
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
    if kind.startswith("backward_layer"):
        n = int(kind.rsplit("x", 1)[1]) if "_x" in kind else 1
        xb = x.repeat(n, 1, 1, 1)

        def run():
            with capture(model, layer) as cap:
                y = model(xb)[:, target].sum()
                torch.autograd.grad(y, cap.activation)
        return run, 1.0
    if kind == "backward_input":
        def run():
            xg = x.clone().requires_grad_(True)
            torch.autograd.grad(model(xg)[:, target].sum(), xg)
        return run, 1.0
    if kind == "batched_forwards":
        # C forwards per image, batched and laid out as Score-CAM does on this device and size
        from xai_tutor.methods.cam.scorecam import auto_batch

        batch, channels_last = auto_batch(x)
        with torch.no_grad(), capture(model, layer) as cap:
            model(x)
        channels = cap.activation.shape[1]
        batches = -(-channels // batch) * x.shape[0]
        timed = min(batches, 12) if quick else batches
        xb = x[:1].repeat(batch, 1, 1, 1)
        if channels_last:
            xb = xb.contiguous(memory_format=torch.channels_last)

        def run():
            with torch.no_grad():
                for _ in range(timed):
                    model(xb)
        return run, batches / timed
    raise ValueError(kind)


def _ours_fn(spec: dict, model, x, layer: str, target: int):
    import numpy as np

    import xai_tutor

    method = spec["method"]
    case = CASES[method]
    params = dict(case.params)
    if method == "lrp":
        params["composite"] = LRP_COMPOSITE[spec["model"]]
    if spec.get("subset_jobs"):  # quick mode: only the first batches of masked images
        from xai_tutor.methods.cam import scorecam as module

        jobs = spec["subset_jobs"]
        module.progress_bar = lambda items, *args, **kwargs: list(items)[:jobs]
    use_layer = layer if (case.layer and method != "fullgrad") else None

    def run():
        e = xai_tutor.explain(model, x, method, target=target, layer=use_layer, **params)
        return {"saliency": _numpy(e.saliency), "attribution": _numpy(e.attribution)}

    def save(out, path):
        np.savez(path, **out)
    return run, save


def _gradcam_fn(spec: dict, model, x, layer: str, target: int):
    import numpy as np
    import pytorch_grad_cam as gc
    from pytorch_grad_cam.ablation_layer import AblationLayer
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    method, subset = spec["method"], spec.get("subset")
    module = dict(model.named_modules())[layer]
    targets = [ClassifierOutputTarget(target)] * x.shape[0]
    cls = getattr(gc, spec["peer_name"])
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


def _torchcam_fn(spec: dict, model, x, layer: str, target: int):
    import torchcam.methods as tm

    cls = getattr(tm, spec["peer_name"])
    kwargs = {"input_shape": tuple(x.shape[1:])}
    if spec["method"] == "smoothgradcampp":
        kwargs["num_samples"] = CASES["smoothgradcampp"].params["n"]

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with cls(model, layer, **kwargs) as extractor:
                scores = model(x)
                return _numpy(extractor(target, scores)[0])
    return run


def _captum_fn(spec: dict, model, x, layer: str, target: int):
    import captum.attr as ca

    attributor = getattr(ca, spec["peer_name"])(model)
    kwargs = {"abs": False} if spec["peer_name"] == "Saliency" else {}

    def run():
        return _numpy(attributor.attribute(x.clone(), target=target, **kwargs))
    return run


def _zennit_fn(spec: dict, model, x, layer: str, target: int):
    """zennit's composite matching ours; the start is the target logit at the target class."""
    import torch
    from torch import nn
    from zennit.attribution import Gradient
    from zennit.canonizers import SequentialMergeBatchNorm
    from zennit.composites import EpsilonGammaBox, SpecialFirstLayerMapComposite, layer_map_base
    from zennit.rules import Epsilon, ZBox, ZPlus
    from zennit.torchvision import ResNetCanonizer
    from zennit.types import Convolution

    from xai_tutor.methods.lrp.rules import IMAGENET_MEAN, IMAGENET_STD

    def channel_box(value):
        per = [(value - m) / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD)]
        return torch.tensor(per, dtype=x.dtype, device=x.device).view(1, 3, 1, 1).expand_as(x)

    low, high, eps = channel_box(0.0), channel_box(1.0), LRP_EPS
    if LRP_COMPOSITE[spec["model"]] == "epsilon_gamma_box":
        composite = EpsilonGammaBox(low=low, high=high, epsilon=eps, stabilizer=eps,
                                    canonizers=[SequentialMergeBatchNorm()])
    else:  # zennit's EpsilonPlus has no zB first layer; ours has, so add it the same way
        composite = SpecialFirstLayerMapComposite(
            layer_map=layer_map_base(eps)
            + [(Convolution, ZPlus(stabilizer=eps)), (nn.Linear, Epsilon(epsilon=eps))],
            first_map=[(Convolution, ZBox(low, high, stabilizer=eps))],
            canonizers=[ResNetCanonizer()],
        )

    def start(out):
        hot = torch.nn.functional.one_hot(torch.tensor([target], device=out.device), out.shape[1])
        return hot * out.detach()

    def run():
        with Gradient(model, composite) as attributor:
            _, relevance = attributor(x, start)
        return _numpy(relevance)
    return run


PEER_FNS = {"grad-cam": _gradcam_fn, "torchcam": _torchcam_fn, "captum": _captum_fn,
            "zennit": _zennit_fn}


def run_case(spec: dict) -> dict:
    import numpy as np
    import torch

    if spec.get("threads"):
        torch.set_num_threads(spec["threads"])

    model_name, layer = spec["model"], spec["layer"]
    device = spec.get("device", "cpu")
    model, x, target = _setup(model_name, spec["size"], device, spec.get("batch", 1))
    with torch.no_grad():
        model(x)
    _sync(device)
    base = _rss_mb(device)
    factor, save = 1.0, None
    if spec["impl"] == "ours":
        fn, save = _ours_fn(spec, model, x, layer, target)
    elif spec["impl"] == "peer":
        fn = PEER_FNS[spec["peer"]](spec, model, x, layer, target)
    else:
        fn, factor = _floor_fn(spec["floor"], model, x, layer, target, spec["quick"])
    times = []
    start = time.perf_counter()
    out = fn()
    _sync(device)
    times.append(time.perf_counter() - start)
    peak = _rss_mb(device) - base
    # fast cases: keep timing until at least ``min_time`` seconds were timed (at most 30 calls),
    # so that a short burst of load from other processes does not decide the median
    while len(times) < spec["repeats"] or (
        spec["repeats"] > 1 and sum(times[1:]) < spec.get("min_time", 0.0) and len(times) < 31
    ):
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    if spec.get("save") and out is not None:
        if save is not None:
            save(out, spec["save"])
        else:
            np.save(spec["save"], np.asarray(out, dtype=np.float32))
    timed = times[1:] if len(times) > 1 else times
    return {"time": statistics.median(timed) * factor, "min": min(timed) * factor,
            "calls": len(timed), "mem_mb": peak}


# --------------------------------------------------------------------------- agreement

def _agreement(kind: str, ours: str, peer: str, tol: float) -> str:
    """Compare our saved outputs (npz) with the peer's (npy)."""
    import numpy as np

    mine, theirs = np.load(ours), np.load(peer).astype(np.float64)
    if kind == "saliency":
        diff = float(np.abs(mine["saliency"] - theirs).max())
        return f"{'yes' if diff <= tol else 'NO'} (max {diff:.1e})"
    if kind == "fmap":  # torchcam: min-max scaled at feature-map resolution, eps 1e-8
        a = mine["attribution"].astype(np.float64)
        a = a - a.min(axis=(-2, -1), keepdims=True)
        a = a / (a.max(axis=(-2, -1), keepdims=True) + 1e-8)
        diff = float(np.abs(a.reshape(theirs.shape) - theirs).max())
        return f"{'yes' if diff <= tol else 'NO'} (fmap max {diff:.1e})"
    a = mine["attribution"].astype(np.float64)
    rel = float(np.linalg.norm(a - theirs) / np.linalg.norm(theirs))
    return f"{'yes' if rel <= tol else 'NO'} (rel L2 {rel:.1e})"


# --------------------------------------------------------------------------- driver (parent)

def _spawn(spec: dict) -> dict:
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    proc = subprocess.run([sys.executable, __file__, "--case", json.dumps(spec)],
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"case {spec} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _channels(model: str) -> int:
    return 2048 if model == "resnet50" else 512


def _extrapolated(common: dict, channels: int, key: str, sizes: tuple[int, int],
                  per_unit: int) -> dict:
    """Time two subsets (``key`` = sizes) and extend linearly to ``channels``."""
    a = _spawn({**common, key: sizes[0]})
    b = _spawn({**common, key: sizes[1]})
    per = (b["time"] - a["time"]) / ((sizes[1] - sizes[0]) * per_unit)
    return {"time": a["time"] + per * (channels - sizes[0] * per_unit),
            "mem_mb": max(a["mem_mb"], b["mem_mb"])}


def _check_small(model: str, method: str, peer: Peer, tmp: Path, threads: int | None) -> str:
    """Full-length agreement on a stand-in model (quick mode, slow peers)."""
    small, layer = STAND_IN[model]
    common = {"model": small, "layer": layer, "method": method, "size": 64, "quick": True,
              "repeats": 1, "threads": threads, "device": DEVICE["name"], "batch": 1}
    a = str(tmp / f"{small}_{method}_ours.npz")
    b = str(tmp / f"{small}_{method}_{peer.lib}.npy")
    _spawn({**common, "impl": "ours", "save": a})
    _spawn({**common, "impl": "peer", "peer": peer.lib, "peer_name": peer.name, "save": b})
    return _agreement(peer.compare, a, b, TOLERANCE.get(peer.compare, 1e-4)) + "*"


def _peer_row(base: dict, peer: Peer, common: dict, ours_path: str, tmp: Path,
              threads: int | None, model: str, tag: str) -> dict:
    method = base["method"]
    row = {**base, "peer": peer.lib, "peer_name": peer.name}
    spec = {**common, "impl": "peer", "peer": peer.lib, "peer_name": peer.name}
    quick = common["quick"]
    if quick and peer.slow and peer.lib != "grad-cam":
        row["agree"], row["note"] = "-", "skipped in --quick"
        return row
    if quick and peer.slow:
        step = 32
        p = _extrapolated({**spec, "repeats": 1}, _channels(model), "subset", (step, 3 * step), 1)
        row["peer_time"], row["peer_mb"] = p["time"], p["mem_mb"]
        row["peer_approx"] = True
        row["note"] = f"~peer extrapolated from {step}/{3 * step} channels; " \
                      f"agreement on {STAND_IN[model][0]}@64px*"
        row["agree"] = _check_small(model, method, peer, tmp, threads)
        return row
    peer_path = str(tmp / f"{tag}_{peer.lib}.npy")
    repeats = 1 if peer.slow else common["repeats"]
    p = _spawn({**spec, "save": peer_path, "repeats": repeats})
    row["peer_time"], row["peer_mb"] = p["time"], p["mem_mb"]
    if peer.compare == "bug":
        row["agree"] = KNOWN_BUG
    else:
        tol = TOLERANCE.get(peer.compare) or _rel_l2_tolerance(method, model)
        row["agree"] = _agreement(peer.compare, ours_path, peer_path, tol)
    return row


DEVICE = {"name": "cpu"}  # set by bench(); read by the helpers that spawn cases


def bench(methods: list[str], configs: list[tuple[str, int]], peers: list[str], quick: bool,
          threads: int | None, log, device: str = "cpu", batches: tuple[int, ...] = (1,)
          ) -> list[dict]:
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="bench_methods_"))
    DEVICE["name"] = device
    for model, size, batch in [(m, s, b) for m, s in configs for b in batches]:
        layer = MODELS[model]
        for method in methods:
            case = CASES[method]
            if method == "cam" and model in NO_GAP_HEAD:
                log(f"{model:9s} {method:16s} (not applicable: no GAP + linear head)")
                continue
            repeats = 1 if case.slow else (3 if quick else 5)
            common = {"model": model, "layer": layer, "method": method, "size": size,
                      "quick": quick, "repeats": repeats, "threads": threads,
                      "min_time": 2.0 if quick else 5.0, "device": device, "batch": batch}
            tag = f"{model}_{size}_{batch}_{method}"
            ours_path = str(tmp / f"{tag}_ours.npz")
            sc_batch = scorecam_batch(device, size)
            if quick and method == "scorecam":  # 4 and 12 batches of masks, extrapolated
                ours = _extrapolated({**common, "impl": "ours"}, _channels(model) * batch,
                                     "subset_jobs", (4, 12), sc_batch)
                ours_approx = True
            else:
                ours = _spawn({**common, "impl": "ours", "save": ours_path})
                ours_approx = False
            floor = _spawn({**common, "impl": "floor", "floor": case.floor})
            base = {"model": f"{model}@{size}" + (f" x{batch}" if batch > 1 else ""),
                    "method": method, "ours": ours["time"],
                    "ours_mb": ours["mem_mb"], "ours_approx": ours_approx,
                    "floor": floor["time"], "floor_kind": case.floor, "peer": None,
                    "peer_name": None, "peer_time": None, "peer_mb": None,
                    "peer_approx": False, "agree": None, "note": ""}
            if ours_approx:
                base["note"] = f"~ours extrapolated from 4/12 batches of {sc_batch} masks"
            chosen = [p for p in case.peers if p.lib in peers]
            if not chosen:
                rows.append(base)
                log(_format_row(base))
            for peer in chosen:
                row = _peer_row(base, peer, common, ours_path, tmp, threads, model, tag)
                if ours_approx:
                    row["note"] = "; ".join(s for s in [base["note"], row["note"]] if s)
                rows.append(row)
                log(_format_row(row))
    return rows


COLUMNS = ["model", "method", "peer", "ours s", "peer s", "speed-up", "floor s", "ours/floor",
           "ours MB", "peer MB", "agreement / note"]
WIDTHS = [16, 16, 24, 8, 8, 9, 8, 10, 8, 8]


def _cells(r: dict) -> list[str]:
    ours = ("~" if r["ours_approx"] else "") + f"{r['ours']:.2f}"
    if r["peer_time"] is None:
        peer = speed = pmb = "-"
    else:
        peer = ("~" if r["peer_approx"] else "") + f"{r['peer_time']:.2f}"
        speed = f"{r['peer_time'] / r['ours']:.1f}x"
        pmb = f"{r['peer_mb']:.0f}"
    name = "-" if r["peer"] is None else f"{r['peer']} {r['peer_name']}"
    note = "; ".join(s for s in [r["agree"] or "", r["note"]] if s)
    return [r["model"], r["method"], name, ours, peer, speed, f"{r['floor']:.2f}",
            f"{r['ours'] / r['floor']:.2f}", f"{r['ours_mb']:.0f}", pmb, note]


def _line(cells: list[str]) -> str:
    fixed = " ".join(c.ljust(w) if i < 3 else c.rjust(w)
                     for i, (c, w) in enumerate(zip(cells[:-1], WIDTHS)))
    return f"{fixed}  {cells[-1]}"


def _format_row(r: dict) -> str:
    return _line(_cells(r))


HEADER = _line(COLUMNS)


def markdown(rows: list[dict]) -> str:
    """The rows as a markdown table."""
    lines = ["| " + " | ".join(COLUMNS) + " |",
             "|" + "|".join("---" if i < 3 or i == len(COLUMNS) - 1 else "---:"
                            for i in range(len(COLUMNS))) + "|"]
    lines += ["| " + " | ".join(_cells(r)) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer repeats; slow peers timed on channel subsets, extrapolated")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS))
    parser.add_argument("--configs", default="",
                        help="model@size list, e.g. resnet18@224,vgg11@112 (overrides --models "
                             "and --size)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--batches", default="",
                        help="images per call, e.g. 1,16 (default: 1 on cpu, 1,16 on cuda)")
    parser.add_argument("--peers", default=",".join(PEER_LIBS),
                        help=f"peer libraries to time beside ours ({', '.join(PEER_LIBS)})")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--threads", type=int, help="torch threads per case (default: torch's)")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    parser.add_argument("--markdown", help="also write the rows as a markdown table")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(json.loads(args.case))))
        return
    chosen = {}
    for option, allowed in [("methods", METHODS), ("models", list(MODELS)),
                            ("peers", PEER_LIBS)]:
        chosen[option] = [v for v in getattr(args, option).split(",") if v]
        for v in chosen[option]:
            if v not in allowed:
                parser.error(f"unknown {option[:-1]} {v!r}; choose from {', '.join(allowed)}")
    configs = [(m, args.size) for m in chosen["models"]]
    if args.configs:
        configs = []
        for item in args.configs.split(","):
            model, _, size = item.partition("@")
            if model not in MODELS or not size.isdigit():
                parser.error(f"--configs takes model@size with a model of {', '.join(MODELS)}; "
                             f"got {item!r}")
            configs.append((model, int(size)))
    import torch

    if args.device not in ("cpu", "cuda"):
        parser.error(f"--device must be cpu or cuda; got {args.device!r}")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda asked for, but torch sees no CUDA device")
    batches = tuple(int(b) for b in (args.batches or ("1,16" if args.device == "cuda" else "1"))
                    .split(","))
    threads = args.threads or torch.get_num_threads()
    malloc = ", ".join(f"{k}={os.environ[k]}" for k in MALLOC_VARS if k in os.environ)
    where = (f"CUDA {torch.cuda.get_device_name()} (TF32 cudnn "
             f"{torch.backends.cudnn.allow_tf32}, matmul {torch.backends.cuda.matmul.allow_tf32})"
             if args.device == "cuda" else "CPU")
    print(f"# {where}, torch {torch.__version__}, {threads} threads, "
          f"{os.cpu_count()} cores, {', '.join(f'{m}@{s}' for m, s in configs)}, "
          f"batches {', '.join(map(str, batches))}, "
          f"{'quick' if args.quick else 'full'} mode, malloc: {malloc or 'glibc defaults'}",
          flush=True)
    print(HEADER, flush=True)
    rows = bench(chosen["methods"], configs, chosen["peers"], args.quick, args.threads,
                 lambda s: print(s, flush=True), args.device, batches)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    if args.markdown:
        Path(args.markdown).write_text(markdown(rows))


if __name__ == "__main__":
    main()
