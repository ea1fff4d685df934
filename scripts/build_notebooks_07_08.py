# ruff: noqa: E501  (this file holds notebook text: markdown, LaTeX and cell code)
"""Generate notebooks 07 (Grad-CAM++ and XGrad-CAM) and 08 (SmoothGrad and Smooth Grad-CAM++).

Run ``python scripts/build_notebooks_07_08.py`` after editing; the notebooks are written without
outputs. Edit the prose here, not in the .ipynb files, so that the two never drift apart.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nbtools import code, md, write_notebook  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PAPER = "Ouadghiri (2022), *Post-hoc Explainable Artificial Intelligence for computer vision: model-specific methods*"

# A helper cell shared by both notebooks: which class to explain in a scene, and which masks go
# with it (a course bird classifier uses the species list, an ImageNet model the ImageNet ids).
TARGET_HELPER = '''
from xai_tutor.data import SPECIES


def class_of(model, species, imagenet_id):
    """The model's class index for one bird, or None if the model has no such class."""
    if list(model.class_names) == list(SPECIES):
        return SPECIES.index(species)
    return imagenet_id


def explained_class(model, scene, x):
    """The best-scoring class among the birds present, and the masks of the birds of that class."""
    with torch.no_grad():
        logits = model(x)[0]
    present = {}
    for i, (sp, iid) in enumerate(zip(scene.species, scene.imagenet_ids)):
        k = class_of(model, sp, iid)
        if k is not None:
            present.setdefault(k, []).append(i)
    if not present:  # no class of this model is in the scene: explain the top class, all birds
        return int(logits.argmax()), scene.masks
    best = max(present, key=lambda k: float(logits[k]))
    return best, scene.masks[present[best]]
