"""A self-check quiz on the taxonomy, with immediate feedback on every option."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Answer:
    """The outcome of answering a quiz question: ``ok`` and why; truthy when right."""

    ok: bool
    message: str

    def __bool__(self) -> bool:
        return bool(self.ok)

    def __str__(self) -> str:
        return f"{'✅ Correct' if self.ok else '❌ Not yet'}: {self.message}"

    def _repr_html_(self) -> str:
        colour, head = ("#e6f4ea", "✅ Correct") if self.ok else ("#fdecea", "❌ Not yet")
        return (f"<div style='background:{colour};padding:6px 10px;border-radius:4px'>"
                f"<b>{head}</b>: {html.escape(self.message)}</div>")


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
    """An :class:`Answer` to question ``key``; ``choice`` is the option's index or its text."""

    q = _question(key)
    if isinstance(choice, str):
        if choice not in q.options:
            return Answer(False, f"{choice!r} is not one of the options: "
                                   f"{', '.join(map(repr, q.options))}")
        choice = q.options.index(choice)
    if isinstance(choice, bool) or not isinstance(choice, int):
        raise TypeError(f"choice must be an option index or its text; got {choice!r}")
    if not 0 <= choice < len(q.options):
        return Answer(False, f"option {choice} does not exist; pick 0..{len(q.options) - 1}")
    why = q.why[choice] if choice < len(q.why) else ""
    return Answer(choice == q.answer, why or ("Correct." if choice == q.answer else "Not quite."))


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
