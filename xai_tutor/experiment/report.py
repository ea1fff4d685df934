"""Tables (CSV, Markdown) and figures (Figure-5 grids, representations, scenes) of a run."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .baselines import ALL, baseline_rows
from .sanity import FLAG, STAGES, flag
from .spec import CENTRE, METRICS, RANDOM, combo_name


def mean_se(values: Iterable[float]) -> tuple[float, float, int]:
    v = np.array([x for x in values if not math.isnan(x)], dtype=np.float64)
    if v.size == 0:
        return float("nan"), float("nan"), 0
    se = float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else float("nan")
    return float(v.mean()), se, int(v.size)


def summarise(scores: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Mean and standard error (``std / sqrt(n)``, ddof 1; NaN for n = 1) per method x model x
    kind. ``n`` counts the scenes, ``n_curves`` those with deletion / insertion curves; a metric
    missing from the rows (scores of an older run) is NaN."""
    groups: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    for row in scores:
        groups.setdefault((row["method"], row["model"], row["kind"]), []).append(row)
    out = []
    for (method, model, kind), rows in groups.items():
        entry: dict[str, Any] = {"method": method, "model": model, "kind": kind, "n": len(rows),
                                 "correct": float(np.mean([r["correct"] for r in rows])),
                                 "area": float(np.mean([r["area"] for r in rows]))}
        entry["n_curves"] = mean_se(r["deletion"] for r in rows)[2]
        for key in METRICS:
            mean, se, _ = mean_se(r.get(key, math.nan) for r in rows)  # absent: not measured
            entry[key] = mean
            entry[f"{key}_se"] = se
        out.append(entry)
    return out


def is_expensive(method: str) -> bool:
    from ..methods import METHODS

    return method in METHODS and METHODS[method].expensive


def fmt(mean: float, se: float | None = None, digits: int = 3) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    text = f"{mean:.{digits}f}"
    if se is not None and not math.isnan(se):
        text += f" ± {se:.{digits}f}"
    return text


def write_csv(path: Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in keys]
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v)
                             for k, v in row.items()})
    return path


def md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def baselines_md(judged) -> list[str]:
    """The "Baselines" section of ``metrics.md``: the baseline rule per scope and metric."""
    if not judged:
        return ["## Baselines", "", "Not judged: the run has no centre-baseline row or no "
                "explanation method.", ""]
    rows = []
    for r in baseline_rows(judged):
        title = METRICS[r["metric"]][0] + ("" if r["higher_is_better"] else " (↓)")
        rows.append([title, r["scenes"], fmt(r["centre_mean"]), fmt(r["random_mean"]),
                     fmt(r["margin"], r["se"]), fmt(r["margin_random"], r["se_random"]), r["n"],
                     f"**{r['verdict']}**"])
    bad = sorted({r["metric"] for r in baseline_rows(judged) if r["verdict"] == "uninformative"
                  and r["scenes"] == ALL})
    return ["## Baselines: which metrics beat a blind guess", "",
            "Two image-blind maps are scored like the methods on every scene: "
            f"`{CENTRE}` (a Gaussian at the image centre, sigma = a quarter of the shorter side) "
            f"and `{RANDOM}` (uniform noise on a 7 x 7 grid resized to the image, seeded per "
            "scene). `margin`: mean over (model, scene) of the median explanation method minus "
            "the centre blob (sign flipped where lower is better, so positive = better than the "
            "blob) ± its standard error; `vs random`: the same against the random map. A metric "
            "is **uninformative** when margin - 2 SE <= 0: the typical method does not beat an "
            "image-blind guess, and the metric decides no verdict in `claims.md`. `scenes`: "
            "all scenes, or the multi-instance ones (pair+flock) on which the multi-instance "
            "claims are decided.", "",
            md_table(["metric", "scenes", "centre mean", "random mean", "margin ± SE",
                      "vs random ± SE", "n", "verdict"], rows), "",
            "Uninformative on all scenes: " + (", ".join(bad) if bad else "none") + ".", ""]


