# ruff: noqa: E501  (this file holds a markdown table)
"""Write ``results/README.md`` from the files ``xai-tutor experiment`` produced in that folder.

Every number in the README comes from ``run.json``, ``overall.csv``, ``timing.csv``,
``claims.csv`` and ``scores.csv``; rerun this after regenerating the results::

    python scripts/results_readme.py results
"""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path

FILES = """\
| file | content |
|---|---|
| `grid_<model>.png` | Figure 5: the three canonical scenes as columns, one row per method and combination (heatmap, `jet`, saliency used linearly) |
| `representations_<model>.png` | the paper's three representations (heatmap, opacity, edges) for two methods |
| `scenes.png` | the canonical scenes with their instance masks and boxes (the ground truth) |
| `scores.csv` | one row per (model, scene, method): every metric, run time, peak memory |
| `metrics.csv`, `metrics.md` | mean ± standard error per method x model x scene kind, plus the timing and sanity tables |
| `overall.csv` | per method over all models and scenes |
| `timing.csv` | run time and peak memory at half and full size (best of up to 3 runs) |
| `sanity.csv` | Spearman correlation between the maps of the trained model and a fully re-initialised copy (Adebayo et al.) |
| `claims.csv`, `claims.md` | each claim of the paper, what we measured, and the verdict of a stated rule |
| `run.json` | the configuration, versions, skipped methods and wall time of the run |"""


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def _mean_se(row: dict[str, str], key: str) -> str:
    mean, se = float(row[key]), float(row.get(key + "_se") or "nan")
    return f"{mean:.3f} ± {se:.3f}" if se == se else f"{mean:.3f}"


def readme(folder: Path) -> str:
    run = json.loads((folder / "run.json").read_text())
    overall = {r["method"]: r for r in _rows(folder / "overall.csv")}
    claims = _rows(folder / "claims.csv")
    timing = _rows(folder / "timing.csv")
    area = [float(r["area"]) for r in _rows(folder / "scores.csv")
            if r["method"] == "centre_baseline"]
    metrics = ("pointing", "mass", "coverage", "shape_iou", "deletion", "insertion")
    table = [
        "| method | n | pointing | relevance mass | coverage | shape IoU | deletion AUC (↓) "
        "| insertion AUC |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for method in sorted(overall, key=lambda m: -float(overall[m]["mass"])):
        row = overall[method]
        cells = " | ".join(_mean_se(row, k) for k in metrics)
        table.append(f"| {method} | {row['n']} | {cells} |")
    slow = ("gradcam", "fullgrad", "lrp", "ablationcam", "scorecam", "smoothgrad")
    times = [
        f"| {t['model']} | {t['method']} | {float(t['half_seconds']):.3f} | "
        f"{float(t['full_seconds']):.3f} | {float(t['time_ratio']):.1f} |"
        for t in timing if t["method"] in slow
    ]
    verdicts = [f"| {c['claim']} | **{c['verdict']}** |" for c in claims]
    skipped = "".join(f"\n- {s}" for s in run.get("skipped", [])) or "\n- none"
    models = " ".join(run["models"])
    preset = run.get("preset", "default")
    preset_arg = f" --preset {preset}" if preset != "default" else ""
    estimate = (f" (estimated beforehand from the probe: {run['estimated_seconds']:.0f} s)"
                if "estimated_seconds" in run else "")
    return f"""# Results of the paper's experiment (Section 4), measured

Produced by `xai-tutor experiment` (`xai_tutor/experiment/`); this page by
`python scripts/results_readme.py results`. Regenerate everything with

```
xai-tutor experiment --models {models}{preset_arg} --out results --force
python scripts/results_readme.py results
```

This run: models {', '.join(run['models'])}; {len(run['methods'])} methods; scene kinds
{', '.join(run['kinds'])} at {run['size'][0]} x {run['size'][1]}, {run['scenes_per_kind']} scenes
per kind (the canonical scene + {run['samples']} generated); deletion/insertion curves with
{run['steps']} steps on the {run['curves']} scenes; expensive methods on the {run['expensive']}
scenes; torch {run['torch']}, {run['threads']} threads; **{run['seconds']:.0f} s** wall time on a
2-core machine{estimate}. Skipped:{skipped}

## Files

{FILES}

## Summary (numbers from `overall.csv`, `timing.csv`, `claims.csv`)

All models and scenes together, sorted by relevance mass (mean ± standard error; `n` maps per
method; deletion/insertion on the canonical scenes only). The birds cover on average
{sum(area) / max(len(area), 1):.3f} of the image: that is the relevance mass of a uniform map.

{chr(10).join(table)}

Run time in seconds at half and full size (4x the pixels):

| model | method | half | full | ratio |
|---|---|---|---|---|
{chr(10).join(times)}

The paper's claims (the rules and the measured numbers are in `claims.md`):

| claim | verdict |
|---|---|
{chr(10).join(verdicts)}
"""


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "results")
    partial = target / ".README.md.partial"
    partial.write_text(readme(target))
    os.replace(partial, target / "README.md")  # never a half-written page
    print(f"wrote {target / 'README.md'}")
