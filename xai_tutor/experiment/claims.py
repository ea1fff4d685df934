"""The paper's claims, each with the numbers measured and a verdict from a stated rule.

A claim is decided by one or more metrics; when one of them is **uninformative** on the scenes
the claim uses (the median method does not beat the image-blind centre blob by 2 standard
errors, :mod:`.judge`), the claim's verdict is ``"undecided (uninformative metric: <name>)"``
whatever the comparison says, and ``measured`` says why. The multi-instance claims are decided by
the per-instance energy score (:func:`xai_tutor.evaluation.instance_energy`) on the pair and flock
scenes, which an image-blind map cannot game as it games multi-instance coverage.

A claim about what some methods' maps show names those methods; where one of them fails the
model-randomisation check on some model (:data:`xai_tutor.evaluation.RANDOMISATION_RULE`,
:mod:`.sanity`), its verdict says so in brackets (``"supported (deconvnet fails the randomisation
check on tiny_resnet)"``): the numbers still decide the verdict, but such a map can score well
without showing what the model learned. The ``randomisation`` column gives each named method's
verdict per model. The speed claim is about run time, not maps, and names no method.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .judge import ALL, MULTI, judge, scope_text, uninformative
from .report import fmt, mean_se
from .spec import CENTRE, COMBINATIONS, combo_name


def _paired(scores, metric: str, a: str, b: str | Sequence[str], kinds=None,
            reduce_b: str = "mean") -> tuple[float, float, int]:
    """Mean and SE of ``metric(a) - metric(b)`` over (model, scene) pairs present for both.

    ``b`` may be a list of methods: then the per-scene median (``reduce_b="median"``) of their
    values is the reference.
    """
    table: dict[tuple[str, str, str], dict[str, float]] = {}
    for r in scores:
        if kinds is not None and r["kind"] not in kinds:
            continue
        key = (r["model"], r["kind"], r["scene"])
        table.setdefault(key, {})[r["method"]] = r.get(metric, math.nan)
    diffs = []
    for vals in table.values():
        if a not in vals:
            continue
        if isinstance(b, str):
            if b not in vals:
                continue
            ref = vals[b]
        else:
            ref_vals = [vals[m] for m in b if m in vals and m != a]
            if not ref_vals:
                continue
            ref = float(np.median(ref_vals)) if reduce_b == "median" else float(np.mean(ref_vals))
        diffs.append(vals[a] - ref)
    return mean_se(diffs)


def _verdict(mean: float, se: float, n: int, higher_supports: bool = True) -> str:
    if n == 0 or math.isnan(mean):
        return "not measured"
    sign = 1 if higher_supports else -1
    if sign * mean - 2 * se > 0:
        return "supported"
    if sign * mean + 2 * se < 0:
        return "contradicted"
    return "inconclusive"


def _method_mean(scores, metric, method, kinds=None) -> tuple[float, float, int]:
    return mean_se(r.get(metric, math.nan) for r in scores
                    if r["method"] == method and (kinds is None or r["kind"] in kinds))


def _combine_verdicts(parts: Sequence[str]) -> str:
    if any(p == "not measured" for p in parts):
        return "not measured"
    if all(p == "supported" for p in parts):
        return "supported"
    if any(p == "supported" for p in parts):
        return "partly supported"
    if all(p == "contradicted" for p in parts):
        return "contradicted"
    return "not supported"


UNDECIDED = "undecided"
RANDOMISATION_NOTE = "fails the randomisation check"


def with_note(verdict: str, note: str) -> str:
    """``verdict`` with ``note`` in its brackets: ``"supported (note)"``, ``"undecided (why;
    note)"``.

    >>> with_note("undecided (uninformative metric: recall)", "x fails")
    'undecided (uninformative metric: recall; x fails)'
    """
    if verdict.endswith(")") and " (" in verdict:
        return f"{verdict[:-1]}; {note})"
    return f"{verdict} ({note})"


def randomisation_text(methods: Sequence[str],
                       randomisation: Mapping[str, Mapping[str, str]]) -> tuple[str, str]:
    """``(note, column)`` of a claim about ``methods``' maps: the note names the methods that
    fail the check and where (empty when none does); the column gives every method's verdict
    per model (``"not checked"`` where a model has none for it)."""
    notes, column = [], []
    models = list(randomisation)
    for method in methods:
        per = {m: randomisation[m].get(method, "not checked") for m in models}
        failing = [m for m, v in per.items() if v == "fails"]
        if failing:
            notes.append(f"{method} {RANDOMISATION_NOTE} on {', '.join(failing)}")
        groups: dict[str, list[str]] = {}
        for m, v in per.items():
            groups.setdefault(v, []).append(m)
        column.append(f"{method}: " + "; ".join(
            f"{v} on {', '.join(ms) if len(ms) < len(models) else 'every model'}"
            for v, ms in groups.items()))
    return "; ".join(notes), "; ".join(column)


def evaluate_claims(scores: Sequence[Mapping[str, Any]],
                    timing: Sequence[Mapping[str, Any]],
                    judged: Mapping[str, Mapping[str, Any]] | None = None,
                    randomisation: Mapping[str, Mapping[str, str]] | None = None
                    ) -> list[dict[str, Any]]:
    """The paper's claims, each with the numbers measured and a verdict from a stated rule.

    ``judged``: the baseline rule's outcome (:func:`.judge.judge`; computed from ``scores``
    when None). Scores without a centre-baseline row cannot be judged: then no metric is
    marked uninformative. ``randomisation``: ``{model: {method: "fails" | "passes" |
    "undecided"}}`` from the randomisation check (:func:`.sanity.verdicts`); None or empty: not
    checked, and the ``randomisation`` column says so.
    """
    from ..methods import METHODS

    if judged is None:
        judged = judge(scores)

    multi = ("pair", "flock")
    present = {r["method"] for r in scores}
    explainers = [m for m in present if m in METHODS]
    cams = [m for m in explainers if METHODS[m].family == "cam"]
    claims: list[dict[str, Any]] = []

    def add(claim: str, measured: str, verdict: str, rule: str,
            metrics: Sequence[str] = (), scope: str = ALL, maps_of: Sequence[str] = ()) -> None:
        bad = uninformative(judged, metrics, scope)
        if bad and verdict != "not measured":
            verdict = f"{UNDECIDED} (uninformative metric: {', '.join(bad)})"
            measured += "; " + "; ".join(
                f"{m} is uninformative on {scope_text(scope)} ({judged[scope][m].describe()}), "
                "so it decides no verdict" for m in bad)
        maps_of = [m for m in maps_of if m in present]
        if not maps_of:
            column = "not about maps" if claim == SPEED_CLAIM else "no method of the claim ran"
        elif not randomisation:
            column = "not checked"
        else:
            note, column = randomisation_text(maps_of, randomisation)
            if note and verdict != "not measured":
                verdict = with_note(verdict, note)
        claims.append({"claim": claim, "measured": measured, "verdict": verdict, "rule": rule,
                       "randomisation": column})

    def pd(mean, se, n):
        return f"{mean:+.3f} ± {se:.3f} (n = {n})"

    # 1. Grad-CAM and several instances
    if "gradcam" in present:
        g = _method_mean(scores, "energy", "gradcam", multi)
        d = _paired(scores, "energy", "gradcam", explainers, multi, "median")
        add("Grad-CAM struggles with multiple instances",
            f"Grad-CAM instance energy on pair/flock {fmt(g[0], g[1])} (n = {g[2]}); minus the "
            f"per-scene median of all methods: {pd(*d)}",
            _verdict(*d, higher_supports=False),
            "supported if Grad-CAM's per-instance energy score (each bird's share of the map's "
            "energy relative to its fair share, capped at 1, averaged over the birds) on pair "
            "and flock scenes is lower than the median method's on the same scenes (paired, "
            "2 SE)", ["energy"], MULTI, ["gradcam"])
    else:
        add("Grad-CAM struggles with multiple instances", "Grad-CAM not run", "not measured", "")
    # 2. Grad-CAM++ vs Grad-CAM
    d = _paired(scores, "energy", "gradcampp", "gradcam", multi)
    add("Grad-CAM++ does better than Grad-CAM on multiple instances",
        f"instance energy Grad-CAM++ minus Grad-CAM on pair/flock: {pd(*d)}", _verdict(*d),
        "supported if Grad-CAM++'s per-instance energy score on pair and flock scenes is "
        "higher (paired, 2 SE)", ["energy"], MULTI, ["gradcampp", "gradcam"])
    # 3. FullGrad: whole bird, noise, memory
    whole = _paired(scores, "recall", "fullgrad", "gradcam")
    noise = _paired(scores, "mass", "fullgrad", "smoothgradcampp")
    v_mem, mem_text = _memory_part(timing, "fullgrad", cams)
    parts = [_verdict(*whole), _verdict(*noise, higher_supports=False), v_mem]
    add("FullGrad captures the whole bird but adds noise and uses a lot of memory",
        f"area recall FullGrad minus Grad-CAM {pd(*whole)}; relevance mass FullGrad minus "
        f"SmoothGrad-CAM++ {pd(*noise)} (negative = more saliency off the birds); peak tensor "
        f"memory FullGrad / median other CAM method at full size: {mem_text} "
        f"[parts: {', '.join(parts)}]",
        _combine_verdicts(parts),
        "three parts: recall above Grad-CAM's and mass below SmoothGrad-CAM++'s, each paired "
        "with 2 SE; peak tensor memory of one call at full size (deterministic, timing.csv) >= "
        "1.5x the median of the other CAM methods on every model (contradicted if below 1x on "
        "every model, else inconclusive). supported = all three, partly = some",
        ["recall", "mass"], ALL, ["fullgrad"])
    d = _paired(scores, "energy", "fullgrad", "gradcam", multi)
    add("FullGrad performs better than Grad-CAM on multi-instance images",
        f"instance energy FullGrad minus Grad-CAM on pair/flock: {pd(*d)}", _verdict(*d),
        "supported if FullGrad's per-instance energy score on pair and flock scenes is higher "
        "(paired, 2 SE)", ["energy"], MULTI, ["fullgrad", "gradcam"])
    # 4. gradient-free methods: slower, and scale with image size
    add(*_speed_claim(timing))
    # 5. DeconvNet
    mass = _paired(scores, "mass", "deconvnet", CENTRE)
    point = _paired(scores, "pointing", "deconvnet", CENTRE)
    vm = _verdict(*mass)
    add("DeconvNet barely localises the bird",
        f"relevance mass DeconvNet minus centre baseline {pd(*mass)}; pointing hit rate "
        f"DeconvNet minus centre baseline {pd(*point)}",
        "not measured" if vm == "not measured" else
        "contradicted" if vm == "supported" else "supported",
        "supported unless DeconvNet's relevance mass beats an image-blind centre Gaussian "
        "(paired, 2 SE)", ["mass"], ALL, ["deconvnet"])
    # 6. LRP shape
    d = _paired(scores, "shape_iou", "lrp", cams, None, "median")
    add("LRP gives the shape of the body",
        f"shape IoU LRP minus the per-scene median CAM method: {pd(*d)}", _verdict(*d),
        "supported if LRP's shape IoU is higher than the median CAM method's (paired, 2 SE)",
        ["shape_iou"], ALL, ["lrp"])
    # 7. combining
    add(*_combination_claim(scores), ["mass"], ALL,
        list(dict.fromkeys(m for a, b, rule in COMBINATIONS
                           if combo_name(a, b, rule) in present for m in (a, b))))
    return claims


def _memory_part(timing, method: str, cams: Sequence[str]) -> tuple[str, str]:
    """The memory part's verdict and text: per model, ``method``'s peak tensor memory at full
    size over the median of the other CAM methods' (``timing.csv``'s ``full_tensor_mb``)."""
    ratios = {}
    for model in sorted({t["model"] for t in timing}):
        rows = {t["method"]: float(t.get("full_tensor_mb", math.nan)) for t in timing
                if t["model"] == model}
        mine = rows.get(method, math.nan)
        others = [v for m, v in rows.items() if m in cams and m != method and math.isfinite(v)]
        if math.isfinite(mine) and others:
            ratios[model] = mine / max(float(np.median(others)), 1e-12)
    if not ratios:
        return "not measured", "not measured"
    text = ", ".join(f"{m} {r:.2f}x" for m, r in ratios.items())
    if all(r >= 1.5 for r in ratios.values()):
        return "supported", text
    if all(r < 1.0 for r in ratios.values()):
        return "contradicted", text
    return "inconclusive", text


SPEED_CLAIM = ("Gradient-free methods (Ablation-CAM, Score-CAM) are slower and scale with image "
               "size")


def _speed_claim(timing) -> tuple[str, str, str, str]:
    claim = SPEED_CLAIM
    rule = ("supported if, for every model, each gradient-free method is slower at full size "
            "than every gradient CAM method (Grad-CAM, Grad-CAM++, XGrad-CAM) and its run time "
            "grows at least 2x from half to full size (4x the pixels; not asked of a model that "
            "resizes every input to a fixed size itself); partly if one of the two")
    free = [t for t in timing if t["method"] in ("ablationcam", "scorecam")]
    grad = [t for t in timing if t["method"] in ("gradcam", "gradcampp", "xgradcam")]
    if not free or not grad:
        return claim, "not run", "not measured", rule
    slower, scales, text = True, True, []
    for model in sorted({t["model"] for t in free}):
        g_max = max(t["full_seconds"] for t in grad if t["model"] == model)
        for t in (t for t in free if t["model"] == model):
            slower &= t["full_seconds"] > g_max
            fixed = bool(t.get("resizes_input", False))
            scales &= fixed or t["time_ratio"] >= 2.0
            text.append(f"{model} {t['method']}: {t['full_seconds']:.2f} s "
                        f"(x{t['full_seconds'] / max(g_max, 1e-9):.1f} the slowest gradient "
                        f"CAM), half->full x{t['time_ratio']:.1f}"
                        + (" (the model resizes its input: not counted)" if fixed else ""))
    verdict = _combine_verdicts(["supported" if slower else "contradicted",
                                 "supported" if scales else "contradicted"])
    return claim, "; ".join(text), verdict, rule


def _combination_claim(scores) -> tuple[str, str, str, str]:
    claim = "Combining explanations gives a better explanation than either part"
    rule = ("for each combination: relevance mass minus that of the better part (higher mean "
            "over all scenes), paired with 2 SE; supported if most combinations are better, "
            "contradicted if most are worse, else inconclusive")
    present = {r["method"] for r in scores}
    texts, verdicts = [], []
    for a, b, rule_c in COMBINATIONS:
        name = combo_name(a, b, rule_c)
        if name not in present:
            continue
        better = max((a, b), key=lambda m: _method_mean(scores, "mass", m)[0])
        d = _paired(scores, "mass", name, better)
        v = _verdict(*d)
        verdicts.append(v)
        texts.append(f"{name} vs {better}: {d[0]:+.3f} ± {d[1]:.3f} ({v})")
    if not verdicts:
        return claim, "no combination run", "not measured", rule
    up = sum(v == "supported" for v in verdicts)
    down = sum(v == "contradicted" for v in verdicts)
    half = len(verdicts) / 2
    verdict = "supported" if up > half else "contradicted" if down > half else "inconclusive"
    return claim, "; ".join(texts), verdict, rule

