# ruff: noqa: E501  (this file holds notebook text: markdown, LaTeX and cell code)
"""Generate notebooks 03 (DeconvNet), 05 (CAM) and 06 (Grad-CAM and Guided Grad-CAM).

Run ``python scripts/build_notebooks_03_05_06.py`` after editing; the notebooks are written
without outputs. Edit the prose here, not in the .ipynb files, so that the two never drift apart.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nbtools import code, md, write_notebook  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PAPER = "Ouadghiri (2022), *Post-hoc Explainable Artificial Intelligence for computer vision: model-specific methods*"

# a helper cell shared by the notebooks: which class index of a model a scene's bird is
SCENE_CLASS = r"""
def scene_class(model, scene, i):
    # class index of bird i of the scene for this model: the course models know the species by
    # name, ImageNet models by the ImageNet id stored with the scene (None if ImageNet lacks it)
    species = scene.species[i]
    if species in model.class_names:
        return model.class_names.index(species)
    return scene.imagenet_ids[i]
"""


def with_scene_class(text: str):
    """A code cell that starts with the ``scene_class`` helper."""
    return code(SCENE_CLASS.strip("\n") + "\n\n\n" + textwrap.dedent(text).strip("\n"))


# --------------------------------------------------------------------------- 03 DeconvNet

DECONVNET = [
    md(r"""
    # 03 · DeconvNet: projecting features back to pixels

    Zeiler and Fergus (2014) wanted to *see* what a unit deep inside a CNN responds to. Their
    **deconvolutional network** (DeconvNet) takes an activation of some layer and runs the network
    *backwards*, layer by layer, until it reaches pixel space. The survey we follow
    ({paper}) lists it as the first model-specific attribution method, and finds that on bird
    photos it "barely captures the bird". In this notebook you build the projection yourself,
    see that it is a modified backward pass, and find out why it behaves the way it does.

    **Learning objectives.** After this notebook you can
    - record the **switches** of max-pooling and use them to **unpool**;
    - apply the three steps of the deconvnet — unpool, **rectify**, filter with the
      **transposed filters** — to project one feature map of a VGG-style network to pixels, and
      check the result against `xai_tutor.deconvnet`;
    - explain why the DeconvNet, the plain gradient and **guided backpropagation** differ only in
      the way a signal goes back through a ReLU;
    - judge DeconvNet maps on the course scenes, and say why they tell us little about the class.

    **Prerequisites.** [02 · Models, data and hooks](02_models_data_hooks.ipynb) (hooks,
    `torch.autograd.grad`, gradient saliency). Convolutions and max-pooling.

    **Expected run time.** About 30 seconds of computation; 40 minutes of reading and exercises.
    """.replace("{paper}", PAPER)),
    md(r"""
    ## The model and the image

    The explicit projection needs a **VGG-style** network: a plain stack of convolutions, ReLUs
    and max-pooling layers (`model.features`) followed by a classifier head. We take the first
    course model that has this shape (the course's `tiny_vgg`, or VGG16 when the ImageNet weights
    are installed); `xai_tutor.deconvnet.DeconvNet` refuses any other architecture with a clear
    message.
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
    from xai_tutor.deconvnet import DeconvNet, UnsupportedArchitectureError, project
    from xai_tutor.hooks import model_guard
    from xai_tutor.models import course_models

    models = course_models()
    scenes = course_scenes()

    for name, candidate in models.items():
        try:
            DeconvNet(candidate)
        except UnsupportedArchitectureError as err:
            print(f"{name:20s} not VGG-style: {str(err)[:90]}...")
        else:
            print(f"{name:20s} VGG-style: we use it")
            model_name, model = name, candidate
            break

    scene = scenes["single"]
    x, shown = load_image(scene.image)
    with torch.no_grad():
        logits = model(x)
    c = int(logits[0].argmax())
    print(f"scene: {scene.species}, top class of {model_name}: {c} ({model.class_names[c]})")
    for i, layer in enumerate(model.features):
        print(f"features.{i:<3d} {layer}")
    """),
    md(r"""
    ## Step 1 — the forward pass, keeping the switches

    Max-pooling keeps the largest value of each window and forgets the others: it cannot be
    inverted. Zeiler and Fergus' trick is to remember **where** each maximum was. These positions
    are the **switches**; PyTorch returns them when asked with `return_indices=True` (as flat
    indices into each $H \times W$ map).

    We run `model.features` layer by layer, keeping the input and output of every layer and the
    switches of every pooling layer.
    """),
    code(r"""
    inputs, outputs, switches = [], [], {}
    a = x
    with torch.no_grad():
        for i, layer in enumerate(model.features):
            inputs.append(a)
            if isinstance(layer, nn.MaxPool2d):
                a, switches[i] = F.max_pool2d(a, layer.kernel_size, layer.stride, layer.padding,
                                              return_indices=True)
            elif isinstance(layer, nn.ReLU):
                a = F.relu(a)              # not in place: the recorded tensors must stay intact
            else:
                a = layer(a)
            outputs.append(a)

    for i, s in switches.items():
        print(f"features.{i}: pooled {tuple(inputs[i].shape[-2:])} -> {tuple(outputs[i].shape[-2:])}, "
              f"switches {tuple(s.shape)}")
    """),
    md(r"""
    ### Exercise 1 — unpooling with switches

    On a small example: `a` is a $4 \times 6$ map, pooled with $2 \times 2$ windows. The signal
    coming down from the layer above, `signal`, has the pooled size $2 \times 3$. **Unpool** it:
    build `unpooled` with the shape of `a`, zeros everywhere except at the position of each
    window's maximum (its switch), which receives the corresponding value of `signal`.

    Hint: `F.max_pool2d(a, 2, return_indices=True)` gives the switches as flat indices;
    `tensor.flatten(2).scatter_(2, index, values)` writes values at flat positions.
    """),
    code(r"""
    from xai_tutor.exercises import show_solution
    from xai_tutor.exercises.deconvnet import check_relu_rules, check_transposed_filter, check_unpool

    torch.manual_seed(0)
    a = torch.randn(1, 1, 4, 6)
    signal = torch.arange(1.0, 7.0).reshape(1, 1, 2, 3)
    print(a[0, 0].numpy().round(2))

    unpooled = None  # your code here

    check_unpool(unpooled, a, signal)
    """),
    code(r"""
    show_solution("deconvnet.unpool")
    """),
    code(r"""
    print(unpooled[0, 0].numpy())
    """),
    md(r"""
    ## Step 2 — rectification and the transposed filters

    Going down through a **ReLU**, the deconvnet simply applies a ReLU again: the reconstruction
    should stay a positive signal, like the feature maps of the forward pass. Note what it does
    *not* use: whether the forward input of that ReLU was positive. We come back to this.

    Going down through a **convolution** $z = W * x + b$, the deconvnet applies the **transposed
    filters** $W^\top$ (the same weights, flipped, with input and output channels swapped), and no
    bias. In PyTorch this is `F.conv_transpose2d(r, conv.weight, None, stride, padding)`. It is
    exactly the backward pass of the convolution: $W^\top r$ is the gradient of
    $\langle W * x, r\rangle$ with respect to $x$.

    One detail: a convolution with stride 2 maps inputs of 2 sizes (say 417 and 418 rows) to the
    same output size, so the transposed convolution needs to be told which one you want, with
    `output_padding` (0 or 1 extra row/column).

    ### Exercise 2 — filtering with the transposed weights

    Take the first convolution `conv` of the model and the signal `r` at its output (here: its
    output itself). Compute `filtered`, the deconvnet's filtering step back to the layer's input
    shape `conv_input_shape`.
    """),
    code(r"""
    conv = model.features[0]
    r = outputs[0]
    conv_input_shape = tuple(inputs[0].shape)
    print(conv, "| input", conv_input_shape, "| output", tuple(r.shape))

    filtered = None  # your code here

    check_transposed_filter(filtered, r, conv, conv_input_shape)
    """),
    code(r"""
    show_solution("deconvnet.transposed_filter")
    """),
    md(r"""
    ## Step 3 — project the strongest feature map of a layer

    We choose the layer whose maps the CAM methods use later, `model.default_layer` (the last
    convolutional block), and in it the **feature map with the largest activation** on our
    image. Zeiler and Fergus set every other activation of the layer to zero and project only
    what is left.
    """),
    code(r"""
    names = [f"features.{i}" for i in range(len(model.features))]
    L = names.index(model.default_layer) if model.default_layer in names else len(names) - 1
    act = outputs[L][0]                               # (K, h, w)
    k = int(act.amax(dim=(1, 2)).argmax())
    print(f"layer {names[L]}: {act.shape[0]} maps of {tuple(act.shape[1:])}; strongest map k = {k}, "
          f"max activation {act[k].max():.3f}")

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    axes[0].imshow(shown)
    axes[0].set_title("image")
    axes[1].imshow(act[k], cmap="viridis")
    axes[1].set_title(f"feature map {k} of {names[L]}")
    for ax in axes:
        ax.set_axis_off()
    plt.show()
    """),
    md(r"""
    Now the projection itself: start from the chosen map (all other channels zero) and walk the
    layers from $L$ down to 0, applying to each the deconvnet's version of it — **rectify** for a
    ReLU, **unpool** with the switches for a max-pooling layer, **filter** with $W^\top$ for a
    convolution.
    """),
    code(r"""
    def transposed_filter(r, conv, size):
        extra = [size[2 + d] - ((r.shape[2 + d] - 1) * conv.stride[d] - 2 * conv.padding[d]
                                + conv.kernel_size[d]) for d in range(2)]
        return F.conv_transpose2d(r, conv.weight, None, conv.stride, conv.padding, tuple(extra))


    r = torch.zeros_like(outputs[L])
    r[:, k] = outputs[L][:, k]                        # keep feature map k only
    with torch.no_grad():
        for i in range(L, -1, -1):
            layer = model.features[i]
            if isinstance(layer, nn.ReLU):
                r = F.relu(r)                                                       # rectify
            elif isinstance(layer, nn.MaxPool2d):
                r = F.max_unpool2d(r, switches[i], layer.kernel_size, layer.stride,
                                   layer.padding, output_size=inputs[i].shape[-2:])  # unpool
            else:
                r = transposed_filter(r, layer, inputs[i].shape)                     # filter
    by_hand = r
    print("projection:", tuple(by_hand.shape))
    """),
    md(r"""
    `xai_tutor.deconvnet.project` implements the same projection (`DeconvNet.project_steps`
    yields every intermediate stage if you want to look at them). The next cell **asserts** that
    the two agree, so this notebook fails if either one changes.
    """),
    code(r"""
    library = project(model, x, names[L], channel=k)
    scale = float(library.abs().max())
    torch.testing.assert_close(by_hand, library, atol=1e-5 * scale, rtol=1e-4)
    print(f"hand-built projection == xai_tutor.deconvnet.project (largest |value| {scale:.3g})")

    strongest = project(model, x, names[L], channel=k, position="max")   # one activation only


    def as_picture(p):
        # show a signed projection as an image: grey = 0, scaled by the largest magnitude
        p = p[0].permute(1, 2, 0)
        return (0.5 + 0.5 * p / p.abs().max().clamp(min=1e-12)).clamp(0, 1).numpy()


    fig, axes = plt.subplots(1, 3, figsize=(15, 3.6))
    axes[0].imshow(as_picture(by_hand))
    axes[0].set_title(f"projection of feature map {k}")
    axes[1].imshow(viz.heatmap(shown, by_hand[0].abs().amax(0).numpy()))
    axes[1].set_title("its magnitude over the image")
    axes[2].imshow(as_picture(strongest))
    axes[2].set_title("projection of its single strongest activation")
    for ax in axes:
        ax.set_axis_off()
    plt.show()
    """),
    md(r"""
    The projection of one feature map shows the **image structures** (edges, textures) that
    drive that map, at the places where it fires. Projecting only the single strongest activation
    (right) gives the patch of the image that unit "sees": its receptive field, filled with the
    pattern it responds to. That is what Zeiler and Fergus used DeconvNet for — looking at
    *features*, not explaining *classes*.

    ## The same thing as a modified backward pass

    Compare the three steps with the ordinary backward pass of the network (autograd):

    | layer | backward pass (gradient) | deconvnet |
    |-------|--------------------------|-----------|
    | max-pooling | route the signal to the max of each window (the switches) | unpool with the switches — **the same** |
    | convolution | multiply by $W^\top$ | transposed filters — **the same** |
    | ReLU $y = \max(x, 0)$ | $g \cdot \mathbb{1}[x > 0]$ | $\max(g, 0)$ — **different** |

    So the DeconvNet is the gradient with one change, in the ReLUs. Guided backpropagation
    (Springenberg et al. 2015) is a third variant that uses **both** conditions:

    | rule | signal passed back through a ReLU, given $g$ from above and forward input $x$ |
    |------|-------------------------------------------------------------------------------|
    | gradient (Simonyan et al. 2013) | $g \cdot \mathbb{1}[x > 0]$ |
    | DeconvNet (Zeiler & Fergus 2014) | $\max(g, 0)$ |
    | guided backprop (Springenberg et al. 2015) | $g \cdot \mathbb{1}[x > 0] \cdot \mathbb{1}[g > 0]$ |

    ### Exercise 3 — the three ReLU rules on a vector

    A ReLU saw the forward inputs `x1d`; the signal `g1d` arrives from the layer above. Build the
    dict `rules` with the signal each rule passes back (keys `"gradient"`, `"deconvnet"`,
    `"guided"`).
    """),
    code(r"""
    x1d = torch.tensor([2.0, -1.0, 0.5, -3.0, 1.5, 0.8])
    g1d = torch.tensor([1.0, 2.0, -1.5, -0.5, 0.7, -0.2])

    rules = None  # your code here

    check_relu_rules(rules, x1d, g1d)
    """),
    code(r"""
    show_solution("deconvnet.relu_rules")
    """),
    code(r"""
    print(f"{'x':>10s}", x1d.numpy())
    print(f"{'g':>10s}", g1d.numpy())
    for rule, values in rules.items():
        print(f"{rule:>10s}", values.numpy())
    """),
    md(r"""
    Read the columns: where $x > 0$ and $g > 0$ (entries 1 and 5) all three agree. Entry 2 has
    $x < 0$: the gradient and guided backprop block it, but the deconvnet passes $g = 2$ on — it
    does not care what the forward pass did. Entries 3 and 6 have $x > 0$ and $g < 0$: the
    gradient passes the negative signal, the two others block it.

    `xai_tutor.methods.relu_rules.relu_rule(model, rule)` swaps the backward of every ReLU module
    for the chosen rule (a custom autograd function, installed by forward hooks that are removed
    on exit). With the deconvnet rule, the ordinary `torch.autograd.grad` of a class score
    becomes the DeconvNet projection of that class score — which must equal the registry method
    `"deconvnet"` **and** the explicit projection through the classifier head:
    """),
    code(r"""
    from xai_tutor.methods.relu_rules import relu_rule

    with model_guard(model), relu_rule(model, "deconvnet"):
        x_leaf = x.clone().requires_grad_(True)
        score = model(x_leaf)[0, c]
        (backward_view,) = torch.autograd.grad(score, x_leaf)

    e_deconv = xai_tutor.explain(model, x, "deconvnet", target=c)
    explicit = project(model, x, layer=None, target=c)      # head, then unpool/rectify/filter
    scale = float(backward_view.abs().max())
    torch.testing.assert_close(e_deconv.attribution, backward_view, atol=1e-5 * scale, rtol=1e-4)
    torch.testing.assert_close(explicit, backward_view, atol=1e-4 * scale, rtol=1e-3)
    print("modified backward == explain(..., 'deconvnet') == explicit DeconvNet projection")
    """),
    md(r"""
    ## Gradient, DeconvNet and guided backprop on the course scenes

    All three are pixel-level maps of the top class, shown as $\max_c |\cdot|$ over the colour
    channels, min-max scaled. First the VGG-style model on the three scenes:
    """),
    code(r"""
    METHODS = {"gradient": "gradient", "DeconvNet": "deconvnet", "guided backprop": "guided_backprop"}
    tensors = {kind: load_image(s.image)[0] for kind, s in scenes.items()}
    maps = {label: [xai_tutor.explain(model, t, method).saliency[0] for t in tensors.values()]
            for label, method in METHODS.items()}
    fig = viz.grid([s.image for s in scenes.values()], maps, representation="heatmap",
                   column_titles=list(scenes), title=f"{model_name}: top class")
    fig
    """),
    md(r"""
    The paper shows the maps in three ways; here are the same maps in the **opacity**
    representation (the image shows through where the map is high):
    """),
    code(r"""
    viz.grid([s.image for s in scenes.values()], maps, representation="opacity",
             column_titles=list(scenes))
    """),
    md(r"""
    And every course model on the one-bird scene (the DeconvNet rule works on any architecture
    whose ReLUs are modules — here as the modified backward pass, since only VGG-style networks
    have the explicit projection). Pixel methods on EfficientNet are slow on a CPU, so this cell
    feeds the scene at **half size** (313 × 209); the maps are scaled back up for display.
    """),
    code(r"""
    x_half = F.interpolate(x, scale_factor=0.5, mode="bilinear", align_corners=False)
    rows = {label: [] for label in ("DeconvNet", "guided backprop")}
    for name, m in models.items():
        rows["DeconvNet"].append(xai_tutor.explain(m, x_half, "deconvnet").saliency[0])
        rows["guided backprop"].append(xai_tutor.explain(m, x_half, "guided_backprop").saliency[0])
    viz.grid([scene.image] * len(models), rows, column_titles=list(models))
    """),
    md(r"""
    ## Measuring it: on the bird, and for which class?

    Two questions put numbers on the pictures.

    1. **Relevance mass**: what share of the map falls on the birds, compared with their share of
       the image (`xai_tutor.evaluation.relevance_mass`; a uniform map scores the area share)?
    2. **Class sensitivity**: an explanation of "flamingo" should differ from an explanation of
       "pelican". We explain the top class and the *least* likely class and correlate the two
       maps: a correlation near 1 means the map ignores the class.
    """),
    code(r"""
    from xai_tutor.evaluation import relevance_mass

    least = int(logits[0].argmin())
    print(f"{'method':16s} " + " ".join(f"{k:>15s}" for k in scenes) + "   corr(top, least likely)")
    for label, method in METHODS.items():
        masses = [f"{relevance_mass(sal.numpy(), s.masks):6.1%} ({s.masks.any(axis=0).mean():4.1%})"
                  for sal, s in zip(maps[label], scenes.values())]
        top_map = maps[label][0].flatten()                       # the single scene, top class
        low_map = xai_tutor.explain(model, x, method, target=least).saliency[0].flatten()
        corr = float(torch.corrcoef(torch.stack([top_map, low_map]))[0, 1])
        print(f"{label:16s} " + " ".join(f"{m:>15s}" for m in masses) + f"   {corr:8.3f}")
    print("mass on the birds (their area share in brackets)")
    """),
    md(r"""
    ### Why DeconvNet "barely captures the bird"

    The paper reports that DeconvNet "barely captures the bird in the one bird image, and
    completely fails in the other options". The construction explains why:

    - **It forgets the forward pass.** The rectification $\max(g, 0)$ never looks at which units
      were active for *this* image. Only the switches of max-pooling tie the projection to the
      image. What comes back is mostly a reconstruction of the image's strong edges and textures
      — background included — rather than the evidence for a class.
    - **It hardly depends on the class.** Compare the correlations above: when the map of the
      most likely class and the map of the least likely class are nearly the same, the method
      cannot tell us *why this class*. (Nie, Zhang and Patel 2018 show this in theory for
      DeconvNet and guided backprop: both do partial image recovery.) Guided backprop adds the
      forward mask and is sharper, but shares much of this class-insensitivity; the plain
      gradient is class-specific but noisy.
    - **It was built for another question.** Zeiler and Fergus projected *single strong
      activations* to see what a unit has learned (Step 3). Used as a class saliency map on a
      whole scene — as in the paper's Figure 5 — the signal of one bird is spread over
      everything the network's filters react to, and with several or occluded birds (pair,
      flock) nothing singles out the birds.

    Whether the mass numbers above are high or low depends on the model; what stays true for
    any model is the structure of the method. That is why the course moves on to methods that
    use the forward pass more (LRP, notebook 04) and to class-specific maps (CAM, notebook 05).

    ## Summary

    - **Switches** record where each max-pooling maximum was; **unpooling** puts a signal back at
      those positions and zeros elsewhere.
    - The deconvnet projects a signal down with **unpool → rectify → transposed filters**; you
      built it by hand and it equals `xai_tutor.deconvnet.project`.
    - It is the backward pass with one change: ReLUs pass back $\max(g, 0)$. Gradient, DeconvNet
      and guided backprop differ **only in the ReLU rule**: $g\,\mathbb{1}[x>0]$, $\max(g,0)$,
      $g\,\mathbb{1}[x>0]\,\mathbb{1}[g>0]$.
    - DeconvNet maps show image structure more than class evidence; they are nearly the same for
      any class, which is why they barely single out the birds.

    **Next:** [04 · LRP](04_lrp.ipynb) propagates *relevance* instead, and
    [05 · CAM](05_cam.ipynb) builds class-specific maps from the last feature maps.

    ## Further reading

    - M. D. Zeiler, R. Fergus (2014), *Visualizing and understanding convolutional networks*,
      [arXiv:1311.2901](https://arxiv.org/abs/1311.2901).
    - J. T. Springenberg, A. Dosovitskiy, T. Brox, M. Riedmiller (2015), *Striving for
      simplicity: the all convolutional net* (guided backprop),
      [arXiv:1412.6806](https://arxiv.org/abs/1412.6806).
    - W. Nie, Y. Zhang, A. Patel (2018), *A theoretical explanation for perplexing behaviors of
      backpropagation-based visualizations*, [arXiv:1805.07039](https://arxiv.org/abs/1805.07039).
    - A. Mahendran, A. Vedaldi (2016), *Salient deconvolutional networks*, ECCV 2016.
    - {paper}, section 3.1 and Figure 5.

    ## Explore

    Choose a scene, a model, a class and a view; the DeconvNet map updates.
    """.replace("{paper}", PAPER)),
    code(r"""
    from xai_tutor.widgets import method_explorer

    method_explorer("deconvnet")
    """),
]

# --------------------------------------------------------------------------- 05 CAM

CAM = [
    md(r"""
    # 05 · CAM: class activation maps

    Zhou et al. (2016) noticed that a CNN which ends in **global average pooling** (GAP) and one
    linear layer already contains a map of *where* it sees each class. The class activation map
    (CAM) reads it out with one weighted sum — no backward pass, no extra run of the network.
    CAM is the ancestor of the whole family of notebooks 06–10.

    **Learning objectives.** After this notebook you can
    - write the class score of a GAP + linear head as an average over positions, and recompute it
      by hand from the last activations and the weight row of the class;
    - build the CAM $M_c = \sum_k w_k^c A_k$ by hand and check it against
      `xai_tutor.explain(model, x, "cam")`;
    - say why CAM needs a GAP + linear head, and recognise the error on a model without one;
    - compare maps of **two classes** on the same image.

    **Prerequisites.** [02 · Models, data and hooks](02_models_data_hooks.ipynb) (`capture`,
    activations of a layer).

    **Expected run time.** About 20 seconds of computation; 25 minutes of reading and exercises.
    """),
    md(r"""
    ## From global average pooling to a map

    Let $A_k(a, b)$ be feature map $k$ of the last convolutional block ($K$ maps of $h \times w$
    positions). Global average pooling turns each map into one number, and the linear layer
    (weights $w^c_k$, bias $b_c$) turns those into the score of class $c$:

    $$y_c = \sum_k w^c_k \, \frac{1}{hw}\sum_{a,b} A_k(a,b) + b_c
          = \frac{1}{hw}\sum_{a,b} \underbrace{\sum_k w^c_k A_k(a,b)}_{M_c(a,b)} + b_c .$$

    Swapping the two sums is the whole idea: $M_c(a, b)$ says how much position $(a, b)$ adds to
    the score of class $c$. The score is just the average of the map plus the bias. CAM shows
    $M_c$, upsampled to the image size.
    """),
    code(r"""
    import matplotlib.pyplot as plt
    import numpy as np
    import torch
    from torch import nn

    import xai_tutor
    from xai_tutor import viz
    from xai_tutor.data import course_scenes, load_image
    from xai_tutor.hooks import capture, model_guard
    from xai_tutor.methods.cam.cam import find_gap_head
    from xai_tutor.models import course_models

    models = course_models()
    scenes = course_scenes()
    scene = scenes["single"]
    x, shown = load_image(scene.image)


    def has_gap_head(m):
        with model_guard(m), torch.no_grad(), capture(m, m.default_layer) as cap:
            out = m(x)
        try:
            find_gap_head(m, cap.activation, out, m.default_layer)
        except ValueError:
            return False
        return True


    heads = {name: has_gap_head(m) for name, m in models.items()}
    print("GAP + linear head:", heads)
    model_name = next(name for name, ok in heads.items() if ok)
    model = models[model_name]
    print("we build CAM by hand on", model_name, "at layer", model.default_layer)
    """),
    md(r"""
    We read the activations $A$ of the last block with `capture` and take the head's linear
    layer `fc` (the last `nn.Linear` of the model).
    """),
    code(r"""
    with model_guard(model), torch.no_grad(), capture(model, model.default_layer) as cap:
        logits = model(x)
    A = cap.activation.detach()                      # (1, K, h, w)
    fc = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    c = int(logits[0].argmax())
    print(f"A: {tuple(A.shape)}, fc: {fc}")
    print(f"top class {c} ({model.class_names[c]}), logit {logits[0, c]:.4f}")
    """),
    md(r"""
    ### Exercise 1 — the score from the pooled features

    Recompute the score $y_c$ of the top class from `A` and `fc`: average each feature map over
    its positions, take the dot product with row `c` of `fc.weight`, add `fc.bias[c]`. Store it
    in `y_c`. It must equal the model's logit.
    """),
    code(r"""
    from xai_tutor.exercises import show_solution
    from xai_tutor.exercises.cam import check_cam, check_gap_logit

    y_c = None  # your code here

    check_gap_logit(y_c, model, x, c)
    """),
    code(r"""
    show_solution("cam.gap_logit")
    """),
    md(r"""
    ### Exercise 2 — the class activation map

    Now swap the sums: build `cam_map`, the $(h, w)$ map $M_c = \sum_k w^c_k A_k$ for the top
    class `c`. No ReLU and no normalisation: CAM keeps the sign (negative = evidence against the
    class).
    """),
    code(r"""
    cam_map = None  # your code here

    check_cam(cam_map, model, x, c)
    """),
    code(r"""
    show_solution("cam.cam_map")
    """),
    md(r"""
    Two checks close the loop. The mean of the map plus the bias gives back the score, and the
    library's `explain(model, x, "cam")` returns the same map as `attribution` (at feature-map
    resolution) — both asserted, so the notebook fails if either drifts.
    """),
    code(r"""
    cam_map = cam_map.detach()    # fc.weight requires grad outside model_guard; keep the values
    e = xai_tutor.explain(model, x, "cam", target=c)
    torch.testing.assert_close(cam_map.mean() + fc.bias[c].detach(), logits[0, c], atol=1e-4,
                               rtol=1e-4)
    torch.testing.assert_close(e.attribution[0], cam_map, atol=1e-5 * float(cam_map.abs().max()),
                               rtol=1e-4)
    print("mean(M_c) + b_c == y_c and hand-built CAM == explain(..., 'cam')")
    print(f"map {tuple(e.attribution.shape[1:])} -> saliency {tuple(e.saliency.shape[1:])} "
          f"(bilinear upsampling, min-max scaled)")

    fig, axes = plt.subplots(1, 3, figsize=(15, 3.6))
    lim = float(cam_map.abs().max())
    axes[0].imshow(cam_map, cmap="coolwarm", vmin=-lim, vmax=lim)
    axes[0].set_title("M_c at feature resolution (red +, blue -)")
    axes[1].imshow(viz.heatmap(shown, e.saliency[0].numpy()))
    axes[1].set_title("CAM upsampled, as heatmap")
    axes[2].imshow(viz.edges(shown, e.saliency[0].numpy()))
    axes[2].set_title("as edges")
    for ax in axes:
        ax.set_axis_off()
    plt.show()
    """),
    md(r"""
    ## Why CAM needs a GAP + linear head

    The derivation used two facts: the map is **averaged** (so the score is a mean over
    positions) and a **single linear layer** follows (so each channel has one weight per class).
    VGG16's head breaks both: it flattens the $7 \times 7 \times 512$ maps into 25 088 numbers
    and sends them through three dense layers with ReLUs. There is no single weight $w^c_k$ for a
    channel, so CAM is not defined; Zhou et al. had to *replace* the head by GAP + linear and
    retrain — the "retraining problem" the paper mentions, which Grad-CAM (notebook 06) solves.

    `xai_tutor` checks the head numerically (it recomputes the logits from the pooled
    activations) and refuses a model that fails, with a message saying what to do instead:
    """),
    code(r"""
    torch.manual_seed(0)
    dense_head = nn.Sequential(                       # a small CNN with a VGG-like dense head
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(4),
        nn.Flatten(), nn.Linear(8 * 16 * 16, 32), nn.ReLU(), nn.Linear(32, 5),
    ).eval()
    tries = [("small dense-head CNN", dense_head, torch.randn(1, 3, 64, 64), "2")]
    tries += [(name, models[name], x, None) for name, ok in heads.items() if not ok]
    for label, net, inp, layer in tries:
        try:
            xai_tutor.explain(net, inp, "cam", layer=layer)
        except ValueError as err:
            print(f"{label}: ValueError: {err}")
    """),
    md(r"""
    ## CAM on the course models and scenes

    The top class's CAM for every course model that has a GAP head, on the three scenes:
    """),
    code(r"""
    tensors = {kind: load_image(s.image)[0] for kind, s in scenes.items()}
    rows = {}
    for name, m in models.items():
        if heads[name]:
            rows[name] = [xai_tutor.explain(m, t, "cam").saliency[0] for t in tensors.values()]
        else:
            print(f"{name}: no GAP + linear head, no CAM (see above)")
    viz.grid([s.image for s in scenes.values()], rows, column_titles=list(scenes),
             title="CAM of the top class")
    """),
    md(r"""
    CAM maps are coarse — one value per feature-map cell, $16$ or $32$ pixels wide — but they are
    **class-specific** blobs on the object, unlike the DeconvNet maps of notebook 03.

    ## Two classes, one image

    The pair scene holds two different birds. The same activations $A$ give one map per class,
    only the weight row changes. Each map should light up *its* bird; we measure the share of
    each map that falls on each bird (`instance_mass`).
    """),
    with_scene_class(r"""
    from xai_tutor.evaluation import instance_mass

    pair = scenes["pair"]
    xp, shown_pair = load_image(pair.image)
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.6))
    viz.show_masks(pair, ax=axes[0])
    for i, ax in enumerate(axes[1:]):
        ci = scene_class(model, pair, i)
        sal = xai_tutor.explain(model, xp, "cam", target=ci).saliency[0].numpy()
        share = instance_mass(sal, pair.masks)
        ax.imshow(viz.heatmap(shown_pair, sal))
        ax.set_title(f"CAM for '{model.class_names[ci]}'")
        ax.set_axis_off()
        print(f"CAM of class {pair.species[i]!r}: mass on " +
              ", ".join(f"bird {j} ({pair.species[j]}) {v:.1%}" for j, v in enumerate(share)))
    plt.show()
    """),
    md(r"""
    If the model recognises both species, each map concentrates on its own bird: the *same*
    feature maps, weighted differently. If a map points at the wrong bird, check the model's
    scores for both classes — CAM explains the model, and a model that barely knows a class has
    no good evidence for it to show.

    ## Summary

    - With a GAP + linear head, $y_c = \frac{1}{hw}\sum_{a,b} M_c(a,b) + b_c$ where
      $M_c = \sum_k w^c_k A_k$: the class activation map. You recomputed the score and the map by
      hand; they equal the model's logit and `explain(model, x, "cam")`.
    - CAM keeps its sign, costs one forward pass, and is **class-specific**.
    - It needs the GAP + linear head: models with dense heads (VGG16) get a clear error, and would
      need to be modified and retrained. Grad-CAM removes this limit.

    **Next:** [06 · Grad-CAM](06_gradcam.ipynb) computes the channel weights from gradients, for
    any head and any layer.

    ## Further reading

    - B. Zhou, A. Khosla, A. Lapedriza, A. Oliva, A. Torralba (2016), *Learning deep features
      for discriminative localization*, [arXiv:1512.04150](https://arxiv.org/abs/1512.04150).
    - M. Lin, Q. Chen, S. Yan (2014), *Network in network* (global average pooling),
      [arXiv:1312.4400](https://arxiv.org/abs/1312.4400).
    - {paper}, section 3.3.

    ## Explore
    """.replace("{paper}", PAPER)),
    code(r"""
    from xai_tutor.widgets import method_explorer

    method_explorer("cam")
    """),
]

# --------------------------------------------------------------------------- 06 Grad-CAM

GRADCAM = [
    md(r"""
    # 06 · Grad-CAM and Guided Grad-CAM

    Selvaraju et al. (2017) freed CAM from its special head: the channel weights come from the
    **gradient** of the class score, which exists for any network and any layer. Combined with
    guided backpropagation it gives a sharp, class-specific map, *Guided Grad-CAM*.

    **Learning objectives.** After this notebook you can
    - compute Grad-CAM by hand: activations and gradients at a layer with
      `xai_tutor.hooks.capture` and `torch.autograd.grad`, weights = spatial mean of the
      gradients, ReLU of the weighted sum — and check it against `explain(..., "gradcam")`;
    - prove numerically that on a GAP + linear head Grad-CAM $= \mathrm{ReLU}(\mathrm{CAM})/(hw)$;
    - build **Guided Grad-CAM** from guided backprop and the upsampled Grad-CAM;
    - choose the layer, and measure how Grad-CAM copes with **several birds**.

    **Prerequisites.** [03 · DeconvNet](03_deconvnet.ipynb) (guided backprop) and
    [05 · CAM](05_cam.ipynb).

    **Expected run time.** About 30 seconds of computation; 30 minutes of reading and exercises.
    """),
    md(r"""
    ## The formula

    For a layer with activations $A_k$ ($K$ maps of $h \times w$) and the score $y_c$ (the
    logit, before softmax):

    $$\alpha^c_k = \frac{1}{hw}\sum_{a,b}\frac{\partial y_c}{\partial A_k(a,b)}, \qquad
    L^c_{\text{Grad-CAM}} = \mathrm{ReLU}\Big(\sum_k \alpha^c_k A_k\Big).$$

    The weight $\alpha^c_k$ says how much, on average, increasing map $k$ would increase the
    class score. The ReLU keeps the positions that speak *for* the class.
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
    from xai_tutor.models import course_models

    models = course_models()
    scenes = course_scenes()
    model_name, model = next(iter(models.items()))
    scene = scenes["single"]
    x, shown = load_image(scene.image)

    with model_guard(model), capture(model, model.default_layer) as cap:
        logits = model(x)
        c = int(logits[0].argmax())
        (grad_A,) = torch.autograd.grad(logits[0, c], cap.activation)
    A = cap.activation.detach()
    print(f"{model_name}, layer {model.default_layer}: A {tuple(A.shape)}, dy/dA {tuple(grad_A.shape)}")
    print(f"top class {c} ({model.class_names[c]})")
    """),
    md(r"""
    ### Exercise 1 — the channel weights

    From `grad_A` (shape `(1, K, h, w)`) compute `alpha`, the $K$ Grad-CAM weights.
    """),
    code(r"""
    from xai_tutor.exercises import show_solution
    from xai_tutor.exercises.cam import check_gradcam, check_gradcam_weights, check_guided_gradcam

    alpha = None  # your code here

    check_gradcam_weights(alpha, model, x, c)
    """),
    code(r"""
    show_solution("cam.gradcam_weights")
    """),
    md(r"""
    ### Exercise 2 — the map

    Build `gradcam_map` $= \mathrm{ReLU}(\sum_k \alpha_k A_k)$, shape `(h, w)`, not normalised.
    """),
    code(r"""
    gradcam_map = None  # your code here

    check_gradcam(gradcam_map, model, x, c)
    """),
    code(r"""
    show_solution("cam.gradcam_map")
    """),
    code(r"""
    e = xai_tutor.explain(model, x, "gradcam", target=c)
    torch.testing.assert_close(e.attribution[0], gradcam_map,
                               atol=1e-6 * float(gradcam_map.max()) + 1e-12, rtol=1e-4)
    print("hand-built Grad-CAM == explain(..., 'gradcam')")

    fig, axes = plt.subplots(1, 3, figsize=(15, 3.6))
    axes[0].imshow(gradcam_map, cmap="jet")
    axes[0].set_title(f"Grad-CAM at {model.default_layer} {tuple(gradcam_map.shape)}")
    axes[1].imshow(viz.heatmap(shown, e.saliency[0].numpy()))
    axes[1].set_title("upsampled, heatmap")
    axes[2].imshow(viz.opacity(shown, e.saliency[0].numpy()))
    axes[2].set_title("opacity")
    for ax in axes:
        ax.set_axis_off()
    plt.show()
    """),
    md(r"""
    ## Grad-CAM generalises CAM

    On a GAP + linear head, $y_c = \sum_k w^c_k \frac{1}{hw}\sum_{a,b} A_k(a,b) + b_c$, so the
    gradient is the same at every position, $\partial y_c / \partial A_k(a,b) = w^c_k / (hw)$, and
    its mean is $\alpha^c_k = w^c_k/(hw)$. Hence

    $$L^c_{\text{Grad-CAM}} = \mathrm{ReLU}\Big(\frac{1}{hw}\sum_k w^c_k A_k\Big)
    = \frac{\mathrm{ReLU}(M_c)}{hw}.$$

    We check it on every course model whose last block feeds a GAP + linear head (the CAM
    method refuses the others), for the top class and for another class. The identity holds at
    any input size, so we use the scene at half size to save time:
    """),
    code(r"""
    x_half = F.interpolate(x, scale_factor=0.5, mode="bilinear", align_corners=False)
    for name, m in models.items():
        for target in (None, 1):
            try:
                cam = xai_tutor.explain(m, x_half, "cam", target=target)
            except ValueError:
                print(f"{name}: no GAP + linear head, the identity does not apply")
                break
            grad_cam = xai_tutor.explain(m, x_half, "gradcam", target=target)
            h, w = cam.attribution.shape[-2:]
            expected = torch.relu(cam.attribution) / (h * w)
            torch.testing.assert_close(grad_cam.attribution, expected,
                                       atol=1e-5 * float(expected.max()) + 1e-9, rtol=1e-3)
            print(f"{name}, class {int(grad_cam.target[0]):3d}: Grad-CAM == ReLU(CAM) / ({h}*{w})")
    """),
    md(r"""
    ## Guided Grad-CAM

    Grad-CAM is class-specific but coarse; guided backprop (notebook 03) is sharp but hardly
    class-specific. Selvaraju et al. multiply them pixel by pixel: guided backprop times Grad-CAM
    upsampled (bilinearly) to the image size.

    ### Exercise 3 — build Guided Grad-CAM

    Compute `guided_gradcam`, shape `(3, H, W)`: the attribution of
    `explain(model, x, "guided_backprop", target=c)` times the upsampled Grad-CAM map in
    $[0, 1]$ (the `saliency` of the Grad-CAM explanation). `xai_tutor` has no separate method for
    it: it is a product of two registered ones.
    """),
    code(r"""
    guided_gradcam = None  # your code here

    check_guided_gradcam(guided_gradcam, model, x, c)
    """),
    code(r"""
    show_solution("cam.guided_gradcam")
    """),
    code(r"""
    guided_map = xai_tutor.explain(model, x, "guided_backprop", target=c).saliency[0]
    ggc_map = guided_gradcam.abs().amax(dim=0)
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.6))
    for ax, sal, title in zip(axes, (guided_map, e.saliency[0], ggc_map),
                              ("guided backprop", "Grad-CAM", "Guided Grad-CAM")):
        ax.imshow(viz.edges(shown, sal.numpy()) if title != "Grad-CAM"
                  else viz.heatmap(shown, sal.numpy()))
        ax.set_title(title)
        ax.set_axis_off()
    plt.show()
    """),
    md(r"""
    ## Which layer?

    Grad-CAM works at any convolutional layer. The last block has the most semantic features but
    the coarsest grid; earlier layers have finer grids but less class-specific features, so
    their maps are sharper and noisier. We compare three depths of the first course model, and
    score each map by its mass on the bird and by the pointing game (is the map's maximum on the
    bird, within 15 pixels?).
    """),
    code(r"""
    from xai_tutor.evaluation import instance_mass, pointing_game, relevance_mass

    EARLIER = {"tiny_vgg": ["features.4", "features.7"], "vgg16": ["features.15", "features.22"],
               "tiny_resnet": ["layer2", "layer3"], "resnet18": ["layer2", "layer3"],
               "resnet50": ["layer2", "layer3"], "efficientnet_lite0": ["blocks.5", "blocks.10"]}
    names = [n for n, _ in model.named_modules()]
    layers = [n for n in EARLIER.get(model_name, []) if n in names] + [model.default_layer]

    fig, axes = plt.subplots(1, len(layers), figsize=(5 * len(layers), 3.6))
    for ax, layer in zip(axes, layers):
        el = xai_tutor.explain(model, x, "gradcam", target=c, layer=layer)
        sal = el.saliency[0].numpy()
        hit = pointing_game(sal, scene.masks).hit
        ax.imshow(viz.heatmap(shown, sal))
        ax.set_title(f"{layer} {tuple(el.attribution.shape[1:])}: mass {relevance_mass(sal, scene.masks):.0%}, "
                     f"{'hit' if hit else 'miss'}", fontsize=9)
        ax.set_axis_off()
    plt.show()
    print(f"the bird covers {scene.masks.any(axis=0).mean():.1%} of the image")
    """),
    md(r"""
    ## Several birds: does Grad-CAM find them all?

    The paper says Grad-CAM "performs surprisingly bad with multiple occurrences as the gradient
    focuses on the biggest object" and struggles with occlusion. Our pair and flock scenes come
    with a mask per bird, so we can measure it. For each course model we explain the **top
    class** and report, per bird, the share of the map on it (its area share in brackets), and
    how many birds are *covered* (`multi_instance_coverage`: a bird is covered when it gets at
    least half of its fair share of the on-bird saliency).
    """),
    with_scene_class(r"""
    from xai_tutor.evaluation import covered_instances

    for kind in ("pair", "flock"):
        s = scenes[kind]
        xs, shown_s = load_image(s.image)
        areas = s.masks.reshape(len(s.masks), -1).mean(axis=1)
        print(f"--- {kind}: {len(s.species)} birds, biggest is bird {int(areas.argmax())} "
              f"({s.species[int(areas.argmax())]})")
        fig, axes = plt.subplots(1, len(models) + 1, figsize=(4.2 * (len(models) + 1), 3))
        viz.show_masks(s, ax=axes[0])
        for ax, (name, m) in zip(axes[1:], models.items()):
            eg = xai_tutor.explain(m, xs, "gradcam")
            sal = eg.saliency[0].numpy()
            share = instance_mass(sal, s.masks)
            covered = covered_instances(sal, s.masks)
            top = int(eg.target[0])
            print(f"{name:18s} top class {m.class_names[top]!r:16s} covered {covered.sum()}/{len(s.species)}  "
                  + " ".join(f"{v:.0%}({a:.0%})" for v, a in zip(share, areas)))
            ax.imshow(viz.heatmap(shown_s, sal))
            ax.set_title(f"{name}: {m.class_names[top]}", fontsize=9)
            ax.set_axis_off()
        plt.show()
    """),
    md(r"""
    How to read it: a bird whose share of the map is far below its area share is *missed*. Check
    whether the map piles up on the largest bird (the paper's claim) or on the birds of the
    predicted species only — the latter is not a failure: Grad-CAM of class "pelican" *should*
    ignore the penguins. In the pair scene we can separate the two effects by explaining each
    bird's own class:
    """),
    code(r"""
    pair = scenes["pair"]
    xp, shown_pair = load_image(pair.image)
    for name, m in models.items():
        parts = []
        for i, species in enumerate(pair.species):
            ci = scene_class(m, pair, i)
            if ci is None:
                parts.append(f"{species}: not a class of this model")
                continue
            sal = xai_tutor.explain(m, xp, "gradcam", target=ci).saliency[0].numpy()
            share = instance_mass(sal, pair.masks)
            hit = pointing_game(sal, pair.masks[i:i + 1]).hit
            parts.append(f"{species}: own bird {share[i]:.0%}, other {share[1 - i]:.0%}, "
                         f"points at it: {'yes' if hit else 'no'}")
        print(f"{name:18s} " + " | ".join(parts))
    """),
    md(r"""
    With one map per class, a model that knows both species puts each map on the right bird.
    What Grad-CAM cannot do is show **all instances of one class** equally: the gradient weights
    $\alpha_k$ are averages over the whole map, so the channels that respond to the most
    prominent instance dominate the sum, and smaller or partly hidden birds of the same class get
    a weaker share — look at the flock's coverage. Grad-CAM++ (notebook 07) changes exactly these
    weights to fix this.

    ## Summary

    - Grad-CAM: $\alpha^c_k = \frac{1}{hw}\sum_{a,b}\partial y_c/\partial A_k(a,b)$,
      $L = \mathrm{ReLU}(\sum_k \alpha^c_k A_k)$ — one forward and one backward pass, any head,
      any layer. Built by hand, equal to `explain(..., "gradcam")`.
    - On a GAP + linear head it is exactly $\mathrm{ReLU}(\mathrm{CAM})/(hw)$.
    - Guided Grad-CAM = guided backprop × upsampled Grad-CAM: sharp *and* class-specific.
    - Earlier layers: finer, noisier maps; the last block is the usual choice.
    - Several instances of a class share the map unevenly; measure it with the instance masks.

    **Next:** [07 · Grad-CAM++ and XGrad-CAM](07_gradcampp_xgradcam.ipynb).

    ## Further reading

    - R. R. Selvaraju, M. Cogswell, A. Das, R. Vedantam, D. Parikh, D. Batra (2017), *Grad-CAM:
      visual explanations from deep networks via gradient-based localization*,
      [arXiv:1610.02391](https://arxiv.org/abs/1610.02391).
    - A. Chattopadhyay, A. Sarkar, P. Howlader, V. N. Balasubramanian (2018), *Grad-CAM++*,
      [arXiv:1710.11063](https://arxiv.org/abs/1710.11063).
    - J. Zhang et al. (2016), *Top-down neural attention by excitation backprop* (the pointing
      game), [arXiv:1608.00507](https://arxiv.org/abs/1608.00507).
    - {paper}, section 3.3.

    ## Explore
    """.replace("{paper}", PAPER)),
    code(r"""
    from xai_tutor.widgets import method_explorer

    method_explorer("gradcam")
    """),
]


def main() -> None:
    for name, cells in (("03_deconvnet", DECONVNET), ("05_cam", CAM), ("06_gradcam", GRADCAM)):
        path = write_notebook(ROOT / "notebooks" / f"{name}.ipynb", cells)
        print("wrote", path.relative_to(ROOT))


if __name__ == "__main__":
    main()
