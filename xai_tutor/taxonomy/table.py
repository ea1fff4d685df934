"""Table 1 of the paper as data: the four axes, the fourteen methods, the course's methods."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

STAGES = ("post-hoc", "ante-hoc")
DEPENDENCIES = ("model-specific", "model-agnostic")
EXPLANATION_TYPES = ("attribution", "hidden semantics", "rules", "example")

#: Column name -> human title, in display order.
COLUMNS = {
    "method": "Method",
    "stage": "Post-hoc / ante-hoc",
    "dependency": "Agnostic / specific",
    "explanation": "Explanation type",
    "reference": "Reference",
}


@dataclass(frozen=True)
class Method:
    """One row of the taxonomy.

    ``ref`` is the paper's reference number, ``reference`` the short citation, ``note`` a remark
    from the course (empty when the paper's classification is uncontroversial) and ``notebook``
    the course notebook that builds the method (``None`` when the course does not cover it).
    """

    method: str
    stage: str
    dependency: str
    explanation: str
    ref: str
    reference: str
    note: str = ""
    notebook: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


TABLE_1: tuple[Method, ...] = (
    Method("DeconvNet", "post-hoc", "model-specific", "attribution", "[46]",
           "Zeiler & Fergus 2014, Visualizing and understanding convolutional networks",
           notebook="03"),
    Method("DeepLIFT", "post-hoc", "model-specific", "attribution", "[33]",
           "Shrikumar et al. 2017, Learning important features through propagating activation "
           "differences"),
    Method("LRP", "post-hoc", "model-specific", "attribution", "[3]",
           "Bach et al. 2015, On pixel-wise explanations ... by layer-wise relevance propagation",
           notebook="04"),
    Method("LIME", "post-hoc", "model-agnostic", "attribution", "[28]",
           "Ribeiro et al. 2016, \"Why should I trust you?\""),
    Method("CAM", "post-hoc", "model-specific", "attribution", "[48]",
           "Zhou et al. 2016, Learning deep features for discriminative localization",
           notebook="05"),
    Method("Grad-CAM++", "post-hoc", "model-specific", "attribution", "[5]",
           "Chattopadhay et al. 2018, Grad-CAM++", notebook="07"),
    Method("Anchors", "post-hoc", "model-agnostic", "rules", "[29]",
           "Ribeiro et al. 2018, Anchors: high-precision model-agnostic explanations"),
    Method("Inversion using CNN", "post-hoc", "model-specific", "hidden semantics", "[18]",
           "Mahendran & Vedaldi 2015, Understanding deep image representations by inverting them"),
    Method("Visualization", "post-hoc", "model-specific", "hidden semantics", "[34, 10]",
           "Simonyan et al. 2013; Erhan et al. 2009 (activation maximisation)",
           note="[34] also introduced the gradient saliency map, an attribution method "
                "(notebook 02)"),
    Method("LSTMvis", "post-hoc", "model-specific", "hidden semantics", "[38]",
           "Strobelt et al. 2017, LSTMVis"),
    Method("Decision trees", "ante-hoc", "model-specific", "attribution", "[6]",
           "Craven & Shavlik 1995, Extracting tree-structured representations of trained networks",
           note="[6] extracts a tree from a trained network, which is post-hoc and usually "
                "counted as rules; a tree trained as the model itself is ante-hoc"),
    Method("Prediction Difference Analysis", "ante-hoc", "model-specific", "attribution", "[49]",
           "Zintgraf et al. 2017, Visualizing deep neural network decisions",
           note="PDA marginalises input patches of an already trained classifier, so most "
                "surveys call it post-hoc and model-agnostic"),
    Method("Bayesian Rule List", "ante-hoc", "model-agnostic", "rules", "[16]",
           "Letham et al. 2015, Interpretable classifiers using rules and Bayesian analysis"),
    Method("DeepRED", "ante-hoc", "model-agnostic", "rules", "[19]",
           "cited as Mataev et al. 2019 (DeepRED: deep image prior powered by RED)",
           note="the rule-extraction DeepRED is Zilke et al. 2016 (not in the bibliography); "
                "[19] is an unrelated image-restoration paper of the same name"),
)

#: The methods this course builds, classified with the same axes (all are local explanations).
COURSE_METHODS: tuple[Method, ...] = (
    Method("Gradient saliency", "post-hoc", "model-specific", "attribution", "[34]",
           "Simonyan et al. 2013, Deep inside convolutional networks", notebook="02"),
    TABLE_1[0],
    TABLE_1[2],
    TABLE_1[4],
    Method("Grad-CAM", "post-hoc", "model-specific", "attribution", "[31]",
           "Selvaraju et al. 2017, Grad-CAM", notebook="06"),
    TABLE_1[5],
    Method("XGrad-CAM", "post-hoc", "model-specific", "attribution", "[11]",
           "Fu et al. 2020, Axiom-based Grad-CAM", notebook="07"),
    Method("SmoothGrad", "post-hoc", "model-specific", "attribution", "[35]",
           "Smilkov et al. 2017, SmoothGrad", notebook="08",
           note="SmoothGrad wraps any gradient method; with gradients it is model-specific"),
    Method("SmoothGrad-CAM++", "post-hoc", "model-specific", "attribution", "[22]",
           "Omeiza et al. 2019, Smooth Grad-CAM++", notebook="08"),
    Method("FullGrad", "post-hoc", "model-specific", "attribution", "[36]",
           "Srinivas & Fleuret 2019, Full-gradient representation", notebook="09"),
    Method("Ablation-CAM", "post-hoc", "model-specific", "attribution", "[27]",
           "Ramaswamy et al. 2020, Ablation-CAM", notebook="10",
           note="gradient-free, but it still needs the activations of an inner layer"),
    Method("Score-CAM", "post-hoc", "model-specific", "attribution", "[45]",
           "Wang et al. 2019, Score-CAM", notebook="10"),
)

AXES = {
    "stage": STAGES,
    "dependency": DEPENDENCIES,
    "explanation": EXPLANATION_TYPES,
}

_SYNONYMS = {
    "posthoc": "post-hoc",
    "post hoc": "post-hoc",
    "antehoc": "ante-hoc",
    "ante hoc": "ante-hoc",
    "intrinsic": "ante-hoc",
    "self-explaining": "ante-hoc",
    "specific": "model-specific",
    "model specific": "model-specific",
    "agnostic": "model-agnostic",
    "model agnostic": "model-agnostic",
    "hidden-semantics": "hidden semantics",
    "hidden_semantics": "hidden semantics",
    "semantics": "hidden semantics",
    "rule": "rules",
    "examples": "example",
    "by example": "example",
    "by attribution": "attribution",
    "by rules": "rules",
}


def normalise_label(value: str) -> str:
    """Map a free-form label to the canonical one: ``"Post hoc"`` -> ``"post-hoc"``,
    ``"agnostic"`` -> ``"model-agnostic"``, ``"Hidden-Semantics"`` -> ``"hidden semantics"``.

    Unknown labels come back lower-cased and stripped, so callers can report them.
    """
    if not isinstance(value, str):
        raise TypeError(f"a taxonomy label must be a string such as 'post-hoc'; got {value!r}")
    key = " ".join(value.strip().lower().split())
    return _SYNONYMS.get(key, key)


def table(include_course: bool = False) -> list[dict[str, Any]]:
    """Table 1 of the paper as a list of dicts (one per row, keys as in :class:`Method`).

    With ``include_course=True`` the course's methods that Table 1 does not list (Grad-CAM,
    XGrad-CAM, SmoothGrad, ...) are appended.
    """
    rows = [m.as_dict() for m in TABLE_1]
    if include_course:
        seen = {r["method"] for r in rows}
        rows += [m.as_dict() for m in COURSE_METHODS if m.method not in seen]
    return rows


def filter_table(
    stage: str | None = None,
    dependency: str | None = None,
    explanation: str | None = None,
    rows: Sequence[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Rows of Table 1 matching every given criterion (``None`` means "any").

    Labels are normalised with :func:`normalise_label`, so ``"agnostic"`` works. An unknown label
    raises ``ValueError`` listing the valid ones.
    """
    if rows is None:
        rows = table()
    wanted: dict[str, str] = {}
    for axis, value in (("stage", stage), ("dependency", dependency),
                        ("explanation", explanation)):
        if value is None:
            continue
        label = normalise_label(value)
        if label not in AXES[axis]:
            raise ValueError(
                f"unknown {axis} {value!r}; choose one of: {', '.join(AXES[axis])}"
            )
        wanted[axis] = label
    return [dict(r) for r in rows if all(r[a] == v for a, v in wanted.items())]
