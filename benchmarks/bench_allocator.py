"""glibc allocator thresholds: the same work timed with and without them, in one run.

Every case runs in a fresh subprocess with one of three allocator set-ups, interleaved
(``--rounds`` rounds, each running every set-up once; the fastest time per set-up is reported):

* ``glibc defaults``  no ``MALLOC_*`` variables and ``XAI_TUTOR_MALLOPT=0`` (what a plain
  ``python``, a conda-started JupyterLab or Colab got before ``xai_tutor/_malloc.py``);
* ``mallopt at import``  no ``MALLOC_*`` variables: ``import xai_tutor`` sets the thresholds
  (32 MiB mmap, 256 MiB trim) through ``mallopt``, the default now;
* ``make's variables``  ``MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=268435456``
  exported as the Makefile does, ``XAI_TUTOR_MALLOPT=0``.

Work timed in each case (after one untimed warm-up call):

* ``scorecam``: Score-CAM (``variant="paper"``) on EfficientNet-Lite0 for the course's
  single-bird scene (626 x 418), one call;
* ``forward``: ResNet50 (random weights, ``torch.manual_seed(0)``) forward at batch 8,
  224 x 224, per image, median of 5 calls.

Reported per case: wall time, CPU time (user + system, all threads) and the minor page faults
of the timed calls (``getrusage``), which is what the thresholds change and which a busy machine
does not disturb.

Usage::

    python benchmarks/bench_allocator.py                 # both works, 2 rounds
    python benchmarks/bench_allocator.py --work forward --rounds 3
    python benchmarks/bench_allocator.py --work scorecam --scorecam-layer blocks.15 --rounds 1
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SETUPS: dict[str, dict[str, str]] = {
    "glibc defaults": {"XAI_TUTOR_MALLOPT": "0"},
    "mallopt at import": {},
    "make's variables": {"XAI_TUTOR_MALLOPT": "0", "MALLOC_MMAP_THRESHOLD_": "33554432",
                         "MALLOC_TRIM_THRESHOLD_": "268435456"},
}

_CHILD = r"""
import json, resource, statistics, sys, time
import torch
import xai_tutor
work, layer = sys.argv[1], (sys.argv[2] or None)
if work == "scorecam":
    model = xai_tutor.load_model("efficientnet_lite0")
    x, _ = xai_tutor.load_image(xai_tutor.make_scene("single", seed=0).image)
    call = lambda: xai_tutor.explain(model, x, "scorecam", layer=layer, variant="paper",
                                     progress=False)
    repeats, per = 1, 1
else:
    import torchvision
    torch.manual_seed(0)
    model = torchvision.models.resnet50().eval()
    x = torch.randn(8, 3, 224, 224)
    def call():
        with torch.no_grad():
            model(x)
    repeats, per = 5, 8
call()
times, cpu, faults = [], [], []
for _ in range(repeats):
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    t0, c0 = time.perf_counter(), time.process_time()
    call()
    times.append((time.perf_counter() - t0) / per)
    cpu.append((time.process_time() - c0) / per)
    faults.append((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0) / per)
print(json.dumps({"seconds": statistics.median(times), "cpu": statistics.median(cpu),
                  "faults": statistics.median(faults), "threads": torch.get_num_threads()}))
"""


def run_case(work: str, setup: str, layer: str = "") -> tuple[float, float, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env.pop("XAI_TUTOR_MALLOPT", None)
    env.update(SETUPS[setup])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    out = subprocess.run([sys.executable, "-c", _CHILD, work, layer], env=env, check=True,
                         capture_output=True, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return float(result["seconds"]), float(result["cpu"]), float(result["faults"])


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", choices=["scorecam", "forward", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--scorecam-layer", default="",
                        help="Score-CAM layer of EfficientNet-Lite0 (default: head.2, 1280 "
                             "channels; blocks.15 has 320)")
    args = parser.parse_args(argv)
    works = ["scorecam", "forward"] if args.work == "both" else [args.work]
    best: dict[str, dict[str, float]] = {w: {} for w in works}
    best_cpu: dict[str, dict[str, float]] = {w: {} for w in works}
    faults: dict[str, dict[str, float]] = {w: {} for w in works}
    for r in range(args.rounds):
        for work in works:
            for setup in SETUPS:
                seconds, cpu, flt = run_case(work, setup, args.scorecam_layer)
                print(f"round {r + 1}  {work:8s}  {setup:18s}  wall {seconds:8.4f} s  "
                      f"CPU {cpu:8.4f} s  page faults {flt:9.0f}", flush=True)
                faults[work][setup] = min(flt, faults[work].get(setup, float("inf")))
                best[work][setup] = min(seconds, best[work].get(setup, float("inf")))
                best_cpu[work][setup] = min(cpu, best_cpu[work].get(setup, float("inf")))
    print(f"\nload average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}; "
          f"cpus: {os.cpu_count()}; fastest of {args.rounds} round(s)")
    print("| work | clock | " + " | ".join(SETUPS) + " | defaults / import |")
    print("|---|---|" + "---:|" * (len(SETUPS) + 1))
    for work in works:
        unit = "s per image" if work == "forward" else "s"
        for clock, table in (("wall s", best), ("CPU s", best_cpu), ("minor faults", faults)):
            row = table[work]
            cells = " | ".join(f"{row[s]:.4f}" if clock != "minor faults" else f"{row[s]:.0f}"
                               for s in SETUPS)
            base = row["mallopt at import"]
            ratio = f"{row['glibc defaults'] / base:.2f}x" if base > 0 else "-"
            print(f"| {work} ({unit}) | {clock} | {cells} | {ratio} |")
    return best


if __name__ == "__main__":
    main()
