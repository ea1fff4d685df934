"""The paper's taxonomy of explanation methods (its Table 1) as data, a filterable table and a quiz.

Ouadghiri (2022), section 2, sorts explanation methods along four axes:

* **stage**: *post-hoc* (explain a trained model's results after the fact) or *ante-hoc*
  (intrinsic, self-explaining: the explanation is built into the model);
* **dependency**: *model-agnostic* (needs only inputs and predictions) or *model-specific*
  (needs the model's insides: gradients, activations, weights);
* **scope**: *local* (one prediction) or *global* (the model as a whole);
* **explanation type** (after Zhang et al. 2021): by *example*, by *attribution*, with *hidden
  semantics*, or by *rules*.

Table 1 of the paper classifies fourteen popular methods along stage, dependency and type. It is
reproduced here exactly as printed; where the printed entry is debatable, the ``note`` field says
so (reading a survey critically is part of the course).

Example::

    >>> from xai_tutor.taxonomy import filter_table
    >>> [row["method"] for row in filter_table(dependency="model-agnostic", explanation="rules")]
    ['Anchors', 'Bayesian Rule List', 'DeepRED']
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "Method",
    "TABLE_1",
    "COURSE_METHODS",
    "STAGES",
    "DEPENDENCIES",
    "EXPLANATION_TYPES",
    "COLUMNS",
    "table",
    "filter_table",
    "normalise_label",
    "to_html",
    "taxonomy_table",
    "Question",
    "QUESTIONS",
    "check_answer",
    "quiz",
]

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

_AXES = {
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
        if label not in _AXES[axis]:
            raise ValueError(
                f"unknown {axis} {value!r}; choose one of: {', '.join(_AXES[axis])}"
            )
        wanted[axis] = label
    return [dict(r) for r in rows if all(r[a] == v for a, v in wanted.items())]


def to_html(rows: Sequence[dict[str, Any]], notes: bool = True) -> str:
    """An HTML table of ``rows`` (the columns of :data:`COLUMNS`, plus the notes as footnotes)."""
    head = "".join(
        f"<th style='text-align:left;padding:2px 8px'>{html.escape(t)}</th>"
        for t in COLUMNS.values()
    )
    body = []
    marks: list[str] = []
    for r in rows:
        cells = []
        for key in COLUMNS:
            text = html.escape(str(r[key]))
            if key == "reference":
                text = f"{html.escape(r['ref'])} {text}"
            if key == "method" and notes and r.get("note"):
                marks.append(f"{r['method']}: {r['note']}")
                text += f"<sup>{len(marks)}</sup>"
            cells.append(f"<td style='text-align:left;padding:2px 8px'>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    if not rows:
        body.append(f"<tr><td colspan='{len(COLUMNS)}'><i>no method matches these filters"
                    "</i></td></tr>")
    foot = "".join(f"<li>{html.escape(m)}</li>" for m in marks)
    notes_html = f"<ol style='font-size:smaller'>{foot}</ol>" if foot else ""
    return (f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            f"<p>{len(rows)} method(s)</p>{notes_html}")


def taxonomy_table(include_course: bool = False) -> Any:
    """An interactive Table 1: one dropdown filter per axis and a text search on the name.

    Returns an ``ipywidgets.VBox``; display it as the last expression of a notebook cell. The
    current selection is available as ``widget.rows`` (a list of dicts), so code can read what
    the learner filtered.
    """
    import ipywidgets as widgets

    rows = table(include_course=include_course)
    any_ = "(any)"
    drops = {
        axis: widgets.Dropdown(options=(any_,) + values, value=any_,
                               description=COLUMNS[axis].split(" /")[0] if axis != "explanation"
                               else "Type",
                               layout=widgets.Layout(width="260px"))
        for axis, values in _AXES.items()
    }
    drops["stage"].description = "Stage"
    drops["dependency"].description = "Dependency"
    search = widgets.Text(placeholder="search a method name", description="Name",
                          layout=widgets.Layout(width="260px"))
    out = widgets.HTML()
    box = widgets.VBox([widgets.HBox(list(drops.values())[:2]),
                        widgets.HBox([drops["explanation"], search]), out])

    def refresh(_change: Any = None) -> None:
        crit = {a: (None if d.value == any_ else d.value) for a, d in drops.items()}
        sel = filter_table(rows=rows, **crit)
        needle = search.value.strip().lower()
        if needle:
            sel = [r for r in sel if needle in r["method"].lower()]
        box.rows = sel
        out.value = to_html(sel)

    for d in drops.values():
        d.observe(refresh, names="value")
    search.observe(refresh, names="value")
    refresh()
    return box


# --------------------------------------------------------------------------------------- quiz


@dataclass(frozen=True)
class Question:
    """A multiple-choice question; ``why`` gives, per option, why it is right or wrong."""

    key: str
    prompt: str
    options: tuple[str, ...]
    answer: int
    why: tuple[str, ...] = field(default_factory=tuple)


QUESTIONS: tuple[Question, ...] = (
    Question(
        "gradcam_axes",
        "Grad-CAM weights the feature maps of a CNN's last convolutional layer by the gradient "
        "of the class score. How is it classified?",
        ("post-hoc, model-agnostic", "post-hoc, model-specific", "ante-hoc, model-specific"),
        1,
        ("It needs the gradients and activations of an inner layer, which a black box does not "
         "give you: that makes it model-specific.",
         "Right: it runs after training (post-hoc) and needs the CNN's insides (model-specific).",
         "Grad-CAM does not change how the model is built or trained, so it is not ante-hoc."),
    ),
    Question(
        "lime_agnostic",
        "LIME perturbs the input, watches how the predictions change and fits a simple surrogate "
        "model. Why is it model-agnostic?",
        ("It only needs the model's predictions for chosen inputs.",
         "It only works for linear models.",
         "It is trained together with the model."),
        0,
        ("Right: predictions on perturbed inputs are all it asks for, so any model will do.",
         "The surrogate is linear, but the explained model can be anything.",
         "That would make it ante-hoc; LIME is applied to an already trained model."),
    ),
    Question(
        "tree_antehoc",
        "A shallow decision tree is trained as the classifier itself and its splits are shown "
        "to the user. What kind of explanation is this?",
        ("post-hoc", "ante-hoc (intrinsic)", "model-agnostic attribution"),
        1,
        ("Post-hoc would mean explaining a model after the fact; here the model is its own "
         "explanation.",
         "Right: the explanation is the model's structure, built in from the start.",
         "The tree's splits belong to this one kind of model, and they are rules rather than "
         "an attribution map."),
    ),
    Question(
        "local_global",
        "A heatmap showing which pixels made the network say 'flamingo' for one photo is ...",
        ("a local explanation", "a global explanation"),
        0,
        ("Right: it explains one prediction on one input.",
         "A global explanation describes the model as a whole, e.g. what a neuron detects over "
         "the whole data set."),
    ),
    Question(
        "hidden_semantics",
        "You synthesise the image that maximally excites channel 42 of a conv layer to see what "
        "it detects. Which explanation type is this?",
        ("by example", "by attribution", "with hidden semantics", "by rules"),
        2,
        ("Explaining by example would show a similar training case.",
         "Attribution scores parts of one input; here nothing is scored.",
         "Right: it explains what a hidden unit represents.",
         "No logical rule is extracted."),
    ),
    Question(
        "course_focus",
        "Which family does this course (and the paper) focus on?",
        ("post-hoc, model-specific methods for images",
         "ante-hoc rule learners",
         "model-agnostic methods for text"),
        0,
        ("Right: DeconvNet, LRP and the CAM family all read a trained CNN's insides.",
         "Rule learners appear in Table 1, but the paper's section 3 is about post-hoc methods.",
         "The paper is about computer vision and model-specific methods."),
    ),
)


def _question(key: str) -> Question:
    for q in QUESTIONS:
        if q.key == key:
            return q
    raise ValueError(f"no quiz question {key!r}; keys: {', '.join(q.key for q in QUESTIONS)}")


def check_answer(key: str, choice: int | str) -> Any:
    """Feedback (see :class:`xai_tutor.exercises.Feedback`) on answering ``choice`` to question
    ``key``; ``choice`` is the option's index or its text."""
    from .exercises.core import Feedback

    q = _question(key)
    if isinstance(choice, str):
        if choice not in q.options:
            return Feedback(False, f"{choice!r} is not one of the options: "
                                   f"{', '.join(map(repr, q.options))}")
        choice = q.options.index(choice)
    if isinstance(choice, bool) or not isinstance(choice, int):
        raise TypeError(f"choice must be an option index or its text; got {choice!r}")
    if not 0 <= choice < len(q.options):
        return Feedback(False, f"option {choice} does not exist; pick 0..{len(q.options) - 1}")
    why = q.why[choice] if choice < len(q.why) else ""
    return Feedback(choice == q.answer, why or ("Correct." if choice == q.answer else "Not quite."))


