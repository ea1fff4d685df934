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

The package: :mod:`.table` (the data), :mod:`.browse` (HTML table, interactive filter) and
:mod:`.quiz` (questions and the quiz widget). It imports nothing from :mod:`xai_tutor.exercises`.
"""

from __future__ import annotations

from .browse import taxonomy_table, to_html
from .quiz import QUESTIONS, Answer, Question, check_answer, quiz
from .table import (
    COLUMNS,
    COURSE_METHODS,
    DEPENDENCIES,
    EXPLANATION_TYPES,
    STAGES,
    TABLE_1,
    Method,
    filter_table,
    normalise_label,
    table,
)

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
    "Answer",
    "QUESTIONS",
    "check_answer",
    "quiz",
]
