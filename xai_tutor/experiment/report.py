"""Tables (CSV, Markdown) and figures (Figure-5 grids, representations, scenes) of a run."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import evaluation as ev
from .judge import ALL, baseline_rows
from .sanity import FLAG, REFERENCES, flag, verdicts
from .spec import CENTRE, RANDOM, combo_name


def mean_se(values: Iterable[float]) -> tuple[float, float, int]:
    v = np.array([x for x in values if not math.isnan(x)], dtype=np.float64)
    if v.size == 0:
        return float("nan"), float("nan"), 0
    se = float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else float("nan")
    return float(v.mean()), se, int(v.size)


def metric_columns(rows: Sequence[Mapping[str, Any]]) -> list[ev.MetricInfo]:
    """The registered metrics that are columns of ``rows``, in registry order."""
    keys = set().union(*(r.keys() for r in rows)) if rows else set()
    return [m for m in ev.metrics_in() if m.name in keys]


def _model_metrics(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    return [m.name for m in metric_columns(rows) if "model" in m.needs]


def summarise(scores: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Mean and standard error (``std / sqrt(n)``, ddof 1; NaN for n = 1) per method x model x
    kind of every metric column of the scores. ``n`` counts the scenes, ``n_curves`` those with
    the metrics that run the model (deletion, insertion, ROAD, ...); a value that was not
    measured (NaN) is left out of its mean."""
    groups: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    for row in scores:
        groups.setdefault((row["method"], row["model"], row["kind"]), []).append(row)
    columns = [m.name for m in metric_columns(scores)]
    model_metrics = _model_metrics(scores)
    out = []
    for (method, model, kind), rows in groups.items():
        entry: dict[str, Any] = {"method": method, "model": model, "kind": kind, "n": len(rows),
                                 "correct": float(np.mean([r["correct"] for r in rows])),
                                 "area": float(np.mean([r["area"] for r in rows]))}
        entry["n_curves"] = sum(1 for r in rows if any(
            not math.isnan(r[k]) for k in model_metrics))
        for key in columns:
            mean, se, _ = mean_se(r[key] for r in rows)
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
        info = ev.METRICS[r["metric"]]
        rows.append([f"{info.title} {info.arrow}", info.family, r["scenes"],
                     fmt(r["centre_mean"]), fmt(r["random_mean"]), fmt(r["margin"], r["se"]),
                     fmt(r["margin_random"], r["se_random"]), r["n"], f"**{r['verdict']}**"])
    bad = sorted({r["metric"] for r in baseline_rows(judged) if r["verdict"] == "uninformative"
                  and r["scenes"] == ALL})
    return ["## Baselines: which metrics beat a blind guess", "",
            "Two image-blind maps are scored like the methods on every scene: "
            f"`{CENTRE}` (a Gaussian at the image centre, sigma = a quarter of the shorter side) "
            f"and `{RANDOM}` (uniform noise on a 7 x 7 grid resized to the image, seeded per "
            "scene). `margin`: mean over (model, scene) of the median explanation method minus "
            "the centre blob (sign flipped where lower is better, so positive = better than the "
            "blob) ± its standard error; `vs random`: the same against the random map. The "
            f"rule: {ev.INFORMATIVE_RULE} (in `claims.md`). `scenes`: all scenes, or the "
            "multi-instance ones (pair+flock) on which the multi-instance claims are decided.",
            "",
            md_table(["metric", "family", "scenes", "centre mean", "random mean", "margin ± SE",
                      "vs random ± SE", "n", "verdict"], rows), "",
            "Uninformative on all scenes: " + (", ".join(bad) if bad else "none") + ".", ""]


def _interval(s: Any) -> str:
    low = f"{s.low:+.2f}" if math.isfinite(s.low) else "-inf"
    high = f"{s.high:+.2f}" if math.isfinite(s.high) else "+inf"
    return f"{s.similarity:+.2f} [{low}, {high}]"


