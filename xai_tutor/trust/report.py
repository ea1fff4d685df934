"""The trust section's files: tables with the rules stated, and what was measured in words.

:func:`write_trust` writes into a folder (the experiment's staging folder, or any):

``trust_scores.csv``
    one row per map (:attr:`TrustStudy.rows`).
``trust.csv``
    one row per model and method (and baseline): the ground-truth scores with 95 % intervals,
    the rank by ``truth_mass``, the mean share on each region and, on the cue models, the
    map's lean, where it points and the verdict (:data:`~xai_tutor.trust.VERDICT_RULE`).
``metric_trust.csv``
    one row per metric and model (and ``all``): Kendall's tau-b with the ground truth's ranking
    of the methods, its interval and label (:data:`~xai_tutor.trust.METRIC_RULE`).
``trust.md``
    the rules, what each model uses (measured), the verdict table, the correctness ranking,
    the metric table, the expectations of the literature next to what was measured, and the
    cost.

Every sentence in ``trust.md`` is computed from the numbers in these files: when a measurement
contradicts what was expected (for example a method that does not reveal the shortcut), the
file says what was measured.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import evaluation as ev
from ..atomic import atomic_write
from .bootstrap import bootstrap
from .meta import ALL, METRIC_RULE
from .verdict import VERDICT_RULE

__all__ = ["write_trust", "verdict_table", "trust_rows", "expectations", "summary_lines",
           "readme_block", "LOCALISATION_ON_BIRD", "FAITHFULNESS", "README_START", "README_END"]

#: the markers of the block of ``README.md`` that :func:`readme_block` writes
README_START = "<!-- trust summary, written by scripts/results_readme.py: do not edit -->"
README_END = "<!-- end of the trust summary -->"

LOCALISATION_ON_BIRD = tuple(m.name for m in ev.metrics_in(family="localisation"))
FAITHFULNESS = tuple(m.name for m in ev.metrics_in(family="faithfulness"))


def _num(v: Any, digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def _ci(row: Mapping[str, Any], key: str, digits: int = 2) -> str:
    v = row.get(key)
    if v is None or not math.isfinite(v):
        return "n/a"
    return (f"{v:+.{digits}f} [{row[key + '_low']:+.{digits}f}, {row[key + '_high']:+.{digits}f}]"
            if key in ("lean", "tau", "model_lean", "truth_rank", "truth_contrast")
            else f"{v:.{digits}f} [{row[key + '_low']:.{digits}f}, "
                 f"{row[key + '_high']:.{digits}f}]")


def trust_rows(study: Any, verdicts: Sequence[Mapping[str, Any]] | None = None,
               correctness: Sequence[Mapping[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Rows of ``trust.csv``: correctness joined with the verdicts (cue models)."""
    verdicts = study.verdicts() if verdicts is None else verdicts
    correctness = study.correctness() if correctness is None else correctness
    verdict = {(v["model"], v["method"]): v for v in verdicts}
    out = []
    for row in correctness:
        v = verdict.get((row["model"], row["method"]), {})
        out.append({**row, "uses": ", ".join(study.uses[row["model"]]),
                    **{k: v.get(k) for k in ("lean", "lean_low", "lean_high", "points_at",
                                             "model_leans", "verdict", "says")}})
    return out


def verdict_table(verdicts: Sequence[Mapping[str, Any]]) -> str:
    """Markdown: per cue model and method, the shares, the lean with its interval, the verdict."""
    lines = ["| model (uses) | method | share on bird | share on badge | lean (badge - bird) "
             "[95 % CI] | points at | verdict |", "|---|---|---|---|---|---|---|"]
    for v in verdicts:
        lines.append(f"| {v['model']} ({v['uses']}) | {v['method']} | {v['share_bird']:.2f} | "
                     f"{v['share_cue']:.2f} | {_ci(v, 'lean')} | {v['points_at']} | "
                     f"{v['says']} |")
    return "\n".join(lines)