def quiz(keys: Sequence[str] | None = None) -> Any:
    """A self-check quiz with immediate feedback (an ``ipywidgets.VBox``).

    Each question is a set of radio buttons; choosing an option shows at once whether it is right
    and why. A score line at the bottom counts the correct answers.
    """
    import ipywidgets as widgets

    questions = [_question(k) for k in keys] if keys is not None else list(QUESTIONS)
    score = widgets.HTML()
    state: dict[str, bool] = {}
    items: list[Any] = []

    def update_score() -> None:
        score.value = (f"<b>Score: {sum(state.values())} / {len(questions)}</b>"
                       f" ({len(state)} answered)")

    for n, q in enumerate(questions, 1):
        radio = widgets.RadioButtons(options=list(q.options), value=None,
                                     layout=widgets.Layout(width="auto"))
        feedback = widgets.HTML()

        def on_change(change: Any, q: Question = q, feedback: Any = feedback) -> None:
            if change["new"] is None:
                return
            fb = check_answer(q.key, change["new"])
            state[q.key] = fb.ok
            feedback.value = fb._repr_html_()
            update_score()

        radio.observe(on_change, names="value")
        items.append(widgets.HTML(f"<b>{n}. {html.escape(q.prompt)}</b>"))
        items += [radio, feedback]
    update_score()
    return widgets.VBox(items + [score])
