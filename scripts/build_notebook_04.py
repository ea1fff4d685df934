# ruff: noqa: E501  (this file holds notebook text: markdown, LaTeX and cell code)
"""Generate notebook 04 (Layer-wise Relevance Propagation).

Run ``python scripts/build_notebook_04.py`` after editing; the notebook is written without
outputs. Edit the prose here, not in the .ipynb file, so that the two never drift apart.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nbtools import code, md, write_notebook  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PAPER = "Ouadghiri (2022), *Post-hoc Explainable Artificial Intelligence for computer vision: model-specific methods*"

LRP = [
    md(r"""
    # 04 · LRP — handing the score back, layer by layer

    A gradient tells you how the score would *change* if a pixel changed. **Layer-wise Relevance
    Propagation** (LRP, Bach et al. 2015) asks a different question: how much of the score
    **is due to** each pixel? It starts from the class score at the output and hands it back
    through the network, one layer at a time, splitting each neuron's share among the neurons that
    fed it, until it arrives at the pixels. The survey we follow ({paper}) finds that LRP
    "captures the objects admirably" and "produces a good visualization of the shape of the body",
    but is noisy on the flock of birds. In this notebook you build LRP yourself and test that
    judgement with numbers.

    **Learning objectives.** After this notebook you can
    - state the LRP redistribution rule and the **conservation** property it is built on;
    - compute LRP-0, LRP-ε, LRP-γ, z⁺ and zᴮ on a small network **by hand**, layer by layer, and
      check each against `xai_tutor` to 1e-10 in float64;
    - show numerically that LRP-0 is **gradient × input**, and say why that motivates the other
      rules;
    - explain **composites** (different rules at different depths), **BatchNorm folding** and the
      split of relevance at **skip connections**, and do the last two yourself;
    - read LRP maps of the course scenes in the paper's three representations and measure how
      much relevance lands on the birds;
    - say why LRP refuses a network such as EfficientNet-Lite0.

    **Prerequisites.** [02 · Models, data and hooks](02_models_data_hooks.ipynb) (hooks, autograd,
    gradient saliency); [03 · DeconvNet](03_deconvnet.ipynb) helps (another modified backward
    pass). Matrix–vector products; what a ReLU and BatchNorm do.

    **Expected run time.** About 30 seconds of computation on a laptop CPU with the offline
    models (longer with the ImageNet models); 50 minutes of reading and exercises.
    """.replace("{paper}", PAPER)),
    md(r"""
    ## The rule

    Take two consecutive layers. Neuron $k$ of the upper layer computes
    $z_k = \sum_j a_j w_{jk} + b_k$ from the activations $a_j$ of the layer below, and suppose we
    already know its **relevance** $R_k$ — its share of the class score. LRP splits $R_k$ among
    the inputs in proportion to what each one contributed to $z_k$, namely $a_j w_{jk}$, and every
    input $j$ collects its shares from all the neurons $k$ it feeds:

    $$R_j \;=\; \sum_k \frac{a_j\, w_{jk}}{\sum_{j'} a_{j'}\, w_{j'k}}\; R_k .$$

    The recursion starts at the output with $R = f_c(x)$ (the logit of the explained class $c$)
    on neuron $c$ and $0$ on the others, and ends at the pixels. This is the basic rule, called
    **LRP-0**.

    > **A note on the survey's formula.** The survey prints the rule as
    > $R_j = \sum_k \frac{a_j w_{jk}}{\sum_j a_k w_{jk} R_k}$. Two small typesetting slips crept in:
    > $R_k$ belongs *outside* the fraction (we multiply by it, we do not divide by it), and the
    > denominator sums $a_j w_{jk}$ over the inputs $j$ (there is no $a_k$). Read it as above — it
    > is the rule of Bach et al. (2015) and of the overview by Montavon et al. (2019).

    **Conservation.** If the biases are zero, $\sum_j a_j w_{jk} = z_k$, so the fractions of each
    $R_k$ add up to one, and $\sum_j R_j = \sum_k R_k$: **no relevance is created or lost** from
    one layer to the next, and the pixel relevances add up to the logit. A ReLU passes relevance
    through unchanged (an inactive neuron has $a_k = 0$ and receives nothing), max-pooling hands
    it to the winning input. We check all of this numerically below.
    """),
    md(r"""
    ## Setup

    The course models and scenes. LRP needs a rule for *every* operation of a network; the next
    cell tries each course model on a tiny image and keeps those LRP accepts (we come back to
    the ones it refuses at the end).
    """),
    code(r"""
    import matplotlib.pyplot as plt
    import numpy as np
    import torch
    import torch.nn.functional as F
    from torch import nn

    import xai_tutor
    from xai_tutor import viz
    from xai_tutor.data import course_scenes, load_image
    from xai_tutor.hooks import capture, model_guard
    from xai_tutor.methods.lrp import lrp_layerwise
    from xai_tutor.methods.lrp.canonizers import canonize, find_residual_blocks, fold_batchnorm
    from xai_tutor.models import available_models, course_models, load_model

    models = course_models()
    scenes = course_scenes()
    probe, _ = load_image(scenes["single"].image, size=(96, 64))   # a tiny copy, just to try

    lrp_models, refused, probe_params = {}, {}, {}
    for name, net in models.items():
        try:
            probe_params[name] = xai_tutor.explain(net, probe, "lrp").params
        except ValueError as err:
            refused[name] = str(err)
        else:
            lrp_models[name] = net
    print("LRP explains:", list(lrp_models))
    print("LRP refuses: ", list(refused))
    """),
    md(r"""
    ## A network small enough to follow by hand

    Three dense layers with ReLUs in between, in float64, with random (seeded) weights. It takes a
    tiny "image" of $2 \times 3$ pixels with values in $[-1, 1]$, which the first layer flattens
    into 6 inputs. The layers that carry weights are `net[1]`, `net[3]` and `net[5]` (these are
    also their names for `xai_tutor`).
    """),
    code(r"""
    torch.manual_seed(4)
    net = nn.Sequential(
        nn.Flatten(),
        nn.Linear(6, 5), nn.ReLU(),
        nn.Linear(5, 4), nn.ReLU(),
        nn.Linear(4, 3),
    ).double().eval()
    x0 = torch.rand(1, 1, 2, 3, dtype=torch.float64) * 2 - 1
    dense = [net[1], net[3], net[5]]
    names = ["1", "3", "5"]


    def forward_by_hand(zero_bias=False):
        # the activations entering each dense layer, and the logits
        acts = [x0.flatten()]
        for i, lin in enumerate(dense):
            W, b = lin.weight.detach(), lin.bias.detach() * (0.0 if zero_bias else 1.0)
            z = W @ acts[-1] + b
            acts.append(torch.relu(z) if i < len(dense) - 1 else z)
        return acts[:-1], acts[-1]


    acts, logits0 = forward_by_hand()
    torch.testing.assert_close(logits0, net(x0)[0].detach())
    c0 = int(logits0.argmax())
    print("input    ", x0.flatten().numpy().round(3))
    for name, a in zip(names, acts):
        print(f"into {name}:  ", a.numpy().round(3))
    print("logits   ", logits0.numpy().round(4), "-> we explain class", c0)
    """),
    md(r"""
    ## LRP-0 by hand, with the conservation check

    One function per layer. In PyTorch's layout a dense layer is $z = W a + b$ with $W$ of shape
    (outputs $K$, inputs $J$), so "$\sum_k w_{jk} s_k$" is `W.T @ s`. Each rule below is the same
    three steps: a forward pass $z$, the relevance per unit of output $s_k = R_k / z_k$, and the
    backward product $R_j = a_j \sum_k w_{jk} s_k$.

    We first run it on the network **without biases** (`zero_bias=True` in `xai_tutor`), where
    conservation must hold exactly, and print the total relevance after every layer.
    """),
    code(r"""
    def rule_zero(a, W, b, R):
        z = W @ a + b
        return a * (W.T @ (R / z))


    def hand_lrp(rules, zero_bias=False, target=None, **p):
        # the full backward pass; rules[i] is the rule of dense[i]; returns (R_input, totals)
        acts, logits = forward_by_hand(zero_bias)
        c = int(logits.argmax()) if target is None else target
        R = torch.zeros_like(logits)
        R[c] = logits[c]
        totals = [("output", float(R.sum()))]
        for i in reversed(range(len(dense))):
            W = dense[i].weight.detach()
            b = dense[i].bias.detach() * (0.0 if zero_bias else 1.0)
            R = RULES[rules[i]](acts[i], W, b, R, **p)
            totals.append((f"into {names[i]}", float(R.sum())))
        return R.reshape(x0.shape), totals


    RULES = {"zero": lambda a, W, b, R, **p: rule_zero(a, W, b, R)}

    R_hand, totals = hand_lrp(["zero"] * 3, zero_bias=True)
    library = lrp_layerwise(net, x0, target=c0, composite="zero", zero_bias=True)
    print(f"{'after layer':12s} {'by hand':>12s} {'xai_tutor':>12s}")
    for (label, mine), (name, theirs) in zip(totals, library):
        print(f"{label:12s} {mine:12.8f} {float(theirs[0]):12.8f}   ({name})")
    _, logits_nobias = forward_by_hand(zero_bias=True)
    print(f"logit of class {c0} without biases: {float(logits_nobias[c0]):.8f}")
    print(f"sum over the pixels:               {float(R_hand.sum()):.8f}")
    """),
    md(r"""
    Every row holds the same number: the logit, handed down intact. Now the real network, **with**
    its biases. A bias is an input that is always on, so it takes its share $b_k / z_k \cdot R_k$
    and keeps it: the total changes from layer to layer (it can even grow, when biases are
    negative), and the pixels no longer add up to the logit.
    """),
    code(r"""
    R_hand, totals = hand_lrp(["zero"] * 3)
    library = lrp_layerwise(net, x0, target=c0, composite="zero")
    for (label, mine), (name, theirs) in zip(totals, library):
        print(f"{label:12s} {mine:12.8f} {float(theirs[0]):12.8f}")
    print(f"logit {float(logits0[c0]):.8f}; pixels hold {float(R_hand.sum()):.8f}")
    """),
    md(r"""
    ### The hand-made relevance equals the library's

    `xai_tutor.explain(net, x, "lrp", composite="zero")` runs LRP-0 on every layer. The next cell
    **asserts** that the pixel relevances agree with ours to `atol=1e-10` (float64), with and
    without biases, so this notebook fails if either drifts.
    """),
    code(r"""
    for zero_bias in (True, False):
        R_hand, _ = hand_lrp(["zero"] * 3, zero_bias=zero_bias)
        e = xai_tutor.explain(net, x0, "lrp", target=c0, composite="zero", zero_bias=zero_bias)
        torch.testing.assert_close(e.attribution, R_hand, rtol=0, atol=1e-10)
        print(f"zero_bias={zero_bias}: largest difference {float((e.attribution - R_hand).abs().max()):.1e}")
    print(R_hand.flatten().numpy().round(4))
    """),
    md(r"""
    ## LRP-0 is gradient × input

    Unfold one step of LRP-0 in a ReLU network: $R_j = a_j \sum_k w_{jk} \frac{R_k}{z_k}$. If
    $R_k = z_k\, \partial f/\partial z_k$ (true at the output, where $R_c = z_c$), then
    $\sum_k w_{jk} \partial f / \partial z_k = \partial f / \partial a_j$, so
    $R_j = a_j\, \partial f / \partial a_j$, and the ReLU below turns this into
    $z_j\, \partial f / \partial z_j$ again. By induction, at the pixels:

    $$R^{\text{LRP-0}}_p = x_p \, \frac{\partial f_c}{\partial x_p} \qquad \text{(gradient × input)}.$$

    So LRP-0 inherits the gradient's noise: on deep networks its maps are as speckled as those of
    notebook 02. The other rules were invented to fix exactly that. We check the identity on the
    small network and on a course model.
    """),
    code(r"""
    xg = x0.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(net(xg)[0, c0], xg)
    R_hand, _ = hand_lrp(["zero"] * 3)
    torch.testing.assert_close(R_hand, grad * x0, rtol=0, atol=1e-12)
    print("small net: LRP-0 = gradient x input, largest difference", f"{float((R_hand - grad * x0).abs().max()):.1e}")

    name, model = next(iter(lrp_models.items()))
    x, shown = load_image(scenes["single"].image)
    with model_guard(model):
        xg = x.clone().requires_grad_(True)
        logits = model(xg)
        c = int(logits[0].argmax())
        (grad,) = torch.autograd.grad(logits[0, c], xg)
    gxi = grad * x
    e0 = xai_tutor.explain(model, x, "lrp", target=c, composite="zero")
    scale = float(gxi.abs().max())
    torch.testing.assert_close(e0.attribution, gxi, rtol=0, atol=1e-4 * scale)
    print(f"{name}: LRP-0 = gradient x input up to {float((e0.attribution - gxi).abs().max()) / scale:.1e} "
          "of the largest value (float32)")
    """),
    md(r"""
    ## LRP-ε: a cushion for small denominators

    When $z_k$ is close to zero, $a_j w_{jk} / z_k$ explodes: tiny, accidental contributions get
    huge relevance, which is one source of LRP-0's noise. **LRP-ε** adds a small cushion with the
    sign of $z_k$:

    $$R_j = \sum_k \frac{a_j w_{jk}}{z_k + \epsilon\,\mathrm{sign}(z_k)}\, R_k, \qquad z_k = \sum_j a_j w_{jk} + b_k .$$

    Weak or contradictory neurons ($|z_k|$ small compared with $\epsilon$) now pass on only part
    of their relevance; the rest is absorbed. Larger $\epsilon$: sparser, less noisy maps, less
    conservation.

    ### Exercise 1 — the epsilon rule for one dense layer

    Take the top layer of the small network: its input `a` (4 values), weight `W` (3 × 4), bias
    `b`, and the relevance `R` of its outputs (the logit on the explained class, 0 elsewhere).
    Compute `R_in`, the relevance of the 4 inputs, with $\epsilon = 0.1$. Use $\mathrm{sign}(0)
    = +1$; `torch.where(z >= 0, z + eps, z - eps)` does it in one step.
    """),
    code(r"""
    from xai_tutor.exercises import show_solution
    from xai_tutor.exercises.lrp import check_epsilon_rule, check_fold_batchnorm, check_residual_split

    a = acts[2]
    W, b = net[5].weight.detach(), net[5].bias.detach()
    R = torch.zeros(3, dtype=torch.float64)
    R[c0] = logits0[c0]
    eps = 0.1
    print("a =", a.numpy().round(4), "  z =", (W @ a + b).numpy().round(4))

    R_in = None  # your code here, shape (4,)

    check_epsilon_rule(R_in, a, W, b, R, eps)
    """),
    code(r"""
    show_solution("lrp.epsilon_rule")
    """),
    code(r"""
    def rule_epsilon(a, W, b, R, eps=0.1, **p):
        z = W @ a + b
        return a * (W.T @ (R / torch.where(z >= 0, z + eps, z - eps)))


    RULES["epsilon"] = rule_epsilon
    torch.testing.assert_close(rule_epsilon(a, W, b, R, eps), R_in)

    R_hand, totals = hand_lrp(["epsilon"] * 3, eps=0.1)
    e = xai_tutor.explain(net, x0, "lrp", target=c0, composite="epsilon", epsilon=0.1)
    torch.testing.assert_close(e.attribution, R_hand, rtol=0, atol=1e-10)
    print("LRP-epsilon by hand = xai_tutor (composite='epsilon'); totals:",
          ", ".join(f"{v:.4f}" for _, v in totals))
    """),
    md(r"""
    ## LRP-γ, z⁺ and zᴮ

    Three more rules, each answering a specific problem (Montavon et al. 2019):

    - **LRP-γ** favours positive contributions: replace $w$ by $w + \gamma w^+$ (and $b$ by
      $b + \gamma b^+$), where $w^+ = \max(0, w)$. With inputs $a_j \ge 0$ (after a ReLU):
      $$R_j = \sum_k \frac{a_j (w_{jk} + \gamma w_{jk}^+)}{\sum_{j'} a_{j'} (w_{j'k} + \gamma w_{j'k}^+) + b_k + \gamma b_k^+}\, R_k .$$
      Evidence *for* the output dominates, so the explanation is more stable; $\gamma = 0$ gives
      LRP-0, $\gamma \to \infty$ gives the next rule.
    - **z⁺** (also called LRP-α1β0) keeps **only** positive contributions:
      $$R_j = \sum_k \frac{a_j w_{jk}^+}{\sum_{j'} a_{j'} w_{j'k}^+ + b_k^+}\, R_k .$$
      With $R_k \ge 0$ every share is $\ge 0$: no negative relevance at all. (On a layer
      whose inputs can be negative, the products $a_j^- w_{jk}^-$ are positive contributions
      too, and take part in the same way.)
    - **zᴮ** is made for the **input layer**, whose values are not ReLU outputs but pixels in a
      known box $[l, h]$ (for normalised images, $l$ and $h$ come from the values of black and
      white pixels). It subtracts the lowest and highest contribution each pixel could make:
      $$R_j = \sum_k \frac{x_j w_{jk} - l_j w_{jk}^+ - h_j w_{jk}^-}{\sum_{j'} \left(x_{j'} w_{j'k} - l_{j'} w_{j'k}^+ - h_{j'} w_{j'k}^-\right)}\, R_k ,$$
      with $w^- = \min(0, w)$. Our tiny image lives in $[-1, 1]$.

    Here they are as code, in the same three-step shape.
    """),
    code(r"""
    def rule_gamma(a, W, b, R, gamma=0.25, **p):
        Wg, bg = W + gamma * W.clamp(min=0), b + gamma * b.clamp(min=0)
        z = Wg @ a + bg
        return a * (Wg.T @ (R / z))


    def rule_zplus(a, W, b, R, **p):
        ap, an = a.clamp(min=0), a.clamp(max=0)   # an = 0 after a ReLU
        Wp, Wn = W.clamp(min=0), W.clamp(max=0)
        z = Wp @ ap + Wn @ an + b.clamp(min=0)    # every positive product a_j w_jk, and b+
        s = R / z
        return ap * (Wp.T @ s) + an * (Wn.T @ s)


    def rule_zb(a, W, b, R, low=-1.0, high=1.0, **p):
        Wp, Wn = W.clamp(min=0), W.clamp(max=0)
        l, h = torch.full_like(a, low), torch.full_like(a, high)
        z = W @ a - Wp @ l - Wn @ h               # the bias cancels: b - b+ - b- = 0
        s = R / z
        return a * (W.T @ s) - l * (Wp.T @ s) - h * (Wn.T @ s)


    RULES.update(gamma=rule_gamma, zplus=rule_zplus, zb=rule_zb)
    """),
    md(r"""
    In `xai_tutor` a rule is chosen per layer with a **composite** (next section) and overridden
    with `rules={layer name: rule}`. Every rule except LRP-0 divides by $z + $ a tiny
    `stabilizer` (default $10^{-6}$) to avoid $0/0$; we set it to 0 here so that the hand-made
    formulas can be compared to 1e-10. The configurations follow the usual recipe: zᴮ at the
    input, γ or z⁺ in the middle, ε at the top.
    """),
    code(r"""
    configs = {
        "LRP-0":       (["zero", "zero", "zero"], dict(composite="zero")),
        "LRP-eps":     (["epsilon", "epsilon", "epsilon"], dict(composite="epsilon")),
        "zB-gamma-eps": (["zb", "gamma", "epsilon"], dict(composite="epsilon_gamma_box", rules={"1": "zb", "3": "gamma"})),
        "zB-z+-eps":   (["zb", "zplus", "epsilon"], dict(composite="epsilon_plus", rules={"1": "zb", "3": "zplus"})),
        "z+ on all":   (["zplus", "zplus", "zplus"], dict(composite="zero", rules={nn.Linear: "zplus"})),
    }
    params = dict(eps=0.1, gamma=0.25, low=-1.0, high=1.0)
    relevances = {}
    for label, (rules, kwargs) in configs.items():
        R_hand, totals = hand_lrp(rules, **params)
        e = xai_tutor.explain(net, x0, "lrp", target=c0, epsilon=0.1, gamma=0.25, low=-1.0, high=1.0,
                              stabilizer=0.0, **kwargs)
        torch.testing.assert_close(e.attribution, R_hand, rtol=0, atol=1e-10)
        relevances[label] = R_hand.flatten()
        print(f"{label:13s} R = {R_hand.flatten().numpy().round(3)}  sum {float(R_hand.sum()):+.4f}   "
              f"rules {list(e.params['rules'].values())}")
    print(f"all five match xai_tutor to 1e-10; the logit is {float(logits0[c0]):.4f}")
    """),
    md(r"""
    Things to notice in the table:

    - **LRP-0** is exactly gradient × input (see above). **LRP-ε** gives a similar pattern
      with a smaller total: the weak neurons' relevance is absorbed.
    - **z⁺** gives no negative relevance in the layers where it is used; with z⁺ on *every*
      layer, also at the signed input, even pixels with negative values get positive shares
      ($a^- w^-$ is a positive product too).
    - **zᴮ** distributes relevance using the box, not only the actual pixel values.
    - With the biases switched off, the rules that divide by the full $z'$ (0, γ, z⁺, zᴮ)
      conserve relevance exactly; try it with `hand_lrp(..., zero_bias=True)`.

    ## Composites on the course models

    A deep network does best with **different rules at different depths** (Montavon et al. 2019;
    Kohlbrenner et al. 2020): zᴮ on the first convolution (pixels), γ or z⁺ on the convolutions
    (many weak, entangled features: favour clear positive evidence), ε on the dense layers at the
    top (few, meaningful units). `xai_tutor` names the usual mixtures:

    | composite | first conv | other convs | dense layers |
    |---|---|---|---|
    | `epsilon_gamma_box` (default for plain CNNs) | zᴮ | γ | ε |
    | `epsilon_plus` (default for ResNets) | zᴮ | z⁺ | ε |
    | `epsilon_plus_flat` | flat | z⁺ | ε |
    | `epsilon` / `zero` | ε / 0 | ε / 0 | ε / 0 |

    (The **flat** rule spreads relevance evenly over a neuron's receptive field, ignoring the
    pixels.) Average pooling and residual sums use the proportional rule. Here is what each
    layer of our models gets:
    """),
    code(r"""
    for name, p in probe_params.items():   # the parameters of the explanations of the setup cell
        rules = p["rules"]
        print(f"{name}: composite {p['composite']!r}, {len(rules)} layers and sums")
        for layer, rule in list(rules.items())[:3] + [("...", "")] + list(rules.items())[-2:]:
            print(f"    {layer:28s} {rule}")
    """),
    md(r"""
    The same scene under the two main composites and LRP-0 (at half size, to keep the notebook
    fast; try `epsilon_plus_flat` yourself). The maps show positive relevance.
    """),
    code(r"""
    half, half_shown = load_image(scenes["single"].image, size=(313, 209))
    composites = ["epsilon_gamma_box", "epsilon_plus", "zero"]
    fig, axes = plt.subplots(len(lrp_models), len(composites), figsize=(3.2 * len(composites), 2.3 * len(lrp_models)),
                             squeeze=False)
    for r, (name, net_) in enumerate(lrp_models.items()):
        for k, comp in enumerate(composites):
            e = xai_tutor.explain(net_, half, "lrp", composite=comp)
            axes[r][k].imshow(viz.heatmap(half_shown, e.saliency[0]))
            axes[r][k].set_title(f"{name}\n{comp}", fontsize=9)
            axes[r][k].set_axis_off()
    plt.tight_layout()
    plt.show()
    """),
    md(r"""
    Usually the γ and z⁺ composites give smoother, object-shaped maps, while LRP-0 (= gradient ×
    input) scatters relevance over edges everywhere. With the offline course models the
    differences are smaller than with VGG16: those networks are shallow, so there are fewer
    layers in which noise can build up.

    ## BatchNorm folding

    LRP rules are written for layers of the form $z = W a + b$. A BatchNorm after a convolution
    (in eval mode) is an affine map per channel,
    $\mathrm{BN}(z) = \gamma_o \frac{z - \mu_o}{\sqrt{\sigma_o^2 + \epsilon}} + \beta_o$, so
    conv + BN is **one** convolution with

    $$W'_o = W_o \cdot \frac{\gamma_o}{\sqrt{\sigma^2_o + \epsilon}}, \qquad
      b'_o = (b_o - \mu_o)\, \frac{\gamma_o}{\sqrt{\sigma^2_o + \epsilon}} + \beta_o .$$

    (Here $\gamma_o$ is BatchNorm's scale `bn.weight`, not LRP's γ.) `xai_tutor` folds every such
    pair on a copy of the model before it propagates relevance, and the conv then gets the rule of
    its place in the composite.

    ### Exercise 2 — fold a BatchNorm

    `conv` and `bn` are the first convolution of a residual course model and the BatchNorm after
    it. Compute `folded_weight` (the shape of `conv.weight`) and `folded_bias` (one per output
    channel). The conv may have no bias (`conv.bias is None`): then $b = 0$.
    """),
    code(r"""
    res_name = next(n for n, m in lrp_models.items() if find_residual_blocks(m))
    res_model = lrp_models[res_name]
    conv, bn = res_model.conv1, res_model.bn1
    print(res_name, "|", conv, "|", bn)

    folded_weight = None  # your code here, shape of conv.weight
    folded_bias = None    # your code here, shape (out_channels,)

    check_fold_batchnorm(folded_weight, folded_bias, conv, bn)
    """),
    code(r"""
    show_solution("lrp.fold_batchnorm")
    """),
    code(r"""
    with torch.no_grad():
        reference = bn(conv(x))
        folded = F.conv2d(x, folded_weight, folded_bias, conv.stride, conv.padding)
    torch.testing.assert_close(folded, reference, rtol=1e-4, atol=1e-4)
    w_lib, b_lib = fold_batchnorm(conv, bn)
    torch.testing.assert_close(folded_weight, w_lib)
    torch.testing.assert_close(folded_bias, b_lib)
    print(f"conv' (x) = bn(conv(x)) up to {float((folded - reference).abs().max()):.1e}; "
          "same weights as xai_tutor's fold_batchnorm")

    canon = canonize(res_model)
    print(f"xai_tutor folds {len(canon.folded)} conv+BN pairs in {res_name}, e.g. {canon.folded[:2]}")
    """),
    md(r"""
    ## Skip connections

    A residual block computes $y = \text{branch}(x) + \text{shortcut}(x)$ (then a ReLU). The
    addition has no weights, but it is a layer like any other for LRP: the relevance $R$ of $y$
    is split **in proportion to each term's contribution**,

    $$R_{\text{branch}} = \frac{\text{branch}}{y}\, R, \qquad R_{\text{shortcut}} = \frac{\text{shortcut}}{y}\, R,$$

    so the two shares add up to $R$ (conservation again). In PyTorch code the addition hides
    inside `forward` (`out += identity`), where LRP cannot see it, so `xai_tutor` rewrites each
    residual block of its copy with an explicit sum.

    We capture one block's two terms on the one-bird scene (block input = shortcut, and the
    output of the branch's last BatchNorm). For this demonstration we let the relevance arriving
    at the block be its output activation, $R = \mathrm{ReLU}(y)$.
    """),
    code(r"""
    block, spec = next((m, s) for m, s in find_residual_blocks(res_model) if s.shortcut is None)
    seen = {}
    handle = block.register_forward_pre_hook(lambda module, inputs: seen.update(x=inputs[0].detach().clone()))
    try:
        with model_guard(res_model), capture(res_model, f"{spec.name}.{spec.convs[-1][1]}") as cap, torch.no_grad():
            res_model(x)
    finally:
        handle.remove()
    branch, shortcut = cap.activation.detach(), seen["x"]
    R_block = torch.relu(branch + shortcut)
    print(f"block {spec.name!r}: branch and shortcut of shape {tuple(branch.shape)}")
    """),
    md(r"""
    ### Exercise 3 — split the relevance at the sum

    Compute `r_branch` and `r_shortcut` (same shape as `R_block`) with the proportional rule.
    Where $y = 0$ there is nothing to split: give 0 (avoid $0/0$).
    """),
    code(r"""
    r_branch = None    # your code here
    r_shortcut = None  # your code here

    check_residual_split(r_branch, r_shortcut, branch, shortcut, R_block)
    """),
    code(r"""
    show_solution("lrp.residual_split")
    """),
    code(r"""
    from xai_tutor.methods.lrp.engine import Recorder, RelevanceSum

    # xai_tutor's explicit sum, exact division: its backward pass splits R_block the same way
    b_in, s_in = branch.clone().requires_grad_(True), shortcut.clone().requires_grad_(True)
    y = RelevanceSum("demo", Recorder(), stabilizer=0.0)(b_in, s_in)
    lib_branch, lib_shortcut = torch.autograd.grad(y, (b_in, s_in), R_block)
    torch.testing.assert_close(lib_branch, r_branch)
    torch.testing.assert_close(lib_shortcut, r_shortcut)

    y = branch + shortcut
    top = R_block.flatten().topk(4).indices
    print(f"{'branch':>9s} {'shortcut':>9s} {'y':>9s} {'R':>9s} {'R_branch':>9s} {'R_shortcut':>10s}")
    for i in top:
        vals = [t.flatten()[i] for t in (branch, shortcut, y, R_block, r_branch, r_shortcut)]
        print(" ".join(f"{float(v):9.4f}" for v in vals))
    print(f"whole block: {float(r_branch.sum()):.3f} through the branch + {float(r_shortcut.sum()):.3f} "
          f"through the shortcut = {float(R_block.sum()):.3f}")
    active = R_block > 0
    print(f"where R > 0, the branch receives negative relevance at {float((r_branch[active] < 0).float().mean()):.0%} "
          f"of the positions, the shortcut at {float((r_shortcut[active] < 0).float().mean()):.0%}")
    """),
    md(r"""
    Note that the two shares can have **opposite signs**: where the branch pushes $y$ down
    ($\text{branch} < 0$), it receives negative relevance, and the shortcut more than all of
    $R$. In a real explanation this happens in every block. `lrp_layerwise` reports how the
    class relevance divides at each sum of the model (`[0]` is the branch, `[1]` the shortcut):
    """),
    code(r"""
    with torch.no_grad():
        c_res = int(res_model(x)[0].argmax())
    records = dict((n, float(v[0])) for n, v in lrp_layerwise(res_model, x, target=c_res))
    for n, v in records.items():
        if n.endswith("lrp_sum[0]"):
            block_name = n[: -len(".lrp_sum[0]")]
            short = records[block_name + ".lrp_sum[1]"]
            print(f"{block_name:10s} branch {v:+.4f}   shortcut {short:+.4f}   "
                  f"shortcut share {short / (v + short):.0%}")
    """),
    md(r"""
    ## LRP on the course scenes

    Now the paper's experiment: one bird, two birds, and a flock with occlusion. For each scene we
    explain the best-scoring class among the birds present (for a course model, the species; for
    an ImageNet model, the ImageNet class of the bird, where there is one) with the model's
    default composite. We measure the **relevance mass** (`xai_tutor.evaluation.relevance_mass`,
    Kohlbrenner et al. 2020; Arras et al. 2022): the share of the positive relevance that lies
    inside the masks of those birds. A map that ignored the image would score the birds' area
    fraction, which we print next to it, with gradient saliency (notebook 02) as a second
    reference. We also print the share of all relevance that is **negative** (evidence against
    the class), which the positive maps do not show.
    """),
    code(r"""
    from xai_tutor.evaluation import relevance_mass


    def scene_target(model, scene, x):
        # the best-scoring class among the birds present, and the masks of the birds of that class
        with torch.no_grad():
            logits = model(x)[0]
        present = {}
        for i, (species, imagenet_id) in enumerate(zip(scene.species, scene.imagenet_ids)):
            k = model.class_names.index(species) if species in model.class_names else imagenet_id
            if k is not None:
                present.setdefault(k, []).append(i)
        if not present:  # no class of this model in the scene: the top class and all birds
            return int(logits.argmax()), scene.masks
        best = max(present, key=lambda k: float(logits[k]))
        return best, scene.masks[present[best]]


    maps, rows = {}, []
    for name, net_ in lrp_models.items():
        for kind, scene in scenes.items():
            xs, _ = load_image(scene.image)
            k, masks = scene_target(net_, scene, xs)
            e = xai_tutor.explain(net_, xs, "lrp", target=k)
            g = xai_tutor.explain(net_, xs, "gradient", target=k)
            maps[name, kind] = e.saliency[0]
            relevance = e.attribution[0].sum(0)
            rows.append(dict(
                model=name, scene=kind, cls=net_.class_names[k], birds=len(masks),
                area=float(masks.any(0).mean()), lrp=relevance_mass(e.saliency[0], masks),
                grad=relevance_mass(g.saliency[0], masks),
                negative=float(relevance.clamp(max=0).abs().sum() / relevance.abs().sum()),
            ))

    print(f"{'model':18s} {'scene':6s} {'class (birds)':22s} {'area':>5s} {'LRP mass':>9s} {'grad mass':>9s} {'negative':>9s}")
    for r in rows:
        label = f"{r['cls'][:16]} ({r['birds']})"
        print(f"{r['model']:18s} {r['scene']:6s} {label:22s} {r['area']:5.2f} {r['lrp']:9.2f} {r['grad']:9.2f} {r['negative']:9.0%}")
    """),
    md(r"""
    The maps in the paper's three representations: a heatmap, the **edges** of the image kept
    where relevance is high, and the relevance as **opacity** over a white frame.
    """),
    code(r"""
    images = [scene.image for scene in scenes.values()]
    for representation in ("heatmap", "edges", "opacity"):
        fig = viz.grid(images, {name: [maps[name, kind] for kind in scenes] for name in lrp_models},
                       representation=representation, column_titles=list(scenes),
                       title=f"LRP (default composite), {representation}")
        display(fig)
    """),
    code(r"""
    for r in rows:
        ratio_lrp, ratio_grad = r["lrp"] / r["area"], r["grad"] / r["area"]
        better = "LRP" if ratio_lrp > ratio_grad else "gradient"
        print(f"{r['model']:18s} {r['scene']:6s} LRP puts {ratio_lrp:4.1f}x, the gradient {ratio_grad:4.1f}x the "
              f"birds' fair share on them -> {better} is more concentrated")
    """),
    md(r"""
    ### What we see

    Read your own numbers and pictures first; they depend on the model set (offline or
    ImageNet). A ratio above 1 in the last printout means that the map puts more relevance on the
    birds than a map that ignored the image; the survey judged the same thing by eye. Points worth
    checking:

    - **Shape of the body.** LRP's relevance sits on individual pixels — outlines, texture,
      contrast edges — rather than on a blob, which is why the *edges* view suits it: it keeps the
      drawing of the bird where relevance is high. This is what the survey calls "a good
      visualization of the shape of the body". CAM-style maps (notebooks 05–07) are blobs at the
      resolution of the last convolutional layer.
    - **Noise.** Relevance also lands on strong edges in the background (branches, horizon,
      reflections), as the survey saw with "branches and flowers". The positive maps hide the
      negative part (evidence *against* the class); the "negative" column says how much of the
      total that is. A large negative share means the map you see is only half the story.
    - **The flock.** With several overlapping birds, compare the ratio with the single-bird
      scene. LRP has no notion of instances: every visible piece of every bird of the class can
      receive relevance, so can leaves whose texture looks like the class, and a bird the model
      ignores gets nothing.
    - **LRP explains the model, not the scene.** If a model relies on the background, LRP puts
      relevance on the background, and the mass is low — that is a finding about the model. The
      offline models were trained on our generated scenes and are small, so their maps need not
      look like the survey's VGG16 maps.
    - One scene per condition is an anecdote; notebook 11 measures over many scenes.

    ## Why LRP refuses some networks

    LRP needs a rule for **every** operation between the output and the pixels. `xai_tutor` knows
    rules for convolutions, dense layers, BatchNorm after a convolution, ReLU, max- and
    average-pooling, flattening and the additions of recognisable residual blocks. It walks the
    autograd graph before propagating, and refuses anything else with an explanation instead of
    returning a wrong map.
    """),
    code(r"""
    if not refused and "efficientnet_lite0" in available_models():
        try:
            xai_tutor.explain(load_model("efficientnet_lite0"), probe, "lrp")
        except ValueError as err:
            refused["efficientnet_lite0"] = str(err)
    for name, message in refused.items():
        print(f"{name}:\n  {message}\n")
    """),
    md(r"""
    EfficientNet-Lite0 uses **ReLU6**, $\min(\max(0, z), 6)$. LRP's pass-through rule for ReLU
    relies on $a_k = z_k$ wherever the neuron is active, so that "share of $z_k$" and "share of
    $a_k$" are the same. A saturated ReLU6 ($z_k > 6$) breaks that: its output is 6 whatever
    $z_k$ is, its gradient is 0, and the relevance that arrives there would silently vanish (or,
    with a proportional rule, be handed down as if $z_k$ were fully used). The network has more
    operations without a rule here: its inverted residual blocks add `project(...) + x` inside
    `forward`, in a shape `xai_tutor` does not rewrite, and its first module re-scales the input
    channel by channel ($x \cdot s + t$, a multiplication and an addition). LRP *can* be
    extended to such layers, but each extension is a modelling decision, which is why good LRP
    implementations refuse what they do not know. This is the price of LRP being
    **model-specific**: gradient-based methods run on anything differentiable, LRP only where
    someone has written down how relevance should flow.

    ## Summary

    - LRP hands the class score back layer by layer with
      $R_j = \sum_k \frac{a_j w_{jk}}{\sum_{j'} a_{j'} w_{j'k}} R_k$ (the survey's printed formula
      has $R_k$ in the denominator by mistake). Without biases it **conserves** relevance: every
      layer's total equals the logit.
    - **LRP-0 = gradient × input** in ReLU networks, so it is as noisy as the gradient. **ε**
      absorbs weak, contradictory contributions, **γ** and **z⁺** favour positive evidence,
      **zᴮ** handles the pixel layer with its value box.
    - **Composites** combine them: zᴮ at the input, γ or z⁺ on convolutions, ε on dense layers.
    - **BatchNorm** folds into the preceding convolution; **skip connections** split relevance in
      proportion to each branch's contribution.
    - On the course scenes LRP outlines the birds' bodies, as the survey says, but also picks up
      background edges and spreads over the flock. It only runs on networks whose every operation
      has a rule, which is why EfficientNet-Lite0 is refused.

    **Next:** [05 · CAM](05_cam.ipynb) looks at the last convolutional layer instead of the
    pixels.

    ## Further reading

    - S. Bach, A. Binder, G. Montavon, F. Klauschen, K.-R. Müller, W. Samek (2015), *On pixel-wise
      explanations for non-linear classifier decisions by layer-wise relevance propagation*, PLoS
      ONE 10(7): e0130140, [doi:10.1371/journal.pone.0130140](https://doi.org/10.1371/journal.pone.0130140).
    - G. Montavon, A. Binder, S. Lapuschkin, W. Samek, K.-R. Müller (2019), *Layer-wise relevance
      propagation: an overview*, in *Explainable AI*, LNCS 11700,
      [doi:10.1007/978-3-030-28954-6_10](https://doi.org/10.1007/978-3-030-28954-6_10).
    - G. Montavon, S. Lapuschkin, A. Binder, W. Samek, K.-R. Müller (2017), *Explaining nonlinear
      classification decisions with deep Taylor decomposition*, Pattern Recognition 65 (the zᴮ
      rule), [arXiv:1512.02479](https://arxiv.org/abs/1512.02479).
    - M. Kohlbrenner, A. Bauer, S. Nakajima, A. Binder, W. Samek, S. Lapuschkin (2020), *Towards
      best practice in explaining neural network decisions with LRP* (composites),
      [arXiv:1910.09840](https://arxiv.org/abs/1910.09840).
    - M. Ancona, E. Ceolini, C. Öztireli, M. Gross (2018), *Towards better understanding of
      gradient-based attribution methods for deep neural networks* (LRP-0/ε and gradient ×
      input), [arXiv:1711.06104](https://arxiv.org/abs/1711.06104).
    - {PAPER}, section 3.2 and Figure 5.
    """.replace("{PAPER}", PAPER)),
    md(r"""
    ## Explore

    Pick a model, a scene, a composite and ε / γ, and watch the relevance map change. Try
    `composite="zero"` against `epsilon_gamma_box` on the flock.
    """),
    code(r"""
    from xai_tutor.widgets import method_explorer

    method_explorer("lrp", lrp_models)
    """),
]

NOTEBOOKS = {"04_lrp": LRP}


def main(out_dir: Path | None = None) -> list[Path]:
    """Write the notebook into ``out_dir`` (default: the repository's ``notebooks/``)."""
    out_dir = Path(out_dir) if out_dir is not None else ROOT / "notebooks"
    written = []
    for name, cells in NOTEBOOKS.items():
        path = write_notebook(out_dir / f"{name}.ipynb", cells)
        print("wrote", path)
        written.append(path)
    return written


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