def _correctness_table(rows: Sequence[Mapping[str, Any]], regions: Sequence[str]) -> str:
    head = ["rank", "method", "mass on what is used [95 % CI]", "rank corr. with drops",
            "contrastivity", *(f"share on {r}" for r in regions)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in sorted(rows, key=lambda r: (r["rank"] is None, r["rank"] or 0)):
        lines.append(f"| {r['rank'] or '-'} | {r['method']} | {_ci(r, 'truth_mass')} | "
                     f"{_ci(r, 'truth_rank')} | {_ci(r, 'truth_contrast')} | "
                     + " | ".join(f"{r['share_' + g]:.3f}" for g in regions) + " |")
    return "\n".join(lines)


def _metric_table(rows: Sequence[Mapping[str, Any]]) -> str:
    scopes = list(dict.fromkeys(r["model"] for r in rows))
    by = {(r["metric"], r["model"]): r for r in rows}
    head = ["metric", "family", *(f"tau-b on {s}" for s in scopes)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for metric in dict.fromkeys(r["metric"] for r in rows):
        info = ev.METRICS[metric]
        cells = []
        for s in scopes:
            r = by.get((metric, s))
            cells.append("n/a" if r is None or r["label"] == "not measured"
                         else f"{_ci(r, 'tau')} **{r['label']}**")
        lines.append(f"| {info.title} {info.arrow} | {info.family} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _names(items: Sequence[str]) -> str:
    return ", ".join(items) if items else "none"


def _drops(study: Any, model: str) -> str:
    return ", ".join(f"{r} {d:+.2f}" for r, d in study.mean_drops(model).items())


def _true(value: Any) -> bool:
    """A flag from a row, read back from a CSV (``"True"``) or not."""
    return value is True or str(value) in ("True", "true", "1")


def summary_lines(verdicts: Sequence[Mapping[str, Any]],
                  metric_rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Short sentences for the README, from the verdicts and the metric rows only (dicts, or
    the rows of ``trust.csv`` and ``metric_trust.csv`` as read back)."""
    lines = []
    for model in dict.fromkeys(v["model"] for v in verdicts):
        rows = [v for v in verdicts if v["model"] == model and not _true(v["baseline"])]
        if not rows or rows[0]["model_leans"] != "badge":
            continue
        says = {k: [v["method"] for v in rows if v["says"] == k]
                for k in ("reveals the shortcut", "points at the bird anyway", "unclear")}
        lines.append(f"`{model}` (uses the badge only): reveals the shortcut: "
                     f"{_names(says['reveals the shortcut'])}; points at the bird anyway: "
                     f"{_names(says['points at the bird anyway'])}"
                     + (f"; unclear: {len(says['unclear'])} more." if says["unclear"] else "."))
    pooled = [r for r in metric_rows if r["model"] == ALL] or list(metric_rows)
    agree = list(dict.fromkeys(r["metric"] for r in pooled if r["label"] == "agrees"))
    lines.append(f"Metrics that rank the methods as the ground truth does (Kendall tau-b, "
                 f"95 % CI above 0, all cue models): {_names(agree)}.")
    mislead: dict[str, list[str]] = {}
    for r in metric_rows:
        if r["label"] == "misleads" and r["model"] != ALL:
            mislead.setdefault(r["metric"], []).append(r["model"])
    scopes = {r["model"] for r in metric_rows if r["model"] != ALL}
    lines.append("Metrics that rank against it (CI below 0) on some cue models: " + (
        ", ".join(f"{m} ({len(models)} of {len(scopes)})" for m, models in mislead.items())
        or "none") + ".")
    return lines


def expectations(study: Any, verdicts: Sequence[Mapping[str, Any]],
                 metric_rows: Sequence[Mapping[str, Any]],
                 correctness: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """What the literature leads one to expect, next to what was measured here."""
    out = []
    badge_models = list(dict.fromkeys(v["model"] for v in verdicts
                                      if v["model_leans"] == "badge"))
    for method, why in (("lrp", "LRP exposed a watermark shortcut in Lapuschkin et al. 2019"),
                        ("gradcam", "Grad-CAM is the method most used to look for shortcuts")):
        rows = [v for v in verdicts if v["method"] == method and v["model"] in badge_models]
        if not rows:
            continue
        measured = "; ".join(f"{v['model']}: {v['says']} (lean {_ci(v, 'lean')})" for v in rows)
        holds = all(v["says"] == "reveals the shortcut" for v in rows)
        out.append({"expected": f"{method} reveals the shortcut ({why})",
                    "measured": measured, "holds": "yes" if holds else "no"})
    shortcut_scopes = set(badge_models)
    loc = [r for r in metric_rows if r["metric"] in LOCALISATION_ON_BIRD
           and r["model"] in shortcut_scopes and r["label"] != "not measured"]
    if loc:
        measured = "; ".join(f"{r['metric']} on {r['model']}: tau-b {_ci(r, 'tau')} "
                             f"({r['label']})" for r in loc)
        holds = all(r["label"] == "misleads" for r in loc)
        out.append({"expected": "the localisation metrics on the bird's mask rank the methods "
                                "against the ground truth on the models that use the badge "
                                "only (they reward maps that miss the shortcut)",
                    "measured": measured,
                    "holds": "yes" if holds else ("partly" if any(
                        r["label"] == "misleads" for r in loc) else "no")})
    faith = [r for r in metric_rows if r["metric"] in FAITHFULNESS and r["model"] == ALL]
    if faith:
        measured = "; ".join(f"{r['metric']}: tau-b {_ci(r, 'tau')} ({r['label']})"
                             for r in faith)
        holds = all(r["label"] == "agrees" for r in faith)
        out.append({"expected": "the faithfulness metrics (they run the model) agree with the "
                                "ground truth over all cue models",
                    "measured": measured,
                    "holds": "yes" if holds else ("partly" if any(
                        r["label"] == "agrees" for r in faith) else "no")})
    for model, kind in study.kinds.items():
        if kind != "course" or "reflection" not in study.regions[model]:
            continue
        over, most = [], None
        for method in study.methods:
            rows = [r for r in study.rows if r["model"] == model and r["method"] == method]
            if not rows:
                continue
            e = bootstrap(np.array([r["share_reflection"] - r["area_reflection"] for r in rows]),
                          np.mean)
            if e.above(0.0):
                over.append(f"{method} (+{e.value:.4f} [{e.low:+.4f}, {e.high:+.4f}])")
            if most is None or e.value > most[1]:
                most = (method, e.value)
        if most is None:
            continue
        area = float(np.mean([r["area_reflection"] for r in study.rows if r["model"] == model]))
        out.append({"expected": f"{model} does not use the reflection (mean drop "
                                f"{study.mean_drops(model)['reflection']:+.2f}), so a map "
                                f"should put no more mass on it than a uniform map (its area)",
                    "measured": f"the reflection is {area:.4f} of the pixels on average; maps "
                                f"with more mass there than its area (share - area, 95 % CI "
                                f"above 0): {_names(over)}; the largest mean excess: "
                                f"{most[0]} {most[1]:+.4f}",
                    "holds": "yes" if not over else "no"})
    return out


def _cell(value: Any) -> Any:
    """A CSV cell: empty for None, floats to 6 significant digits (the scores are not more
    precise than that: the bootstrap's intervals are in the second digit)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return value


def _csv(path: Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    fields = list(dict.fromkeys(k for r in rows for k in r))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: _cell(r.get(k)) for k in fields})
    text = buffer.getvalue().encode()
    atomic_write(path, lambda fh: fh.write(text))
    return path


def markdown(study: Any, verdicts: Sequence[Mapping[str, Any]],
             correctness: Sequence[Mapping[str, Any]],
             metric_rows: Sequence[Mapping[str, Any]]) -> str:
    """The text of ``trust.md``."""
    s = study.settings
    parts = [
        "# Which explanation can you trust?",
        "",
        f"Every method on models whose reliance is known by intervention "
        f"(`xai_tutor.trust.trust_study`): {s['scenes']} fresh scenes per model (seeds "
        f"{s['seed_offset']} + i), metrics' seed {s['seed']}, the rest cut into a "
        f"{s['grid'][0]} x {s['grid'][1]} grid for the rank correlation. "
        f"{study.seconds:.0f} s wall"
        + (f" with {s['threads']} torch thread(s)." if s.get("threads") else "."),
        "",
        "## What each model uses (measured, no explanation involved)",
        "",
        "Mean logit drop of the bird's class when each region is removed alone "
        "(`xai_tutor.reliance`), on the scenes each model classifies right:",
        "",
        *(f"- `{m}`: {_drops(study, m)}; uses: {_names(study.uses[m])}"
          + (f" ({study.passed_over[m]} scenes of the pool passed over: classified wrongly)"
             if study.passed_over.get(m) else "") for m in study.kinds),
        "",
        "## The ground-truth scores (`xai_tutor.evaluation.ground_truth`)",
        "",
        "- **mass on what is used** (`truth_mass`): sum over regions of min(s_r, w_r), s_r the "
        "map's share on region r, w_r the region's share of the positive drops: the map's "
        "share on the region a model uses, and for the mixed model a split like its drops'.",
        "- **rank corr. with drops** (`truth_rank`): Spearman's rho between the map's sum on "
        "each part (bird in quarters, badge, rest in grid cells) and the part's drop (IDSDS).",
        "- **contrastivity** (`truth_contrast`): on swap scenes (the badge of another class), "
        "how far the map moves from the bird's class to the badge's class, as a share of how "
        "far the drops move (1 = as far, 0 = not at all); only on models that use both.",
        "",
        "## Verdicts: does the map point where the model leans?",
        "",
        f"The rule: {VERDICT_RULE}.",
        "",
        verdict_table(verdicts),
        "",
        "## Methods ranked by correctness",
        "",
        "Mean over scenes [95 % bootstrap CI]; baselines (image-blind) are not ranked.",
    ]
    for model in study.kinds:
        rows = [r for r in correctness if r["model"] == model]
        parts += ["", f"### `{model}` (uses {_names(study.uses[model])})", "",
                  _correctness_table(rows, study.regions[model])]
    if metric_rows:
        parts += ["", "## Which metrics can be trusted?", "", f"The rule: {METRIC_RULE}.",
                  "The localisation metrics are computed against the bird's mask, as on the "
                  "course scenes.", "", _metric_table(metric_rows)]
    exp = expectations(study, verdicts, metric_rows, correctness)
    if exp:
        parts += ["", "## Expected, and what was measured", "",
                  "| expected | measured | holds |", "|---|---|---|",
                  *(f"| {e['expected']} | {e['measured']} | **{e['holds']}** |" for e in exp)]
    if study.skipped:
        parts += ["", "Not applicable: " + "; ".join(
            f"{method} on {model}: {why}" for (model, method), why in study.skipped.items())]
    costs = study.costs
    parts += ["", "## Cost", "",
              "Seconds (wall, this run): ground truth (forward passes) "
              + ", ".join(f"{m} {v:.1f}" for m, v in costs.get("truth", {}).items())
              + "; method calls " + ", ".join(
                  f"{m} {v:.1f}" for m, v in sorted(costs.get("explain", {}).items(),
                                                     key=lambda kv: -kv[1]))
              + "; metrics " + ", ".join(
                  f"{m} {v:.1f}" for m, v in sorted(costs.get("metric", {}).items(),
                                                     key=lambda kv: -kv[1])) + ".", ""]
    return "\n".join(parts)


TRUST_FILES = ("trust_scores.csv", "trust.csv", "metric_trust.csv", "trust.md")


def write_trust(folder: str | Path, study: Any, force: bool = False) -> list[Path]:
    """Write ``trust_scores.csv``, ``trust.csv``, ``metric_trust.csv`` and ``trust.md`` into
    ``folder`` (each atomically); return their paths. Files of an earlier study in ``folder``
    are replaced only with ``force`` (else :class:`FileExistsError`, nothing written)."""
    folder = Path(folder)
    present = [name for name in TRUST_FILES if (folder / name).exists()]
    if present and not force:
        raise FileExistsError(f"{folder} already holds {', '.join(present)}; pass force=True to "
                              "replace them")
    verdicts = study.verdicts()
    correctness = study.correctness()
    metric_rows = study.metric_trust() if study.metrics else []
    files = [_csv(folder / "trust_scores.csv", study.rows),
             _csv(folder / "trust.csv", trust_rows(study, verdicts, correctness)),
             _csv(folder / "metric_trust.csv", metric_rows)]
    text = markdown(study, verdicts, correctness, metric_rows).encode()
    atomic_write(folder / "trust.md", lambda fh: fh.write(text))
    files.append(folder / "trust.md")
    return files


def readme_block(folder: str | Path, link: str = "results/trust.md") -> str:
    """The README's trust summary, markers included, from ``trust.csv`` and
    ``metric_trust.csv`` in ``folder``: one sentence per model that uses the badge only, and
    the metrics that agree with or rank against the ground truth; ``link`` points to the
    rules and numbers."""
    folder = Path(folder)
    with open(folder / "trust.csv", newline="") as fh:
        verdicts = [r for r in csv.DictReader(fh) if r.get("model_leans")]
    with open(folder / "metric_trust.csv", newline="") as fh:
        metric_rows = list(csv.DictReader(fh))
    lines = summary_lines(verdicts, metric_rows)
    return "\n".join([
        README_START,
        "Which explanation can you trust? Every method scored against what the cue models are "
        f"known to use ([{link}]({link}): rules, 95 % intervals, what was expected):",
        "",
        *(f"- {line}" for line in lines),
        README_END,
    ])
