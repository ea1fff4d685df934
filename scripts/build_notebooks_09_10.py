# ruff: noqa: E501  (this file holds notebook text: markdown, LaTeX and cell code)
"""Generate notebooks 09 (FullGrad) and 10 (gradient-free CAMs: Ablation-CAM and Score-CAM).

Run ``python scripts/build_notebooks_09_10.py`` after editing; the notebooks are written without
outputs. Edit the prose here, not in the .ipynb files, so that the two never drift apart.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nbtools import code, md, write_notebook  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PAPER = "Ouadghiri (2022), *Post-hoc Explainable Artificial Intelligence for computer vision: model-specific methods*"

# Which class to explain in a scene and which birds belong to it: a course bird classifier uses
# the species list, an ImageNet model the ImageNet ids of the birds.
SCENE_CLASS = '''
from xai_tutor.data import SPECIES


def scene_class(net, scene, xs):
    """The best-scoring class among the birds in the scene, and the masks of those birds."""
    with torch.no_grad():
        logits = net(xs)[0]
    birds = {}
    for i, (species, imagenet_id) in enumerate(zip(scene.species, scene.imagenet_ids)):
        k = SPECIES.index(species) if list(net.class_names) == list(SPECIES) else imagenet_id
        if k is not None:
            birds.setdefault(k, []).append(i)
    if not birds:  # none of the model's classes is in the scene: its top class, every bird
        return int(logits.argmax()), scene.masks
    best = max(birds, key=lambda k: float(logits[k]))
    return best, scene.masks[birds[best]]
'''

# --------------------------------------------------------------------------- 09 FullGrad

FULLGRAD = [
    md(r"""
    # 09 · FullGrad — the gradients of the biases

    Every gradient method so far asks "how does the score change when I nudge the **input**?".
    Srinivas & Fleuret (2019) point out that this leaves something out: a network also adds a
    **bias** in almost every layer, and the score depends on those biases too. Their
    *full-gradient* representation keeps both parts — the input-gradient and one bias-gradient
    per layer — and, for ReLU networks, the parts add up **exactly** to the score. FullGrad is
    the saliency map built from all of them.

    **Learning objectives.** After this notebook you can
    - compute a layer's bias-gradient term $b \odot \partial f / \partial z$, including the
      *effective bias* of a BatchNorm layer $\beta - \mu\gamma/\sqrt{\sigma^2 + \varepsilon}$;
    - verify the completeness identity
      $f(x) = x \cdot \nabla_x f + \sum_{\text{layers}} \sum b \odot \nabla_b f$ numerically
      in float64, and say why it holds for ReLU networks and not for ReLU6 ones;
    - build the FullGrad saliency map by hand (absolute value, upsampling, scaling, sum) in its
      two variants, and check it against `xai_tutor.explain(..., "fullgrad")`;
    - measure what FullGrad costs in memory compared with Grad-CAM, and judge the paper's
      "detects the whole bird … adds some noise … uses a lot of RAM" with numbers.

    **Prerequisites.** [02 · Models, data and hooks](02_models_data_hooks.ipynb) (hooks,
    `torch.autograd.grad`) and [06 · Grad-CAM](06_gradcam.ipynb); [04 · LRP](04_lrp.ipynb) helps
    (another method whose parts add up to the score).

    **Expected run time.** About 35 seconds of computation on a laptop CPU with the offline
    models (the scenes run at half size, 313 × 209); 30 minutes of reading and exercises.
    """),
    md(r"""
    ## Setup

    The course models, the three scenes, and the one-bird scene at **half size** for the first
    model (FullGrad needs a backward pass through the *whole* network and keeps every layer's
    gradient, so we save time and memory; the last sections measure what full size costs).
    """),
    code(r"""
    import copy

    import matplotlib.pyplot as plt
    import numpy as np
    import torch
    import torch.nn.functional as F
    from torch import nn

    import xai_tutor
    from xai_tutor import viz
    from xai_tutor.data import course_scenes, load_image
    from xai_tutor.explanation import normalise_per_image, upsample_map
    from xai_tutor.hooks import model_guard
    from xai_tutor.models import course_models, load_model

    models = course_models()
    name, model = next(iter(models.items()))
    scenes = course_scenes()
    half = (313, 209)  # (W, H): half of the 626 x 418 scenes
    x, shown = load_image(scenes["single"].image, size=half)
    with torch.no_grad():
        c = int(model(x)[0].argmax())
    print(f"first course model: {name}; explaining class {c} ({model.class_names[c]}) on {tuple(x.shape)}")
    """),
    md(r"""
    ## What the input-gradient misses

    Take one linear layer, $z = W h + b$. Its output depends on the input $h$ *and* on the bias
    $b$. A ReLU network is a stack of such layers with ReLUs (and max-pooling) in between; around
    a given input each ReLU is either "on" (the identity) or "off" (zero), so locally the whole
    network is one affine map $f(x) = w^\top x + \beta$ — and the gradient $\nabla_x f = w$ only
    sees the slope, never the offset $\beta$, which collects every layer's bias.

    Srinivas & Fleuret write the offset out. For a network of ReLUs, max-pooling, convolutions,
    linear layers and BatchNorm (in eval mode),

    $$f(x) \;=\; \underbrace{x \cdot \nabla_x f(x)}_{\text{input-gradient}}
      \;+\; \sum_{\text{layers } l} \; \underbrace{\sum_j b_{l,j}\, \frac{\partial f}{\partial b_{l,j}}}_{\text{bias-gradient of layer } l}
      \qquad\text{(completeness).}$$

    *Why:* scale the input **and every bias** by the same $t > 0$. Each affine layer's output
    scales by $t$, ReLU and max-pooling commute with positive scaling, so $f$ scales by $t$:
    $f(tx; tb) = t f(x; b)$. Differentiating at $t = 1$ (Euler's theorem for homogeneous
    functions) gives exactly the sum above.

    **The bias-gradient of a convolution.** A convolution adds its bias $b_j$ to **every
    position** of output channel $j$, so
    $\partial f / \partial b_j = \sum_{\text{positions } p} \partial f / \partial z_{j,p}$. We
    keep the positions apart: the bias-gradient **map** of layer $l$ is

    $$T_l = b_l \odot \frac{\partial f}{\partial z_l} \qquad (\text{shape of the layer's output } z_l),$$

    and summing it over channels and positions gives the layer's share of the score. The
    gradient with respect to the output $z_l$ is what a forward hook and
    `torch.autograd.grad` give us.

    **BatchNorm has a bias too.** In eval mode BatchNorm is the fixed affine map

    $$\mathrm{BN}(z) = \gamma\,\frac{z - \mu}{\sqrt{\sigma^2 + \varepsilon}} + \beta
      = \underbrace{\frac{\gamma}{\sqrt{\sigma^2 + \varepsilon}}}_{\text{scale}}\, z
      \;+\; \underbrace{\beta - \frac{\mu\,\gamma}{\sqrt{\sigma^2 + \varepsilon}}}_{\text{effective bias}}$$

    with the running mean $\mu$ and variance $\sigma^2$.

    ## Completeness by hand, in float64

    We check the identity on `tiny_resnet` (convolutions without bias, BatchNorm after each, a
    linear head; always available, whatever the course models are), in float64 so that rounding
    cannot hide a mistake. First, its BatchNorm layers.
    """),
    code(r"""
    net64 = copy.deepcopy(load_model("tiny_resnet")).double().eval()
    x64 = x.double()
    size64 = tuple(x64.shape[-2:])
    with torch.no_grad():
        c64 = int(net64(x64)[0].argmax())
    bn = net64.bn1
    print(bn)
    print("running mean:", bn.running_mean[:4].numpy().round(3), "...")
    print("running var: ", bn.running_var[:4].numpy().round(3), "...")
    """),
    md(r"""
    ### Exercise 1 — the effective bias of a BatchNorm layer

    Compute `bn_bias`, shape `(C,)`: $\beta - \mu\gamma / \sqrt{\sigma^2 + \varepsilon}$ for the
    layer `bn`. You need `bn.weight` ($\gamma$), `bn.bias` ($\beta$), `bn.running_mean`,
    `bn.running_var` and `bn.eps`.
    """),
    code(r"""
    from xai_tutor.exercises import show_solution
    from xai_tutor.exercises.fullgrad import check_bias_term, check_bn_bias, check_postprocess

    bn_bias = None  # your code here, shape (C,)

    check_bn_bias(bn_bias, bn)
    """),
    code(r"""
    show_solution("fullgrad.bn_bias")
    """),
    md(r"""
    BatchNorm in eval mode really is `scale * z + bn_bias`: the next cell checks it on random
    input, to the last bits of float64.
    """),
    code(r"""
    z = torch.randn(2, bn.num_features, 5, 7, dtype=torch.float64)
    bn_scale = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach()
    with torch.no_grad():
        torch.testing.assert_close(bn(z), bn_scale[:, None, None] * z + bn_bias[:, None, None], rtol=1e-12, atol=1e-12)
    print("BN(z) == scale * z + effective bias")
    """),
    md(r"""
    Now the gradients. A forward hook on every layer with a bias (convolutions and linear layers
    with `bias`, every BatchNorm) keeps its output $z_l$; one call to `torch.autograd.grad`
    returns $\partial f / \partial x$ and every $\partial f / \partial z_l$ at once. (The hook
    returns a *clone* of the output, so that the in-place ReLUs and the `out += identity` of the
    residual blocks cannot overwrite what we kept.)
    """),
    code(r"""
    def bias_of(module):
        # the bias a layer adds to its output (effective bias for BatchNorm), or None
        if isinstance(module, nn.BatchNorm2d):
            scale = module.weight / torch.sqrt(module.running_var + module.eps)
            return (module.bias - module.running_mean * scale).detach()
        if isinstance(module, (nn.Conv2d, nn.Linear)) and module.bias is not None:
            return module.bias.detach()
        return None


    def full_gradients(net, image, target):
        # the logit, x * df/dx, and {layer name: df/dz} for every layer with a bias
        modules = {n: m for n, m in net.named_modules() if bias_of(m) is not None}
        outputs = {}

        def keep(layer_name):
            def hook(module, inputs, output):
                assert layer_name not in outputs, f"{layer_name} runs twice"
                outputs[layer_name] = output
                return output.clone()
            return hook

        with model_guard(net):
            handles = [m.register_forward_hook(keep(n)) for n, m in modules.items()]
            try:
                leaf = image.detach().clone().requires_grad_(True)
                logit = net(leaf)[0, target]
                names = list(outputs)
                grads = torch.autograd.grad(logit, [leaf, *(outputs[n] for n in names)])
            finally:
                for h in handles:
                    h.remove()
        return logit.detach(), image * grads[0], dict(zip(names, grads[1:])), modules


    y64, input_term64, grads64, modules64 = full_gradients(net64, x64, c64)
    torch.testing.assert_close(bias_of(bn), bn_bias)
    print(f"logit f(x) = {float(y64):.6f};  {len(grads64)} layers with a bias:")
    print(", ".join(grads64))
    """),
    md(r"""
    ### Exercise 2 — one bias-gradient map

    Compute `term`, the bias-gradient map $b \odot \partial f/\partial z$ of the layer
    `term_layer = "layer2.bn2"`, shape `(1, C, h, w)` like the layer's output. `bias_of(module)`
    gives the (effective) bias, `grads64[term_layer]` the gradient at the output and
    `modules64[term_layer]` the module. Mind the broadcasting: one bias per **channel**
    (dimension 1).
    """),
    code(r"""
    term_layer = "layer2.bn2"
    term = None  # your code here, shape (1, C, h, w)

    check_bias_term(term, net64, x64, term_layer, c64)
    """),
    code(r"""
    show_solution("fullgrad.bias_term")
    """),
    md(r"""
    ### The parts add up to the score

    Sum the input-gradient term and every layer's bias-gradient map (the linear head's bias
    term is a vector over the classes: $b \odot \partial f/\partial z$ is nonzero only at the
    explained class, where it is that class's bias). The cell **asserts** that the sum equals
    the logit to $10^{-9}$ and then that `xai_tutor`'s `fullgrad_terms` gives the same parts.
    """),
    code(r"""
    parts = {"input x . df/dx": float(input_term64.sum())}
    for layer_name, g in grads64.items():
        b = bias_of(modules64[layer_name])
        shaped = b.reshape(1, -1, *([1] * (g.dim() - 2)))
        parts[layer_name] = float((shaped * g).sum())
    total = sum(parts.values())
    for k, v in parts.items():
        print(f"  {k:18s} {v:+.6f}")
    print(f"sum of the parts  {total:+.12f}")
    print(f"logit f(x)        {float(y64):+.12f}")
    assert abs(total - float(y64)) < 1e-9 * max(1.0, abs(float(y64))), "completeness fails"
    print(f"the input-gradient alone explains {parts['input x . df/dx'] / float(y64):.1%} of the logit")

    from xai_tutor.methods.cam.fullgrad import fullgrad_terms

    lib = fullgrad_terms(net64, x64, target=c64)
    torch.testing.assert_close(lib.input_term, input_term64)
    for (lib_name, lib_term), layer_name in zip(lib.bias_terms, grads64):
        assert lib_name == layer_name
        b = bias_of(modules64[layer_name])
        torch.testing.assert_close(lib_term, b.reshape(1, -1, *([1] * (lib_term.dim() - 2))) * grads64[layer_name])
    print("xai_tutor's fullgrad_terms gives the same input and bias terms")
    """),
    md(r"""
    The homogeneity argument can be checked too: multiply the input **and every bias** by $t$
    (for BatchNorm: $\beta$ and $\mu$, which scales its effective bias by $t$) and the logit is
    multiplied by $t$.
    """),
    code(r"""
    t = 2.5
    scaled = copy.deepcopy(net64)
    with torch.no_grad():
        for m in scaled.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.bias.mul_(t)
                m.running_mean.mul_(t)
            elif isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None:
                m.bias.mul_(t)
        y_scaled = float(scaled(t * x64)[0, c64])
    print(f"f(t x; t b) = {y_scaled:.9f}   t f(x; b) = {t * float(y64):.9f}")
    assert abs(y_scaled - t * float(y64)) < 1e-9 * max(1.0, abs(y_scaled))
    """),
    md(r"""
    ### Does completeness hold for every course model?

    Only for networks whose non-linearities commute with positive scaling. ReLU and max-pooling
    do; **ReLU6** ($\min(\max(z, 0), 6)$, used by EfficientNet-Lite) does not: where it clips at
    6 its output is a constant that no bias accounts for, and the gradient there is 0. The cell
    measures the relative gap $\big(f(x) - \text{input term} - \text{bias terms}\big) / |f(x)|$
    for each course model on a quarter-size image, in float32 this time (float64 copies of the
    big models are slow on a CPU).
    """),
    code(r"""
    xq, _ = load_image(scenes["single"].image, size=(156, 104))
    for model_name, net in models.items():
        terms = fullgrad_terms(net, xq)
        parts_sum = terms.input_term.double().sum() + sum(tt.double().sum() for _, tt in terms.bias_terms)
        score = float(terms.score[0])
        gap = (score - float(parts_sum)) / max(abs(score), 1e-12)
        relu6 = sum(isinstance(m, nn.ReLU6) for m in net.modules())
        print(f"{model_name:20s} logit {score:+9.4f}   relative gap {gap:+.1e}   "
              f"{len(terms.bias_terms):3d} bias layers   {relu6} ReLU6 modules")
    """),
    md(r"""
    A relative gap of $10^{-6}$ or so is float32 rounding; a gap of a sizeable fraction of the logit means the
    network is not piecewise linear *and homogeneous*, and the decomposition is then only
    approximate. FullGrad's saliency map (next) is still defined, but "the parts add up to the
    score" is no longer true there.

    ## From the parts to a saliency map

    The parts live at different resolutions (the input term at the image's, the bias maps at
    their layers') and on different scales. FullGrad post-processes each
    spatial term $T$ with

    $$\psi(T) = \mathrm{upsample}\Big(\sum_{\text{channels}} \mathrm{scale}\big(|T|\big)\Big),
      \qquad \mathrm{FullGrad} = \psi(x \odot \nabla_x f) + \sum_{l} \psi(b_l \odot \nabla_{z_l} f):$$

    the **absolute value** (a part that pushes the score down is as important as one that pushes
    it up), a **min-max scaling** to $[0, 1]$ so that no layer dominates by its scale, the
    **sum over channels** and a bilinear **upsampling** to the image size (bilinear upsampling is
    linear, so summing the channels first is the same as upsampling each channel, and cheaper).
    Linear layers' bias terms are not images and only enter completeness.

    Two variants differ in the scaling, and `xai_tutor` offers both:

    - `variant="layer"` (the authors' code, the default): **one** min and max per term, over all
      its channels and positions, $(|T| - \min) / (\max - \min + 10^{-6})$;
    - `variant="channel"` (pytorch-grad-cam): every channel scaled on its own (with $10^{-7}$),
      which gives weak channels as much say as strong ones.

    ### Exercise 3 — post-process one term

    Compute `psi`, shape `(1, H, W)` with `(H, W) = size64`, from the `term` of exercise 2 with
    the `"layer"` scaling. Use `F.interpolate(m[:, None], size=size64, mode="bilinear",
    align_corners=False)[:, 0]` to upsample a `(1, h, w)` map.
    """),
    code(r"""
    psi = None  # your code here, shape (1, H, W)

    check_postprocess(psi, term, size64)
    """),
    code(r"""
    show_solution("fullgrad.postprocess")
    """),
    md(r"""
    ## FullGrad by hand, checked against the library

    The same recipe on the first course model, in float32 at half size, for both variants. The
    cell **asserts** that the hand-made map equals `explain(..., "fullgrad")`'s `attribution`
    (the sum before the final scaling) and `saliency` (scaled to $[0, 1]$).
    """),
    code(r"""
    def psi_of(term, size, variant="layer"):
        t = term.abs()
        if variant == "layer":
            low = t.amin(dim=(1, 2, 3), keepdim=True)
            high = t.amax(dim=(1, 2, 3), keepdim=True)
            scaled = (t - low) / (high - low + 1e-6)
        else:  # "channel"
            low = t.amin(dim=(2, 3), keepdim=True)
            high = t.amax(dim=(2, 3), keepdim=True)
            scaled = (t - low) / (high - low + 1e-7)
        return F.interpolate(scaled.sum(dim=1)[:, None], size=size, mode="bilinear", align_corners=False)[:, 0]


    def fullgrad_by_hand(net, image, target, variant="layer"):
        _, input_term, grads, modules = full_gradients(net, image, target)
        size = tuple(image.shape[-2:])
        total = psi_of(input_term, size, variant)
        maps = {"input": total}
        for layer_name, g in grads.items():
            if g.dim() == 4:  # spatial terms only (not the linear head)
                m = psi_of(bias_of(modules[layer_name]).reshape(1, -1, 1, 1) * g, size, variant)
                maps[layer_name] = m
                total = total + m
        return total, maps


    for variant in ("layer", "channel"):
        fg, fg_maps = fullgrad_by_hand(model, x, c, variant)
        e = xai_tutor.explain(model, x, "fullgrad", target=c, variant=variant)
        torch.testing.assert_close(e.attribution, fg, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(e.saliency, normalise_per_image(fg), rtol=1e-4, atol=1e-5)
        print(f"variant {variant!r}: hand-made FullGrad matches xai_tutor.explain(..., 'fullgrad') "
              f"({len(fg_maps)} spatial terms summed)")
    fg_layer = xai_tutor.explain(model, x, "fullgrad", target=c).saliency[0]
    fg_channel = e.saliency[0]
    r = np.corrcoef(fg_layer.flatten().numpy(), fg_channel.flatten().numpy())[0, 1]
    print(f"correlation between the 'layer' and 'channel' variants: {r:.3f}")
    """),
    md(r"""
    ### Looking at the parts

    The input-gradient term is the pixel-level, speckled part (notebook 02's gradient times the
    input); early layers' bias maps are sharp and follow edges; late layers' are coarse blobs on
    the object, like a CAM. FullGrad's sum mixes all scales — "a robust and precise variation of
    Grad-CAM", as the survey puts it.
    """),
    code(r"""
    _, fg_maps = fullgrad_by_hand(model, x, c)
    keys = list(fg_maps)
    picks = [keys[0], keys[1], keys[len(keys) // 2], keys[-1]]
    fig, axes = plt.subplots(1, len(picks) + 2, figsize=(19, 2.9))
    for ax, k in zip(axes, picks):
        ax.imshow(fg_maps[k][0].numpy(), cmap="magma")
        ax.set_title(k if k == "input" else f"bias term {k}", fontsize=9)
    axes[-2].imshow(viz.heatmap(shown, fg_layer))
    axes[-2].set_title("FullGrad ('layer')", fontsize=9)
    axes[-1].imshow(viz.heatmap(shown, fg_channel))
    axes[-1].set_title("FullGrad ('channel')", fontsize=9)
    for ax in axes:
        ax.set_axis_off()
    plt.show()
    """),
    md(r"""
    ## What FullGrad costs

    Grad-CAM needs the gradient at **one** layer: the backward pass stops there, and only that
    layer's activations and gradients are kept. FullGrad needs the gradient with respect to the
    **input** — so autograd must keep every intermediate tensor of the whole network for the
    backward pass — and it returns and post-processes one gradient map **per layer with a bias**,
    many of them at high resolution near the input. The survey: "FullGrad uses a lot of RAM and
    it can be challenging for big images".

    Three measurements per model, Grad-CAM against FullGrad:

    - **saved for backward**: the bytes of every tensor autograd keeps for the backward pass,
      counted exactly with `torch.autograd.graph.saved_tensors_hooks` (a hook that sees each
      tensor as it is saved; shared tensors are counted once);
    - **maps kept**: FullGrad's bias-gradient maps (float32), which it returns and
      post-processes on top of that;
    - **time** and **peak memory** of one call with `xai_tutor.evaluation.measure` (on a CPU it
      samples the process's resident memory every millisecond and reports the peak above the
      start; it is a lower bound, and reads 0 when the allocator can reuse memory it already
      holds — small models on a machine that has run bigger ones).

    All at half size, and the first model also at full size (4 × the pixels).
    """),
    code(r"""
    from xai_tutor.evaluation import measure, release_freed_memory


    def saved_for_backward(fn):
        # bytes of the distinct tensors autograd saves for the backward pass while fn runs
        saved = {}

        def pack(t):
            saved[(t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape))] = t.numel() * t.element_size()
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            fn()
        return sum(saved.values())


    release_freed_memory()  # freed blocks go back to the system, so that RSS follows live memory
    full_x, _ = load_image(scenes["single"].image)
    runs = [(n, m, x, "half") for n, m in models.items()] + [(name, model, full_x, "full")]
    rows = []
    for model_name, net, xs, label in runs:
        sizes_out = []  # a cheap forward pass records the size of every bias layer's output
        hooks = [m.register_forward_hook(lambda mod, i, o: sizes_out.append(o.numel()) if o.dim() == 4 else None)
                 for m in net.modules() if isinstance(m, nn.Conv2d | nn.BatchNorm2d) and bias_of(m) is not None]
        with model_guard(net), torch.no_grad():
            net(xs)
        for h in hooks:
            h.remove()
        spatial, maps_mb = sizes_out, sum(sizes_out) * 4 / 2**20
        for method in ("gradcam", "fullgrad"):
            saved_mb = saved_for_backward(lambda: xai_tutor.explain(net, xs, method)) / 2**20
            cost = measure(xai_tutor.explain, net, xs, method)
            rows.append({"model": model_name, "size": label, "method": method, "bias maps": len(spatial) if method == "fullgrad" else 0,
                         "maps MB": maps_mb if method == "fullgrad" else 0.0, "saved MB": saved_mb,
                         "time": cost.seconds, "peak MB": cost.peak_mb})
            del cost
    print(f"{'model':20s} {'size':5s} {'method':9s} {'bias maps':>9s} {'maps (MB)':>10s} {'saved (MB)':>11s} {'time (s)':>9s} {'peak RSS (MB)':>14s}")
    for r in rows:
        print(f"{r['model']:20s} {r['size']:5s} {r['method']:9s} {r['bias maps']:9d} {r['maps MB']:10.1f} "
              f"{r['saved MB']:11.1f} {r['time']:9.3f} {r['peak MB']:14.1f}")
    for g, f in zip(rows[0::2], rows[1::2]):
        print(f"{g['model']} ({g['size']}): saved for backward {g['saved MB']:.2f} MB (Grad-CAM) vs "
              f"{f['saved MB']:.1f} MB (FullGrad); FullGrad takes {f['time'] / max(g['time'], 1e-9):.1f}x the time")
    """),
    md(r"""
    The ratio is the point, not the absolute numbers (they depend on your machine). Grad-CAM's
    backward pass only needs what lies *after* its layer, so it saves little; FullGrad must keep
    every intermediate tensor of the whole network, and the memory grows with the number of
    pixels **times the number of layers** — compare the half- and full-size rows of the first
    model: 4 × the pixels, about 4 × the memory. On a big network (ResNet50 at full resolution:
    about 50 BatchNorm layers, several at a quarter of the image size with 256 channels each)
    this is the difference between fitting on a GPU and not fitting.

    ## On the course scenes: "detects the whole bird … adds some noise"

    FullGrad and Grad-CAM for every course model on the three scenes, at half size (maps are
    upsampled to full size to be measured against the birds' masks). For each scene we explain
    the best-scoring class among the birds present, and measure against the masks of the birds
    of that class:

    - **relevance mass**: the share of the map's total that lies on those birds (the rest is
      "noise" in the survey's sense — relevance off the birds);
    - **lift**: the mass divided by the share of the image those birds cover — how many times
      better than a map spread uniformly (lift 1);
    - **coverage**: the share of those birds that get at least half their fair share of the map.
    """),
    code(SCENE_CLASS),
    code(r"""
    from xai_tutor.evaluation import multi_instance_coverage, relevance_mass

    results, rows = [], {}
    for model_name, net in models.items():
        for kind, scene in scenes.items():
            xs, _ = load_image(scene.image, size=half)
            k, masks = scene_class(net, scene, xs)
            for label, method in (("Grad-CAM", "gradcam"), ("FullGrad", "fullgrad")):
                sal = xai_tutor.explain(net, xs, method, target=k).saliency
                full = upsample_map(sal, masks.shape[-2:])[0]
                rows.setdefault(f"{label}\n{model_name}", []).append(sal[0])
                results.append({"model": model_name, "scene": kind, "method": label,
                                "class": net.class_names[k], "birds": len(masks),
                                "mass": relevance_mass(full, masks),
                                "lift": relevance_mass(full, masks) / float(masks.any(axis=0).mean()),
                                "coverage": multi_instance_coverage(full, masks)})
    print(f"{'model':20s} {'scene':6s} {'class (birds)':20s} {'method':9s}  mass  lift  coverage")
    for r in results:
        label = f"{r['class'][:14]} ({r['birds']})"
        print(f"{r['model']:20s} {r['scene']:6s} {label:20s} {r['method']:9s} {r['mass']:5.2f} {r['lift']:5.1f} {r['coverage']:8.2f}")
    """),
    code(r"""
    halves = [load_image(scenes[k].image, size=half)[1] for k in scenes]
    display(viz.grid(halves, rows, column_titles=list(scenes), title="Grad-CAM vs FullGrad (heatmaps)"))
    """),
    code(r"""
    for label in ("Grad-CAM", "FullGrad"):
        sel = [r for r in results if r["method"] == label]
        print(f"{label:9s} mean mass {np.mean([r['mass'] for r in sel]):.2f}   "
              f"mean lift {np.mean([r['lift'] for r in sel]):.1f}   "
              f"mean coverage {np.mean([r['coverage'] for r in sel]):.2f}")
    """),
    md(r"""
    ### Reading the numbers

    Compare the two rows of each model before reading on; your numbers depend on the course
    models you have.

    - **"Detects the whole bird."** FullGrad's map has pixel resolution (the input term and the
      early layers' bias maps), so it can follow a bird's outline, where Grad-CAM paints a blob
      on a coarse grid. Whether it covers *more birds* is what the coverage column says; on the
      flock, look at how many of the birds of the explained class get a fair share.
    - **"Adds some noise."** The early terms respond to edges and texture everywhere — branches,
      leaves, the background — so part of FullGrad's mass falls off the birds. The lift column
      says whether, on balance, the extra detail puts relevance on the birds (lift up) or on the
      background (lift down).
    - **"Uses a lot of RAM."** Confirmed by the measurement above, and it grows with the image.
    - The two variants: `"channel"` scaling gives weak channels of the early layers as much
      weight as strong ones and tends to add more texture; the authors' `"layer"` scaling is the
      default here.

    ## Summary

    - For ReLU networks (with max-pooling, convolutions, linear layers and eval-mode BatchNorm),
      $f(x) = x \cdot \nabla_x f + \sum_l \sum b_l \odot \nabla_{z_l} f$ exactly — checked here to
      $10^{-9}$ in float64. The reason is homogeneity: scaling the input and all biases by $t$
      scales the output by $t$. ReLU6 breaks it.
    - BatchNorm's effective bias is $\beta - \mu\gamma/\sqrt{\sigma^2 + \varepsilon}$; the
      gradient for a bias map is the gradient at the layer's output.
    - FullGrad's map: $\psi(T) = \mathrm{upsample}(\sum_c \mathrm{scale}(|T|))$ for the input
      term and every spatial bias term, summed; `"layer"` (official) or `"channel"`
      (pytorch-grad-cam) scaling.
    - It keeps a gradient map per layer and needs a backward pass to the input: several times
      Grad-CAM's memory, growing with the image size.

    **Next:** [10 · Gradient-free CAMs](10_gradient_free_cams.ipynb) drops gradients altogether.

    ## Further reading

    - S. Srinivas, F. Fleuret (2019), *Full-gradient representation for neural network
      visualization*, NeurIPS, [arXiv:1905.00780](https://arxiv.org/abs/1905.00780).
    - M. Ancona, E. Ceolini, C. Öztireli, M. Gross (2018), *Towards better understanding of
      gradient-based attribution methods for deep neural networks*, ICLR,
      [arXiv:1711.06104](https://arxiv.org/abs/1711.06104) — completeness and its relatives
      (LRP, gradient × input).
    - {PAPER}, sections 3.3 and 4.3.
    """.replace("{PAPER}", PAPER)),
    md(r"""
    ## Explore

    FullGrad on any model, scene and class. Try the `channel` variant, and a scene with several
    birds.
    """),
    code(r"""
    from xai_tutor.widgets import method_explorer

    method_explorer("fullgrad", models)
    """),
]

# --------------------------------------------------------------------------- 10 gradient-free

GRADIENT_FREE = [
    md(r"""
    # 10 · Gradient-free CAMs — Ablation-CAM and Score-CAM

    Grad-CAM and its relatives weight each feature map by **gradients**. Gradients are local:
    they say what happens for an infinitesimal change, and where a unit saturates (a ReLU that is
    off, a softmax that is already sure) they can be small even for a feature that matters a
    lot. Two methods measure a channel's importance by **actually changing something** and
    looking at the score:

    - **Ablation-CAM** (Ramaswamy et al. 2020) removes one feature map at a time (sets it to 0)
      and measures how much the class score drops;
    - **Score-CAM** (Wang et al. 2020) uses each feature map, upsampled, as a **mask on the
      input image** and measures the class probability of the masked image.

    Both keep CAM's form $L^c = \mathrm{ReLU}\big(\sum_k w_k^c A^k\big)$; only the weights
    change. The price is paid in forward passes — one per channel.

    **Learning objectives.** After this notebook you can
    - compute Ablation-CAM's weights $w_k = (y - y_k)/y$ by hand, first with whole forward passes,
      then with the "tail" shortcut (one forward pass to the layer, then only the layers after
      it), and check them against `xai_tutor.explain(..., "ablationcam")`;
    - compute Score-CAM's masks and weights by hand, in batches, in both variants (the paper's
      class probability, pytorch-grad-cam's softmax over channels), and check them against
      `explain(..., "scorecam")`;
    - measure how their cost grows with the image size and the number of channels, and explain
      why;
    - judge the survey's "non-gradient methods take a much longer computation time, proportional
      to the image size" and "AblationCAM … can show weaknesses" with numbers.

    **Prerequisites.** [05 · CAM](05_cam.ipynb) and [06 · Grad-CAM](06_gradcam.ipynb) (feature
    maps, channel weights, `capture`); notebook 01's exercise on how methods scale.

    **Expected run time.** About 40 seconds of computation on a laptop CPU with the offline
    models: Score-CAM costs one forward pass per channel, so the hand-made versions run on the
    scene at **a third of its size** (209 × 139) in batches of 32, the scenes at half size, and
    Score-CAM on the scenes is skipped
    for models where it would take too long (the notebook prints its estimate). 35 minutes of
    reading and exercises.
    """),
    md(r"""
    ## Setup

    The first course model, the one-bird scene at a third of its size (Score-CAM and the
    exercise checks cost one forward pass per channel), the explained class `c`, and the
    activations `A` of the model's last convolutional block with the logit `y`.
    """),
    code(r"""
    import time

    import matplotlib.pyplot as plt
    import numpy as np
    import torch
    import torch.nn.functional as F

    import xai_tutor
    from xai_tutor import viz
    from xai_tutor.data import course_scenes, load_image
    from xai_tutor.explanation import normalise_per_image, upsample_map
    from xai_tutor.hooks import capture, model_guard
    from xai_tutor.models import course_models

    models = course_models()
    name, model = next(iter(models.items()))
    scenes = course_scenes()
    half = (313, 209)   # (W, H): the scenes at half size
    third = (209, 139)  # the hand-made part: one forward pass per channel, so a smaller image
    x, shown = load_image(scenes["single"].image, size=third)
    size = tuple(x.shape[-2:])
    layer = model.default_layer
    with model_guard(model), torch.no_grad(), capture(model, layer) as cap:
        logits = model(x)
    A = cap.activation.detach()
    c = int(logits[0].argmax())
    y = float(logits[0, c])
    print(f"model {name}, layer {layer!r}: A has shape {tuple(A.shape)} ({A.shape[1]} channels)")
    print(f"explaining class {c} ({model.class_names[c]}), logit y = {y:.4f}")
    """),
    md(r"""
    ## Ablation-CAM

    Write $y$ for the class logit and $y_k$ for the logit when feature map $A^k$ is replaced by
    zeros (everything else unchanged). Ablation-CAM's weight is the **relative drop**

    $$w_k = \frac{y - y_k}{y}, \qquad L = \mathrm{ReLU}\Big(\sum_k w_k A^k\Big).$$

    A channel the class relies on makes the score drop when removed ($w_k > 0$); a channel that
    speaks against the class makes it rise ($w_k < 0$).

    To get $y_k$ we run the network with the layer's output **replaced**. A forward hook that
    *returns* a tensor replaces the module's output; `forward_with(acts)` runs the whole network
    on copies of `x` with the layer's output replaced by `acts` (a batch of modified
    activations). With the unmodified `A` it must give back the original logits:
    """),
    code(r"""
    module = dict(model.named_modules())[layer]


    def forward_with(acts):
        # logits (n, classes) of the whole network on n copies of x, with the layer's output := acts
        handle = module.register_forward_hook(lambda m, inputs, output: acts.clone())
        try:
            with model_guard(model), torch.no_grad():
                return model(x.expand(acts.shape[0], -1, -1, -1))
        finally:
            handle.remove()


    torch.testing.assert_close(forward_with(A), logits)
    print("replacing the layer's output by A itself gives the same logits")
    """),
    md(r"""
    ### Exercise 1 — the ablated scores

    Compute `ablated`, shape `(K,)`: `ablated[k]` is the logit of class `c` when channel `k` of
    `A` is set to zero. Build the $K$ modified copies (careful: every copy must start from the
    original `A`), run them through `forward_with` **in batches** (say 32 at a time; a batch of
    all copies may not fit in memory for big layers) and keep column `c`.
    """),
    code(r"""
    from xai_tutor.exercises import show_solution
    from xai_tutor.exercises.gradient_free import (
        check_ablated_scores,
        check_ablation_weights,
        check_score_masks,
        check_score_weights,
    )

    ablated = None  # your code here, shape (K,)

    check_ablated_scores(ablated, model, x, c, layer)
    """),
    code(r"""
    show_solution("gradient_free.ablated_scores")
    """),
    md(r"""
    ### The tail trick

    Each of those $K$ passes recomputed everything **before** the layer, although it is the
    same for every copy. Only the modules after the layer see a different input. So: one forward
    pass to the layer (we already have `A`), then only the **tail** of the network per batch of
    ablated copies. `xai_tutor.methods.cam.tail.find_tail` records which modules run after the
    layer and checks that replaying them on `A` reproduces the logits.
    """),
    code(r"""
    from xai_tutor.methods.cam.tail import find_tail

    with model_guard(model), torch.no_grad():
        tail = find_tail(model, layer, x)
    print("modules after the layer:", [type(m).__name__ for m in tail.modules])

    K = A.shape[1]
    copies = A.repeat(K, 1, 1, 1)
    copies[torch.arange(K), torch.arange(K)] = 0
    t0 = time.perf_counter()
    full_scores = torch.cat([forward_with(copies[i:i + 32])[:, c] for i in range(0, K, 32)])
    t_full = time.perf_counter() - t0
    t0 = time.perf_counter()
    with model_guard(model), torch.no_grad():
        tail_scores = torch.cat([tail(copies[i:i + 32])[:, c] for i in range(0, K, 32)])
    t_tail = time.perf_counter() - t0
    torch.testing.assert_close(tail_scores, full_scores, rtol=1e-4, atol=1e-5 * float(full_scores.abs().max()))
    print(f"{K} ablations: whole network {t_full:.3f} s, tail only {t_tail:.4f} s "
          f"({t_full / max(t_tail, 1e-6):.0f}x faster), same scores")
    """),
    md(r"""
    When the tail is only global average pooling and a linear layer (the offline course models,
    ResNets, EfficientNet), it is even simpler: $y = \sum_k W_{ck}\,\bar A_k + b_c$ with
    $\bar A_k$ the mean of channel $k$, so removing channel $k$ lowers the logit by exactly
    $W_{ck} \bar A_k$. Ablation-CAM's weight is then $w_k = W_{ck} \bar A_k / y$: Grad-CAM's
    weight ($W_{ck}$ up to the constant $1/Z$) **times the channel's mean activation**, so
    strongly active channels count twice. The cell checks this where it applies.
    """),
    code(r"""
    kinds = [type(m).__name__ for m in tail.modules]
    if kinds == ["AdaptiveAvgPool2d", "Linear"]:
        W = tail.modules[1].weight[c].detach()
        drop = W * A[0].mean(dim=(1, 2))
        torch.testing.assert_close(y - tail_scores, drop, rtol=1e-4, atol=1e-5 * float(drop.abs().max()))
        print("y - y_k == W[c, k] * mean(A_k) for every channel")
    else:
        print(f"the tail is {kinds}: not a plain GAP + linear head, the drop is not linear in A_k")
    """),
    md(r"""
    ### Exercise 2 — the weights

    Compute `ab_weights`, shape `(K,)`, from `y` and `ablated`.
    """),
    code(r"""
    ab_weights = None  # your code here, shape (K,)

    check_ablation_weights(ab_weights, model, x, c, layer)
    """),
    code(r"""
    show_solution("gradient_free.ablation_weights")
    """),
    md(r"""
    ### The map, checked against the library

    The cell **asserts** that $\mathrm{ReLU}(\sum_k w_k A^k)$ equals `explain(..., "ablationcam")`'s
    `attribution` (the library uses the tail, and for a GAP + linear head one matrix product for
    all channels at once).
    """),
    code(r"""
    ab_map = torch.relu(torch.einsum("k,khw->hw", ab_weights.float(), A[0]))
    e_ab = xai_tutor.explain(model, x, "ablationcam", target=c, progress=False)
    torch.testing.assert_close(e_ab.attribution[0], ab_map, rtol=1e-4, atol=1e-4 * float(ab_map.max()) + 1e-7)
    torch.testing.assert_close(e_ab.saliency, normalise_per_image(upsample_map(ab_map[None], size)), rtol=1e-4, atol=1e-4)
    print("hand-made Ablation-CAM matches xai_tutor.explain(..., 'ablationcam'):", e_ab.params)
    """),
    md(r"""
    ### A weakness: the sign of $y$

    The survey notes that Ablation-CAM "is dependable on the predictor, and thus can show
    weaknesses sometimes". One concrete weakness is in the formula: dividing by $y$ assumes the
    logit is **positive**. For a class the model scores below zero, every weight changes sign,
    and after the ReLU the map shows the channels that speak *against* the class. The paper's
    formula (`variant="paper"`, also what pytorch-grad-cam does) keeps this behaviour;
    `variant="abs"` divides by $|y|$ instead. Explaining the model's *lowest*-scoring class:
    """),
    code(r"""
    c_low = int(logits[0].argmin())
    maps_low = {
        "Grad-CAM": xai_tutor.explain(model, x, "gradcam", target=c_low).saliency[0],
        "Ablation-CAM (paper)": xai_tutor.explain(model, x, "ablationcam", target=c_low, progress=False).saliency[0],
        "Ablation-CAM (abs)": xai_tutor.explain(model, x, "ablationcam", target=c_low, variant="abs", progress=False).saliency[0],
    }
    print(f"class {c_low} ({model.class_names[c_low]}), logit {float(logits[0, c_low]):.3f}")
    for k, m in maps_low.items():
        share = float((m > 0).float().mean())
        print(f"  {k:22s} nonzero on {share:6.1%} of the image")
    paper_map, abs_map = maps_low["Ablation-CAM (paper)"], maps_low["Ablation-CAM (abs)"]
    if float(logits[0, c_low]) < 0 and paper_map.any() and abs_map.any():
        overlap = float(((paper_map > 0) & (abs_map > 0)).float().mean()) / float(((paper_map > 0) | (abs_map > 0)).float().mean())
        print(f"  the 'paper' and 'abs' maps overlap on {overlap:.0%} of their support")
    fig, axes = plt.subplots(1, 3, figsize=(13, 3))
    for ax, (k, m) in zip(axes, maps_low.items()):
        ax.imshow(viz.heatmap(shown, m))
        ax.set_title(k)
        ax.set_axis_off()
    plt.show()
    """),
    md(r"""
    With a negative logit the `paper` map is built from the channels whose removal *raises* the
    score — the opposite question — so it lights up where the `abs` map is dark, and the other
    way round (small or no overlap; a map that is zero everywhere means no channel passed the
    ReLU). If the lowest logit happens to be positive for your model, the two variants
    coincide.

    ## Score-CAM

    Score-CAM does not touch the network's inside at all. Each feature map $A^k$ becomes a
    **mask on the image**: upsampled to the image size and min-max scaled to $[0, 1]$,

    $$M_k = \frac{U(A^k) - \min U(A^k)}{\max U(A^k) - \min U(A^k)}, \qquad
      w_k = \mathrm{softmax}\big(f(x \odot M_k)\big)_c, \qquad
      L = \mathrm{ReLU}\Big(\sum_k w_k A^k\Big),$$

    where $U$ is bilinear upsampling. The weight is the class probability when the network sees
    only the part of the image that channel $k$ highlights. A channel whose map is constant
    (often all zero after a ReLU) gives no location; the authors' code skips it ($w_k = 0$, no
    forward pass).

    ### Exercise 3 — the masks

    Compute `masks`, shape `(K, H, W)` with `(H, W) = size`: upsample `A` with
    `F.interpolate(A, size=size, mode="bilinear", align_corners=False)`, then scale **each
    channel** to $[0, 1]$; a constant channel must give zeros (not NaN).
    """),
    code(r"""
    masks = None  # your code here, shape (K, H, W)

    check_score_masks(masks, A, size)
    """),
    code(r"""
    show_solution("gradient_free.score_masks")
    """),
    code(r"""
    order = torch.argsort(A[0].mean(dim=(1, 2)), descending=True)[:4]
    fig, axes = plt.subplots(1, 4, figsize=(15, 2.6))
    for ax, k in zip(axes, order.tolist()):
        ax.imshow((torch.from_numpy(shown).float() / 255 * masks[k][..., None]).numpy())
        ax.set_title(f"x * M_{k}")
        ax.set_axis_off()
    plt.show()
    """),
    md(r"""
    ### Exercise 4 — the weights

    Compute `sc_weights`, shape `(K,)`: the softmax probability of class `c` for each masked
    image `x * masks[k]` (a mask of shape `(H, W)` broadcasts over the colour channels with
    `masks[k][None]`), **in batches**, and 0 for the channels whose map is constant.
    """),
    code(r"""
    sc_weights = None  # your code here, shape (K,)

    check_score_weights(sc_weights, model, x, c, layer)
    """),
    code(r"""
    show_solution("gradient_free.score_weights")
    """),
    md(r"""
    ### Both variants, checked against the library

    The cell **asserts** that the hand-made map equals `explain(..., "scorecam")`. Then the
    variant of pytorch-grad-cam (`variant="channel_softmax"`): masks upsampled with
    `align_corners=True`, constant channels kept, and the weights a softmax **over the channels**
    of the target's logits, $w = \mathrm{softmax}_k\big(f(x \odot M_k)_c\big)$, which makes them
    sum to 1 — also built by hand and asserted equal.
    """),
    code(r"""
    sc_map = torch.relu(torch.einsum("k,khw->hw", sc_weights.float(), A[0]))
    e_sc = xai_tutor.explain(model, x, "scorecam", target=c, batch_size=32, progress=False)
    torch.testing.assert_close(e_sc.attribution[0], sc_map, rtol=1e-3, atol=1e-4 * float(sc_map.max()) + 1e-7)
    print("hand-made Score-CAM matches xai_tutor.explain(..., 'scorecam'):", e_sc.params)

    up = F.interpolate(A, size=size, mode="bilinear", align_corners=True)[0]
    low, high = up.amin(dim=(1, 2), keepdim=True), up.amax(dim=(1, 2), keepdim=True)
    masks_ac = torch.where(high > low, (up - low) / torch.where(high > low, high - low, 1.0), 0.0)
    with torch.no_grad():
        masked_logits = torch.cat([model(x * masks_ac[i:i + 32, None])[:, c] for i in range(0, K, 32)])
    cs_weights = torch.softmax(masked_logits, dim=0)
    cs_map = torch.relu(torch.einsum("k,khw->hw", cs_weights, A[0]))
    e_cs = xai_tutor.explain(model, x, "scorecam", target=c, variant="channel_softmax", batch_size=32, progress=False)
    torch.testing.assert_close(e_cs.attribution[0], cs_map, rtol=1e-3, atol=1e-4 * float(cs_map.max()) + 1e-7)
    print("hand-made channel-softmax Score-CAM matches the library;",
          f"its weights sum to {float(cs_weights.sum()):.4f}")

    fig, axes = plt.subplots(1, 4, figsize=(17, 3))
    panels = [("Grad-CAM", xai_tutor.explain(model, x, "gradcam", target=c).saliency[0]),
              ("Ablation-CAM", e_ab.saliency[0]), ("Score-CAM (paper)", e_sc.saliency[0]),
              ("Score-CAM (channel softmax)", e_cs.saliency[0])]
    for ax, (title, m) in zip(axes, panels):
        ax.imshow(viz.heatmap(shown, m))
        ax.set_title(title)
        ax.set_axis_off()
    plt.show()
    """),
    md(r"""
    ## What they cost, measured

    Count the forward passes for a layer with $K$ channels and an image of $P$ pixels:

    | method | work | grows with |
    |---|---|---|
    | Grad-CAM | 1 forward + 1 backward (down to the layer) | $P$ |
    | Ablation-CAM, whole network | $K$ forward passes | $K \cdot P$ |
    | Ablation-CAM, tail | 1 forward + $K$ passes through the tail only | $P + K \cdot (\text{tail})$ |
    | Score-CAM | 1 forward + $K$ **full** forward passes (masked images) | $K \cdot P$ |

    A forward pass of a CNN costs time proportional to the number of pixels. Score-CAM cannot
    use the tail trick — its masks change the **input** — so it pays $K$ full passes. The
    number of channels $K$ is fixed by the architecture; each of the passes costs in proportion
    to $P$. We measure the **CPU time on one thread** (`time.process_time` with
    `torch.set_num_threads(1)`: the work done by this process, much less disturbed by other
    programs than the wall clock) at three image sizes — a quarter, a third and half of the scene, 1 : 1.8 : 4 in
    pixels (the default layer) — and at three layers with different numbers of channels (a third of the size).
    Score-CAM runs with `batch_size=32`; a run the notebook estimates to take more than 10 s is
    skipped
    (this happens with the big ImageNet models — their layers have 512 to 2048 channels).
    """),
    code(r"""
    def seconds(fn, *args, repeat=1, **kwargs):
        # CPU seconds of the fastest of `repeat` runs, on ONE thread: time.process_time counts
        # only the work of this process, so other programs on the machine disturb it much less
        # than the wall clock (with several threads, threads waiting for each other would count)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            best = float("inf")
            for _ in range(repeat):
                t0 = time.process_time()
                fn(*args, **kwargs)
                best = min(best, time.process_time() - t0)
        finally:
            torch.set_num_threads(threads)
        return best


    def candidate_layers(net, image):
        # (name, channels) of the outputs of the ReLUs / blocks that run once, in order
        seen, calls = {}, {}
        hooks = []
        for n, m in net.named_modules():
            if n and (isinstance(m, (torch.nn.ReLU, torch.nn.ReLU6)) or n == net.default_layer):
                def hook(mod, inp, out, n=n):
                    calls[n] = calls.get(n, 0) + 1
                    if out.dim() == 4:
                        seen[n] = out.shape[1]
                hooks.append(m.register_forward_hook(hook))
        with model_guard(net), torch.no_grad():
            net(image)
        for h in hooks:
            h.remove()
        return [(n, k) for n, k in seen.items() if calls[n] == 1]


    BUDGET = 10.0  # seconds per Score-CAM run


    def scorecam_estimate(net, image, k):
        # seconds for k forward passes, extrapolated from a batch of 4
        with torch.no_grad():
            return seconds(net, image.expand(4, -1, -1, -1).contiguous(), repeat=2) / 4 * k


    def timed_scorecam(net, image, target_layer, k):
        # time one Score-CAM run, or None when the estimate exceeds the budget
        estimate = scorecam_estimate(net, image, k)
        if estimate > BUDGET:
            return None, estimate
        with torch.no_grad():  # warm-up: the first pass at a new batch shape sets up the convolutions
            for n in {min(32, k), k % 32} - {0}:
                net(image.expand(n, -1, -1, -1).contiguous())
        return seconds(xai_tutor.explain, net, image, "scorecam", layer=target_layer, batch_size=32, progress=False), estimate


    def varying_channels(net, image, target_layer):
        # channels whose map is not constant: the forward passes Score-CAM really makes
        with model_guard(net), torch.no_grad(), capture(net, target_layer) as cap_k:
            net(image)
        flat = cap_k.activation[0].flatten(1)
        return int((flat.amax(dim=1) > flat.amin(dim=1)).sum())


    sizes = {"quarter": (156, 104), "third": (209, 139), "half": (313, 209)}  # 1 : 1.8 : 4 in pixels
    layers = candidate_layers(model, x)
    by_channels = {}
    for n, k in layers:  # the last layer with each channel count
        by_channels[k] = n
    picked = sorted(by_channels.items())[-3:]
    if layer not in [n for _, n in picked]:
        picked = picked[-2:] + [(A.shape[1], layer)]
    print("layers measured:", [(n, k) for k, n in picked])

    timings = []
    for size_name, wh in sizes.items():
        xs, _ = load_image(scenes["single"].image, size=wh)
        k = A.shape[1]
        t_sc, est = timed_scorecam(model, xs, layer, k)  # first: it also warms up this size
        timings.append({"what": "size", "label": size_name, "pixels": xs.shape[-1] * xs.shape[-2], "channels": k,
                        "varying": varying_channels(model, xs, layer),
                        "Grad-CAM": seconds(xai_tutor.explain, model, xs, "gradcam", repeat=2),
                        "Ablation-CAM (tail)": seconds(xai_tutor.explain, model, xs, "ablationcam", progress=False, repeat=2),
                        "Ablation-CAM (whole net)": seconds(xai_tutor.explain, model, xs, "ablationcam", path="full", batch_size=32, progress=False),
                        "Score-CAM": t_sc, "Score-CAM estimate": est})
    for k, n in picked:
        t_sc, est = timed_scorecam(model, x, n, k)
        timings.append({"what": "layer", "label": n, "pixels": x.shape[-1] * x.shape[-2], "channels": k,
                        "varying": varying_channels(model, x, n),
                        "Grad-CAM": seconds(xai_tutor.explain, model, x, "gradcam", layer=n, repeat=2),
                        "Ablation-CAM (tail)": seconds(xai_tutor.explain, model, x, "ablationcam", layer=n, progress=False, repeat=2),
                        "Ablation-CAM (whole net)": seconds(xai_tutor.explain, model, x, "ablationcam", layer=n, path="full", batch_size=32, progress=False) if n == layer else None,
                        "Score-CAM": t_sc, "Score-CAM estimate": est})

    METHODS_T = ["Grad-CAM", "Ablation-CAM (tail)", "Ablation-CAM (whole net)", "Score-CAM"]
    print(f"{'':8s} {'':14s} {'pixels':>8s} {'K':>5s} {'varying':>8s}" + "".join(f"{m:>26s}" for m in METHODS_T))
    for t in timings:
        cells = "".join(f"{t[m]:26.3f}" if t[m] is not None else (f"{'skipped (~' + format(t['Score-CAM estimate'], '.0f') + ' s)':>26s}" if m == "Score-CAM" else f"{'-':>26s}") for m in METHODS_T)
        print(f"{t['what']:8s} {t['label']:14s} {t['pixels']:8d} {t['channels']:5d} {t['varying']:8d}{cells}")
    """),
    code(r"""
    fig, axes = plt.subplots(1, 2, figsize=(13, 4))
    for what, ax, key, xlabel in (("size", axes[0], "pixels", "pixels P (default layer)"),
                                  ("layer", axes[1], "channels", "channels K of the layer (1/3 size)")):
        sel = [t for t in timings if t["what"] == what]
        for m, marker in zip(METHODS_T, "osd^"):
            pts = [(t[key], t[m]) for t in sel if t[m] is not None]
            if pts:
                ax.plot(*zip(*pts), marker=marker, label=m)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("CPU seconds")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0].set_xscale("log")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{name}: CPU time of one explanation")
    plt.show()

    sel = [t for t in timings if t["what"] == "size" and t["Score-CAM"] is not None]
    if len(sel) >= 2:
        a, b = sel[0], sel[-1]
        print(f"pixels x{b['pixels'] / a['pixels']:.1f}  ->  Score-CAM time x{b['Score-CAM'] / a['Score-CAM']:.1f}, "
              f"Ablation-CAM (tail) x{b['Ablation-CAM (tail)'] / a['Ablation-CAM (tail)']:.1f}, "
              f"Grad-CAM x{b['Grad-CAM'] / a['Grad-CAM']:.1f}")
    for t in timings:
        if t["Score-CAM"] is not None:
            print(f"{t['what']:5s} {t['label']:10s}: Score-CAM = {t['Score-CAM'] / t['Grad-CAM']:6.1f} x Grad-CAM,  "
                  f"Ablation-CAM (tail) = {t['Ablation-CAM (tail)'] / t['Grad-CAM']:5.1f} x Grad-CAM")
    """),
    md(r"""
    ### Reading the measurements

    - **Score-CAM's time grows with the pixels** (left) and **with the channels** (right, at a
      fixed size): $K$ full passes, each proportional to $P$. Two things blur this on the tiny
      models: a pass at 156 × 104 is so cheap that fixed costs (setting up each batch shape,
      Python overhead, making the masks) weigh as much as the arithmetic, and on a busy machine
      single timings still jump around (caches shared with other programs). The number of passes
      is the robust quantity; run the cell again, or try a bigger model, to see the trend
      clearly. Note also the *varying* column: Score-CAM skips channels whose map is constant
      (often all zero after a ReLU), so its cost follows the channels that are alive for this
      image, not the nominal $K$. The survey is right that it is
      "proportional to the image size"; its explanation ("as there are more activation maps")
      is not: the *number* of maps $K$ is fixed by the architecture, only their size grows. What
      grows with the image is the cost of each of the $K$ full forward passes.
    - **Ablation-CAM with the tail** costs little more than Grad-CAM at the last layer: the
      tail of a GAP head is a pooling and a linear layer, nearly free. Run the *whole* network
      per channel and it costs as much as Score-CAM. At an earlier layer the tail contains more
      convolutions and the shortcut saves less.
    - So "non-gradient methods take a much longer computation time" is a statement about
      implementations as much as about methods: it holds for Score-CAM, and for Ablation-CAM
      written naively.

    ## On the course scenes

    Grad-CAM, Ablation-CAM and Score-CAM for every course model on the three scenes, at half
    size, measured against the masks of the birds of the explained class (as in notebook 09).
    Score-CAM runs only where the estimate is within the budget; skipped cells stay blank.
    """),
    code(SCENE_CLASS),
    code(r"""
    from xai_tutor.evaluation import multi_instance_coverage, relevance_mass

    results, rows = [], {}
    for model_name, net in models.items():
        x_half, _ = load_image(scenes["single"].image, size=half)
        with model_guard(net), torch.no_grad(), capture(net, net.default_layer) as cap_net:
            net(x_half)
        estimate = scorecam_estimate(net, x_half, cap_net.activation.shape[1])
        for kind, scene in scenes.items():
            xs, _ = load_image(scene.image, size=half)
            k, masks = scene_class(net, scene, xs)
            for label, method in (("Grad-CAM", "gradcam"), ("Ablation-CAM", "ablationcam"), ("Score-CAM", "scorecam")):
                key = f"{label}\n{model_name}"
                params = {} if method == "gradcam" else {"progress": False}
                if method == "scorecam":
                    if estimate > BUDGET:
                        rows.setdefault(key, []).append(None)
                        print(f"{model_name} {kind}: Score-CAM skipped (estimated {estimate:.0f} s)")
                        continue
                    params["batch_size"] = 32
                sal = xai_tutor.explain(net, xs, method, target=k, **params).saliency
                full = upsample_map(sal, masks.shape[-2:])[0]
                rows.setdefault(key, []).append(sal[0])
                results.append({"model": model_name, "scene": kind, "method": label,
                                "class": net.class_names[k], "birds": len(masks),
                                "mass": relevance_mass(full, masks),
                                "coverage": multi_instance_coverage(full, masks)})
    print(f"{'model':20s} {'scene':6s} {'class (birds)':20s} {'method':13s}  mass  coverage")
    for r in results:
        label = f"{r['class'][:14]} ({r['birds']})"
        print(f"{r['model']:20s} {r['scene']:6s} {label:20s} {r['method']:13s} {r['mass']:5.2f} {r['coverage']:8.2f}")
    """),
    code(r"""
    halves = [load_image(scenes[k].image, size=half)[1] for k in scenes]
    display(viz.grid(halves, rows, column_titles=list(scenes), title="Grad-CAM, Ablation-CAM, Score-CAM"))
    for label in ("Grad-CAM", "Ablation-CAM", "Score-CAM"):
        sel = [r for r in results if r["method"] == label]
        if sel:
            print(f"{label:13s} mean mass {np.mean([r['mass'] for r in sel]):.2f}   "
                  f"mean coverage {np.mean([r['coverage'] for r in sel]):.2f}   ({len(sel)} maps)")
    """),
    md(r"""
    ### What we see

    - On a GAP + linear head Ablation-CAM is Grad-CAM with every channel re-weighted by its mean
      activation, so the two maps are usually close; where they differ, Ablation-CAM favours the
      strongest channels. Its failure in the survey's one-bird image is a reminder that the
      weights depend on how the *predictor* reacts to a missing channel: a network with
      redundant channels barely notices one missing (all $w_k \approx 0$, a noisy map), and a
      class with a negative logit flips the map.
    - Score-CAM asks a different question — "which highlighted region alone keeps the class
      probable?" — and its maps often sit more tightly on the object, but with the softmax the
      weights of *all* channels that show the bird saturate near the same value, so it does not
      separate instances better by construction. Compare the coverage column on the pair and the
      flock.
    - Both need $K$ passes; on the big models the notebook could not afford Score-CAM at all on
      a CPU — the most practical argument in this comparison.

    ## Summary

    - Ablation-CAM: $w_k = (y - y_k)/y$ with channel $k$ zeroed. One forward pass to the layer
      and $K$ passes through the tail; on a GAP + linear head $y - y_k = W_{ck}\bar A_k$ (one
      matrix product). Dividing by a negative $y$ flips the map (`variant="abs"` avoids it).
    - Score-CAM: masks $M_k$ = upsampled, min-max scaled channels; $w_k$ = class probability of
      $x \odot M_k$ (constant channels skipped); pytorch-grad-cam's variant takes a softmax over
      channels instead.
    - Cost: Score-CAM needs $K$ full forward passes, each proportional to the pixels — measured
      here to grow with both; Ablation-CAM with the tail trick costs little more than Grad-CAM.

    **Next:** [11 · Comparing the methods](11_comparison.ipynb) puts every method side by side
    on the paper's experiment, with metrics.

    ## Further reading

    - H. G. Ramaswamy (2020), *Ablation-CAM: visual explanations for deep convolutional network
      via gradient-free localization*, WACV,
      [open access](https://openaccess.thecvf.com/content_WACV_2020/html/Desai_Ablation-CAM_Visual_Explanations_for_Deep_Convolutional_Network_via_Gradient-free_Localization_WACV_2020_paper.html).
    - H. Wang, Z. Wang, M. Du, F. Yang, Z. Zhang, S. Ding, P. Mardziel, X. Hu (2020), *Score-CAM:
      score-weighted visual explanations for convolutional neural networks*, CVPR workshops,
      [arXiv:1910.01279](https://arxiv.org/abs/1910.01279).
    - {PAPER}, sections 3.3 and 4.3.
    """.replace("{PAPER}", PAPER)),
    md(r"""
    ## Explore

    Score-CAM on any model, scene, layer and class (it shows a progress bar: on the big models
    it takes a while). Try an earlier layer with fewer channels, and compare with Ablation-CAM.
    """),
    code(r"""
    from xai_tutor.widgets import method_explorer

    method_explorer("scorecam", models)
    """),
]

NOTEBOOKS = {"09_fullgrad": FULLGRAD, "10_gradient_free_cams": GRADIENT_FREE}


def main(out_dir: Path | None = None) -> list[Path]:
    """Write the notebooks into ``out_dir`` (default: the repository's ``notebooks/``)."""
    out_dir = Path(out_dir) if out_dir is not None else ROOT / "notebooks"
    written = []
    for nb_name, cells in NOTEBOOKS.items():
        path = write_notebook(out_dir / f"{nb_name}.ipynb", cells)
        print("wrote", path)
        written.append(path)
    return written


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
