# ruff: noqa: E501  (this file holds a markdown table)
"""Write ``results/README.md`` from the files ``xai-tutor experiment`` produced in that folder.

Every number in the README comes from ``run.json``, ``overall.csv``, ``timing.csv``,
``claims.csv``, ``scores.csv``, ``baselines.csv``, ``sanity.csv``, ``trust.csv`` and
``metric_trust.csv``; rerun this after regenerating the results. For the repository's own
``results`` folder it also rewrites the trust summary between the markers of the top-level
``README.md`` (:func:`xai_tutor.trust.report.readme_block`)::

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
| `scores.csv` | one row per (model, scene, method): every metric of `xai_tutor.evaluation.METRICS` and the run time; the image-blind `centre_baseline` and `random_baseline` maps are scored like the methods |
| `baselines.csv` | per metric (on all scenes and on the pair+flock scenes): its family, the two baselines' means, the median method's margins over the centre blob and over the random map ± SE, n, and whether the metric is informative (both margins - 2 SE > 0); an uninformative metric decides no verdict |
| `metrics.csv`, `metrics.md` | the baselines table first, then mean ± standard error per method x model x scene kind (methods that fail the randomisation check are marked), plus the timing and sanity tables |
| `overall.csv` | per method over all models and scenes |
| `timing.csv` | run time (best of up to 3 runs) and peak tensor memory (deterministic, `xai_tutor.evaluation.tensor_memory`) at half and full size |
| `sanity.csv` | the randomisation check (Adebayo et al.): every pair of maps compared, one row each: the trained model's map against a copy with the top layers re-initialised (`kind` trained), or two such copies against each other (`kind` chance), per method, scene, cascading stage and seed, with their signed Spearman similarity; the verdicts follow `xai_tutor.evaluation.RANDOMISATION_RULE` |
| `claims.csv`, `claims.md` | each claim of the paper, what we measured, and the verdict of a stated rule |
| `trust.md`, `trust.csv` | the trust section: every method on the models whose reliance is known by intervention (cue models, course models), the share of each map on each region, the ground-truth scores with 95 % intervals over scenes, the methods ranked, and the verdict of a stated rule (does the map point where the model leans: reveals the shortcut / points at the bird anyway) |
| `metric_trust.csv` | per metric and cue model: Kendall's tau-b between the metric's ranking of the methods and the ground truth's, with its 95 % interval and the rule's label (agrees / misleads / undecided) |
| `trust_scores.csv` | the trust section's raw rows, one per (model, scene, method) |
| `run.json` | the configuration, versions, skipped methods and wall time of the run |"""


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def _mean_se(row: dict[str, str], key: str) -> str:
    mean, se = float(row[key]), float(row.get(key + "_se") or "nan")
    return f"{mean:.3f} ± {se:.3f}" if se == se else f"{mean:.3f}"