def sanity_md(sanity_rows: Sequence[Mapping[str, Any]],
              sanity_skipped: Mapping[tuple[str, str], str]) -> list[str]:
    """The randomisation section of ``metrics.md``: per model and method, each stage's mean
    similarity with its interval, the chance level, the threshold and the verdict."""
    table = verdicts(sanity_rows)
    images = sorted({str(r["image"]) for r in sanity_rows})
    seeds = sorted({str(r["seeds"]) for r in sanity_rows if r["kind"] == "trained"}, key=int)
    rows = []
    for model, by_method in table.items():
        for method, v in by_method.items():
            name = method + (" (reference)" if method in REFERENCES else "")
            rows.append([model, name, "/".join(str(s.layers) for s in v.stages),
                         " · ".join(_interval(s) for s in v.stages), str(v.stages[0].n),
                         f"{v.chance:.2f}", f"{v.threshold:.2f}", f"**{v.verdict}**"])
    md = ["## Randomisation sanity check (several scenes and seeds, half size)", "",
          "The map of the trained model against the maps of copies whose top layers are "
          "re-initialised (Adebayo et al. 2018), in cascading stages (`layers`: how many "
          "parameterised layers, counted from the output, are random at each stage; the last: "
          f"all of them), on {len(images)} scenes x {len(seeds)} seeds "
          f"({', '.join(images)}; seeds {', '.join(seeds)}). `similarity`: the mean signed "
          "Spearman correlation per stage with its 95 % t-interval over scenes x seeds (`n` "
          "values per stage; negative = the ranking reversed, i.e. the map changed). `chance`: "
          "the mean similarity of the maps of two fully randomised models (two seeds), what the "
          "image and the architecture alone give. The rule "
          f"(`xai_tutor.evaluation.RANDOMISATION_RULE`): {ev.RANDOMISATION_RULE}. Two "
          "reference maps are checked like the methods: `image_edges` (the image alone: it "
          "must fail) and `weight_noise` (noise seeded by the weights: it passes, though it "
          "shows nothing; passing does not mean informative, Binder et al. 2023). Every "
          "compared pair of maps is in `sanity.csv`.", "",
          md_table(["model", "method", "layers", "similarity per stage [95 % CI]", "n",
                    "chance", "threshold", "verdict"], rows), ""]
    if sanity_skipped:
        md += ["Not checked (too slow for `sanity_seconds`): " + "; ".join(
            f"{method} on {model} ({why})" for (model, method), why in sanity_skipped.items())
            + ".", ""]
    return md


def randomisation_claims_md(sanity_rows: Sequence[Mapping[str, Any]], failing,
                            sanity_skipped: Mapping[tuple[str, str], str]) -> list[str]:
    """The randomisation section of ``claims.md``: the rule, then per model the methods that
    fail, those left undecided and what the two reference maps got."""
    table = verdicts(sanity_rows)
    md = ["## Methods that fail the randomisation check", "",
          f"The rule: {ev.RANDOMISATION_RULE} (`sanity.csv`, the last section of `metrics.md`). "
          "Good localisation scores of a failing method do not show what the model learned; a "
          "claim about its maps says so in its verdict. Passing does not make a map "
          "informative: the `weight_noise` reference passes.", ""]
    md += [f"- {model}: {', '.join(names) if names else 'none'}"
           for model, names in failing.items()] + [""]
    md += ["Undecided (the interval contains the threshold; more scenes would decide):", ""]
    for model, by_method in table.items():
        open_ = [m for m, v in by_method.items() if v.verdict == "undecided"
                 and m not in REFERENCES]
        md.append(f"- {model}: {', '.join(open_) if open_ else 'none'}")
    md += ["", "Reference maps: " + "; ".join(
        f"{model}: " + ", ".join(f"{m} {by_method[m].verdict}" for m in REFERENCES
                                 if m in by_method)
        for model, by_method in table.items()) + ".", ""]
    if sanity_skipped:
        md += ["Not checked: " + "; ".join(f"{method} on {model} ({why})"
                                           for (model, method), why in sanity_skipped.items())
               + ".", ""]
    return md


