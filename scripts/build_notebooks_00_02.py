# ruff: noqa: E501  (this file holds notebook text: markdown tables and cell code)
"""Generate notebooks 00 (welcome), 01 (taxonomy) and 02 (models, data and hooks).

Run ``python scripts/build_notebooks_00_02.py`` after editing; the notebooks are written without
outputs. Edit the prose here, not in the .ipynb files, so that the two never drift apart.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nbtools import code, md, write_notebook  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PAPER = "Ouadghiri (2022), *Post-hoc Explainable Artificial Intelligence for computer vision: model-specific methods*"

# --------------------------------------------------------------------------- 00 welcome

WELCOME = [
    md("""
    # 00 · Welcome to xai-tutor

    This course teaches you how to **explain the decisions of a convolutional neural network (CNN)
    that classifies images**: which pixels made the network say *flamingo*? You will build the
    most popular explanation methods yourself, one notebook at a time, check your code against a
    reference library (`xai_tutor`), and finally compare the methods on pictures of birds where
    we know exactly where every bird is.

    **Learning objectives.** After this notebook you can
    - say what the course covers and in which order;
    - start the course on your machine and check that everything works;
    - load the three course models and the three bird scenes, and read a model's top-3 predictions.

    **Prerequisites.** Python and a little NumPy. Some PyTorch helps (tensors, `model(x)`), but
    notebook 02 recaps what you need.

    **Expected run time.** About 20 seconds of computation; 10 minutes of reading.
    """),
    md(f"""
    ## What this course is about

    The course follows the survey by {PAPER}. Explanation methods come in many flavours
    (notebook 01 sorts them out). This course, like the paper, focuses on **post-hoc,
    model-specific** methods for images: they take a CNN that is already trained, look *inside* it
    (gradients, activations, weights) and produce a **saliency map**, an image that scores how
    much each pixel mattered for the decision.

    The paper compares the methods by eye on photos with one bird, two birds and a flock of
    partly hidden birds. We do the same, and go one step further: our bird scenes are composed
    from cut-outs, so we know the **exact mask of every bird** and can *measure* whether a
    saliency map points at the bird.

    ## The map of the course

    | # | Notebook | What you learn |
    |---|----------|----------------|
    | 00 | Welcome (this notebook) | how the course works, environment check, models, scenes |
    | 01 | [Taxonomy](01_taxonomy.ipynb) | post-hoc vs ante-hoc, agnostic vs specific, local vs global, the four explanation types |
    | 02 | [Models, data and hooks](02_models_data_hooks.ipynb) | preprocessing, reading activations and gradients with hooks, gradient saliency |
    | 03 | [DeconvNet](03_deconvnet.ipynb) | unpooling with switches, rectification, transposed filters |
    | 04 | [LRP](04_lrp.ipynb) | layer-wise relevance propagation and its rules |
    | 05 | [CAM](05_cam.ipynb) | global average pooling and weighted feature maps |
    | 06 | [Grad-CAM](06_gradcam.ipynb) | gradients as channel weights |
    | 07 | [Grad-CAM++ and XGrad-CAM](07_gradcampp_xgradcam.ipynb) | better weights for several objects |
    | 08 | [SmoothGrad and SmoothGrad-CAM++](08_smoothgrad.ipynb) | averaging over noisy copies |
    | 09 | [FullGrad](09_fullgrad.ipynb) | input gradients plus bias gradients |
    | 10 | [Ablation-CAM and Score-CAM](10_gradient_free_cams.ipynb) | gradient-free channel weights |
    | 11 | [Comparing the methods](11_comparison.ipynb) | the paper's experiment, measured against ground truth |
    | 12 | [Playground](12_playground.ipynb) | explore any model, scene and method interactively |

    Notebooks 00–02 are the foundation; 03–10 each build one method (in any order after 02);
    11 and 12 bring everything together.
    """),
    md("""
    ## How to run the course

    From the project folder, one command installs everything into a virtual environment and
    opens JupyterLab:

    ```bash
    make lab
    ```

    It prints a `http://127.0.0.1:8888/lab?token=...` address to open in your browser (it also
    works on a machine without a screen). Everything runs **offline on a CPU**; a GPU is used
    if there is one, but you do not need it.

    **How the notebooks work.** Run cells from top to bottom with *Shift + Enter*. Exercises look
    like this:

    ```python
    answer = None            # your code here
    check_something(answer)  # tells you what is right or wrong, and why
    ```

    Replace `None` with your code and run the cell: the check explains what is wrong (a wrong
    shape, a wrong sign, a missing normalisation, ...), not just *"False"*. Below every exercise
    a `show_solution(...)` cell holds the solution, **folded away**: click *Show solution* only
    after you have tried. Running that cell also runs the solution, so the notebook keeps
    working even if you skip an exercise.
    """),
    md("""
    ## Environment check

    The next cell prints the versions of the main libraries and the hardware PyTorch sees. If a
    cell fails here, run `make lab` again from the project folder (it re-installs what is
    missing).
    """),
    code("""
    import platform
    import sys

    import matplotlib
    import numpy as np
    import torch
    import torchvision

    import xai_tutor

    print(f"Python       {platform.python_version()} ({sys.executable})")
    print(f"xai_tutor    {xai_tutor.__version__}")
    print(f"torch        {torch.__version__}")
    print(f"torchvision  {torchvision.__version__}")
    print(f"numpy        {np.__version__}")
    print(f"matplotlib   {matplotlib.__version__}")
    try:
        import ipywidgets

        print(f"ipywidgets   {ipywidgets.__version__}")
    except ImportError:
        print("ipywidgets   missing: the interactive widgets will not work")

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        print(f"device       GPU: {torch.cuda.get_device_name(0)}")
    else:
        print(f"device       CPU, {torch.get_num_threads()} threads (no GPU needed)")
    """),
    md("""
    ### Which models are available?

    The paper uses three CNNs trained on ImageNet: **VGG16**, **ResNet18** and **ResNet50**.
    Their weight files are large downloads, so the course also ships **offline models** that
    always work: `tiny_vgg` and `tiny_resnet` (small VGG- and ResNet-style networks trained on
    the course's bird scenes) and `efficientnet_lite0` (a real ImageNet network whose weights come
    with a Python package).

    `course_models()` picks the ImageNet trio when its weights are on your machine and the
    offline trio otherwise. You can force a choice with the environment variable
    `XAI_TUTOR_MODELS=imagenet` or `XAI_TUTOR_MODELS=offline` (set it before starting Jupyter).
    """),
    code("""
    from xai_tutor.models import available_models, course_models

    print("models you can load with xai_tutor.load_model(name):")
    for name in available_models():
        print("  -", name)
    """),
    code("""
    models = course_models()

    for name, model in models.items():
        n_params = sum(p.numel() for p in model.parameters())
        print(f"{name:20s} {n_params / 1e6:6.2f} M parameters, {len(model.class_names):4d} classes, "
              f"last conv block: {model.default_layer!r}")
    """),
    md("""
    Every model has two extra attributes the course relies on: `class_names` (the label of each
    output) and `default_layer` (the name of the last convolutional block, where the CAM family
    reads its feature maps).

    ## The three bird scenes

    The paper tests the methods on a picture with **one bird**, one with **two birds** and one
    with **many, partly hidden birds**, all 626 × 418 pixels. The course generates such scenes
    from bird cut-outs, so it knows the **visible pixels of every bird** (its *mask*) and its
    bounding box. Here are the three canonical scenes, with each bird's mask tinted and labelled.
    """),
    code("""
    import matplotlib.pyplot as plt

    from xai_tutor.data import course_scenes

    scenes = course_scenes()

    fig, axes = plt.subplots(1, 3, figsize=(15, 3.6))
    for ax, (kind, scene) in zip(axes, scenes.items()):
        try:
            from xai_tutor.viz import show_masks

            show_masks(scene, ax=ax)
        except ImportError:  # fall back to drawing the mask outlines ourselves
            ax.imshow(scene.image)
            for mask in scene.masks:
                ax.contour(mask, levels=[0.5], colors="yellow", linewidths=1)
            ax.set_axis_off()
        ax.set_title(f"{kind}: {len(scene.species)} bird(s)")
    plt.show()

    for kind, scene in scenes.items():
        print(f"{kind:7s} image {scene.image.size[0]}x{scene.image.size[1]}, birds: {', '.join(scene.species)}")
    """),
    md("""
    ## What do the models predict?

    Before explaining a decision, let us look at the decisions themselves. `load_image` turns a
    picture into the normalised tensor the models expect (notebook 02 explains the details).
    For each model and scene we print the **top-3 classes** with their softmax probabilities,
    and mark with ✓ a class that is one of the birds really in the scene.
    """),
    code("""
    from xai_tutor.data import SPECIES, load_image


    def true_classes(model, scene):
        \"\"\"Indices of the model's classes that are present in the scene.\"\"\"
        if list(model.class_names) == list(SPECIES):  # the course's own bird classifiers
            return {SPECIES.index(s) for s in scene.species}
        return {i for i in scene.imagenet_ids if i is not None}  # an ImageNet model


    inputs = {kind: load_image(scene.image)[0] for kind, scene in scenes.items()}

    with torch.no_grad():
        for name, model in models.items():
            print(f"=== {name}")
            for kind, x in inputs.items():
                probs = model(x).softmax(dim=1)[0]
                top = probs.topk(3)
                truth = true_classes(model, scenes[kind])
                guesses = ", ".join(
                    f"{'✓' if int(i) in truth else ' '}{model.class_names[int(i)]} {float(p):.1%}"
                    for p, i in zip(top.values, top.indices)
                )
                print(f"  {kind:7s} {guesses}")
    """),
    md("""
    Notice that the top class is not always right, especially for the flock, where birds hide
    behind each other and behind leaves. That is fine: **the course explains decisions, right or
    wrong**. An explanation of a wrong decision is often the most instructive one.

    ### Try it

    Scenes are generated from a seed, so you can make as many as you like. Change the kind
    (`"single"`, `"pair"`, `"flock"`), the seed or the species and run the cell again.
    """),
    code("""
    from xai_tutor.data import make_scene

    scene = make_scene("pair", seed=7)
    plt.figure(figsize=(6, 4))
    plt.imshow(scene.image)
    plt.title(", ".join(scene.species))
    plt.axis("off")
    plt.show()
    print("species you can ask for:", ", ".join(SPECIES))
    """),
    md(f"""
    ## Summary

    - The course builds post-hoc, model-specific explanation methods for CNN image classifiers,
      following {PAPER}, and measures them against the known masks of the birds.
    - `make lab` starts it; everything runs offline on a CPU.
    - `course_models()` gives three models (ImageNet ones when their weights are present, offline
      ones otherwise); each has `class_names` and `default_layer`.
    - `course_scenes()` gives the paper's three situations: one bird, two birds, an occluded flock.

    **Next:** [01 · Taxonomy](01_taxonomy.ipynb), where the methods get sorted into families.

    ## Further reading

    - Y. Ouadghiri (2022), *Post-hoc Explainable Artificial Intelligence for computer vision:
      model-specific methods* (the course's source).
    - Y. Zhang, P. Tiňo, A. Leonardis, K. Tang (2021), *A survey on neural network
      interpretability*, [arXiv:2012.14261](https://arxiv.org/abs/2012.14261).
    - W. Samek et al. (2021), *Explaining deep neural networks and beyond: a review of methods and
      applications*, Proceedings of the IEEE, [arXiv:2003.07631](https://arxiv.org/abs/2003.07631).
    """),
]

# --------------------------------------------------------------------------- 01 taxonomy

TAXONOMY = [
    md("""
    # 01 · A taxonomy of explanation methods

    There are dozens of explanation methods. Before building any, it helps to know how they
    differ, so that you can tell which one answers *your* question. This notebook follows
    section 2 of the paper and its Table 1.

    **Learning objectives.** After this notebook you can
    - tell a post-hoc from an ante-hoc method, and a model-agnostic from a model-specific one;
    - tell a local from a global explanation;
    - name the four explanation types (example, attribution, hidden semantics, rules);
    - classify a method you have never seen, and read a survey's table critically.

    **Prerequisites.** [00 · Welcome](00_welcome.ipynb). No maths needed.

    **Expected run time.** A few seconds of computation; 20 minutes of reading and exercises.
    """),
    md("""
    ## Axis 1 — post-hoc or ante-hoc?

    *When* is the explanation made?

    - A **post-hoc** method takes a model that is already trained and explains its results
      *after the fact*. It does not change the model. This is by far the most popular kind, and
      it is what the whole course is about. Note what it explains: the *result* (why this output
      for this input?), not how the model works in general.
    - An **ante-hoc** method (also called *intrinsic*, *self-explaining* or *transparent*) builds
      the explanation **into the model**: the model is designed and trained so that its
      structure is the explanation. A small decision tree or a list of if-then rules are
      examples: you read the decision straight off the model.

    ## Axis 2 — model-agnostic or model-specific?

    *What* does the method need from the model?

    - A **model-agnostic** method only needs the model's **predictions**: it treats the model as
      a black box, feeds it inputs and watches the outputs. It works on any model.
    - A **model-specific** method needs the model's **insides**: its weights, the activations of
      inner layers, or gradients. It works only for one family of models (here: CNNs), but it
      can see much more.

    The next cell makes the difference concrete with a tiny "model": a linear score of 8 input
    features, whose weights are hidden inside a function.
    """),
    code("""
    import numpy as np

    rng = np.random.default_rng(0)
    _hidden_weights = rng.normal(size=8)


    def predict(x):
        \"\"\"The black box: all a model-agnostic method may call.\"\"\"
        return float(_hidden_weights @ x)


    x = rng.normal(size=8)

    # Model-agnostic: perturb one feature at a time and watch the prediction (occlusion).
    agnostic = np.array([predict(x) - predict(np.where(np.arange(8) == i, 0.0, x)) for i in range(8)])

    # Model-specific: we are allowed to read the weights, so the contribution is w_i * x_i directly.
    specific = _hidden_weights * x

    print("agnostic (8 extra calls to predict):", np.round(agnostic, 3))
    print("specific (one look at the weights):  ", np.round(specific, 3))
    print("same answer:", np.allclose(agnostic, specific))
    """),
    md("""
    For a linear model both routes give the same contributions. For a CNN with millions of
    parameters they do not: the agnostic route needs **many** forward passes (one per perturbed
    region) and only sees input–output behaviour; the specific route reads gradients and
    activations from **one** forward and one backward pass. That trade-off (cost, faithfulness,
    generality) runs through the whole course: Ablation-CAM and Score-CAM in notebook 10, for
    instance, are model-specific yet use extra forward passes instead of gradients.

    ## Axis 3 — local or global?

    - A **local** explanation justifies **one** prediction: *why did the network call this photo
      a flamingo?* Most methods, and every saliency map in this course, are local.
    - A **global** explanation describes the model **as a whole**: *what does channel 42 of
      layer 4 detect, across all images?* or *which rules does the model follow?*

    ## Axis 4 — the type of explanation

    Following Zhang et al. (2021), the paper distinguishes four types of explanation:

    | Type | The explanation is ... | Example in vision |
    |------|------------------------|-------------------|
    | **by example** | a similar case | "it looks like these training photos of flamingos" |
    | **by attribution** | an importance score per input part | a saliency map over the pixels |
    | **with hidden semantics** | what an inner neuron or channel represents | the image that excites a "beak" channel most |
    | **by rules** | logical rules | "IF long pink neck AND long legs THEN flamingo" |

    Everything this course builds is **post-hoc, model-specific, local attribution**.

    ## Table 1 of the paper

    The paper classifies fourteen popular methods. Below is its Table 1 as an interactive table:
    pick a value in a dropdown to filter the rows, or type part of a name. The small numbers
    point to notes from the course where the paper's classification is debatable (more on that
    below).
    """),
    code("""
    from xai_tutor.taxonomy import taxonomy_table

    taxonomy_table()
    """),
    md("""
    The same table is available as plain data, a list of dicts, which is handy for counting and
    filtering in code:
    """),
    code("""
    from collections import Counter

    from xai_tutor.taxonomy import filter_table, table

    rows = table()
    print(rows[0])
    print()
    for axis in ("stage", "dependency", "explanation"):
        print(f"{axis:12s}", dict(Counter(row[axis] for row in rows)))
    print()
    print("model-agnostic:", [row["method"] for row in filter_table(dependency="model-agnostic")])
    """),
    md("""
    ### Reading the table critically

    Surveys are written by people, and tables get simplified. Three entries of Table 1 deserve a
    second look (they are the footnotes in the interactive table):

    - **Prediction Difference Analysis** (Zintgraf et al. 2017) removes input patches of an
      *already trained* classifier and watches the prediction change: most surveys would call it
      post-hoc and model-agnostic, not ante-hoc.
    - **Decision trees** [6] (Craven & Shavlik 1995) are *extracted from* a trained network, which
      is post-hoc; and a tree is usually counted as a *rules* explanation.
    - **DeepRED** is cited as [19], which is an image-restoration paper with the same name; the
      rule-extraction method DeepRED is by Zilke et al. (2016).

    The course keeps the table exactly as printed, and tells you where it disagrees. When you
    read a survey, check the classification against the original paper.

    ## Self-check quiz

    Choose an answer; the feedback appears immediately.
    """),
    code("""
    from xai_tutor.taxonomy import quiz

    quiz()
    """),
    md("""
    ## Exercise 1 — filter the table

    The course focuses on the same family as the paper. Use `filter_table` (or the interactive
    table above) to find the **post-hoc, model-specific, attribution** methods of Table 1, and
    store their names in a list called `methods`. `filter_table` accepts the keyword arguments
    `stage`, `dependency` and `explanation`.
    """),
    code("""
    from xai_tutor.exercises.taxonomy import check_classification, check_filter

    methods = None  # your code here: a list of method names, e.g. ["DeconvNet", ...]

    check_filter(methods)
    """),
    code("""
    from xai_tutor.exercises import show_solution

    show_solution("taxonomy.filter")
    """),
    md("""
    ## Exercise 2 — classify a method that is not in the table

    **Score-CAM** (notebook 10) works like this: it takes the activation maps of the last
    convolutional layer of a trained CNN, uses each one as a mask on the input image, runs the
    masked images through the network and weights each map by the resulting class score. It uses
    **no gradients**. How would you classify it? Fill in the three fields with one of:

    - `stage`: `"post-hoc"` or `"ante-hoc"`
    - `dependency`: `"model-specific"` or `"model-agnostic"`
    - `explanation`: `"example"`, `"attribution"`, `"hidden semantics"` or `"rules"`
    """),
    code("""
    score_cam = {
        "stage": None,        # your answer
        "dependency": None,   # your answer
        "explanation": None,  # your answer
    }

    check_classification("Score-CAM", score_cam)
    """),
    code("""
    show_solution("taxonomy.classify")
    """),
    md("""
    ## The methods of this course

    Here are all the methods the course builds, in the same format. They share one row of the
    taxonomy, which is why the paper can compare them side by side: same question (*which pixels
    mattered for this one decision?*), different ways of reading the network.
    """),
    code("""
    from IPython.display import HTML

    from xai_tutor.taxonomy import COURSE_METHODS, to_html

    HTML(to_html([m.as_dict() for m in COURSE_METHODS]))
    """),
    md(f"""
    ## Summary

    - **Post-hoc** methods explain a trained model's results; **ante-hoc** methods build the
      explanation into the model.
    - **Model-agnostic** methods only call the model; **model-specific** ones read its insides
      (weights, activations, gradients) — cheaper and more detailed, but tied to a model family.
    - **Local** explanations justify one prediction; **global** ones describe the whole model.
    - Four explanation types: by **example**, by **attribution**, with **hidden semantics**, by
      **rules**.
    - This course: post-hoc, model-specific, local attribution methods for CNNs.

    **Next:** [02 · Models, data and hooks](02_models_data_hooks.ipynb), where you read a
    network's insides and build your first saliency map.

    ## Further reading

    - {PAPER}, section 2 and Table 1.
    - Y. Zhang, P. Tiňo, A. Leonardis, K. Tang (2021), *A survey on neural network
      interpretability*, [arXiv:2012.14261](https://arxiv.org/abs/2012.14261) (the four types).
    - Z. C. Lipton (2018), *The mythos of model interpretability*,
      [arXiv:1606.03490](https://arxiv.org/abs/1606.03490) (post-hoc vs transparency).
    - A. Barredo Arrieta et al. (2020), *Explainable Artificial Intelligence (XAI): concepts,
      taxonomies, opportunities and challenges*, [arXiv:1910.10045](https://arxiv.org/abs/1910.10045).
    - M. T. Ribeiro, S. Singh, C. Guestrin (2016), *"Why should I trust you?"* (LIME),
      [arXiv:1602.04938](https://arxiv.org/abs/1602.04938).
    """),
]

# --------------------------------------------------------------------------- 02 models, data, hooks

HOOKS = [
    md("""
    # 02 · Models, data and hooks — and a first explanation

    Every method in this course reads something from inside a network: the activations of a
    layer, the gradient of a class score, or both. This notebook shows how to get at them with
    PyTorch, and ends with the simplest explanation of all, the **gradient saliency map**.

    **Learning objectives.** After this notebook you can
    - prepare an image for a model (normalise) and turn the tensor back into a picture
      (de-normalise);
    - read the activations of any layer with a **forward hook**, by hand and with
      `xai_tutor.hooks.capture`, and explain why the hook must pass on a *copy* when an in-place
      ReLU follows;
    - compute the gradient of a class score with respect to the input or to an inner layer with
      `torch.autograd.grad`;
    - build Simonyan et al.'s gradient saliency map by hand and check it against
      `xai_tutor.explain(model, x, "gradient")`.

    **Prerequisites.** [00 · Welcome](00_welcome.ipynb) and [01 · Taxonomy](01_taxonomy.ipynb);
    PyTorch tensors (`shape`, indexing, `.max()`), and the idea of a gradient.

    **Expected run time.** About 20 seconds of computation; 30 minutes of reading and exercises.
    """),
    md("""
    ## The model and the image

    We take the first of the course models and the one-bird scene.
    """),
    code("""
    import matplotlib.pyplot as plt
    import torch
    from torch import nn

    import xai_tutor
    from xai_tutor.data import IMAGENET_MEAN, IMAGENET_STD, course_scenes, denormalise, load_image
    from xai_tutor.models import course_models

    models = course_models()
    name, model = next(iter(models.items()))
    scene = course_scenes()["single"]

    print(f"model: {name}, {len(model.class_names)} classes, last conv block {model.default_layer!r}")
    print("scene:", scene.species)
    """),
    md("""
    A PyTorch model is a tree of modules, each with a dotted name. The explanation methods refer
    to layers by these names; `model.default_layer` is the output of the last convolutional block.
    Here are the top-level children and the last few named modules:
    """),
    code("""
    for child_name, child in model.named_children():
        print(f"{child_name:12s} {type(child).__name__}")

    names = [n for n, _ in model.named_modules() if n]
    print("...", names[-6:])
    """),
    md("""
    ## Preprocessing: normalise and de-normalise

    Networks trained on ImageNet expect each colour channel to be **standardised** with the
    ImageNet statistics: with the pixel values $p \\in [0, 1]$,

    $$x_c = \\frac{p_c - \\mu_c}{\\sigma_c}, \\qquad
    \\mu = (0.485, 0.456, 0.406), \\quad \\sigma = (0.229, 0.224, 0.225).$$

    `load_image` does this (and also accepts file paths, NumPy arrays and PIL images). It returns
    the tensor for the model, shape `(1, 3, H, W)` (batch, channels, height, width), and the
    picture to display, `(H, W, 3)` uint8.
    """),
    code("""
    x, shown = load_image(scene.image)
    print("tensor  ", tuple(x.shape), x.dtype)
    print("picture ", shown.shape, shown.dtype)
    print("per-channel mean of x:", x.mean(dim=(0, 2, 3)).numpy().round(2))
    print("per-channel std of x: ", x.std(dim=(0, 2, 3)).numpy().round(2))
    print("mean, std used:", IMAGENET_MEAN, IMAGENET_STD)
    """),
    md("""
    ### Exercise 1 — the model's top class

    Run the model on `x` and store the index of the **highest logit** in `top_class` (a Python
    `int`). Wrap the forward pass in `torch.no_grad()`: we do not need gradients yet.
    """),
    code("""
    from xai_tutor.exercises import show_solution
    from xai_tutor.exercises.gradient import (
        check_activation_shape,
        check_denormalise,
        check_saliency,
        check_top_class,
    )

    top_class = None  # your code here

    check_top_class(top_class, model, x)
    """),
    code("""
    show_solution("gradient.top_class")
    """),
    md("""
    ### Exercise 2 — de-normalise by hand

    To *show* an image (or a saliency map on top of it) we need the pixels back. Invert the
    formula above: compute `image` from `x`, keeping the shape `(1, 3, H, W)`. Hint: reshape the
    mean and std to `(1, 3, 1, 1)` so that they broadcast over height and width.
    """),
    code("""
    image = None  # your code here

    check_denormalise(image, x)
    """),
    code("""
    show_solution("gradient.denormalise")
    """),
    code("""
    # the library's version clamps to [0, 1]; on a real picture both agree
    torch.testing.assert_close(image.clamp(0, 1), denormalise(x), atol=1e-6, rtol=0)
    plt.figure(figsize=(5, 3.5))
    plt.imshow(image[0].permute(1, 2, 0).clamp(0, 1))  # matplotlib wants (H, W, 3)
    plt.title("de-normalised by hand")
    plt.axis("off")
    plt.show()
    """),
    md("""
    ## Reading activations with a forward hook

    A **forward hook** is a function that PyTorch calls right after a module computes its output:
    `hook(module, inputs, output)`. If it returns a tensor, that tensor replaces the output for the
    rest of the network. `register_forward_hook` returns a *handle*; **always remove the hook**
    with `handle.remove()` when you are done (a `try/finally` makes sure this happens even when
    something fails), otherwise it stays on the model and runs on every later call.

    Here we record the output of the first convolution:
    """),
    code("""
    first_conv_name, first_conv = next(
        (n, m) for n, m in model.named_modules() if isinstance(m, nn.Conv2d)
    )
    recorded = {}


    def remember(module, inputs, output):
        recorded["first conv"] = output.detach()


    handle = first_conv.register_forward_hook(remember)
    try:
        with torch.no_grad():
            logits = model(x)
    finally:
        handle.remove()

    print(f"{first_conv_name}: output shape {tuple(recorded['first conv'].shape)}")
    print("hooks left on the module:", len(first_conv._forward_hooks))
    """),
    md("""
    ### Exercise 3 — the shape of the last convolutional block

    The CAM family (notebooks 05–10) works with the activations $A^k$ of `model.default_layer`.
    Use a forward hook on that module (`dict(model.named_modules())[model.default_layer]`) to
    record its output for `x`, and store its shape as a tuple in `activation_shape`. How many
    feature maps $K$ are there, and how much smaller than the image is each one?
    """),
    code("""
    activation_shape = None  # your code here, e.g. (1, K, h, w)

    check_activation_shape(activation_shape, model, x)
    """),
    code("""
    show_solution("gradient.activation_shape")
    """),
    md("""
    ## Why the hook must pass on a copy

    Many CNNs apply ReLU **in place** (`nn.ReLU(inplace=True)`) to save memory: it overwrites
    its input tensor. If a hook keeps a reference to a layer's output and the next layer is an
    in-place ReLU, the recorded tensor is silently overwritten — the negative values are gone.
    A two-layer example shows it:
    """),
    code("""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(inplace=True))
    kept = {}

    def keep_reference(module, inputs, output):
        kept["reference"] = output            # the very tensor the ReLU will overwrite

    def keep_copy(module, inputs, output):
        kept["copy"] = output.detach().clone()

    with torch.no_grad():
        for hook in (keep_reference, keep_copy):
            handle = net[0].register_forward_hook(hook)
            try:
                net(torch.randn(1, 3, 8, 8))
            finally:
                handle.remove()

    print("smallest value kept by reference:", float(kept["reference"].min()), "(overwritten by ReLU)")
    print("smallest value kept as a copy:   ", round(float(kept["copy"].min()), 4))
    """),
    md("""
    `xai_tutor.hooks.capture` solves this once for all methods: its hook **records the output and
    passes a clone on to the rest of the network**, so in-place operations downstream change the
    clone, never the record. The recorded tensor stays part of the autograd graph, so we can ask
    for the gradient of a class score with respect to it. `capture` is a context manager: the
    hook is removed when the `with` block ends, even after an error. `model_guard` puts the model
    back exactly as it was (eval/train mode, `requires_grad`, hooks).

    Let us read the last block's activations $A$ and the gradient $\\partial y_c / \\partial A$ of
    the top class score — the two ingredients of Grad-CAM (notebook 06):
    """),
    code("""
    from xai_tutor.hooks import capture, model_guard

    with model_guard(model), capture(model, model.default_layer) as cap:
        logits = model(x)
        c = int(logits[0].argmax())
        (grad_A,) = torch.autograd.grad(logits[0, c], cap.activation)

    A = cap.activation.detach()
    print(f"class {c} ({model.class_names[c]}), score {logits[0, c].item():.3f}")
    print("activations A:", tuple(A.shape), " gradient dy_c/dA:", tuple(grad_A.shape))
    print("hooks left on the layer:", len(cap.module._forward_hooks))
    """),
    md("""
    ## A first explanation: gradient saliency

    Simonyan, Vedaldi and Zisserman (2013) asked the simplest question: *if a pixel changed a
    little, how much would the class score $y_c$ change?* The answer is the gradient of the score
    with respect to the input image,

    $$g = \\frac{\\partial y_c}{\\partial x} \\in \\mathbb{R}^{3 \\times H \\times W},$$

    and their **saliency map** keeps, for each pixel, the largest magnitude over the three colour
    channels:

    $$M_{ij} = \\max_{c \\in \\{R, G, B\\}} \\left| g_{c,ij} \\right|.$$

    First the gradient. We make a copy of `x` that **requires a gradient**, run the model and ask
    autograd for $\\partial y_c / \\partial x$:
    """),
    code("""
    x_leaf = x.clone().requires_grad_(True)
    logits = model(x_leaf)
    c = int(logits[0].argmax())
    (grad,) = torch.autograd.grad(logits[0, c], x_leaf)
    print("gradient:", tuple(grad.shape), " largest |value|:", float(grad.abs().max()))
    """),
    md("""
    ### Exercise 4 — from gradient to saliency map

    Turn `grad` (shape `(1, 3, H, W)`) into the saliency map $M$: the maximum over the colour
    channels of the absolute gradient, shape `(H, W)`. Do not normalise it.
    """),
    code("""
    saliency = None  # your code here

    check_saliency(saliency, model, x)
    """),
    code("""
    show_solution("gradient.saliency")
    """),
    md("""
    ### Check against the library

    `xai_tutor.explain(model, x, "gradient")` implements the same method. Its `attribution` is the
    raw signed gradient and its `saliency` the map $M$, min-max scaled to $[0, 1]$ per image. The
    next cell **asserts** that your hand-made version and the library agree (to $10^{-6}$): if a
    later change broke either, this notebook would fail.
    """),
    code("""
    from xai_tutor.explanation import normalise_per_image

    e = xai_tutor.explain(model, x, "gradient")

    assert int(e.target[0]) == c
    torch.testing.assert_close(e.attribution, grad, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(e.saliency, normalise_per_image(saliency[None]), atol=1e-6, rtol=1e-5)
    print("hand-made gradient and saliency match xai_tutor.explain(..., 'gradient')")
    print(e.method, e.params, "attribution", tuple(e.attribution.shape), "saliency", tuple(e.saliency.shape))
    """),
    md("""
    ### Look at it, and measure it

    Gradient maps are famously **noisy**: single pixels light up all over the image. The scene's
    mask lets us say more than "looks noisy": what share of the saliency falls **on the bird**,
    compared with the share of the image the bird covers? A ratio above 1 means the map
    concentrates on the bird more than a uniform map would.
    """),
    code("""
    import numpy as np

    from xai_tutor import viz

    sal = e.saliency[0].numpy()
    mask = scene.masks.any(axis=0)
    inside = sal[mask].sum() / sal.sum()
    print(f"the bird covers {mask.mean():.1%} of the image and receives {inside:.1%} of the saliency "
          f"(ratio {inside / mask.mean():.2f})")

    fig, axes = plt.subplots(1, 3, figsize=(15, 3.6))
    axes[0].imshow(shown)
    axes[0].contour(mask, levels=[0.5], colors="yellow", linewidths=1)
    axes[0].set_title("image and bird mask")
    axes[1].imshow(sal, cmap="gray")
    axes[1].set_title("gradient saliency M (normalised)")
    axes[2].imshow(viz.heatmap(shown, sal))
    axes[2].set_title("as a heatmap")
    for ax in axes:
        ax.set_axis_off()
    plt.show()
    """),
    md("""
    Try it on `course_scenes()["pair"]` or `["flock"]`, or with another model from `models`. How
    does the share on the birds change? Keep the numbers in mind: notebook 11 compares every
    method this way.

    ## Summary

    - Models expect ImageNet-normalised tensors $(p - \\mu) / \\sigma$; de-normalise with
      $x \\sigma + \\mu$ to show them.
    - A **forward hook** sees a layer's output; remove it when done. `xai_tutor.hooks.capture`
      records the output, passes a **clone** downstream (so in-place ReLUs cannot overwrite the
      record) and removes itself; `model_guard` restores the model.
    - `torch.autograd.grad(score, tensor)` gives the gradient of a score with respect to the input
      or to a recorded activation — the raw material of every gradient-based method.
    - **Gradient saliency** (Simonyan et al. 2013): $M = \\max_c |\\partial y_c / \\partial x|$, the
      first explanation of the course, and the baseline the next notebooks improve on.

    **Next:** [03 · DeconvNet](03_deconvnet.ipynb) changes how the signal passes back through ReLU
    and max-pooling layers.

    ## Further reading

    - K. Simonyan, A. Vedaldi, A. Zisserman (2013), *Deep inside convolutional networks:
      visualising image classification models and saliency maps*,
      [arXiv:1312.6034](https://arxiv.org/abs/1312.6034).
    - PyTorch documentation: [forward hooks](https://pytorch.org/docs/stable/generated/torch.nn.Module.html#torch.nn.Module.register_forward_hook)
      and [`torch.autograd.grad`](https://pytorch.org/docs/stable/generated/torch.autograd.grad.html).
    - J. Adebayo et al. (2018), *Sanity checks for saliency maps*,
      [arXiv:1810.03292](https://arxiv.org/abs/1810.03292).
    """),
]


NOTEBOOKS = {"00_welcome": WELCOME, "01_taxonomy": TAXONOMY, "02_models_data_hooks": HOOKS}


def main(out_dir: Path | None = None) -> list[Path]:
    """Write the three notebooks into ``out_dir`` (default: the repository's ``notebooks/``)."""
    out_dir = Path(out_dir) if out_dir is not None else ROOT / "notebooks"
    written = []
    for name, cells in NOTEBOOKS.items():
        path = write_notebook(out_dir / f"{name}.ipynb", cells)
        print("wrote", path)
        written.append(path)
    return written


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