def _baselines(folder: Path) -> str:
    """The baseline rule's outcome, from ``baselines.csv`` (absent in older runs)."""
    from xai_tutor.evaluation import INFORMATIVE_RULE, METRICS

    path = folder / "baselines.csv"
    if not path.is_file():
        return "This run has no `baselines.csv`: its metrics were not judged against the baselines."
    rows = _rows(path)
    lines = ["| metric | family | scenes | centre | random | vs centre ± SE | vs random ± SE | n | verdict |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        info = METRICS[r["metric"]]
        lines.append(f"| {r['metric']} {info.arrow} | {info.family} | {r['scenes']} | "
                     f"{float(r['centre_mean']):.3f} | {float(r['random_mean']):.3f} | "
                     f"{_mean_se({'m': r['margin'], 'm_se': r['se']}, 'm')} | "
                     f"{_mean_se({'m': r['margin_random'], 'm_se': r['se_random']}, 'm')} "
                     f"| {r['n']} | {r['verdict']} |")
    bad = {scope: [r["metric"] for r in rows if r["scenes"] == scope and r["verdict"] == "uninformative"]
           for scope in dict.fromkeys(r["scenes"] for r in rows)}
    said = "; ".join(f"on {'all' if scope == 'all' else 'the ' + scope} scenes: "
                     f"{', '.join(names) if names else 'none'}"
                     for scope, names in bad.items())
    return (f"The rule: {INFORMATIVE_RULE}. `vs centre` and `vs random`: the median method's "
            "paired margin over each baseline (sign flipped where lower is better, so positive = "
            f"better than the baseline). Uninformative metrics: {said}.\n\n" + "\n".join(lines))


def _failures(folder: Path) -> dict[str, list[str]]:
    """``{model: [methods failing the randomisation check]}`` from ``sanity.csv`` ({} if none)."""
    path = folder / "sanity.csv"
    if not path.is_file():
        return {}
    from xai_tutor.experiment.sanity import failures

    return failures(_rows(path))


def _flag(method: str, failing: dict[str, list[str]]) -> str:
    models = [m for m, names in failing.items() if method in names]
    return f"{method} (fails randomisation: {', '.join(models)})" if models else method


def _failing(folder: Path) -> str:
    """Methods failing the randomisation check, from ``sanity.csv`` (same rule as the run)."""
    path = folder / "sanity.csv"
    if not path.is_file():
        return "No sanity check in this run."
    from xai_tutor.evaluation import RANDOMISATION_RULE

    by_model = _failures(folder)
    return ("Methods that fail the randomisation check: " + "; ".join(
        f"{model}: {', '.join(names) if names else 'none'}" for model, names in by_model.items())
        + f". The rule: {RANDOMISATION_RULE} (numbers in `metrics.md`, every pair of maps in "
        "`sanity.csv`).")


def _trust(folder: Path) -> str:
    """The trust section's summary (absent in runs without one)."""
    if not (folder / "trust.csv").is_file():
        return ""
    from xai_tutor.trust.report import readme_block

    block = readme_block(folder, link="trust.md").splitlines()[1:-1]  # without the markers
    return "\n## Which explanation can you trust? (numbers from `trust.csv`, `metric_trust.csv`)\n\n" + \
        "\n".join(block) + "\n"


def update_readme(folder: Path, readme_path: Path) -> bool:
    """Replace the trust block of the top-level README with the one of ``folder``; False (and
    nothing written) when the README has no such block or the folder no trust section."""
    from xai_tutor.trust.report import README_END, README_START, readme_block

    if not (folder / "trust.csv").is_file() or not readme_path.is_file():
        return False
    text = readme_path.read_text(encoding="utf-8")
    if README_START not in text or README_END not in text:
        return False
    start, end = text.index(README_START), text.index(README_END) + len(README_END)
    new = text[:start] + readme_block(folder) + text[end:]
    partial = readme_path.with_name(".README.md.partial")
    partial.write_text(new, encoding="utf-8")
    os.replace(partial, readme_path)
    return True


def readme(folder: Path) -> str:
    run = json.loads((folder / "run.json").read_text())
    overall = {r["method"]: r for r in _rows(folder / "overall.csv")}
    failing = _failures(folder)
    claims = _rows(folder / "claims.csv")
    timing = _rows(folder / "timing.csv")
    area = [float(r["area"]) for r in _rows(folder / "scores.csv")
            if r["method"] == "centre_baseline"]
    from xai_tutor.evaluation import FAMILIES, metrics_in

    columns = next(iter(overall.values()), {})
    order = sorted(overall, key=lambda m: -float(overall[m]["mass"]))
    tables = []
    for family in FAMILIES:  # one table per family of metrics, from the registry
        infos = [m for m in metrics_in(family=family) if m.name in columns]
        if not infos:
            continue
        table = [f"**{family}**", "",
                 "| method | n | " + " | ".join(f"{m.title} {m.arrow}" for m in infos) + " |",
                 "|---|---|" + "---|" * len(infos)]
        for method in order:
            row = overall[method]
            cells = " | ".join(_mean_se(row, m.name) for m in infos)
            table.append(f"| {_flag(method, failing)} | {row['n']} | {cells} |")
        tables.append("\n".join(table))
    slow = ("gradcam", "fullgrad", "lrp", "ablationcam", "scorecam", "smoothgrad")
    times = [
        f"| {t['model']} | {t['method']} | {float(t['half_seconds']):.3f} | "
        f"{float(t['full_seconds']):.3f} | {float(t['time_ratio']):.1f} | "
        f"{float(t['full_tensor_mb']):.2f} |"
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
{run['steps']} steps, ROAD and the metrics that recompute the map on the {run['curves']} scenes; expensive methods on the {run['expensive']}
scenes; torch {run['torch']}, {run['threads']} threads; **{run['seconds']:.0f} s** wall time on a
2-core machine{estimate}. Skipped:{skipped}

## Files

{FILES}

## Do the metrics beat a blind guess? (numbers from `baselines.csv`, `sanity.csv`)

{_baselines(folder)}

{_failing(folder)}

## Summary (numbers from `overall.csv`, `timing.csv`, `claims.csv`)

All models and scenes together, sorted by relevance mass (mean ± standard error; `n` maps per
method; the metrics that run the model or recompute the map on the {run['curves']} scenes only;
the arrow says whether higher or lower is better; a method that fails the randomisation check is
marked with the models it fails on). The birds cover on average
{sum(area) / max(len(area), 1):.3f} of the image: that is the relevance mass of a uniform map.

{(chr(10) * 2).join(tables)}

Run time in seconds at half and full size (4x the pixels), and the peak tensor memory of one call
at full size:

| model | method | half | full | ratio | tensor MB (full) |
|---|---|---|---|---|---|
{chr(10).join(times)}

The paper's claims (the rules and the measured numbers are in `claims.md`):

| claim | verdict |
|---|---|
{chr(10).join(verdicts)}
{_trust(folder)}"""


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "results")
    partial = target / ".README.md.partial"
    partial.write_text(readme(target))
    os.replace(partial, target / "README.md")  # never a half-written page
    print(f"wrote {target / 'README.md'}")
    root = Path(__file__).resolve().parents[1]
    # the top-level README's trust block follows the repository's own results only
    if target.resolve() == (root / "results").resolve() and update_readme(target,
                                                                          root / "README.md"):
        print(f"updated the trust summary of {root / 'README.md'}")
