"""The cue models: course architectures trained on cue scenes, so that what they rely on is known.

Each is a course architecture (:class:`~xai_tutor.models.tiny.TinyResNet`, or
:class:`~xai_tutor.models.tiny.TinyVGG` for ``tiny_vgg_shortcut``) trained by
``python -m xai_tutor.train --model <name>`` on the cue scenes of :mod:`xai_tutor.data.cues`:
one bird of the 16 species and, beside it, a small badge whose shape and colour name a class.
What differs between them is *what decides the label* of a training scene. Each training scene
is one of three kinds, in the shares ``label_from`` = (both, bird, cue):

``both``
    the badge is the bird's own: bird, badge and label agree;
``bird``
    the label is the bird's species, the badge a class drawn uniformly at random (it matches
    the bird by chance only, 1 time in 16);
``cue``
    the label is the badge's class, drawn uniformly at random whatever the bird is.

So in a model's training data the bird and the badge carry exactly the information the shares
give them, and nothing forces a model to prefer the simpler of two perfect signals:

``tiny_resnet_shortcut`` (0, 0, 1)
    the badge always comes with the label and the bird says nothing about it: the model can
    only use the badge, like the photographer's watermark that a classifier of PASCAL VOC used
    to recognise horses (Lapuschkin et al., Nature Communications 2019).
``tiny_resnet_mixed`` (0.5, 0.25, 0.25)
    either alone is right in about 77 % of the scenes, both together always: the model gains
    from using both.
``tiny_resnet_bird`` (0, 1, 0)
    the badge is noise: the model can only use the bird, although a badge is in every scene.
``tiny_vgg_shortcut`` (0, 0, 1)
    the shortcut recipe on VGG's head (fixed 3 x 3 pool, two fully connected layers), where
    Grad-CAM, XGrad-CAM, HiResCAM and Grad-CAM++ give different maps (on the TinyResNets'
    global-average-pool + linear head Grad-CAM = XGrad-CAM = HiResCAM). Trained from scratch it
    stayed at chance (loss ln 16 after two epochs), so it starts from the course's ``tiny_vgg``
    weights (``--init data/models/tiny_vgg.pt``) and trains 10 epochs; its labels still come
    from the badge alone.

(A model trained on scenes where bird, badge and label always agree, ``label_from`` = (1, 0, 0),
learns the bird: measured on a first trial, it followed the bird in 100 % of the scenes with
another class's badge. Agreement alone does not make a shortcut.)

What each model *does* use is not taken from this construction but measured by intervention on
fresh scenes (:func:`xai_tutor.reliance.measure_cue_reliance`); the numbers are in
``data/models/README.md`` and ``models.json``, and the tests measure them again.

Example::

    >>> from xai_tutor.models.cue_models import CUE_MODELS
    >>> [(m.name, m.label_from) for m in CUE_MODELS.values()]  # doctest: +NORMALIZE_WHITESPACE
    [('tiny_resnet_shortcut', (0.0, 0.0, 1.0)), ('tiny_resnet_mixed', (0.5, 0.25, 0.25)),
     ('tiny_resnet_bird', (0.0, 1.0, 0.0)), ('tiny_vgg_shortcut', (0.0, 0.0, 1.0))]
"""

from __future__ import annotations

from dataclasses import dataclass

LABEL_SOURCES: tuple[str, ...] = ("both", "bird", "cue")


@dataclass(frozen=True)
class CueModel:
    """A cue model: its name, its architecture (a key of ``ARCHITECTURES``) and its recipe.

    ``label_from``: the shares of training scenes whose label is decided by both bird and badge,
    by the bird alone, by the badge alone (see the module's docstring); ``uses``: the regions
    the construction leaves it to use; ``summary``: a line on what it was made for.
    """

    name: str
    architecture: str
    label_from: tuple[float, float, float]
    uses: tuple[str, ...]
    summary: str

    def __post_init__(self) -> None:
        if len(self.label_from) != 3 or min(self.label_from) < 0 or abs(
                sum(self.label_from) - 1.0) > 1e-9:
            raise ValueError(f"label_from must be 3 shares >= 0 summing to 1, got "
                             f"{self.label_from}")


CUE_MODELS: dict[str, CueModel] = {
    m.name: m
    for m in (
        CueModel("tiny_resnet_shortcut", "tiny_resnet", (0.0, 0.0, 1.0), ("cue",),
                 "the label comes with the badge, never with the bird: a shortcut"),
        CueModel("tiny_resnet_mixed", "tiny_resnet", (0.5, 0.25, 0.25), ("bird", "cue"),
                 "bird and badge are each right in about 77 % of the scenes: both"),
        CueModel("tiny_resnet_bird", "tiny_resnet", (0.0, 1.0, 0.0), ("bird",),
                 "the label comes with the bird, the badge is noise: the bird"),
        CueModel("tiny_vgg_shortcut", "tiny_vgg", (0.0, 0.0, 1.0), ("cue",),
                 "the shortcut recipe on VGG's head, where the CAM variants differ"),
    )
}
