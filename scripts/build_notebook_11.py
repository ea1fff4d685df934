# ruff: noqa: E501  (this file holds notebook text: markdown, LaTeX and cell code)
"""Generate notebook 11 (comparing the methods: the paper's experiment, measured).

Run ``python scripts/build_notebook_11.py`` after editing; the notebook is written without
outputs. Edit the prose here, not in the .ipynb file, so that the two never drift apart.

``python scripts/build_notebook_11.py --dev OUT_DIR [RESULTS_DIR]`` writes a variant for
development that uses untrained tiny models when the trained weights are not there yet, and
optionally reads another results folder (never commit that one).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nbtools import code, md, write_notebook  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PAPER = "Ouadghiri (2022), *Post-hoc Explainable Artificial Intelligence for computer vision: model-specific methods*"

MODELS_LINE = "models = course_models()"
DEV_MODELS = '''
from xai_tutor.data import SPECIES
from xai_tutor.models import load_model
from xai_tutor.models.tiny import TinyResNet, TinyVGG


def _untrained(cls):
    torch.manual_seed(0)
    m = cls(num_classes=len(SPECIES)).eval()
    m.class_names = list(SPECIES)
    return m


models = {"tiny_vgg": _untrained(TinyVGG), "tiny_resnet": _untrained(TinyResNet),
          "efficientnet_lite0": load_model("efficientnet_lite0")}
'''

CELLS = [
    md(r"""
    # 11 · Comparing the methods — the paper's experiment, with numbers

    Notebooks 03–10 built every method of the survey by hand. The survey ({paper}) ends with an
    experiment (its Section 4): all methods, three ImageNet models, three photographs of birds,
    and a large grid of saliency maps (its Figure 5) that the author compares **by eye**, because
    "there is no set metric to quantitatively compare the results". In this notebook we repeat
    that experiment on scenes where we know exactly where every bird is, and turn the by-eye
    comparison into measurements — then check the survey's statements one by one.

    **Learning objectives.** After this notebook you can
    - describe the paper's experimental set-up and say what our reproduction changes, and why;
    - read a Figure-5 grid (methods × scenes) for each course model;
    - define and compute by hand the **pointing game** (with its tolerance), the **relevance
      mass**, the **multi-instance coverage**, **area recall** and **shape IoU**, the
      **deletion / insertion AUC** (and their baselines), the **model-randomisation** sanity check,
      and run time / peak memory;
    - run `xai_tutor.experiment.run_experiment` and read its tables;
    - judge a qualitative claim against paired measurements with standard errors, and say when the
      data cannot decide;
    - combine two explanations (`xai_tutor.combine`) and measure whether the combination helps.

    **Prerequisites.** [02 · Models, data and hooks](02_models_data_hooks.ipynb) and at least the
    method notebooks 03–08; 09 (FullGrad) and 10 (Ablation-CAM, Score-CAM) help. Means, standard
    deviations and the idea of a standard error.

    **Expected run time.** About 30 seconds of computation on a 2-core CPU with the offline
    course models (several minutes with the ImageNet models); 45 minutes of reading, exercises
    and discussion.
    """.replace("{paper}", PAPER)),
    md(r"""
    ## The paper's set-up, and what we do differently

    | | the paper (Section 4) | this notebook |
    |---|---|---|
    | models | VGG16, ResNet18, ResNet50, pre-trained on ImageNet | the course models: the same three when their ImageNet weights are on disk, otherwise the offline trio (tiny VGG, tiny ResNet, EfficientNet-Lite0) |
    | images | bird photographs from the internet: 1 bird, 2 birds, many occluded birds, 626 × 418 | generated scenes of the same three kinds and size (`xai_tutor.data.make_scene`): bird cut-outs pasted on backgrounds, some hidden behind leaves and branches |
    | ground truth | none ("annotation boxes ... do not provide a reliable metric") | exact **per-instance masks of the visible pixels** of every bird, because we pasted them |
    | comparison | by eye, one grid (Figure 5) | the same grid, plus metrics with standard errors over several scenes, run time and memory, a sanity check, and a verdict per claim computed by a stated rule |

    Two consequences are worth keeping in mind. Our scenes are easier to score but they are not
    photographs: cut-out edges and pasted birds are not what the ImageNet models were trained on.
    And a metric answers one precise question (is the maximum on a bird? how much of the map is on
    the birds? does the score drop when the top pixels go?) — none of them is "the quality of an
    explanation". That is why we use several.

    **Which class do we explain?** As in the paper, the model's **top class**. The birds that
    count as ground truth are those of the predicted species; when the model predicts something
    that is not in the scene (a misclassification), all birds count.
    """),
    md("""
    ## Setup

    The course models, the three course scenes at half size (313 × 209, so that the live part of
    this notebook stays fast; the committed results in `results/` use the paper's 626 × 418), and
    the committed results folder.
    """),
    code(f"""
    import csv
    import html
    import inspect
    import json
    import math
    import tempfile
    import time
    from pathlib import Path

    import matplotlib.pyplot as plt
    import numpy as np
    import torch
    from IPython.display import HTML, Image, Markdown, display

    import xai_tutor
    from xai_tutor import evaluation as ev
    from xai_tutor import viz
    from xai_tutor.data import COURSE_SCENES, load_image, make_scene
    from xai_tutor.experiment import run_experiment
    from xai_tutor.methods import METHODS
    from xai_tutor.models import course_models

    t_notebook = time.perf_counter()
    cpu_notebook = time.process_time()

    {MODELS_LINE}
    SIZE = (313, 209)  # (W, H): half the paper's 626 x 418
    KINDS = ("single", "pair", "flock")
    scenes = {{k: make_scene(k, size=SIZE, **COURSE_SCENES[k]) for k in KINDS}}
    inputs = {{k: load_image(s.image)[0] for k, s in scenes.items()}}
    RESULTS = Path(xai_tutor.__file__).resolve().parents[1] / "results"
    print("models:", ", ".join(models))
    print("scenes:", {{k: f"{{len(s.species)}} bird(s)" for k, s in scenes.items()}})
    print("committed results:", RESULTS, "(present)" if (RESULTS / "claims.csv").is_file() else "(not there yet)")
    """),
    md("""
    The instance masks are what make measurements possible: one boolean mask per bird, holding
    only its **visible** pixels (a bird half hidden behind a branch has half a mask).
    """),
    code("""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.2), layout="constrained")
    for ax, (kind, scene) in zip(axes, scenes.items()):
        viz.show_masks(scene, ax=ax)
        ax.set_title(f"{kind}: {len(scene.species)} bird(s), {scene.masks.any(axis=0).mean():.0%} of the image")
    plt.show()
    """),
    md("""
    ## Figure 5, recomputed

    One grid per model: the three scenes as columns, one row per method, the map shown as a
    heatmap (red = important). What is computed **live** here, at half size:

    - every method that is cheap (one or a few passes: gradient, guided backprop, DeconvNet, LRP,
      CAM, Grad-CAM, Grad-CAM++, XGrad-CAM, FullGrad) for every model;
    - the **expensive** methods (SmoothGrad and Smooth Grad-CAM++ with 10 instead of 25 noisy
      copies, Ablation-CAM, Score-CAM) only for models with fewer than 2 million parameters (the
      tiny course models); for the bigger models their cells stay blank and the full grid from the
      committed run (`results/grid_<model>.png`, all methods at 626 × 418, default parameters) is
      shown below instead.

    A method that cannot handle a model says so and leaves its cell blank (LRP, for example,
    refuses EfficientNet's ReLU6 clipping).
    """),
    code("""
    def top_class_and_masks(model, scene, x):
        \"\"\"The model's top class and the masks of the birds that count for it.\"\"\"
        with torch.no_grad():
            logits = model(x)
        cls = int(logits.argmax(dim=1)[0])
        if logits.shape[1] == 1000:  # an ImageNet model: compare ImageNet ids
            keep = [iid is not None and int(iid) == cls for iid in scene.imagenet_ids]
        else:  # a course model: class i is the species model.class_names[i]
            keep = [model.class_names[cls] == sp for sp in scene.species]
        keep = np.array(keep)
        return cls, (scene.masks[keep] if keep.any() else scene.masks), bool(keep.any())


    def small(model):
        return sum(p.numel() for p in model.parameters()) < 2_000_000


    REDUCED = {"smoothgrad": {"n": 10, "batch_size": 10}, "smoothgradcampp": {"n": 10, "batch_size": 10}}


    def params_for(method):
        params = dict(REDUCED.get(method, {}))
        if "progress" in inspect.signature(METHODS[method].fn).parameters:
            params["progress"] = False
        return params


    # the rows in the order of the course: pixel methods, then the CAM family (then anything new)
    ORDER = ["gradient", "deconvnet", "guided_backprop", "lrp", "smoothgrad", "cam", "gradcam", "gradcampp",
             "xgradcam", "smoothgradcampp", "fullgrad", "ablationcam", "scorecam"]
    ORDER = [m for m in ORDER if m in METHODS] + [m for m in METHODS if m not in ORDER]
    maps, targets, skipped = {}, {}, {}
    t0, c0 = time.perf_counter(), time.process_time()
    for name, model in models.items():
        maps[name] = {m: [] for m in ORDER}
        for kind in KINDS:
            x = inputs[kind]
            cls, masks, correct = top_class_and_masks(model, scenes[kind], x)
            targets[name, kind] = (cls, masks, correct)
            for method in ORDER:
                if METHODS[method].expensive and not small(model):
                    maps[name][method].append(None)
                    continue
                try:
                    e = xai_tutor.explain(model, x, method, target=cls, **params_for(method))
                    maps[name][method].append(e.saliency[0].double().numpy())
                except ValueError as err:  # the method does not support this model
                    skipped[name, method] = str(err).split(";")[0][:110]
                    maps[name][method].append(None)
    print(f"{sum(v is not None for n in maps for m in maps[n] for v in maps[n][m])} maps in "
          f"{time.perf_counter() - t0:.1f} s (CPU {time.process_time() - c0:.1f} s)")
    for (name, method), why in skipped.items():
        print(f"  {name} / {method}: skipped ({why})")
    for name in models:
        for kind in KINDS:
            cls, masks, correct = targets[name, kind]
            label = models[name].class_names[cls]
            print(f"  {name:20s} {kind:6s}: predicts {label!r}" + ("" if correct else " (no such bird in the scene: all birds count)"))
    """),
    code("""
    images = [scenes[k].image for k in KINDS]
    for name in models:
        rows = {m: v for m, v in maps[name].items() if any(s is not None for s in v)}
        fig = viz.grid(images, rows, "heatmap", column_titles=list(KINDS), cell_width=2.3,
                       title=f"{name}: computed live at {SIZE[0]} x {SIZE[1]}")
        display(fig)
        committed = RESULTS / f"grid_{name}.png"
        missing = [m for m in ORDER if all(s is None for s in maps[name][m]) and (name, m) not in skipped]
        if missing and committed.is_file():
            size = "x".join(str(v) for v in json.loads((RESULTS / "run.json").read_text())["size"])
            print(f"{name}: {', '.join(missing)} not computed live; the committed grid "
                  f"({size} px, every method the run could apply) from {committed.relative_to(RESULTS.parent)}:")
            display(Image(filename=str(committed), width=620))
        elif missing:
            print(f"{name}: {', '.join(missing)} not computed live (expensive for a model of this "
                  f"size) and not in the committed run; `python -m xai_tutor experiment --models {name}` "
                  "produces its full grid")
    """),
    md("""
    **Reading the grids.** Look for the same things the paper looked for, row by row:

    - *Pixel methods* (gradient, DeconvNet, guided backprop, LRP, SmoothGrad) are sharp but
      speckled; DeconvNet tends to light up a regular pattern or edges all over the image,
      whatever the class.
    - *CAM methods* are blobs at the resolution of the last convolutional layer (a few dozen cells
      across), upsampled: smooth and easy to read, but they cannot draw a beak.
    - With **two birds** and the **flock**, check whether a map covers every bird of the
      predicted species or settles on one, and how much lands on branches and leaves.

    Eyes are good at seeing *that* maps differ and bad at saying *by how much* — the rest of the
    notebook puts numbers on each of these observations.
    """),
    md(r"""
    ## The metrics, one by one

    Every metric below is first computed **by hand** on a tiny synthetic example — a 12 × 16 map
    and two rectangular "birds" — and then **asserted equal** to the function in
    `xai_tutor.evaluation`, so that this notebook fails loudly if either drifts.
    """),
    code("""
    H, W = 12, 16
    toy_masks = np.zeros((2, H, W), dtype=bool)
    toy_masks[0, 2:7, 2:7] = True      # bird 0: rows 2-6, columns 2-6
    toy_masks[1, 7:11, 10:15] = True   # bird 1: rows 7-10, columns 10-14
    yy, xx = np.mgrid[0:H, 0:W]
    toy_map = (np.exp(-((yy - 4) ** 2 + (xx - 8) ** 2) / 6.0)          # a blob just right of bird 0
               + 0.3 * np.exp(-((yy - 9) ** 2 + (xx - 12) ** 2) / 4.0)  # a weaker one on bird 1
               + 0.05 * np.random.default_rng(0).random((H, W)))       # a little noise
    fig, axes = plt.subplots(1, 2, figsize=(8, 2.8), layout="constrained")
    axes[0].imshow(toy_map, cmap="jet"); axes[0].set_title("toy map")
    axes[1].imshow(toy_masks[0] * 1 + toy_masks[1] * 2, cmap="tab10", vmax=9); axes[1].set_title("toy masks (bird 0, bird 1)")
    plt.show()
    """),
    md(r"""
    ### 1. Pointing game (Zhang et al. 2016)

    The map *points* at its maximum $p^* = \arg\max_p s_p$ (the first one in row-major order if
    several pixels tie). It is a **hit** when $p^*$ lies within a tolerance of $\tau$ pixels of
    some instance:

    $$\text{hit} \iff \min_{i}\ \min_{q \in M_i} \lVert p^* - q \rVert_2 \le \tau .$$

    The tolerance (15 px in the usual benchmark, and in our experiment) forgives a maximum that
    sits just off the outline — CAM maps are coarse, and annotations are never perfect. A constant
    map points nowhere: a miss. Over many images, the score is the hit rate.
    """),
    code("""
    point = np.unravel_index(toy_map.argmax(), toy_map.shape)          # (row, col)
    rows, cols = np.nonzero(toy_masks.any(axis=0))
    distance = np.sqrt((rows - point[0]) ** 2 + (cols - point[1]) ** 2).min()
    print(f"maximum at {tuple(int(v) for v in point)}, {distance:.2f} px from the nearest bird pixel")
    for tau in (1, 2, 15):
        by_hand = bool(distance <= tau)
        lib = ev.pointing_game(toy_map, toy_masks, tolerance_px=tau)
        assert lib.hit == by_hand and lib.point == tuple(int(v) for v in point)
        print(f"  tolerance {tau:2d} px: {'hit' if by_hand else 'miss'}  (xai_tutor agrees)")
    """),
    md(r"""
    ### 2. Relevance mass (Arras et al. 2022)

    The share of the map's total relevance that falls **on the birds**, $U = \bigcup_i M_i$:

    $$\text{mass} = \frac{\sum_{p \in U} s_p}{\sum_p s_p}.$$

    It is 1 when everything is on the birds. A **uniform** map scores exactly the birds' share of
    the image area — that is the chance level to beat, and it is small for a single bird and large
    for a flock, so compare masses within a scene kind, not across kinds.
    """),
    code("""
    union = toy_masks.any(axis=0)
    mass_by_hand = toy_map[union].sum() / toy_map.sum()
    assert np.isclose(mass_by_hand, ev.relevance_mass(toy_map, toy_masks), rtol=1e-12)
    assert np.isclose(ev.relevance_mass(np.ones((H, W)), toy_masks), union.mean())
    print(f"relevance mass {mass_by_hand:.3f}; a uniform map would score the area share {union.mean():.3f}")
    """),
    md(r"""
    ### 3. Multi-instance coverage (ours), area recall and shape IoU

    The paper's main worry is *several* birds. The mean saliency on the birds is
    $d_U = \frac{1}{|U|}\sum_{p\in U} s_p$. Bird $i$ is **covered** when its own mean saliency
    $d_i = \frac{1}{|M_i|}\sum_{p \in M_i} s_p$ reaches at least half of that "fair share":
    $d_i \ge \tfrac12 d_U$ (and $d_i > 0$). The coverage is the share of birds covered: a map
    that finds one bird of a flock and ignores the rest scores low, however bright it is on that
    one bird. (This is our metric, not a standard one; the fraction ½ is a choice.)

    Two more numbers describe the *shape*: **area recall** is the share of bird pixels where the
    map is at least half its maximum (does it light up the whole body?), and **shape IoU** is
    the intersection over union between the birds and the $|U|$ highest pixels of the map (does
    the top of the map trace the birds' outline?).
    """),
    code("""
    d_U = toy_map[union].mean()
    d_i = np.array([toy_map[m].mean() for m in toy_masks])
    covered = (d_i > 0) & (d_i >= 0.5 * d_U)
    coverage_by_hand = covered.mean()
    recall_by_hand = ((toy_map >= 0.5 * toy_map.max()) & union).sum() / union.sum()
    k = union.sum()
    top = np.zeros(H * W, dtype=bool)
    top[np.argsort(-toy_map.reshape(-1), kind="stable")[:k]] = True
    inter = (top & union.reshape(-1)).sum()
    iou_by_hand = inter / (2 * k - inter)

    assert (ev.covered_instances(toy_map, toy_masks) == covered).all()
    assert np.isclose(ev.multi_instance_coverage(toy_map, toy_masks), coverage_by_hand)
    assert np.isclose(ev.area_recall(toy_map, toy_masks), recall_by_hand)
    assert np.isclose(ev.shape_iou(toy_map, toy_masks), iou_by_hand)
    print(f"mean saliency per bird {np.round(d_i, 3)}, fair share d_U = {d_U:.3f} -> covered {covered}")
    print(f"coverage {coverage_by_hand:.2f}, area recall {recall_by_hand:.3f}, shape IoU {iou_by_hand:.3f}")
    """),
    md(r"""
    ### 4. Deletion and insertion (Petsiuk et al. 2018, "RISE")

    The metrics above ask whether a map agrees with *our* idea of where the bird is. Deletion and
    insertion ask whether it agrees with *the model*: rank the pixels by saliency, then

    - **deletion**: replace the top $k$ pixels by a *baseline* (grey: the value 0 of the
      normalised input) for $k = 0, \tfrac{1}{T}HW, \dots, HW$ and record the probability
      $p_j$ of the explained class. A faithful map makes it **drop fast: lower AUC is better**.
    - **insertion**: start from a blurred copy of the image and put the top pixels back. A
      faithful map makes the probability **rise fast: higher AUC is better**. (Blur rather than
      grey, so that the inserted pixels do not create sharp edges the model never saw.)

    $$\text{AUC} = \sum_{j=0}^{T-1} \frac{p_j + p_{j+1}}{2}\cdot\frac{1}{T}.$$

    The baseline matters: a different grey or blur gives different numbers, and both curves
    feed the model images it was never trained on. We check the arithmetic on a tiny linear
    "bird detector" whose class-0 logit is a scaled sum of the pixels inside the toy birds minus a
    threshold, and compare the toy map with a **random map** — the chance level of these curves: a
    map worth anything deletes faster and inserts faster than a random ranking.
    """),
    code("""
    torch.manual_seed(0)
    detector = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * H * W, 2))
    with torch.no_grad():
        detector[1].weight.zero_()
        detector[1].bias.zero_()
        detector[1].weight[0] = torch.from_numpy(np.tile(union.reshape(-1), 3) * 0.05).float()
        detector[1].bias[0] = -3.5  # a clean image: p close to 1; grey: close to 0
    toy_image = torch.from_numpy(np.where(union, 1.0, 0.2)).float().expand(1, 3, H, W).clone()
    steps = 8


    def curve_by_hand(saliency, start, end):
        order = np.argsort(-saliency.reshape(-1), kind="stable")     # highest saliency first
        probs, n = [], H * W
        for j in range(steps + 1):
            k = round(j * n / steps)
            switched = np.zeros(n, dtype=bool)
            switched[order[:k]] = True
            m = torch.from_numpy(switched.reshape(1, 1, H, W)).float()
            with torch.no_grad():
                probs.append(float(torch.softmax(detector(start * (1 - m) + end * m), 1)[0, 0]))
        probs = np.array(probs)
        return probs, float(((probs[1:] + probs[:-1]) / 2).sum() / steps)


    grey, blurred = torch.zeros_like(toy_image), ev.gaussian_blur(toy_image)
    random_map = np.random.default_rng(1).random((H, W))
    fig, axes = plt.subplots(1, 2, figsize=(10, 3), layout="constrained")
    for label, s in (("toy map", toy_map), ("random map", random_map)):
        p_del, auc_del = curve_by_hand(s, toy_image, grey)
        p_ins, auc_ins = curve_by_hand(s, blurred, toy_image)
        lib_del = ev.deletion_curve(detector, toy_image, s, target=0, steps=steps, progress=False)
        lib_ins = ev.insertion_curve(detector, toy_image, s, target=0, steps=steps, progress=False)
        assert np.allclose(lib_del.probs, p_del, atol=1e-6) and np.isclose(lib_del.auc, auc_del, atol=1e-6)
        assert np.allclose(lib_ins.probs, p_ins, atol=1e-6) and np.isclose(lib_ins.auc, auc_ins, atol=1e-6)
        axes[0].plot(lib_del.fractions, p_del, marker="o", label=f"{label}: AUC {auc_del:.3f}")
        axes[1].plot(lib_ins.fractions, p_ins, marker="o", label=f"{label}: AUC {auc_ins:.3f}")
    for ax, t in zip(axes, ("deletion (lower AUC = better)", "insertion (higher AUC = better)")):
        ax.set_title(t); ax.set_xlabel("share of pixels switched"); ax.set_ylabel("p(class 0)"); ax.legend()
    plt.show()
    """),
    md(r"""
    ### 5. The model-randomisation sanity check (Adebayo et al. 2018)

    An explanation of *what the model learned* must change when the learned weights are
    destroyed. We re-initialise every layer of a copy of the model, explain the same image and
    class again, and compare the two maps with the **Spearman rank correlation** (the Pearson
    correlation of the pixels' ranks). **High correlation = a failed check**: the map mostly
    reflects the image or the architecture. By hand first (our toy maps have no ties, so plain
    ranks suffice), then the real check on the first course model for two methods. Adebayo et al.
    found guided backprop to be almost insensitive to the weights; watch whether that happens
    here too.
    """),
    code("""
    def spearman_by_hand(a, b):
        ra = np.argsort(np.argsort(a.reshape(-1))).astype(float)
        rb = np.argsort(np.argsort(b.reshape(-1))).astype(float)
        ra -= ra.mean(); rb -= rb.mean()
        return float((ra * rb).sum() / np.sqrt((ra ** 2).sum() * (rb ** 2).sum()))


    rho = spearman_by_hand(toy_map, random_map)
    assert np.isclose(rho, ev.spearman(toy_map, random_map), atol=1e-12)
    print(f"toy map vs random map: Spearman {rho:+.3f} (xai_tutor agrees)")

    first_name, first_model = next(iter(models.items()))
    for method in ("gradcam", "guided_backprop"):
        r = ev.randomisation_check(first_model, inputs["single"], method, mode="cascading",
                                   stages=3, progress=False)
        steps_text = ", ".join(f"top {n} layers: {c:+.2f}" for n, c in zip(r.randomised, r.correlations))
        print(f"{first_name} / {method:15s}: {steps_text}")
    """),
    md("""
    ### 6. Run time and peak memory

    The paper notes that FullGrad "uses a lot of RAM" and that gradient-free methods are slow.
    `ev.measure(fn, ...)` times one call and samples the process's memory (its resident set size)
    every millisecond; on a GPU it reads PyTorch's own peak counter. Timings on a shared machine
    are noisy, so the experiment keeps the fastest of up to three runs; memory on a CPU is a lower
    bound (the allocator keeps freed memory). The result of the call comes back unchanged.
    """),
    code("""
    for method in ("gradcam", "fullgrad"):
        cost = ev.measure(xai_tutor.explain, first_model, inputs["single"], method)
        again = xai_tutor.explain(first_model, inputs["single"], method)
        assert torch.allclose(cost.result.saliency, again.saliency)
        print(f"{first_name} / {method:8s}: {cost.seconds * 1000:7.1f} ms, peak {cost.peak_mb:6.1f} MB ({cost.how})")
    """),
    md("""
    ## The measured numbers

    The full experiment — every method, every course model, the three canonical scenes plus
    generated scenes of each kind, at 626 × 418 — takes too long for a notebook. It was run with
    `python -m xai_tutor experiment` and its tables are committed in `results/`. First, what that
    run was:
    """),
    code("""
    def read_csv(path):
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        for r in rows:
            for key, value in r.items():
                try:
                    r[key] = float(value)
                except (TypeError, ValueError):
                    pass
        return rows


    def fmt(value, se=None, digits=3):
        if not isinstance(value, float) or math.isnan(value):
            return "–" if not isinstance(value, str) else value
        text = f"{value:.{digits}f}"
        if isinstance(se, float) and not math.isnan(se):
            text += f" ± {se:.{digits}f}"
        return text


    def show_table(rows, columns, caption=""):
        \"\"\"columns: [(title, function of a row -> text)]; renders an HTML table (no pandas).\"\"\"
        head = "".join(f"<th>{html.escape(t)}</th>" for t, _ in columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(f(r)))}</td>" for _, f in columns) + "</tr>"
                       for r in rows)
        cap = f"<caption style='caption-side:top'>{html.escape(caption)}</caption>" if caption else ""
        display(HTML(f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"))


    have_results = all((RESULTS / f).is_file() for f in ("overall.csv", "claims.csv", "scores.csv", "run.json"))
    if have_results:
        run = json.loads((RESULTS / "run.json").read_text())
        print(f"committed run: models {', '.join(run['models'])}; {len(run['methods'])} methods; "
              f"{run['scenes_per_kind']} scenes per kind ({', '.join(run['kinds'])}); "
              f"{run['size'][0]} x {run['size'][1]} px; curves on {run['curves']} scenes with "
              f"{run['steps']} steps; {run['seconds'] / 60:.0f} min with torch {run['torch']} on "
              f"{run['threads']} thread(s)")
        if run.get("expensive") == "canonical":
            print("the expensive methods (Score-CAM, Ablation-CAM, ...) ran on the canonical scenes only")
        for line in run.get("skipped", []):
            print("  skipped:", line)
    else:
        print("results/ has no committed run yet: the tables below come from the small live run instead")
    """),
    md("""
    ### A small run, live

    To see how the numbers are produced, we run the same function on one model, two methods and
    the two multi-bird kinds: the canonical scene plus one generated scene each, at half size.
    `run_experiment` writes the same files as the full run, into a temporary folder here.
    """),
    code("""
    live_dir = Path(tempfile.mkdtemp(prefix="xai11-"))
    t0, c0 = time.perf_counter(), time.process_time()
    live = run_experiment(models={first_name: first_model}, methods=["gradcam", "gradcampp"],
                          kinds=("pair", "flock"), samples=1, size=SIZE, steps=4, sanity=False,
                          out=live_dir, progress=False)
    print(f"live run: {len(live.scores)} scored maps in {time.perf_counter() - t0:.1f} s "
          f"(CPU {time.process_time() - c0:.1f} s); files: {', '.join(sorted(p.name for p in live.files))}")
    show_table(live.scores, [("model", lambda r: r["model"]), ("kind", lambda r: r["kind"]),
                             ("scene", lambda r: r["scene"]), ("method", lambda r: r["method"]),
                             ("birds", lambda r: r["instances"]), ("area", lambda r: fmt(r["area"], digits=2)),
                             ("pointing", lambda r: fmt(r["pointing"], digits=0)),
                             ("mass", lambda r: fmt(r["mass"])), ("coverage", lambda r: fmt(r["coverage"], digits=2)),
                             ("deletion", lambda r: fmt(r["deletion"])), ("insertion", lambda r: fmt(r["insertion"])),
                             ("time s", lambda r: fmt(r["seconds"]))],
               "one row per map (scores.csv)")
    """),
    md("""
    Each row is one map. `area` is the birds' share of the image (the mass of a uniform map),
    `birds` the instances that count for the predicted class; deletion and insertion only run on
    the canonical scenes (each costs `2 × (steps + 1)` forward passes). Besides the two methods,
    the runner scores the **combinations** of methods it can form from them (none here), and an
    image-blind **centre baseline** (a Gaussian bump in the middle of the image): any method
    worth its cost should beat it.

    Let us check that the runner measures what we think: recompute the Grad-CAM map of the
    canonical pair scene ourselves and score it with the metrics from above.
    """),
    code("""
    row = next(r for r in live.scores if r["method"] == "gradcam" and r["kind"] == "pair" and r["scene"] == "canonical")
    x_pair = inputs["pair"]
    cls, masks, _ = top_class_and_masks(first_model, scenes["pair"], x_pair)
    mine = xai_tutor.explain(first_model, x_pair, "gradcam", target=cls).saliency[0].double().numpy()
    assert row["target"] == cls and row["instances"] == len(masks)
    assert np.isclose(row["mass"], ev.relevance_mass(mine, masks), atol=1e-9)
    assert np.isclose(row["coverage"], ev.multi_instance_coverage(mine, masks), atol=1e-9)
    assert row["pointing"] == float(ev.pointing_game(mine, masks, 15).hit)
    print(f"the runner's row for Grad-CAM on the pair: mass {row['mass']:.3f}, coverage {row['coverage']:.2f}, "
          f"pointing {row['pointing']:.0f} -- reproduced")
    """),
    md("""
    ### The full run: every method over all models and scenes

    Mean ± standard error over every (model, scene) pair of the committed run (or of the live run
    if nothing is committed yet), sorted by relevance mass. Arrows say which direction is better.
    """),
    code("""
    source = "results/" if have_results else "the live run"
    scores = read_csv(RESULTS / "scores.csv") if have_results else live.scores
    overall = read_csv(RESULTS / "overall.csv") if have_results else read_csv(live_dir / "overall.csv")
    claims = read_csv(RESULTS / "claims.csv") if have_results else live.claims
    overall.sort(key=lambda r: -r["mass"])
    cols = [("method", lambda r: r["method"]), ("n", lambda r: int(r["n"]))]
    for key, title in (("pointing", "pointing ↑"), ("mass", "mass ↑"), ("coverage", "coverage ↑"),
                       ("recall", "area recall ↑"), ("shape_iou", "shape IoU ↑"),
                       ("deletion", "deletion ↓"), ("insertion", "insertion ↑"),
                       ("seconds", "time s ↓"), ("peak_mb", "peak MB ↓")):
        cols.append((title, lambda r, k=key: fmt(r[k], r.get(f"{k}_se"), 1 if k == "peak_mb" else 3)))
    show_table(overall, cols, f"all models and scenes ({source})")
    """),
    code("""
    explainers = [r for r in overall if r["method"] in METHODS]
    centre = next((r for r in overall if r["method"] == "centre_baseline"), None)
    area = float(np.mean([r["area"] for r in scores if r["method"] == "centre_baseline"]))
    best = max(explainers, key=lambda r: r["mass"])
    worst = min(explainers, key=lambda r: r["mass"])
    beat = [r["method"] for r in explainers if centre is not None and r["mass"] > centre["mass"]]
    fastest = min(explainers, key=lambda r: r["seconds"])
    slowest = max(explainers, key=lambda r: r["seconds"])
    text = [f"**In numbers ({source}).** The birds cover on average {area:.1%} of an image, which is "
            f"what a uniform map would put on them. The highest relevance mass is **{best['method']}** "
            f"({fmt(best['mass'], best['mass_se'])}), the lowest **{worst['method']}** ({fmt(worst['mass'], worst['mass_se'])})."]
    if centre is not None:
        text.append(f" The image-blind centre baseline scores {fmt(centre['mass'], centre['mass_se'])}; "
                    f"{len(beat)} of {len(explainers)} methods beat it on average"
                    + (f" (not: {', '.join(sorted(set(r['method'] for r in explainers) - set(beat)))})." if len(beat) < len(explainers) else "."))
    text.append(f" Run times span {fastest['seconds']:.3f} s ({fastest['method']}) to "
                f"{slowest['seconds']:.2f} s ({slowest['method']}) per map, a factor of "
                f"{slowest['seconds'] / max(fastest['seconds'], 1e-9):.0f}.")
    display(Markdown("".join(text)))
    """),
    md("""
    Averages over models and scene kinds hide a lot; the per-kind picture for the two measures the
    paper cares most about (is the map on the birds, does it find all of them):
    """),
    code("""
    per_kind = {}
    for r in scores:
        if r["method"] in METHODS or r["method"] == "centre_baseline":
            per_kind.setdefault((r["method"], r["kind"]), []).append(r)
    kinds_present = [k for k in KINDS if any(kk == k for _, kk in per_kind)]
    names = sorted({m for m, _ in per_kind}, key=lambda m: -np.mean([r["mass"] for k in kinds_present for r in per_kind.get((m, k), [])]))
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.2), layout="constrained")
    for ax, key, title in ((axes[0], "mass", "relevance mass (on the birds)"),
                           (axes[1], "coverage", "multi-instance coverage")):
        width = 0.8 / len(kinds_present)
        for j, kind in enumerate(kinds_present):
            vals = [np.mean([r[key] for r in per_kind.get((m, kind), [])] or [np.nan]) for m in names]
            ax.bar(np.arange(len(names)) + j * width, vals, width, label=kind, color=f"C{j}")
        if key == "mass":
            for j, kind in enumerate(kinds_present):
                a = np.mean([r["area"] for r in scores if r["kind"] == kind])
                ax.axhline(a, color=f"C{j}", ls=":", lw=1)
        ax.set_xticks(np.arange(len(names)) + 0.4 - width / 2, names, rotation=60, ha="right")
        ax.set_title(f"{title} ({source})")
    axes[0].legend(loc="upper right")
    plt.show()
    """),
    md("""
    The dotted lines are the birds' area share per kind: the relevance mass of a uniform map.
    A bar barely above its line means the method spreads relevance almost as evenly as a map
    that knows nothing.

    ## The paper's claims, measured

    `xai_tutor.experiment.evaluate_claims` turns each statement of the paper's Section 4.3 and 5
    into a comparison of numbers with a written rule. Most rules are **paired**: the two methods
    are compared on the *same* scenes and models, the difference per scene is averaged, and the
    difference counts only when its mean is more than **two standard errors** away from 0
    (roughly a 95 % interval that excludes 0). Otherwise the verdict is *inconclusive*: the data
    do not decide, which is not the same as "the claim is false".
    """),
    code("""
    show_table(claims, [("claim", lambda c: c["claim"]), ("measured", lambda c: c["measured"]),
                        ("verdict", lambda c: c["verdict"])], f"claims ({source})")
    """),
    code("""
    CONTEXT = {
        "Grad-CAM struggles with multiple instances":
            "The paper says the explainers have a harder time with several birds and builds the "
            "Grad-CAM++ story on it. Coverage asks whether each bird gets at least half its fair share "
            "of the map. A model may of course base its decision on one bird only; then a map that "
            "shows one bird is faithful, and low coverage is the model's doing, not Grad-CAM's.",
        "Grad-CAM++ does better than Grad-CAM on multiple instances":
            "Grad-CAM++ weights positive gradients pixel by pixel to give small instances a voice. "
            "On a global-average-pooling head (the tiny models, the ResNets, EfficientNet) the layer "
            "gradient is the same at every position of a channel, and so is alpha: Grad-CAM++ then "
            "only re-weights whole channels, and a small difference is to be expected.",
        "FullGrad captures the whole bird but adds noise and uses a lot of memory":
            "Three statements in one: more of the body lit up (area recall), more saliency off the "
            "birds (relevance mass), and more memory (peak RSS, a lower bound on CPU). They can hold "
            "separately, which is why the rule reports each part.",
        "FullGrad performs better than Grad-CAM on multi-instance images":
            "FullGrad adds bias-gradient maps of many layers to the input gradient, so it sees more "
            "than the last layer; whether that spreads relevance over more birds is exactly what the "
            "coverage difference measures.",
        "Gradient-free methods (Ablation-CAM, Score-CAM) are slower and scale with image size":
            "Score-CAM's cost is one forward pass per channel (in batches), so it grows with the "
            "number of channels and with the image. Ablation-CAM in `xai_tutor` takes a shortcut when "
            "the layers after the explained one are linear (a GAP head): one weight product replaces "
            "all the ablated passes (notebook 10), so on such models it can be as fast as Grad-CAM "
            "and the first half of the claim fails for it. Timings come from a shared machine and "
            "keep the fastest of up to three runs.",
        "DeconvNet barely localises the bird":
            "The paper found DeconvNet 'barely captures the bird'. Our yardstick is deliberately "
            "humble: an image-blind Gaussian in the middle of the image. Birds are often near the "
            "middle, so beating this baseline is not trivial for a method that lights up edges "
            "everywhere.",
        "LRP gives the shape of the body":
            "Shape IoU compares the top pixels of the map with the birds' outline; CAM maps are too "
            "coarse to trace an outline, pixel methods can. LRP refuses models it cannot handle "
            "(EfficientNet's ReLU6), so its numbers come from fewer models.",
        "Combining explanations gives a better explanation than either part":
            "The paper's conclusion, tested on relevance mass: a product keeps only pixels both "
            "methods like (less noise), a mean keeps pixels either likes. 'Better than either part' "
            "is a high bar: it must beat the better of the two, on the same scenes.",
    }
    MEANING = {
        "supported": "the measurements agree with the paper",
        "partly supported": "only part of the statement holds in our measurements",
        "not supported": "none of its parts is clearly supported, though not all are clearly contradicted",
        "contradicted": "the measurements point the other way",
        "inconclusive": "the difference is within two standard errors of zero: our data cannot decide",
        "not measured": "this run did not measure it (a method is missing)",
    }
    lines = []
    for c in claims:
        lines.append(f"- **{c['claim']}** — *{c['verdict']}*: {MEANING.get(c['verdict'], c['verdict'])}. "
                     f"Measured: {c['measured']}. {CONTEXT.get(c['claim'], '')}")
    counts = {v: sum(c["verdict"] == v for c in claims) for v in MEANING}
    summary = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    display(Markdown(f"**The verdicts ({source}): {summary}.**\\n\\n" + "\\n".join(lines)))
    """),
    md("""
    **How far do these verdicts go?** They hold for *these* models, *these* generated scenes and
    *these* metrics. Our birds are pasted, not photographed; with the offline models the
    classifiers are small and trained on the same kind of scenes; and every metric encodes one
    idea of a good explanation. A "contradicted" here says that the paper's impression from three
    photographs does not generalise to our setting — not that the author saw wrongly. An
    "inconclusive" mostly says that a few scenes per kind are not enough to see a small
    difference: run `python -m xai_tutor experiment --samples 10` to narrow the error bars.

    ## Combining explanations

    The paper's conclusion: "combining FullGrad which detected the whole body and noise with
    SmoothGrad++ which shows less noise can give a complementary explanation".
    `xai_tutor.combine` scales every map to $[0, 1]$ first and then applies a rule: **mean**
    (a pixel counts if some method likes it), **product** (only if every method likes it — an
    AND, as Guided Grad-CAM multiplies guided backprop by Grad-CAM), **geometric** (a softer,
    weighted AND) or **max** (a pure OR). We combine FullGrad with Smooth Grad-CAM++ (10 noisy
    copies) on the flock for the first course model, check the product by hand, and measure
    every map against the birds.
    """),
    code("""
    x_flock = inputs["flock"]
    cls, masks, _ = top_class_and_masks(first_model, scenes["flock"], x_flock)
    parts = {m: xai_tutor.explain(first_model, x_flock, m, target=cls, **params_for(m)).saliency[0].double().numpy()
             for m in ("fullgrad", "smoothgradcampp")}
    combos = {f"{rule}": xai_tutor.combine(list(parts.values()), rule) for rule in ("mean", "product", "geometric", "max")}

    scaled = [(p - p.min()) / (p.max() - p.min()) for p in parts.values()]
    product = scaled[0] * scaled[1]
    product = (product - product.min()) / (product.max() - product.min())
    assert np.allclose(combos["product"], product, atol=1e-12)

    every = {**parts, **{f"combined: {k}": v for k, v in combos.items()}}
    rows = [{"map": k, "pointing": float(ev.pointing_game(v, masks, 15).hit), "mass": ev.relevance_mass(v, masks),
             "coverage": ev.multi_instance_coverage(v, masks), "recall": ev.area_recall(v, masks),
             "iou": ev.shape_iou(v, masks)} for k, v in every.items()]
    show_table(rows, [("map", lambda r: r["map"]), ("pointing", lambda r: f"{r['pointing']:.0f}"),
                      ("mass ↑", lambda r: fmt(r["mass"])), ("coverage ↑", lambda r: fmt(r["coverage"], digits=2)),
                      ("area recall ↑", lambda r: fmt(r["recall"])), ("shape IoU ↑", lambda r: fmt(r["iou"]))],
               f"{first_name}, flock scene (birds: {masks.any(axis=0).mean():.1%} of the image)")
    fig, axes = plt.subplots(2, 3, figsize=(12, 5.6), layout="constrained")
    panels = [("FullGrad", parts["fullgrad"]), ("Smooth Grad-CAM++", parts["smoothgradcampp"]), ("the birds", None),
              ("combined: mean", combos["mean"]), ("combined: product", combos["product"]), ("combined: max", combos["max"])]
    for ax, (title, s) in zip(axes.flat, panels):
        if s is None:
            viz.show_masks(scenes["flock"], ax=ax)
        else:
            ax.imshow(viz.heatmap(scenes["flock"].image, s))
        ax.set_title(title)
        ax.set_axis_off()
    plt.show()
    """),
    code("""
    by_name = {r["map"]: r for r in rows}
    better_part = max(parts, key=lambda m: by_name[m]["mass"])
    gain = {k: by_name[f"combined: {k}"]["mass"] - by_name[better_part]["mass"] for k in combos}
    best_rule = max(gain, key=gain.get)
    combo_rows = [r for r in overall if "*" in r["method"] or "+" in r["method"]]
    text = (f"On this one scene the better part on relevance mass is **{better_part}** "
            f"({by_name[better_part]['mass']:.3f}). Against it, the rules change the mass by "
            + ", ".join(f"{gain[k]:+.3f} ({k})" for k in combos)
            + f"; the best is **{best_rule}**. One scene proves little; ")
    if combo_rows:
        text += ("over the whole run: " + "; ".join(
            f"{r['method']} mass {fmt(r['mass'], r['mass_se'])}" for r in combo_rows) +
            " (`*` is the product, `+` the mean; compare with the parts in the table above, and see the "
            "last claim for the paired verdicts).")
    else:
        text += "the full run scores several combinations on every scene (`results/`)."
    display(Markdown(text))
    """),
    md("""
    A product can only keep pixels that **both** maps consider important, so it removes the
    noise of either — and also everything that only one of them found. On a flock that matters:
    if one method found a bird the other missed, the product drops that bird and coverage falls,
    while the mean keeps it. Whether "combining is the best way" therefore depends on what you
    want: a sharper map of the most certain evidence (product) or a map that misses nothing
    (mean, max).

    ## Exercises

    ### Exercise 1 — the pointing game on a real map

    `ex_map` is the Grad-CAM map of the first course model on the flock, and `ex_masks` the masks
    of **all** its birds. Compute `point`, the `(row, col)` of the map's maximum (the first one in
    row-major order), and `hit`: whether it lies within `tolerance = 15` pixels (Euclidean) of any
    bird pixel. Do not use `xai_tutor.evaluation`.
    """),
    code("""
    from xai_tutor.exercises import show_solution
    from xai_tutor.exercises.comparison import check_pointing, check_relevance_mass, check_verdict

    ex_map = maps[first_name]["gradcam"][KINDS.index("flock")]
    ex_masks = scenes["flock"].masks
    tolerance = 15

    point = None   # your code here: (row, col)
    hit = None     # your code here: True or False
    check_pointing(point, hit, ex_map, ex_masks, tolerance)
    """),
    code("""
    show_solution("comparison.pointing")
    """),
    md("""
    ### Exercise 2 — relevance mass

    Compute `mass`, the share of `ex_map`'s total saliency that lies on the birds (the union of
    `ex_masks`), as a float between 0 and 1.
    """),
    code("""
    mass = None   # your code here
    check_relevance_mass(mass, ex_map, ex_masks)
    """),
    code("""
    show_solution("comparison.relevance_mass")
    """),
    md("""
    ### Exercise 3 — a verdict from paired numbers

    The claim: "Grad-CAM++ does better than Grad-CAM on multiple instances". Below, `claim_a`
    holds Grad-CAM++'s multi-instance coverage and `claim_b` Grad-CAM's, on the same pair and flock
    scenes and models (from the committed run, or the live run). Compute `mean`, the mean of the
    paired differences `a - b`; `se`, their standard error (`std` with `ddof=1`, divided by
    $\\sqrt{n}$); and `verdict`: `"supported"` if `mean - 2 * se > 0`, `"contradicted"` if
    `mean + 2 * se < 0`, otherwise `"inconclusive"`.
    """),
    code("""
    paired = {}
    for r in scores:
        if r["kind"] in ("pair", "flock") and r["method"] in ("gradcampp", "gradcam"):
            paired.setdefault((r["model"], r["kind"], r["scene"]), {})[r["method"]] = r["coverage"]
    keys = sorted(k for k, v in paired.items() if len(v) == 2)
    claim_a = [paired[k]["gradcampp"] for k in keys]
    claim_b = [paired[k]["gradcam"] for k in keys]
    print(f"{len(keys)} paired scenes ({source})")

    mean = None      # your code here
    se = None        # your code here
    verdict = None   # your code here: "supported", "contradicted" or "inconclusive"
    check_verdict(mean, se, verdict, claim_a, claim_b)
    """),
    code("""
    show_solution("comparison.verdict")
    table_verdict = next(c["verdict"] for c in claims if c["claim"].startswith("Grad-CAM++ does better"))
    assert verdict == table_verdict, (verdict, table_verdict)
    print(f"the claims table says the same: {table_verdict}")
    """),
    md("""
    **Think about it.** (a) Why is the standard error of the *paired* differences usually much
    smaller than the unpaired one? (Scenes differ a lot in difficulty; pairing cancels that.)
    (b) If the verdict is *inconclusive*, what would you change to decide: more scenes, another
    metric, or another rule? (c) For the flock, which method would you trust, and which number
    from this notebook supports your choice?
    """),
    code("""
    print(f"notebook run time so far: {time.perf_counter() - t_notebook:.0f} s wall, "
          f"{time.process_time() - cpu_notebook:.0f} s CPU (this process)")
    """),
    md("""
    ## Summary

    - The paper compares eleven methods by eye on three photographs. With generated scenes we
      know every bird's visible pixels, so each visual impression becomes a number with an error
      bar: pointing game, relevance mass, multi-instance coverage, area recall, shape IoU,
      deletion and insertion AUC, a randomisation sanity check, run time and memory.
    - Each metric answers one narrow question and has a chance level (the area share for mass,
      the centre baseline, a random map for deletion); always read a number next to its baseline.
    - Verdicts come from paired comparisons and a stated 2-SE rule, so "inconclusive" is a
      legitimate, frequent answer — a handful of scenes cannot settle small differences.
    - Combining maps is a choice between AND (product: less noise, fewer birds) and OR (mean,
      max: more birds, more noise); whether it beats its parts is an empirical question, and the
      answer depends on the metric.

    ## Further reading

    - {paper}, Section 4 (the experiment) and Section 5 (the conclusion on combining).
    - J. Zhang et al. (2016), *Top-down neural attention by excitation backprop* — the pointing
      game: [arXiv:1608.00507](https://arxiv.org/abs/1608.00507).
    - V. Petsiuk, A. Das, K. Saenko (2018), *RISE: randomized input sampling for explanation of
      black-box models* — deletion and insertion: [arXiv:1806.07421](https://arxiv.org/abs/1806.07421).
    - J. Adebayo et al. (2018), *Sanity checks for saliency maps* — the randomisation test:
      [arXiv:1810.03292](https://arxiv.org/abs/1810.03292).
    - L. Arras, A. Osman, W. Samek (2022), *CLEVR-XAI: a benchmark dataset for the ground truth
      evaluation of neural network explanations* — relevance mass and rank accuracy:
      [arXiv:2003.07258](https://arxiv.org/abs/2003.07258).
    - S. Hooker et al. (2019), *A benchmark for interpretability methods in deep neural networks*
      (ROAR: why deletion without retraining can mislead): [arXiv:1806.10758](https://arxiv.org/abs/1806.10758).
    """.replace("{paper}", PAPER)),
    md("""
    ## Explore

    Two methods side by side on any scene, model and layer: change the second method and the
    representation, and look for the differences the numbers above describe.
    """),
    code("""
    from xai_tutor.widgets import Explorer

    Explorer(models=models, method="fullgrad", compare="smoothgradcampp")
    """),
]


def cells(dev: bool = False) -> list:
    if not dev:
        return CELLS
    out = []
    for cell in CELLS:
        if cell.cell_type == "code" and MODELS_LINE in cell.source:
            cell = code(cell.source.replace(MODELS_LINE, DEV_MODELS.strip()))
        out.append(cell)
    return out


def dev_results(cell_list: list, folder: str) -> list:
    """Point the notebook at another results folder (development only)."""
    line = 'RESULTS = Path(xai_tutor.__file__).resolve().parents[1] / "results"'
    return [code(c.source.replace(line, f"RESULTS = Path({folder!r})"))
            if c.cell_type == "code" and line in c.source else c for c in cell_list]


def main(out_dir: Path | None = None, dev: bool = False, results: str | None = None) -> list[Path]:
    """Write the notebook into ``out_dir`` (default: the repository's ``notebooks/``)."""
    out_dir = Path(out_dir) if out_dir is not None else ROOT / "notebooks"
    cell_list = cells(dev)
    if dev and results:
        cell_list = dev_results(cell_list, results)
    path = write_notebook(out_dir / "11_comparison.ipynb", cell_list)
    print("wrote", path)
    return [path]


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--dev"]
    main(Path(args[0]) if args else None, dev="--dev" in sys.argv,
         results=args[1] if len(args) > 1 else None)