def write_all(out: Path, scores, metrics, timing, sanity_rows, claims, judged, failing,
              canonical_maps, scenes, kinds, model_map, methods, combos,
              skipped, column_titles: dict[str, list[str]] | None = None) -> list[Path]:
    files = [
        write_csv(out / "scores.csv", scores),
        write_csv(out / "metrics.csv", metrics),
        write_csv(out / "timing.csv", timing),
        write_csv(out / "claims.csv", claims),
    ]
    if sanity_rows:
        files.append(write_csv(out / "sanity.csv", sanity_rows))
    if judged:
        files.append(write_csv(out / "baselines.csv", baseline_rows(judged)))
    n_per_kind = {k: sum(1 for _, s in scenes if s.kind == k) for k in kinds}
    order = list(methods) + [combo_name(*c) for c in combos] + [CENTRE, RANDOM]
    md = ["# Metrics per method, model and scene kind", ""] + baselines_md(judged) + [
          "## Scores", "",
          "Mean ± standard error over the scenes of each kind "
          f"({', '.join(f'{k}: n = {n}' for k, n in n_per_kind.items())}; the canonical scene "
          "plus generated ones). Higher is better except deletion AUC, time and memory. "
          "`area`: share of the image covered by the explained birds (relevance mass of a "
          "uniform map). `correct`: share of scenes where the top class is a bird in the scene. "
          "Deletion and insertion AUC are computed on "
          + ("every scene." if any(
              not math.isnan(r["deletion"]) for r in scores if r["scene"] != "canonical")
             else "the canonical scenes only (n = 1 per cell: no standard error).")
          + (" Methods registered as expensive (" + ", ".join(sorted(
              {r["method"] for r in scores if is_expensive(r["method"])})) + ") ran on the "
             "canonical scenes only (n = 1 per cell)." if any(
              is_expensive(r["method"]) for r in scores) and not any(
              is_expensive(r["method"]) and r["scene"] != "canonical" for r in scores) else "")
          + " Time and memory are per call during the run (other processes share the CPU); "
          "see the timing table for best-of-3 times."
          + (f" A method marked `({FLAG})` failed the model-randomisation check on that "
             "model (last section): its map can sit on the birds without depending on what the "
             "model learned." if sanity_rows else ""), ""]
    if skipped:
        md += ["Methods left out for a model (blank in the grid where they did not run): "
               + "; ".join(
            f"{method} on {model} ({reason})" for (model, method), reason in skipped.items()),
            ""]
    overall = summarise([dict(r, model="all", kind="all") for r in scores])
    md += ["## All models and scene kinds together", "",
           "Mean ± standard error over every (model, scene) pair; `n`: maps per method "
           "(`n curves`: maps with deletion / insertion curves).", "",
           md_table(["method", "n", "n curves"] + [title for title, _ in METRICS.values()],
                     [[flag(m["method"], failing), m["n"], m["n_curves"]]
                      + [fmt(m[k], m[f"{k}_se"], 1 if k == "peak_mb" else 3)
                                       for k in METRICS]
                      for name in order for m in overall if m["method"] == name]), ""]
    files.append(write_csv(out / "overall.csv", overall))
    header = ["method", "kind"] + [title for title, _ in METRICS.values()]
    for model in model_map:
        rows_m = [m for m in metrics if m["model"] == model]
        first = next((m for m in rows_m), None)
        md += [f"## {model}", ""]
        if first is not None:
            md += ["correct / area per kind: " + ", ".join(
                f"{k}: {next(m['correct'] for m in rows_m if m['kind'] == k):.2f} / "
                f"{next(m['area'] for m in rows_m if m['kind'] == k):.2f}" for k in kinds), ""]
        table = []
        for method in order:
            for kind in kinds:
                m = next((r for r in rows_m if r["method"] == method and r["kind"] == kind), None)
                if m is None:
                    continue
                table.append([flag(method, failing, model), kind] + [
                    fmt(m[k], m[f"{k}_se"], 1 if k == "peak_mb" else 3) for k in METRICS])
        md += [md_table(header, table), ""]
    md += ["## Run time at two image sizes (canonical single scene)", "",
           "Best of up to 3 runs (one run for methods slower than 3 s); `ratio` = full / half "
           "time for 4x the pixels.", "",
           md_table(["model", "method", "half", "s", "full", "s", "ratio", "peak MB (full)"],
                     [[t["model"], t["method"], t["half_size"], fmt(t["half_seconds"]),
                       t["full_size"], fmt(t["full_seconds"]), fmt(t["time_ratio"], None, 2),
                       fmt(t["full_peak_mb"], None, 1)] for t in timing]), ""]
    if sanity_rows:
        md += ["## Randomisation sanity check (canonical single scene, half size)", "",
               "Spearman correlation between the map of the trained model and of copies with "
               f"the top layers re-initialised, in {STAGES} cascading stages (`layers`: how many "
               "parameterised layers, counted from the output, are random; the last stage: all "
               "of them). Lower means the map depends more on what the model learned; a method "
               "fails when |Spearman| >= 0.5 at any stage.", "",
               md_table(["model", "method", "stage", "layers", "Spearman"],
                         [[s["model"], flag(s["method"], failing, s["model"]), s["stage"],
                           s["layers"], fmt(s["spearman"])] for s in sanity_rows]),
               ""]
    (out / "metrics.md").write_text("\n".join(md))
    files.append(out / "metrics.md")
    cl = ["# The paper's claims against the measurements", "",
          "Verdicts come from the rules in the last column, applied to `scores.csv` and "
          "`timing.csv`. Paired comparisons use the same scenes and models; a difference counts "
          "when its mean is more than 2 standard errors away from 0. A claim decided by a "
          "metric that does not beat the image-blind centre baseline (`baselines.csv`, the "
          "Baselines section of `metrics.md`) is **undecided**.", "",
          md_table(["claim", "measured", "verdict", "rule"],
                    [[c["claim"], c["measured"], f"**{c['verdict']}**", c["rule"]]
                     for c in claims]), ""]
    if sanity_rows:
        cl += ["## Methods that fail the randomisation check", "",
               "Their maps keep |Spearman| >= 0.5 with the trained model's map after the top "
               "layers are re-initialised (`sanity.csv`): good localisation scores of these "
               "methods do not show what the model learned.", ""]
        cl += [f"- {model}: {', '.join(names) if names else 'none'}"
               for model, names in failing.items()] + [""]
    (out / "claims.md").write_text("\n".join(cl))
    files.append(out / "claims.md")
    files += figures(out, canonical_maps, scenes, kinds, column_titles)
    return files


