"""How long a run will take, from a short measured probe, printed before the run starts.

For each model, every method runs once (twice when under 0.2 s: the faster counts) on the
canonical single scene at a quarter of the run's side (1/16 of its pixels), and a forward pass is
timed at that size and at the run's size (best of 3 and of 2, after a warm-up pass); the probe's
times are scaled to the run:

* a map at the run's size: ``t = t_probe * G`` where ``G`` = forward time at the run's size /
  forward time at the probe's size, measured (about 16 for a large CNN; less where fixed costs
  dominate; about 1 for a model that resizes every input itself, such as EfficientNet-Lite0;
  at most 1.5 times the pixel ratio, since more is another process slowing a timing). The
  methods are a few forward and backward passes each, so they grow like a forward. Score-CAM is
  not run in the probe (one forward per channel would be the longest part of it): its time is
  ``ceil(K / B)`` batched forwards of ``B`` masked images (``K`` channels of the model's default
  layer, ``B`` its batch size) plus one forward/backward pass, timed on one batch;
* the main loop: ``t`` per scene the method runs on (the canonical scenes only for Score-CAM and
  Ablation-CAM by default; the first scene only once ``t`` exceeds ``max_seconds``), plus, per
  scored map (combinations and the centre and random baselines included) on the scenes with the
  metrics that run the model (``Settings.curves``): ``2 (steps + 1)`` forwards at the run's size
  for deletion and insertion, and for ROAD ``2 P`` imputations (timed once in the probe on the
  scene at ROAD's size, with the top ``p`` % of a centre blob removed, most and least relevant
  first) and ``2 P`` forwards at that size (``P`` shares);
* the metrics that recompute the map: ``sensitivity_samples + 2`` more maps (``t`` each) per map
  of a method (or combination) with ``t <= recompute_seconds``, on the same scenes;
* the timing table: the half-size runs (``t / 4``, repeated up to 3 times while under 3 s), the
  extra full-size repeats, and one counted call per size for the tensor memory (``t`` plus the
  counting's overhead, measured in the probe per method as the counted probe call's time minus
  the plain one's); the sanity check: ``1 + STAGES x seeds`` maps at half size per scene (the
  trained model's and one per cascading stage and seed, :mod:`.sanity`), on as many of its
  scenes as fit into ``sanity_seconds`` (none when one scene does not).

Model loading, scene rendering and writing the figures are not counted (seconds). The estimate
is as good as the machine is steady: other processes slowing the probe or the run shift it.

Example::

    >>> from xai_tutor.experiment.estimate import run_cost
    >>> parts = run_cost(map_s=2.0, scenes=5, canonical=3, costly=False, max_seconds=60.0,
    ...                  curve_s=0.5, curve_scenes=3, sanity=True, half_share=0.25,
    ...                  sanity_images=6, sanity_seeds=3, sanity_seconds=30.0)
    >>> parts["maps"], parts["main"], parts["timing"], parts["sanity"]   # 10 maps of 0.5 s
    (5, 11.5, 4.0, 30.0)
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..evaluation.randomisation import images_within, maps_per_image
from .sanity import STAGES
from .timing import FAST_REPEATS, FAST_TIMED_S, REPEAT_BUDGET_S

#: the probe's side as a share of the run's side
PROBE_SCALE = 0.25


@dataclass
class Estimate:
    """The expected run time per model and method, and in all (seconds on this machine)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    probe_seconds: float = 0.0
    #: the 1-minute load average when the probe ended, and the CPU count (None where unknown)
    load: float | None = None
    cpus: int | None = None

    @property
    def seconds(self) -> float:
        return float(sum(r["total_s"] for r in self.rows))

    def per_model(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for r in self.rows:
            out[r["model"]] = out.get(r["model"], 0.0) + r["total_s"]
        return out

    def table(self) -> str:
        """A text table: model, method, probe time, time per map at the run's size, maps run,
        expected seconds; a line per model and the total."""
        lines = [f"{'model':<20} {'method':<16} {'probe s':>8} {'per map s':>10} {'maps':>5} "
                 f"{'expected s':>11}"]
        for model, total in self.per_model().items():
            for r in (r for r in self.rows if r["model"] == model):
                lines.append(f"{r['model']:<20} {r['method']:<16} {r['probe_s']:>8.2f} "
                             f"{r['map_s']:>10.2f} {r['maps']:>5d} {r['total_s']:>11.0f}"
                             + (f"  ({r['note']})" if r.get("note") else ""))
            lines.append(f"{model:<20} {'(all methods)':<16} {'':>8} {'':>10} {'':>5} "
                         f"{total:>11.0f}")
        lines.append(f"expected run time: ~{_human(self.seconds)} on this machine "
                     f"(probe took {self.probe_seconds:.0f} s; model loading and figures not "
                     "counted)")
        if self.load is not None and self.cpus and self.load > self.cpus:
            lines.append(f"load average {self.load:.1f} on {self.cpus} CPUs during the probe: "
                         "other processes share the CPU, and the times above grow with them")
        return "\n".join(lines)


def _human(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min ({seconds:.0f} s)"


def run_cost(map_s: float, scenes: int, canonical: int, costly: bool, max_seconds: float,
             curve_s: float, curve_scenes: int, sanity: bool, half_share: float = 0.25,
             recompute_maps: int = 0, recompute_seconds: float = 1.0,
             memory_overhead_s: float = 0.0, sanity_images: int = 1, sanity_seeds: int = 2,
             sanity_seconds: float | None = None) -> dict[str, float]:
    """The parts of one method's expected time on one model (seconds), by the rules of the
    module docstring: ``maps`` run, ``main`` loop, ``recompute`` (the maps the robustness and
    randomisation metrics recompute), ``timing`` table, ``sanity`` check, ``total``.

    ``half_share``: a half-size map's time over a full-size one's (1/4 when time follows the
    pixels, 1 for a model that resizes its input itself); ``curve_s``: the metrics that run the
    model, per map; ``recompute_maps``: maps recomputed per map when ``map_s <=
    recompute_seconds``; ``memory_overhead_s``: the tensor counting's extra time per call;
    ``sanity_images``, ``sanity_seeds``, ``sanity_seconds``: the sanity check's scenes, seeds and
    time per method (:class:`~.settings.Settings`).
    """
    slow = map_s > max_seconds
    maps = 1 if slow else canonical if costly else scenes
    main = maps * map_s + min(maps, curve_scenes) * curve_s
    recompute = (min(maps, curve_scenes) * recompute_maps * map_s
                 if map_s <= recompute_seconds else 0.0)
    half = map_s * half_share
    half_runs = max(1, min(3, math.ceil(REPEAT_BUDGET_S / max(half, 1e-9))))
    extra_full = max(0, min(2, math.ceil(min(REPEAT_BUDGET_S, map_s) / max(map_s, 1e-9)) - 1))
    # fast methods are repeated until 0.25 s are timed (at most 25 runs) at each size; then one
    # counted call per size for the tensor memory
    timing = (max(half * half_runs, min(FAST_TIMED_S, FAST_REPEATS * half))
              + max(map_s * extra_full, min(FAST_TIMED_S, FAST_REPEATS * map_s) - map_s)
              + half + map_s + 2 * memory_overhead_s)
    images = images_within(half, sanity_images, STAGES, sanity_seeds, sanity_seconds)
    check = (images * maps_per_image(STAGES, sanity_seeds) * half
             if sanity and not slow else 0.0)
    return {"maps": maps, "main": main, "recompute": recompute, "timing": timing,
            "sanity": check, "total": main + recompute + timing + check}


def road_solve_s(scene: Any, settings: Any) -> float:
    """Seconds of the ``2 P`` imputations of one map's ROAD curves, timed on ``scene`` at ROAD's
    size with the top shares of a centre blob removed (most and least relevant first)."""
    import numpy as np

    from ..data import load_image
    from ..evaluation import centre_blob, noisy_linear_imputation

    w, h = scene.image.size
    size = (max(int(round(w * settings.road_scale)), 8), max(int(round(h * settings.road_scale)),
                                                           8))
    x, _ = load_image(scene.image, size=size)
    order = np.argsort(-centre_blob((size[1], size[0])).reshape(-1), kind="stable")
    start = time.perf_counter()
    for ranked in (order, order[::-1]):
        for p in settings.road_percentages:
            removed = np.zeros(order.size, dtype=bool)
            removed[ranked[: int(p * order.size / 100)]] = True
            noisy_linear_imputation(x, removed.reshape(size[1], size[0]))
    return time.perf_counter() - start


def _timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - start, out


def _forward_s(model: nn.Module, x: torch.Tensor, repeats: int) -> tuple[float, torch.Tensor]:
    """The fastest of ``repeats`` timed forward passes after one untimed (warm-up) pass."""
    with torch.no_grad():
        out = model(x)
        best = min(_timed(model, x)[0] for _ in range(repeats))
    return best, out


def _channels(model: nn.Module, x: torch.Tensor) -> int:
    """Channels of the model's default CAM layer on input ``x``."""
    from ..hooks import capture, model_guard
    from ..methods import default_layer

    with model_guard(model), capture(model, default_layer(model)) as cap, torch.no_grad():
        model(x)
    return int(cap.activation.shape[1])


def _batch_default(method: str, x: torch.Tensor) -> int:
    """The method's own batch size; Score-CAM's automatic one for the run's image ``x``."""
    from ..methods import METHODS

    default = METHODS[method].defaults().get("batch_size")
    if isinstance(default, int):
        return default
    if method == "scorecam":
        from ..methods.cam.scorecam import auto_batch

        return int(auto_batch(x)[0])
    return 8


def estimate_run(models: Mapping[str, nn.Module], settings: Any, scene: Any) -> Estimate:
    """Probe each model and method once (see the module docstring) and scale to the run.

    Args:
        models: ``{name: model}``.
        settings: the run's :class:`~xai_tutor.experiment.Settings`.
        scene: the canonical single scene at the run's size (its image sets the run's size).
    """
    from ..api import explain
    from ..data import load_image
    from ..evaluation import METRICS, tensor_memory
    from ..methods import METHODS
    from .spec import COMBINATIONS, method_params

    s = settings
    methods = s.method_list()
    metrics = [METRICS[m] for m in s.metric_names()]
    scenes = len(s.kinds) * (1 + s.samples)
    canonical = len(s.kinds)
    start = time.perf_counter()
    w, h = scene.image.size
    probe_size = (max(round(w * PROBE_SCALE), 32), max(round(h * PROBE_SCALE), 32))
    x, _ = load_image(scene.image, size=probe_size)
    x_full, _ = load_image(scene.image)
    curve_scenes = {"canonical": canonical, "all": scenes, "none": 0}[s.curves]
    names = {m.name for m in metrics}
    curves = sum(1 for m in ("deletion", "insertion") if m in names)
    road_orders = sum(1 for m in ("road_morf", "road_lerf") if m in names)
    recompute_maps = ((s.sensitivity_samples if names & {"max_sensitivity", "avg_sensitivity"}
                       else 0) + int("random_logit" in names) + int("emprt" in names))
    solve_s = road_solve_s(scene, s) * road_orders / 2 if road_orders and curve_scenes else 0.0
    road_size = (max(int(round(w * s.road_scale)), 8), max(int(round(h * s.road_scale)), 8))
    x_road, _ = load_image(scene.image, size=road_size)
    est = Estimate()
    for model_name, model in models.items():
        probe_fwd, logits = _forward_s(model, x, repeats=3)
        full_fwd, _ = _forward_s(model, x_full, repeats=2)
        road_fwd, _ = _forward_s(model, x_road, repeats=1) if road_orders else (0.0, None)
        # the measured growth of a forward pass from the probe to the run's size (about the
        # pixel ratio for a large model; less where fixed costs dominate; 1 for a model that
        # resizes its input itself)
        # capped at 1.5x the pixel ratio: a forward does not grow faster than its pixels, so a
        # larger measured growth is another process slowing one of the two timings
        ratio = (w * h) / (probe_size[0] * probe_size[1])
        scale = min(max(full_fwd / max(probe_fwd, 1e-9), 1.0), 1.5 * ratio)
        half_share = scale ** -0.5  # t ~ pixels^a: G = 16^a, half size = 4^-a = G^-1/2
        target = int(logits.argmax(dim=1)[0])
        explain(model, x, "gradient", target=target)  # warm-up: the first backward pass
        curve_s = (curves * (s.steps + 1) * full_fwd
                   + solve_s + road_orders * len(s.road_percentages) * road_fwd)
        per_map: dict[str, float] = {}
        overhead: dict[str, float] = {}
        for method in methods:
            costly = bool(METHODS[method].expensive) and s.expensive == "canonical"
            note = ""
            try:
                params = method_params(method, s.batch_size)
                if method == "scorecam":
                    batch = s.batch_size or _batch_default(method, x_full)
                    k = _channels(model, x)
                    batch_s, _ = _forward_s(model, x.expand(batch, -1, -1, -1).contiguous(), 1)
                    probe_s = batch_s
                    map_s = (math.ceil(k / batch) * batch_s + 3 * probe_fwd) * scale
                    note = f"{k} channels / batch {batch}, from one timed batch"
                    overhead[method] = math.ceil(k / batch) * overhead.get("gradcam", 0.0)
                else:
                    probe_s, _ = _timed(explain, model, x, method, target=target, **params)
                    if probe_s < 0.2:  # short: the best of two, less noise to scale up
                        probe_s = min(probe_s, _timed(explain, model, x, method,
                                                      target=target, **params)[0])
                    map_s = probe_s * scale
                    counted, _ = _timed(tensor_memory, explain, model, x, method,
                                        target=target, **params)
                    overhead[method] = max(counted - probe_s, 0.0)
            except (ValueError, TypeError, NotImplementedError) as err:
                est.rows.append({"model": model_name, "method": method, "probe_s": 0.0,
                                 "map_s": 0.0, "maps": 0, "total_s": 0.0,
                                 "note": f"skipped: {str(err).split('. ')[0]}"})
                continue
            per_map[method] = map_s
            cost = run_cost(map_s, scenes, canonical, costly, s.max_seconds, curve_s,
                            curve_scenes, s.sanity, half_share, recompute_maps,
                            s.recompute_seconds, overhead[method],
                            len(s.kinds) * min(s.sanity_scenes, 1 + s.samples),
                            s.sanity_seeds, s.sanity_seconds)
            if map_s > s.max_seconds:
                note = (note + "; " if note else "") + "over --max-seconds: first scene only"
            est.rows.append({"model": model_name, "method": method, "probe_s": probe_s,
                             "map_s": map_s, "maps": int(cost["maps"]),
                             "total_s": cost["total"], "half_share": half_share, "note": note})
        # combinations and the two baselines are scored too (only the metrics that run the
        # model or recompute the map cost time: a combination recomputes both parts)
        combos = [(a, b) for a, b, _ in COMBINATIONS if a in per_map and b in per_map]
        recompute = sum(recompute_maps * (per_map[a] + per_map[b]) for a, b in combos
                        if per_map[a] + per_map[b] <= s.recompute_seconds)
        extras = 2 + len(combos)
        est.rows.append({"model": model_name, "method": "(combinations)", "probe_s": 0.0,
                         "map_s": curve_s, "maps": curve_scenes * extras,
                         "total_s": curve_scenes * (extras * curve_s + recompute),
                         "note": "metrics that run the model (and recompute the map) for the "
                                 "combined and baseline maps"})
    est.probe_seconds = time.perf_counter() - start
    try:
        est.load, est.cpus = os.getloadavg()[0], os.cpu_count()
    except (AttributeError, OSError):  # not on every platform
        pass
    return est