def write_all(out: Path, scores, metrics, timing, sanity_rows, claims, judged, failing,
              canonical_maps, scenes, kinds, model_map, methods, combos,
              skipped, column_titles: dict[str, list[str]] | None = None,
              sanity_skipped: Mapping[tuple[str, str], str] | None = None) -> list[Path]:
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
    infos = metric_columns(scores)
    keys = [m.name for m in infos]
    titles = [f"{m.title} {m.arrow}" for m in infos]
    model_cols = _model_metrics(scores)
    everywhere = any(not math.isnan(r[k]) for r in scores if r["scene"] != "canonical"
                     for k in model_cols)
    order = list(methods) + [combo_name(*c) for c in combos] + [CENTRE, RANDOM]
    md = ["# Metrics per method, model and scene kind", ""] + baselines_md(judged) + [
          "## Scores", "",
          "Mean ± standard error over the scenes of each kind "
          f"({', '.join(f'{k}: n = {n}' for k, n in n_per_kind.items())}; the canonical scene "
          "plus generated ones). The arrow after a metric's name says whether higher (↑) or "
          "lower (↓) is better; `xai_tutor.evaluation.METRICS` declares each metric. "
          "`area`: share of the image covered by the explained birds (relevance mass of a "
          "uniform map). `correct`: share of scenes where the top class is a bird in the scene."
          + (" Methods registered as expensive (" + ", ".join(sorted(
              {r["method"] for r in scores if is_expensive(r["method"])})) + ") ran on the "
             "canonical scenes only (n = 1 per cell)." if any(
              is_expensive(r["method"]) for r in scores) and not any(
              is_expensive(r["method"]) and r["scene"] != "canonical" for r in scores) else "")
          + " The metrics that run the model ("
          + ", ".join(model_cols) + ") are computed on "
          + ("every scene" if everywhere else "the canonical scenes (n = 1 per cell)")
          + "; those that recompute the map ("
          + ", ".join(m.name for m in infos if "explainer" in m.needs) + ") only for maps "
          "whose method took at most the run's `recompute_seconds` per call. Time is per call "
          "during the run (other processes share the CPU); the timing table has best-of-3 "
          "times and each method's peak tensor memory."
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
           "(`n curves`: maps with the metrics that run the model).", "",
           md_table(["method", "n", "n curves"] + titles,
                     [[flag(m["method"], failing), m["n"], m["n_curves"]]
                      + [fmt(m[k], m[f"{k}_se"]) for k in keys]
                      for name in order for m in overall if m["method"] == name]), ""]
    files.append(write_csv(out / "overall.csv", overall))
    header = ["method", "kind"] + titles
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
                    fmt(m[k], m[f"{k}_se"]) for k in keys])
        md += [md_table(header, table), ""]
    md += ["## Run time and memory at two image sizes (canonical single scene)", "",
           "Best of up to 3 runs (one run for methods slower than 3 s); `ratio` = full / half "
           "time for 4x the pixels. `tensor MB`: the peak bytes of the tensors one call creates "
           "(activations, gradients, what autograd saves for the backward pass, temporaries; "
           "`xai_tutor.evaluation.tensor_memory`): deterministic, the same on every run.", "",
           md_table(["model", "method", "half", "s", "tensor MB", "full", "s", "tensor MB",
                     "ratio"],
                     [[t["model"], t["method"], t["half_size"], fmt(t["half_seconds"]),
                       fmt(t["half_tensor_mb"], None, 2), t["full_size"],
                       fmt(t["full_seconds"]), fmt(t["full_tensor_mb"], None, 2),
                       fmt(t["time_ratio"], None, 2)] for t in timing]), ""]
    if sanity_rows:
        md += sanity_md(sanity_rows, sanity_skipped or {})
    (out / "metrics.md").write_text("\n".join(md))
    files.append(out / "metrics.md")
    cl = ["# The paper's claims against the measurements", "",
          "Verdicts come from the rules in the `rule` column, applied to `scores.csv` and "
          "`timing.csv`. Paired comparisons use the same scenes and models; a difference counts "
          "when its mean is more than 2 standard errors away from 0. A claim decided by an "
          f"uninformative metric is **undecided**: {ev.INFORMATIVE_RULE} (`baselines.csv`, the "
          "Baselines section of `metrics.md`). A claim about the maps of a method that fails "
          "the randomisation check (last section) says so in its verdict; the `randomisation` "
          "column gives the check's verdict for each method the claim is about.", "",
          md_table(["claim", "measured", "verdict", "rule", "randomisation"],
                    [[c["claim"], c["measured"], f"**{c['verdict']}**", c["rule"],
                      c.get("randomisation", "")] for c in claims]), ""]
    if sanity_rows:
        cl += randomisation_claims_md(sanity_rows, failing, sanity_skipped or {})
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


