"""Write notebooks/12_playground.ipynb (run: python scripts/build_notebook_12.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nbtools import code, md, write_notebook  # noqa: E402

cells = [
    md("""
    # 12 · Playground: every method, every layer, every bird

    The playground puts the whole course in one widget. Pick a bird scene (or generate a new one,
    or upload your own photo), a model, an explanation method, the layer it reads, the class it
    explains and how the map is drawn; move the method's own sliders; compare two methods side by
    side; download the figure as a PNG.

    **Learning objectives.** After this notebook you can
    - explore any method of the course on any image and model without writing code;
    - see how the choice of layer, class and parameters changes an explanation;
    - compare two methods on the same input and save the figure;
    - drive the explorer from Python (`explorer.method.value = ...`, `explorer.last_saliency`).

    **Prerequisites.** Notebooks 00-02 (models, scenes, hooks); the method notebooks 03-11 tell you
    what each method computes, this one lets you play with all of them.

    **Expected run time.** About 10-30 seconds for all cells with the offline course models; then
    as long as you like playing.
    """),
    md("""
    ## How to use the explorer

    - **image**: one of the three course scenes, a *generated scene* (choose its kind and
      seed), or an *uploaded file* (the upload button).
    - **model**: one of the course models.
    - **method**: every registered method; ⏱ marks the expensive ones.
    - **layer**: for the CAM family, only layers whose output is a 4-D feature map
      `(B, K, h, w)` are offered (found with one dry forward pass); pixel methods have no layer.
    - **class**: the model's top-5 predictions; or type any class index or name in the box
      next to it.
    - **view**: `heatmap` (colour over the image), `opacity` (important pixels shown, the rest
      fades out), `edges` (image edges drawn in proportion to importance).
    - **method sliders**: the method's own parameters (SmoothGrad noise and samples, LRP
      composite and epsilon/gamma, Score-CAM/Ablation-CAM batch size, variants).
    - **compare with**: a second method shown to the right of the first.

    Cheap methods update as soon as you release a control. Expensive ones (Score-CAM,
    Ablation-CAM, SmoothGrad, ...) wait for **Run**; the status line says how many forward passes
    they need, the bar shows progress, and **Cancel** stops them after the batch in flight.
    Results are cached, so going back to an earlier setting is instant. Mistakes (a file that is
    not an image, a class the model does not have) show up in red in the status line.
    """),
    code("""
    import xai_tutor
    from xai_tutor.widgets import Explorer, method_explorer

    models = xai_tutor.course_models()   # XAI_TUTOR_MODELS=offline forces the small offline models
    print("models:", list(models))
    print("methods:", sorted(xai_tutor.METHODS))
    """),
    code("""
    explorer = Explorer(models=models)
    explorer
    """),
    md("""
    ### Things to try

    1. Switch between `gradcam` and `gradcampp` on the *flock* scene: which one lights up every
       bird, and which only the strongest?
    2. Pick an early layer for Grad-CAM: the map gets sharper but less class-specific. Why?
    3. Type the name of a species that is *not* in the picture into the class box.
    4. Choose `scorecam`, press **Run**, watch the progress bar, and try **Cancel**.

    Everything the widget shows is also available from Python:
    """),
    code("""
    explorer.method.value = "gradcampp"          # same as choosing it in the dropdown
    explorer.representation.value = "opacity"
    print("message:", repr(explorer.message))
    print("saliency:", explorer.last_saliency.shape, float(explorer.last_saliency.max()))
    print("explained class:", explorer.class_names[int(explorer.last_explanation.target[0])])
    print("PNG bytes:", len(explorer.png()))
    """),
    md("""
    ## Two methods side by side

    `compare=` starts the explorer in compare mode: both methods explain the same class of the same
    image with the same model (and the same layer, where both use one).
    """),
    code("""
    pair = Explorer(models=models, method="gradcam", compare="gradient")
    pair.image.value = "scene:pair"
    pair
    """),
    md("""
    The method notebooks use a compact explorer with the method fixed:
    """),
    code("""
    small = method_explorer("gradcam", models=models)
    small
    """),
    md("""
    ## Summary

    - The explorer lets you change one thing at a time (image, model, method, layer, class,
      parameter) and see what it does to an explanation.
    - CAM methods read one layer: only layers with 4-D feature maps make sense, and the deeper the
      layer, the coarser and more class-specific the map.
    - Expensive perturbation methods (Score-CAM, Ablation-CAM) run on demand with a progress bar
      and can be cancelled; everything else updates live and is cached.

    ## Further reading

    - The ipywidgets documentation: https://ipywidgets.readthedocs.io
    - Adebayo et al. (2018), *Sanity Checks for Saliency Maps*: why a map that looks right may
      not depend on the model at all - try it here by comparing layers and classes.
    - The method notebooks 03-11 of this course, and `xai_tutor/widgets/explorer.py` for how the
      explorer works.
    """),
]
write_notebook(Path(__file__).resolve().parents[1] / "notebooks" / "12_playground.ipynb", cells)