def figures(out: Path, canonical_maps, scenes, kinds,
            column_titles: dict[str, list[str]] | None = None) -> list[Path]:
    """The Figure-5 grid and the three representations per model, and the scenes' masks.

    ``column_titles``: per model, one title per scene naming the explained class and its
    probability; cells of methods that cannot explain a model say so (``viz.NotApplicable``)."""
    from .. import viz

    canon = {s.kind: s for sid, s in scenes if sid == "canonical"}
    images = [canon[k].image for k in kinds]
    files = []
    for model, rows in canonical_maps.items():
        titles = (column_titles or {}).get(model) or list(kinds)
        fig = viz.grid(images, rows, "heatmap", column_titles=titles,
                       title=f"{model}: saliency maps (heatmap), first row the input scenes")
        path = out / f"grid_{model}.png"
        fig.savefig(path, dpi=60)
        files.append(path)
        full = [m for m in rows
                if all(v is not None and not isinstance(v, viz.NotApplicable) for v in rows[m])]
        picks = [m for m in ("gradcampp", "lrp", "fullgrad") if m in full][:2] or full[:1]
        rep_rows = {f"{m} {rep}": [viz.render(im, s, rep) for im, s in zip(images, rows[m])]
                    for m in picks for rep in viz.REPRESENTATIONS}
        fig = image_grid(images, rep_rows, list(kinds),
                          f"{model}: the paper's three representations")
        path = out / f"representations_{model}.png"
        fig.savefig(path, dpi=60)
        files.append(path)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4 * len(kinds), 3), layout="constrained")
    for ax, kind in zip(fig.subplots(1, len(kinds), squeeze=False)[0], kinds):
        viz.show_masks(canon[kind], ax=ax)
        ax.set_title(f"{kind}: instance masks")
    path = out / "scenes.png"
    fig.savefig(path, dpi=70)
    files.append(path)
    return files


def image_grid(images, rows, titles, title):
    """Like :func:`xai_tutor.viz.grid`, but the rows are ready-made RGB images."""
    from matplotlib.figure import Figure

    from ..viz import as_image

    imgs = [as_image(i) for i in images]
    h, w = imgs[0].shape[:2]
    n = 1 + len(rows)
    fig = Figure(figsize=(1.3 + 2.6 * len(imgs), 2.6 * h / w * n + 0.4), layout="constrained")
    axes = fig.subplots(n, len(imgs), squeeze=False)
    for r, (label, row) in enumerate([("input", imgs)] + list(rows.items())):
        for c, im in enumerate(row):
            axes[r][c].imshow(im)
            axes[r][c].set_xticks([])
            axes[r][c].set_yticks([])
            if r == 0:
                axes[r][c].set_title(titles[c])
            if c == 0:
                axes[r][c].set_ylabel(label, rotation=0, ha="right", va="center")
    fig.suptitle(title)
    return fig