'''

# --------------------------------------------------------------------------- 07 Grad-CAM++

GRADCAMPP = [
    md("""
    # 07 · Grad-CAM++ and XGrad-CAM — better channel weights

    Grad-CAM (notebook 06) weights each feature map $A^k$ by the **mean** of its gradient. Two
    later papers argue that the mean is not the best choice and propose other weights, keeping
    everything else: the map is still $L^c = \\mathrm{ReLU}\\big(\\sum_k w_k^c A^k\\big)$.

    - **Grad-CAM++** (Chattopadhay et al. 2018) weights the *positive* gradients pixel by pixel,
      hoping to do better when a class appears **several times** or is **partly hidden**.
    - **XGrad-CAM** (Fu et al. 2020) derives its weights from two *axioms* that an explanation
      should satisfy.

    **Learning objectives.** After this notebook you can
    - derive Grad-CAM++'s closed-form pixel weights
      $\\alpha = g^2 / (2g^2 + \\sum_{ab} A_{ab}\\, g^3)$ and say why the second and third
      derivatives turn into powers of the first one;
    - compute Grad-CAM++ and XGrad-CAM weights by hand from a hook and one backward pass, and
      check them against `xai_tutor.explain`;
    - state XGrad-CAM's two axioms (sensitivity and conservation) and verify conservation
      numerically;
    - compare Grad-CAM, Grad-CAM++ and XGrad-CAM on scenes with several birds, with numbers.

    **Prerequisites.** [05 · CAM](05_cam.ipynb) and [06 · Grad-CAM](06_gradcam.ipynb) (feature
    maps, channel weights, hooks and `torch.autograd.grad` from
    [02](02_models_data_hooks.ipynb)).

    **Expected run time.** About 30 seconds of computation on a laptop CPU with the offline
    models (longer with the ImageNet models); 35 minutes of reading and exercises.
    """),
    md("""
    ## Setup

    The first course model, the one-bird scene, and the class the model predicts for it.
    """),
    code("""
    import matplotlib.pyplot as plt
    import numpy as np
    import torch

    import xai_tutor
    from xai_tutor import viz
    from xai_tutor.data import course_scenes, load_image
    from xai_tutor.hooks import capture, model_guard
    from xai_tutor.models import course_models

    models = course_models()
    name, model = next(iter(models.items()))
    scenes = course_scenes()
    x, shown = load_image(scenes["single"].image)
    with torch.no_grad():
        c = int(model(x)[0].argmax())
    print(f"model {name}, layer {model.default_layer!r}, explaining class {c} ({model.class_names[c]})")
    """),
    md("""
    ## From "mean gradient" to "weighted average of pixel-wise gradients"

    Write $g^{kc}_{ij} = \\partial Y^c / \\partial A^k_{ij}$ for the gradient of the class score
    with respect to feature map $k$ at position $(i, j)$. Grad-CAM gives every position the same
    say:

    $$w_k^{\\text{Grad-CAM}} = \\frac{1}{Z} \\sum_{i,j} g^{kc}_{ij}.$$

    Suppose two birds of the same class are in the picture, a big one and a small one, and
    feature map $k$ lights up on the small one only. Its gradient is positive on few positions,
    so the mean over *all* $Z = h \\cdot w$ positions is small, and the small bird fades from the
    map. Grad-CAM++ replaces the uniform $1/Z$ by **pixel weights** $\\alpha^{kc}_{ij}$ and keeps
    only **positive** gradients (evidence *for* the class):

    $$w_k^c = \\sum_{i,j} \\alpha^{kc}_{ij}\\; \\mathrm{ReLU}\\!\\left(g^{kc}_{ij}\\right).$$

    How to choose $\\alpha$? The paper asks that the weighted maps reproduce the score,

    $$Y^c = \\sum_k w_k^c \\sum_{i,j} A^k_{ij}
         = \\sum_k \\sum_{i,j} \\Big[\\sum_{a,b} \\alpha^{kc}_{ab}\\, \\mathrm{ReLU}(g^{kc}_{ab})\\Big] A^k_{ij},$$

    and differentiates this identity twice with respect to $A^k_{ij}$ (treating $\\alpha$ as
    constants, on positions where the gradient is positive, and keeping only the "diagonal"
    second and third derivatives at $(i, j)$ — the paper's simplification). Solving for $\\alpha$:

    $$\\alpha^{kc}_{ij} = \\frac{\\dfrac{\\partial^2 Y^c}{(\\partial A^k_{ij})^2}}
      {2\\,\\dfrac{\\partial^2 Y^c}{(\\partial A^k_{ij})^2}
       + \\sum_{a,b} A^k_{ab}\\, \\dfrac{\\partial^3 Y^c}{(\\partial A^k_{ij})^3}}.$$

    ### Why the higher derivatives are just powers of $g$

    Second and third derivatives of a big network would be expensive. The trick: take as score
    the **exponential of the logit**, $Y^c = \\exp(S^c)$. Above the layer, a network made of
    convolutions, ReLUs, max-pooling and linear layers is **piecewise linear** in $A$: on each
    piece $S^c$ is linear, so $\\partial^2 S^c / (\\partial A_{ij})^2 = 0$. With
    $g_{ij} = \\partial S^c / \\partial A_{ij}$ the chain rule gives

    $$\\frac{\\partial Y^c}{\\partial A_{ij}} = e^{S^c} g_{ij}, \\qquad
      \\frac{\\partial^2 Y^c}{(\\partial A_{ij})^2} = e^{S^c}\\big(g_{ij}^2 + \\underbrace{\\partial^2 S^c}_{=0}\\big) = e^{S^c} g_{ij}^2, \\qquad
      \\frac{\\partial^3 Y^c}{(\\partial A_{ij})^3} = e^{S^c} g_{ij}^3 .$$

    The factor $e^{S^c}$ cancels in $\\alpha$, which gives the closed form (the paper's Eq. 19)

    $$\\boxed{\\;\\alpha^{kc}_{ij} = \\frac{g_{ij}^2}{2\\, g_{ij}^2 + \\sum_{a,b} A^k_{ab}\\; g_{ij}^3}\\;}
      \\qquad (\\alpha = 0 \\text{ where } g_{ij} = 0),$$

    and in $w_k^c = \\sum \\alpha\\, \\mathrm{ReLU}(e^{S^c} g)$ it multiplies **every** channel
    weight by the same positive number, which disappears when the map is scaled to $[0, 1]$. So
    one ordinary backward pass of the logit gives all we need. (Networks with smooth activations,
    such as EfficientNet's, are not piecewise linear: there the closed form is an approximation.)

    The next cell checks the "powers of $g$" claim with autograd on a small piecewise-linear
    function (a ReLU layer and a linear read-out), differentiating $\\exp(S)$ three times.
    """),
    code("""
    gen = torch.Generator().manual_seed(0)
    W1 = torch.randn(6, 4, generator=gen, dtype=torch.float64)
    b1 = torch.randn(6, generator=gen, dtype=torch.float64)
    w2 = torch.randn(6, generator=gen, dtype=torch.float64)


    def S(a):  # piecewise linear: a ReLU layer and a linear read-out
        return w2 @ torch.relu(W1 @ a + b1)


    a = torch.randn(4, generator=gen, dtype=torch.float64).requires_grad_(True)
    (d1,) = torch.autograd.grad(torch.exp(S(a)), a, create_graph=True)  # dY/da, differentiable
    (g_a,) = torch.autograd.grad(S(a), a)                                  # g = dS/da
    eS = torch.exp(S(a)).detach()
    for i in range(4):
        (d2,) = torch.autograd.grad(d1[i], a, create_graph=True)
        (d3,) = torch.autograd.grad(d2[i], a, retain_graph=True)
        print(f"a_{i}: d2Y = {d2[i].item():9.5f}  e^S g^2 = {(eS * g_a[i] ** 2).item():9.5f}   "
              f"d3Y = {d3[i].item():9.5f}  e^S g^3 = {(eS * g_a[i] ** 3).item():9.5f}")
        torch.testing.assert_close(d2[i].detach(), eS * g_a[i] ** 2)
        torch.testing.assert_close(d3[i].detach(), eS * g_a[i] ** 3)
    print("higher derivatives of exp(piecewise-linear) = exp(S) x powers of the gradient")
    """),
    md("""
    ## Grad-CAM++ by hand

    The ingredients are the same as for Grad-CAM: the activations $A$ of the last convolutional
    block and the gradient $g = \\partial y_c / \\partial A$ of the class logit, from one forward
    pass with `capture` and one call to `torch.autograd.grad`.
    """),
    code("""
    with model_guard(model), capture(model, model.default_layer) as cap:
        logits = model(x)
        (g,) = torch.autograd.grad(logits[0, c], cap.activation)
    A = cap.activation.detach()
    print("activations A:", tuple(A.shape), "  gradient g:", tuple(g.shape))
    print(f"share of positions with g = 0: {(g == 0).float().mean():.1%},  with g > 0: {(g > 0).float().mean():.1%}")
    """),
    md("""
    ### Exercise 1 — the pixel weights $\\alpha$

    Compute `alpha`, shape `(K, h, w)` (drop the batch dimension: use `A[0]` and `g[0]`), with the
    boxed formula. The sum $\\sum_{a,b} A^k_{ab}$ runs over all positions of channel $k$ (keep
    its dimensions with `keepdim=True` so that it broadcasts). Where $g = 0$ the fraction is
    $0/0$: set $\\alpha$ to 0 there (`torch.where`).
    """),
    code("""
    from xai_tutor.exercises import show_solution
    from xai_tutor.exercises.gradcampp import (
        check_gradcampp_alpha,
        check_gradcampp_weights,
        check_xgradcam_weights,
    )

    alpha = None  # your code here, shape (K, h, w)

    check_gradcampp_alpha(alpha, model, x, c)
    """),
    code("""
    show_solution("gradcampp.alpha")
    """),
    md("""
    ### Exercise 2 — the channel weights

    Now $w_k = \\sum_{i,j} \\alpha^{k}_{ij}\\, \\mathrm{ReLU}(g^k_{ij})$, shape `(K,)`.
    """),
    code("""
    weights = None  # your code here, shape (K,)

    check_gradcampp_weights(weights, model, x, c)
    """),
    code("""
    show_solution("gradcampp.weights")
    """),
    md("""
    ### The map, checked against the library

    The map is $\\mathrm{ReLU}(\\sum_k w_k A^k)$ at the layer's resolution; `explain` returns it as
    `attribution` and its upsampled, min-max scaled version as `saliency`. The next cell
    **asserts** that the two agree, so this notebook fails if either drifts.
    """),
    code("""
    from xai_tutor.explanation import normalise_per_image, upsample_map

    pp_map = torch.relu(torch.einsum("k,khw->hw", weights, A[0]))
    e_pp = xai_tutor.explain(model, x, "gradcampp", target=c)

    tol = 1e-5 * float(pp_map.max()) + 1e-8
    torch.testing.assert_close(e_pp.attribution[0], pp_map, rtol=1e-4, atol=tol)
    torch.testing.assert_close(e_pp.saliency, normalise_per_image(upsample_map(pp_map[None], x.shape[-2:])),
                               rtol=1e-4, atol=1e-5)
    print("hand-made Grad-CAM++ matches xai_tutor.explain(..., 'gradcampp'):", e_pp.params)
    """),
    md("""
    ### What $\\alpha$ does on a global-average-pooling head

    Look at how much the gradient varies **inside** each channel. If the layer is followed only by
    global average pooling and one linear layer (the tiny course models, EfficientNet, ResNets),
    then $y_c = \\sum_k W_{ck}\\, \\frac{1}{Z}\\sum_{ij} A^k_{ij} + b_c$ and the gradient is the
    same number $g_k = W_{ck}/Z$ at every position. The "pixel-wise" weights then collapse to one
    number per channel,

    $$\\alpha_k = \\frac{g_k^2}{2 g_k^2 + S_k g_k^3} = \\frac{1}{2 + S_k\\, g_k},
      \\qquad S_k = \\sum_{ab} A^k_{ab},$$

    so Grad-CAM++ differs from Grad-CAM by (1) dropping channels with a negative weight and (2)
    the factor $1/(2 + S_k g_k)$, which **damps channels with a large total contribution**
    $S_k g_k$ and so gives relatively more weight to channels that fire on small regions — the
    "small bird" of the story above. Real pixel-by-pixel weighting needs something non-linear
    between the layer and the score, such as VGG16's max-pooling and dense layers. The cell
    checks which case we are in.
    """),
    code("""
    g0, A0 = g[0], A[0]
    spread = float((g0.amax(dim=(1, 2)) - g0.amin(dim=(1, 2))).max())
    print(f"largest spread of g inside one channel: {spread:.3g} (largest |g|: {float(g0.abs().max()):.3g})")
    if spread <= 1e-6 * float(g0.abs().max()):
        gk, Sk = g0[:, 0, 0], A0.sum(dim=(1, 2))
        closed = torch.where(gk != 0, 1 / (2 + Sk * gk), torch.zeros_like(gk))
        torch.testing.assert_close(alpha[:, 0, 0], closed, rtol=1e-4, atol=1e-6)
        print("constant gradient per channel: alpha_k = 1 / (2 + S_k g_k) holds for every channel")
        print(f"damping 1/(2 + S_k g_k) over the positive channels: {float(closed[gk > 0].min()):.3f} .. {float(closed[gk > 0].max()):.3f}")
    else:
        k = int(weights.argmax())
        fig, axes = plt.subplots(1, 3, figsize=(12, 3))
        for ax, (title, m) in zip(axes, [("A_k", A0[k]), ("g_k", g0[k]), ("alpha_k", alpha[k])]):
            im = ax.imshow(m.numpy(), cmap="viridis")
            ax.set_title(f"{title}, channel {k}")
            ax.set_axis_off()
            fig.colorbar(im, ax=ax, shrink=0.8)
        plt.show()
    """),
    md("""
    > **Why we test against formulas.** A widely used library, torchcam 0.5, computes Grad-CAM++
    > with a subtle bug: it divides a *copy* of the selected entries of $\\alpha$, so $\\alpha$
    > stays equal to its numerator $g^2$. Nothing crashes and the maps still look plausible —
    > the kind of bug that only a comparison with the formula, number by number, catches. This is
    > why every notebook of the course asserts that the hand-made result equals the library's,
    > and why the library's tests compare with float64 formulas and with other libraries. Here is
    > what the bug would do to our weights and map:
    """),
    code("""
    buggy_weights = (g0**2 * torch.relu(g0)).sum(dim=(1, 2))          # alpha = g^2, never divided
    buggy_map = torch.relu(torch.einsum("k,khw->hw", buggy_weights, A0))
    top_right = weights.topk(5).indices.tolist()
    top_buggy = buggy_weights.topk(5).indices.tolist()
    r = np.corrcoef(pp_map.flatten().numpy(), buggy_map.flatten().numpy())[0, 1]
    print("top-5 channels, Grad-CAM++ :", top_right)
    print("top-5 channels, alpha = g^2:", top_buggy)
    print(f"correlation of the two maps: {r:.3f}")

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    for ax, (title, m) in zip(axes, [("Grad-CAM++", pp_map), ("alpha never divided (bug)", buggy_map)]):
        ax.imshow(viz.heatmap(shown, normalise_per_image(upsample_map(m[None], x.shape[-2:]))[0]))
        ax.set_title(title)
        ax.set_axis_off()
    plt.show()
    """),
    md("""
    ## XGrad-CAM: weights from two axioms

    Fu et al. (2020) ask what the channel weights *should* satisfy, writing
    $S^c(A)$ for the class score as a function of the layer's activations:

    1. **Sensitivity.** Removing feature map $k$ should change the score by that map's share of
       the explanation:
       $S^c(A) - S^c(A \\setminus A^k) \\approx \\sum_{ij} w_k^c A^k_{ij}$.
    2. **Conservation.** The whole map should add up to the score:
       $S^c(A) \\approx \\sum_{ij} \\sum_k w_k^c A^k_{ij}$.

    For a network that is (locally) homogeneous in $A$ — ReLU layers, no biases — one has
    $S^c = \\sum_{k,ij} g^k_{ij} A^k_{ij}$, and the weights that satisfy both axioms best are

    $$w_k^c = \\sum_{i,j} \\frac{A^k_{ij}}{\\sum_{a,b} A^k_{ab}}\\; g^k_{ij}:$$

    each gradient is weighted by **the share of the channel's activation at that position**. A
    channel whose activations sum to 0 gets weight 0. Compare with Grad-CAM, where every position
    gets the share $1/Z$.

    ### Exercise 3 — XGrad-CAM's weights

    Compute `x_weights`, shape `(K,)`, from `A[0]` and `g[0]`.
    """),
    code("""
    x_weights = None  # your code here, shape (K,)

    check_xgradcam_weights(x_weights, model, x, c)
    """),
    code("""
    show_solution("gradcampp.xgradcam_weights")
    """),
    code("""
    x_map = torch.relu(torch.einsum("k,khw->hw", x_weights, A0))
    e_x = xai_tutor.explain(model, x, "xgradcam", target=c)
    torch.testing.assert_close(e_x.attribution[0], x_map, rtol=1e-4, atol=1e-5 * float(x_map.max()) + 1e-8)
    print("hand-made XGrad-CAM matches xai_tutor.explain(..., 'xgradcam'):", e_x.params)
    """),
    md("""
    ### Conservation and sensitivity, checked numerically

    On a head made of global average pooling and a linear layer,
    $S(A) = \\sum_k v_k \\frac{1}{Z}\\sum_{ij} A^k_{ij} + b$, both axioms hold **exactly** for
    XGrad-CAM's weights, up to the bias $b$, which no map of the activations can account for. We
    build such a head with random weights $v$ on top of our real activations and check:

    - conservation: $\\sum_k w_k \\sum_{ij} A^k_{ij} = S(A) - b$;
    - sensitivity: $S(A) - S(A \\text{ with channel } k \\text{ set to } 0) = w_k \\sum_{ij} A^k_{ij}$
      for every $k$.
    """),
    code("""
    gen = torch.Generator().manual_seed(1)
    K = A0.shape[0]
    v = torch.randn(K, generator=gen, dtype=torch.float64)
    bias = 0.7


    def head(acts):  # global average pooling + a linear unit
        return acts.mean(dim=(-2, -1)) @ v + bias


    A64 = A0.double().requires_grad_(True)
    score = head(A64)
    (g_head,) = torch.autograd.grad(score, A64)
    A64 = A64.detach()
    total = A64.sum(dim=(1, 2))
    w_head = torch.where(total != 0, (g_head * A64).sum(dim=(1, 2)) / torch.where(total != 0, total, 1.0), 0.0)

    conserved = float((w_head * total).sum())
    print(f"sum of the map: {conserved:.6f}   S(A) - b: {float(score) - bias:.6f}")
    assert abs(conserved - (float(score) - bias)) < 1e-9 * max(1.0, abs(float(score)))

    drops = torch.stack([score.detach() - head(A64 * (torch.arange(K) != k)[:, None, None]) for k in range(K)])
    torch.testing.assert_close(drops, w_head * total)
    print(f"sensitivity holds for all {K} channels (largest drop {float(drops.abs().max()):.4f})")
    """),
    md("""
    On the course model itself the sum of the XGrad-CAM map *before* its ReLU can be compared
    with the logit. With a GAP + linear head they differ exactly by the bias of the class; with a
    deeper head (VGG16's three dense layers) the two axioms only hold approximately.
    """),
    code("""
    raw_sum = float(torch.einsum("k,khw->hw", x_weights, A0).sum())
    print(f"sum of the XGrad-CAM map before ReLU: {raw_sum:.4f}")
    print(f"logit y_c:                            {float(logits[0, c]):.4f}")
    print(f"difference:                           {float(logits[0, c]) - raw_sum:.4f}")
    """),
    md("""
    ## Three sets of weights side by side

    The three methods use the same activations and gradients and differ only in the weights. The
    bars show, for the channels that matter most to any of them, each method's weight divided by
    its largest weight (the maps are min-max scaled anyway, so only the *relative* weights
    matter). Negative weights are possible for Grad-CAM and XGrad-CAM, not for Grad-CAM++.
    """),
    code("""
    all_weights = {
        "Grad-CAM": g0.mean(dim=(1, 2)),
        "Grad-CAM++": weights,
        "XGrad-CAM": x_weights,
    }
    scaled = {k: w / w.abs().max() for k, w in all_weights.items()}
    top = torch.stack(list(scaled.values())).abs().amax(dim=0).topk(12).indices

    fig, ax = plt.subplots(figsize=(11, 3.2))
    for i, (label, w) in enumerate(scaled.items()):
        ax.bar(np.arange(len(top)) + (i - 1) * 0.27, w[top].numpy(), width=0.27, label=label)
    ax.set_xticks(np.arange(len(top)), [str(int(k)) for k in top])
    ax.set_xlabel("channel k")
    ax.set_ylabel("weight / largest weight")
    ax.axhline(0, color="black", linewidth=0.6)
    ax.legend()
    plt.show()

    for label, w in all_weights.items():
        print(f"{label:11s} top-5 channels {w.topk(5).indices.tolist()}")
    """),
    md("""
    ## The paper's claim: several birds and occlusion

    The survey (section 3.3) says that Grad-CAM "performs surprisingly bad with multiple
    occurrences" and that Grad-CAM++ gives "better explanations, especially for multiple
    instances and occlusion". Our scenes let us *measure* this. For the two-bird and the flock
    scene we explain, for each course model, the best-scoring class among the birds present, and
    score the map against the masks of **the birds of that class**:

    - **coverage** (`multi_instance_coverage`): the share of those birds that get at least half of
      their fair share of the map — 1.0 means every instance is lit up;
    - **pointing game** (`pointing_game`): does the map's maximum fall on (or within 15 px of)
      one of them?
    - **mass** (`relevance_mass`): the share of the map's total that lies on them.
    """),
    code(TARGET_HELPER),
    code("""
    from xai_tutor.evaluation import multi_instance_coverage, pointing_game, relevance_mass

    METHODS = {"Grad-CAM": "gradcam", "Grad-CAM++": "gradcampp", "XGrad-CAM": "xgradcam"}
    results, maps = [], {}
    for model_name, net in models.items():
        for kind in ("pair", "flock"):
            scene = scenes[kind]
            xs, _ = load_image(scene.image)
            k, masks = explained_class(net, scene, xs)
            for label, method in METHODS.items():
                sal = xai_tutor.explain(net, xs, method, target=k).saliency[0]
                maps[model_name, kind, label] = sal
                results.append({
                    "model": model_name, "scene": kind, "class": net.class_names[k], "birds": len(masks),
                    "method": label, "coverage": multi_instance_coverage(sal, masks),
                    "hit": pointing_game(sal, masks).hit, "mass": relevance_mass(sal, masks),
                })

    print(f"{'model':20s} {'scene':6s} {'class (birds)':22s} {'method':11s} coverage  hit  mass")
    for r in results:
        print(f"{r['model']:20s} {r['scene']:6s} {r['class'][:18] + ' (' + str(r['birds']) + ')':22s} "
              f"{r['method']:11s} {r['coverage']:8.2f}  {'yes' if r['hit'] else 'no ':3s}  {r['mass']:.2f}")
    """),
    code("""
    def mean_of(method, key):
        vals = [float(r[key]) for r in results if r["method"] == method]
        return sum(vals) / len(vals)


    for label in METHODS:
        print(f"{label:11s} mean coverage {mean_of(label, 'coverage'):.2f}   "
              f"pointing hits {mean_of(label, 'hit'):.0%}   mean mass {mean_of(label, 'mass'):.2f}")
    better = sum(
        1 for a, b in zip(results[0::3], results[1::3]) if b["coverage"] > a["coverage"] + 1e-9
    )
    same = sum(1 for a, b in zip(results[0::3], results[1::3]) if abs(b["coverage"] - a["coverage"]) <= 1e-9)
    print(f"Grad-CAM++ covers more birds than Grad-CAM in {better} of {len(results) // 3} cases, "
          f"as many in {same}.")
    """),
    code("""
    for kind in ("pair", "flock"):
        img = scenes[kind].image
        cols = list(models)
        fig = viz.grid(
            [img] * len(cols),
            {label: [maps[m, kind, label] for m in cols] for label in METHODS},
            column_titles=cols,
            title=f"{kind} scene",
        )
        display(fig)
    """),
    md("""
    ### What we see, honestly

    Read the table and the grids before this paragraph; your numbers depend on which course
    models you have (offline or ImageNet). Points worth noticing:

    - **Where the three maps nearly coincide**, it is not a failure of the experiment: on a
      GAP + linear head, Grad-CAM and XGrad-CAM have *exactly* the same weights ($g_k$ is
      constant, so $\\sum_{ij} \\frac{A_{ij}}{\\sum A} g_k = g_k$), and Grad-CAM++ only re-weights
      whole channels by $1/(2 + S_k g_k)$ and drops negative ones. Dropping negative channels
      tends to make the map **broader**: fewer channels subtract from it, so more birds may pass
      the coverage threshold, but more background may light up too (look at the mass).
    - **The paper's claim is a claim about a mechanism** (pixel weights that let small instances
      count). That mechanism needs gradients that vary across positions, which a GAP head does
      not produce. With VGG16 (ImageNet set) the gradients do vary, and the difference between
      the methods is larger.
    - **Occlusion** (the flock) is hard for all three: a channel that responds to "pelican
      texture" fires on every visible piece, so the maps follow the visible parts; none of the
      methods can "see" a hidden bird.
    - One scene per condition is an anecdote. Notebook 11 repeats the measurement over many
      generated scenes, with error bars, before drawing conclusions.

    ## Summary

    - Grad-CAM++: $w_k = \\sum_{ij} \\alpha_{ij} \\mathrm{ReLU}(g_{ij})$ with
      $\\alpha = g^2 / (2 g^2 + \\sum_{ab} A_{ab} g^3)$. The closed form comes from the paper's
      second- and third-order derivatives, which become powers of $g$ for $\\exp$ of a
      piecewise-linear score; the factor $e^{S}$ cancels or scales all channels alike.
    - On a global-average-pooling head the pixel weights are constant per channel:
      $\\alpha_k = 1/(2 + S_k g_k)$.
    - XGrad-CAM: $w_k = \\sum_{ij} (A_{ij}/\\sum A)\\, g_{ij}$, derived from the sensitivity and
      conservation axioms, which hold exactly (up to the bias) on a GAP + linear head — where it
      also coincides with Grad-CAM.
    - Testing against the formula catches bugs that look plausible on a heatmap (torchcam's
      undivided $\\alpha$).
    - Measured on our scenes, the "better on multiple instances" claim depends on the model's
      head; check it with numbers, not with one picture.

    **Next:** [08 · SmoothGrad and Smooth Grad-CAM++](08_smoothgrad.ipynb) averages over noisy
    copies of the image.

    ## Further reading

    - A. Chattopadhay, A. Sarkar, P. Howlader, V. N. Balasubramanian (2018), *Grad-CAM++:
      Generalized gradient-based visual explanations for deep convolutional networks*, WACV,
      [arXiv:1710.11063](https://arxiv.org/abs/1710.11063).
    - R. Fu, Q. Hu, X. Dong, Y. Guo, Y. Gao, B. Li (2020), *Axiom-based Grad-CAM: towards accurate
      visualization and explanation of CNNs*, BMVC, [arXiv:2008.02312](https://arxiv.org/abs/2008.02312).
    - R. R. Selvaraju et al. (2017), *Grad-CAM*, [arXiv:1610.02391](https://arxiv.org/abs/1610.02391).
    - {PAPER}, section 3.3.
    """.replace("{PAPER}", PAPER)),
    md("""
    ## Explore

    Pick a model, a scene, a layer and a class, and watch the Grad-CAM++ map change. Try an
    earlier layer, where the gradients vary inside each channel.
    """),
    code("""
    from xai_tutor.widgets import method_explorer

    method_explorer("gradcampp", models)
    """),
]

# --------------------------------------------------------------------------- 08 SmoothGrad

SMOOTHGRAD = [
    md("""
    # 08 · SmoothGrad and Smooth Grad-CAM++ — removing noise by adding noise

    Gradient maps (notebook 02) are speckled: neighbouring pixels get very different values. The
    gradient is a *local* quantity, and the network's ReLUs and max-pools switch on and off from
    one pixel to the next, so it flickers. **SmoothGrad** (Smilkov et al. 2017) takes the idea
    literally: look at the gradient not at the image alone but at many slightly noisy copies of
    it, and average. **Smooth Grad-CAM++** (Omeiza et al. 2019) applies the same averaging to
    the gradients inside Grad-CAM++ — the method the survey's conclusion praises most.

    **Learning objectives.** After this notebook you can
    - build SmoothGrad by hand: the noise level as a fraction of the image's range, seeded noise,
      the average of the gradients — and match `xai_tutor.explain(..., "smoothgrad")` exactly;
    - describe the effect of the noise level $\\sigma$ and of the number of samples $n$;
    - smooth any gradient method (here guided backpropagation);
    - build Smooth Grad-CAM++ by hand (averaged first-order gradients, the clean image's
      activations) and say what a popular implementation does differently;
    - judge the survey's praise of Smooth Grad-CAM++ with measurements.

    **Prerequisites.** [02 · Models, data and hooks](02_models_data_hooks.ipynb) (gradient
    saliency) and [07 · Grad-CAM++](07_gradcampp_xgradcam.ipynb); guided backpropagation from
    [03 · DeconvNet](03_deconvnet.ipynb) helps.

    **Expected run time.** About 35 seconds of computation on a laptop CPU with the offline
    models (SmoothGrad costs $n$ backward passes; the scene comparison runs at half size); 30
    minutes of reading and exercises.
    """),
    md("""
    ## Setup

    The first course model and the one-bird scene. Every SmoothGrad map costs $n$ forward and
    backward passes, so this notebook works on the scenes at **half size** (313 × 209); maps are
    upsampled to full size when they are measured against the birds' masks.
    """),
    code("""
    import matplotlib.pyplot as plt
    import numpy as np
    import torch

    import xai_tutor
    from xai_tutor import viz
    from xai_tutor.data import course_scenes, load_image
    from xai_tutor.explanation import normalise_per_image, upsample_map
    from xai_tutor.hooks import capture, model_guard
    from xai_tutor.models import course_models

    models = course_models()
    name, model = next(iter(models.items()))
    scenes = course_scenes()
    half = (313, 209)  # SmoothGrad costs n backward passes: we work at half size
    x, shown = load_image(scenes["single"].image, size=half)
    with torch.no_grad():
        c = int(model(x)[0].argmax())
    print(f"model {name}, image {tuple(x.shape)}, explaining class {c} ({model.class_names[c]})")
    """),
    md("""
    ## SmoothGrad

    With $M_c(x)$ the gradient of the class score with respect to the input,

    $$\\hat M_c(x) = \\frac{1}{n} \\sum_{i=1}^{n} M_c\\big(x + \\varepsilon_i\\big), \\qquad
      \\varepsilon_i \\sim \\mathcal N(0, s^2), \\qquad s = \\sigma \\cdot (\\max x - \\min x).$$

    The noise level $\\sigma$ is a **fraction of the image's value range** (the paper finds
    10–20 % works well), so it means the same thing whatever the preprocessing. `xai_tutor`
    takes the range over the whole image (all channels) and, by default, $\\sigma = 0.15$,
    $n = 25$, and a **seeded** generator (`seed=0`), so that the same call always gives the same
    map. The class $c$ is fixed from the clean image: every noisy copy explains the same class.

    ### Exercise 1 — the noise level

    Compute `s`, the standard deviation of the noise for our image `x` and $\\sigma = 0.15$, as a
    number.
    """),
    code("""
    from xai_tutor.exercises import show_solution
    from xai_tutor.exercises.smoothgrad import (
        check_noise_scale,
        check_smoothgrad,
        check_smoothgradcampp_map,
    )

    sigma = 0.15
    s = None  # your code here

    check_noise_scale(s, x, sigma)
    """),
    code("""
    show_solution("smoothgrad.noise_scale")
    """),
    md("""
    (The solution multiplies in float32 and only then converts to a Python number, exactly as
    the library does. That matters more than you might think: a difference in the last bit of
    `s` moves a few ReLU inputs across 0 and changes a few gradient pixels by a percent.)

    Now the noise. `xai_tutor` draws it from a `torch.Generator` seeded with `seed`, one sample of
    shape `(3, H, W)` at a time, image by image. We do the same, so that our noise is **exactly**
    the library's:
    """),
    code("""
    n = 8
    gen = torch.Generator().manual_seed(0)
    noise = torch.stack([torch.randn(x.shape[1:], generator=gen) for _ in range(n)])  # (n, 3, H, W)
    print("noise", tuple(noise.shape), f" mean {noise.mean():.3f}  std {noise.std():.3f}")
    """),
    md("""
    ### Exercise 2 — average the gradients

    For each $i$, make the noisy copy `x + s * noise[i]`, take the gradient of its logit for
    class `c` with respect to that copy, and average the $n$ gradients. Store the **signed**
    average in `smooth`, shape `(1, 3, H, W)` like `x`.
    """),
    code("""
    smooth = None  # your code here, shape (1, 3, H, W)

    check_smoothgrad(smooth, model, x, noise, s, c)
    """),
    code("""
    show_solution("smoothgrad.average")
    """),
    md("""
    ### Check against the library

    `explain(..., "smoothgrad", base="gradient")` returns the averaged gradient as `attribution`
    and, as saliency, Simonyan's reduction $\\max_{\\text{colour}} |\\cdot|$ of the *average*,
    min-max scaled. The next cell asserts that both match our hand-made version.
    """),
    code("""
    e_sg = xai_tutor.explain(model, x, "smoothgrad", base="gradient", n=n, sigma=sigma, seed=0,
                             progress=False)
    tol = 1e-4 * float(smooth.abs().max())
    torch.testing.assert_close(e_sg.attribution, smooth, rtol=1e-3, atol=tol)
    torch.testing.assert_close(e_sg.saliency, normalise_per_image(smooth[0].abs().amax(dim=0)[None]),
                               rtol=1e-3, atol=1e-4)
    print("hand-made SmoothGrad matches xai_tutor.explain(..., 'smoothgrad'):", e_sg.params)

    e_grad = xai_tutor.explain(model, x, "gradient")
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    for ax, (title, e) in zip(axes, [("gradient", e_grad), (f"SmoothGrad, n={n}, sigma={sigma}", e_sg)]):
        ax.imshow(e.saliency[0].numpy(), cmap="gray")
        ax.set_title(title)
        ax.set_axis_off()
    plt.show()
    """),
    md("""
    ## The effect of $\\sigma$ and $n$

    More noise smooths more, but too much noise drowns the image: the copies no longer look like
    the bird, and the map blurs into a blob. More samples reduce the *randomness* of the average
    (its error shrinks like $1/\\sqrt n$) but cost one backward pass each. The grid shows the
    saliency for a few combinations; the first column is the plain gradient. Under each map: the share of the map that falls on the bird
    (`relevance_mass`) — does smoothing move relevance onto the bird, or only make the map look
    nicer?
    """),
    code("""
    from xai_tutor.evaluation import multi_instance_coverage, relevance_mass

    masks = scenes["single"].masks


    def mass(sal):  # measured against the full-size mask
        return relevance_mass(upsample_map(sal[None], masks.shape[-2:])[0], masks)


    sal_grad = xai_tutor.explain(model, x, "gradient", target=c).saliency[0]
    sigmas, ns = (0.05, 0.15, 0.3), (2, 10)
    fig, axes = plt.subplots(len(ns), len(sigmas) + 1, figsize=(15, 4.8))
    for r, n_samples in enumerate(ns):
        axes[r, 0].imshow(sal_grad.numpy(), cmap="gray")
        axes[r, 0].set_title(f"gradient (sigma = 0)\\nmass {mass(sal_grad):.2f}")
        for j, sig in enumerate(sigmas):
            sal = xai_tutor.explain(model, x, "smoothgrad", target=c, n=n_samples, sigma=sig,
                                    seed=0, progress=False).saliency[0]
            axes[r, j + 1].imshow(sal.numpy(), cmap="gray")
            axes[r, j + 1].set_title(f"n = {n_samples}, sigma = {sig}\\nmass {mass(sal):.2f}")
    for ax in axes.flat:
        ax.set_axis_off()
    plt.tight_layout()
    plt.show()
    print(f"the bird covers {masks.any(axis=0).mean():.1%} of the image: a mass above that is "
          "better than a uniform map")
    """),
    md("""
    ## SmoothGrad on any gradient method

    Nothing in the formula says that $M_c$ must be the plain gradient: any map computed from the
    image can be averaged over noisy copies. `base=` names the method to smooth. Here guided
    backpropagation (notebook 03), alone and smoothed:
    """),
    code("""
    e_gb = xai_tutor.explain(model, x, "guided_backprop")
    e_sgb = xai_tutor.explain(model, x, "smoothgrad", base="guided_backprop", n=8, sigma=sigma, seed=0,
                              progress=False)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    for ax, (title, e) in zip(axes, [("guided backprop", e_gb), ("SmoothGrad of guided backprop", e_sgb)]):
        ax.imshow(viz.opacity(shown, e.saliency[0]))
        ax.set_title(title)
        ax.set_axis_off()
    plt.show()
    print("smoothed:", e_sgb.params)
    """),
    md("""
    ## Smooth Grad-CAM++

    Omeiza et al. (2019) plug SmoothGrad into Grad-CAM++ (notebook 07) at the level of the
    **gradients of the feature maps**. With $g^{(i)} = \\partial y_c / \\partial A$ evaluated at
    the noisy copy $x + \\varepsilon_i$:

    $$\\bar g = \\frac1n \\sum_{i=1}^n g^{(i)}, \\qquad
      \\alpha^k_{ij} = \\frac{\\bar g_{ij}^2}{2 \\bar g_{ij}^2 + \\sum_{ab} A^k_{ab}\\, \\bar g_{ij}^3},
      \\qquad w_k = \\sum_{ij} \\alpha^k_{ij}\\, \\mathrm{ReLU}(\\bar g^k_{ij}),
      \\qquad L = \\mathrm{ReLU}\\Big(\\sum_k w_k A^k\\Big),$$

    where $A$ are the activations of the **clean** image: the noise only smooths the gradients;
    the map is still drawn on what the network sees in the real picture.

    `xai_tutor` draws this noise exactly as it did for SmoothGrad, one copy at a time from a
    generator seeded with `seed` (so `batch_size` only trades memory for speed); we do the same:
    """),
    code("""
    s = (sigma * (x.max() - x.min())).item()
    gen = torch.Generator().manual_seed(0)
    noise = torch.stack([torch.randn(x.shape[1:], generator=gen) for _ in range(n)])
    print("noise", tuple(noise.shape), f"  s = {s:.4f}")
    """),
    md("""
    ### Exercise 3 — Smooth Grad-CAM++ by hand

    Compute the map `sgcampp_map`, shape `(h, w)` (the layer's resolution, not upsampled, not
    normalised), for class `c` at `model.default_layer`:

    1. for each noisy copy `x + s * noise[i]`, the gradient of the logit with respect to the
       layer's activations (`capture` + `torch.autograd.grad`, as in notebook 07), averaged;
    2. the activations of the clean image `x`;
    3. Grad-CAM++'s $\\alpha$ and weights from the averaged gradient, then the map.
    """),
    code("""
    sgcampp_map = None  # your code here, shape (h, w)

    check_smoothgradcampp_map(sgcampp_map, model, x, noise, s, c)
    """),
    code("""
    show_solution("smoothgrad.smoothgradcampp")
    """),
    code("""
    e_sgpp = xai_tutor.explain(model, x, "smoothgradcampp", target=c, n=n, sigma=sigma, seed=0,
                               progress=False)
    torch.testing.assert_close(e_sgpp.attribution[0], sgcampp_map, rtol=1e-3,
                               atol=1e-4 * float(sgcampp_map.max()) + 1e-8)
    print("hand-made Smooth Grad-CAM++ matches xai_tutor.explain(..., 'smoothgradcampp'):", e_sgpp.params)
    """),
    md("""
    > **Another reason to test against the formula.** torchcam 0.5's `SmoothGradCAMpp` differs
    > from the paper in two ways: it averages $g^2$ and $g^3$ over the copies instead of averaging
    > $g$ and then taking powers, and it takes $\\mathrm{ReLU}(g)$ **and the activations** from the
    > *last noisy pass* instead of the clean image. The map then depends on one random copy. The
    > check of exercise 3 recognises this variant. Here is what it gives next to the paper's
    > version:
    """),
    code("""
    layer = model.default_layer
    grads, acts = [], []
    for i in range(n):
        with model_guard(model), capture(model, layer) as cap:
            score = model(x + s * noise[i])[0, c]
            (g_i,) = torch.autograd.grad(score, cap.activation)
        grads.append(g_i[0])
        acts.append(cap.activation[0].detach())
    g2, g3 = torch.stack([g**2 for g in grads]).mean(0), torch.stack([g**3 for g in grads]).mean(0)
    den = 2 * g2 + acts[-1].sum(dim=(1, 2), keepdim=True) * g3
    alpha_tc = torch.where(den != 0, g2 / torch.where(den != 0, den, torch.ones_like(den)), torch.zeros_like(den))
    w_tc = (alpha_tc * torch.relu(grads[-1])).sum(dim=(1, 2))
    torchcam_like = torch.relu(torch.einsum("k,khw->hw", w_tc, acts[-1]))

    r = np.corrcoef(torchcam_like.flatten().numpy(), sgcampp_map.flatten().numpy())[0, 1]
    print(f"correlation between the paper's map and the last-noisy-pass variant: {r:.3f}")
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    for ax, (title, m) in zip(axes, [("Smooth Grad-CAM++ (paper)", sgcampp_map),
                                     ("last noisy pass (torchcam 0.5)", torchcam_like)]):
        ax.imshow(viz.heatmap(shown, normalise_per_image(upsample_map(m[None], x.shape[-2:]))[0]))
        ax.set_title(title)
        ax.set_axis_off()
    plt.show()
    """),
    md("""
    ### A surprise on global-average-pooling heads

    Compare Smooth Grad-CAM++ with plain Grad-CAM++ on our model:
    """),
    code("""
    e_pp = xai_tutor.explain(model, x, "gradcampp", target=c)
    diff = float((e_pp.attribution - e_sgpp.attribution).abs().max())
    print(f"largest difference between the Grad-CAM++ and Smooth Grad-CAM++ maps: {diff:.3g} "
          f"(map maximum {float(e_pp.attribution.max()):.3g})")
    """),
    md("""
    If the difference is (close to) zero, that is not a bug. When the layer is followed only by
    global average pooling and a linear layer — the case for the offline course models, ResNets
    and EfficientNet — the gradient $\\partial y_c / \\partial A^k_{ij} = W_{ck}/Z$ **does not
    depend on the input at all**. Every noisy copy has the same gradient, $\\bar g = g$, and with
    the clean activations Smooth Grad-CAM++ *is* Grad-CAM++. Only a head with something
    non-linear after the layer (VGG16's max-pooling and dense layers) lets the noise change the
    gradients. Keep that in mind when reading comparisons: a smoother-looking Smooth Grad-CAM++
    map on such a model can only come from an implementation that also uses the noisy
    activations.

    ## On the course scenes

    Gradient and SmoothGrad ($n = 8$) for the first model on the three scenes (heatmaps), then
    Grad-CAM++ and Smooth Grad-CAM++ ($n = 4$, to keep the notebook quick) for every course
    model on the flock, the hardest scene. As before, the scenes are at half size.
    """),
    code("""
    images = [scenes[k].image for k in scenes]
    rows = {"gradient": [], "SmoothGrad": []}
    for kind, scene in scenes.items():
        xs, _ = load_image(scene.image, size=half)
        rows["gradient"].append(xai_tutor.explain(model, xs, "gradient").saliency[0])
        rows["SmoothGrad"].append(
            xai_tutor.explain(model, xs, "smoothgrad", n=8, sigma=sigma, seed=0, progress=False).saliency[0])
    display(viz.grid(images, rows, column_titles=list(scenes), title=f"{name}: pixel maps"))
    """),
    code(TARGET_HELPER),
    code("""
    scene = scenes["flock"]
    xs, small = load_image(scene.image, size=half)
    results, rows = [], {"Grad-CAM++": [], "Smooth Grad-CAM++": []}
    for model_name, net in models.items():
        k, masks = explained_class(net, scene, xs)
        for label, method, params in [("Grad-CAM++", "gradcampp", {}),
                                      ("Smooth Grad-CAM++", "smoothgradcampp",
                                       {"n": 4, "sigma": sigma, "seed": 0, "progress": False})]:
            sal = xai_tutor.explain(net, xs, method, target=k, **params).saliency[0]
            rows[label].append(sal)
            full = upsample_map(sal[None], masks.shape[-2:])[0]  # measure against the full-size masks
            results.append({"model": model_name, "class": net.class_names[k], "birds": len(masks),
                            "method": label, "coverage": multi_instance_coverage(full, masks),
                            "mass": relevance_mass(full, masks), "map": sal})
    display(viz.grid([small] * len(models), rows, column_titles=list(models), title="flock"))
    """),
    code("""
    print(f"{'model':20s} {'class (birds)':22s} {'Grad-CAM++':>16s} {'Smooth Grad-CAM++':>20s}   max |difference|")
    print(f"{'':43s} {'coverage  mass':>16s} {'coverage  mass':>20s}")
    for a, b in zip(results[0::2], results[1::2]):
        d = float((a["map"] - b["map"]).abs().max())
        label = f"{a['class'][:16]} ({a['birds']})"
        print(f"{a['model']:20s} {label:22s} {a['coverage']:10.2f} {a['mass']:5.2f} "
              f"{b['coverage']:14.2f} {b['mass']:5.2f}   {d:.3f}")
    """),
    md("""
    ### The survey's verdict, discussed

    The survey concludes that Smooth Grad-CAM++ "could extract with confidence the features that
    helped determine the birds in the images: head, feet, or color", and suggests combining it
    with FullGrad. What do our measurements say?

    - **Resolution.** Smooth Grad-CAM++ is a CAM: its map lives on the layer's grid (for example
      26 × 39 or 14 × 20 cells for a 626 × 418 image) and is upsampled. One cell covers 16–32
      pixels on a side, so it can point at a *region* such as the head, but it cannot draw feet or
      feathers; fine detail in a CAM picture comes from the upsampling and the colour map.
    - **Same as Grad-CAM++ on GAP heads.** The last column of the table is (close to) zero for
      every model with a global-average-pooling head: the noise has nothing to smooth there. Where
      it is not zero (VGG16), the difference is a smoothing of the channel weights, usually
      small.
    - **Pixel SmoothGrad** does change the picture a lot: the speckle of the gradient gives way to
      a cleaner outline of the bird. That is the "sharpening" the survey attributes to SmoothGrad,
      and it is real — but look at the mass numbers above: looking cleaner and putting more
      relevance on the bird are not the same thing.
    - **One picture per situation** cannot establish "better": notebook 11 measures all methods
      over many generated scenes with error bars.

    A fair summary: smoothing is a cheap and general way to reduce *gradient noise*; whether it
    helps depends on whether the method had gradient noise to begin with.

    ## Summary

    - SmoothGrad: $\\hat M_c(x) = \\frac1n \\sum_i M_c(x + \\varepsilon_i)$, with
      $\\varepsilon_i \\sim \\mathcal N(0, s^2)$ and $s = \\sigma(\\max x - \\min x)$; in
      `xai_tutor` the noise is seeded (`seed=0`), so maps are reproducible.
    - Larger $\\sigma$ smooths more (too much blurs the object away); larger $n$ reduces the
      randomness at one backward pass per sample.
    - Any gradient method can be smoothed (`base="guided_backprop"`, ...).
    - Smooth Grad-CAM++ averages the first-order layer gradients over the noisy copies and draws
      the map with the clean image's activations; torchcam 0.5 averages $g^2, g^3$ and uses the
      last noisy pass instead.
    - On global-average-pooling heads the layer gradients do not depend on the input, so Smooth
      Grad-CAM++ equals Grad-CAM++ exactly.

    **Next:** [09 · FullGrad](09_fullgrad.ipynb) adds the gradients of the biases.

    ## Further reading

    - D. Smilkov, N. Thorat, B. Kim, F. Viégas, M. Wattenberg (2017), *SmoothGrad: removing noise
      by adding noise*, [arXiv:1706.03825](https://arxiv.org/abs/1706.03825).
    - D. Omeiza, S. Speakman, C. Cintas, K. Weldemariam (2019), *Smooth Grad-CAM++: an enhanced
      inference level visualization technique for deep convolutional neural network models*,
      [arXiv:1908.01224](https://arxiv.org/abs/1908.01224).
    - A. Chattopadhay et al. (2018), *Grad-CAM++*, [arXiv:1710.11063](https://arxiv.org/abs/1710.11063).
    - J. Adebayo et al. (2018), *Sanity checks for saliency maps*,
      [arXiv:1810.03292](https://arxiv.org/abs/1810.03292) — why a nicer-looking map is not
      necessarily a more faithful one.
    - {PAPER}, sections 3.3 and 5.
    """.replace("{PAPER}", PAPER)),
    md("""
    ## Explore

    Try the noise level and the number of samples on other scenes and models.
    """),
    code("""
    from xai_tutor.widgets import method_explorer

    method_explorer("smoothgradcampp", models)
    """),
]

NOTEBOOKS = {"07_gradcampp_xgradcam": GRADCAMPP, "08_smoothgrad": SMOOTHGRAD}


def main(out_dir: Path | None = None) -> list[Path]:
    """Write the notebooks into ``out_dir`` (default: the repository's ``notebooks/``)."""
    out_dir = Path(out_dir) if out_dir is not None else ROOT / "notebooks"
    written = []
    for name, cells in NOTEBOOKS.items():
        path = write_notebook(out_dir / f"{name}.ipynb", cells)
        print("wrote", path)
        written.append(path)
    return written


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
