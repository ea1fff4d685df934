"""Table 1 of the paper as data, its filters, the interactive table and the quiz."""

from __future__ import annotations

import pytest

from xai_tutor import taxonomy as tx

# Table 1 of Ouadghiri (2022), transcribed from the paper: method | classification
PAPER_TABLE_1 = """
DeconvNet | Post-hoc, Model-specific, Attribution
DeepLIFT | Post-hoc, Model-specific, Attribution
LRP | Post-hoc, Model-specific, Attribution
LIME | Post-hoc, Model-agnostic, Attribution
CAM | Post-hoc, Model-specific, Attribution
Grad-CAM++ | Post-hoc, Model-specific, Attribution
Anchors | Post-hoc, Model-agnostic, Rules
Inversion using CNN | Post-hoc, Model-specific, Hidden-semantics
Visualization | Post-hoc, Model-specific, Hidden-semantics
LSTMvis | Post-hoc, Model-specific, Hidden-Semantics
Decision trees | Ante-hoc, Model-specific, Attribution
Prediction Difference Analysis | Ante-hoc, Model-specific, Attribution
Bayesian Rule List | Ante-hoc, Model-agnostic, Rules
DeepRED | Ante-hoc, Model-agnostic, Rules
"""
PAPER_REFS = ["[46]", "[33]", "[3]", "[28]", "[48]", "[5]", "[29]", "[18]", "[34, 10]", "[38]",
              "[6]", "[49]", "[16]", "[19]"]


def paper_rows() -> list[tuple[str, str, str, str]]:
    rows = []
    for line in PAPER_TABLE_1.strip().splitlines():
        name, kinds = (s.strip() for s in line.split("|"))
        stage, dep, typ = (k.strip() for k in kinds.split(","))
        rows.append((name, stage, dep, typ))
    return rows


def test_table_matches_the_paper_row_by_row() -> None:
    rows = tx.table()
    assert len(rows) == 14
    for row, (name, stage, dep, typ), ref in zip(rows, paper_rows(), PAPER_REFS):
        assert row["method"] == name
        assert row["stage"] == tx.normalise_label(stage)
        assert row["dependency"] == tx.normalise_label(dep)
        assert row["explanation"] == tx.normalise_label(typ)
        assert row["ref"] == ref
        assert set(row) >= {"method", "stage", "dependency", "explanation", "reference"}


def test_labels_are_canonical() -> None:
    for row in tx.table(include_course=True):
        assert row["stage"] in tx.STAGES
        assert row["dependency"] in tx.DEPENDENCIES
        assert row["explanation"] in tx.EXPLANATION_TYPES


def test_course_methods_are_appended_once() -> None:
    rows = tx.table(include_course=True)
    names = [r["method"] for r in rows]
    assert len(names) == len(set(names))
    for extra in ("Grad-CAM", "XGrad-CAM", "Score-CAM", "Ablation-CAM", "FullGrad",
                  "SmoothGrad", "SmoothGrad-CAM++", "Gradient saliency"):
        assert extra in names
    # everything the course builds is post-hoc, model-specific attribution
    for m in tx.COURSE_METHODS:
        assert (m.stage, m.dependency, m.explanation) == (
            "post-hoc", "model-specific", "attribution")
        assert m.notebook is not None and 2 <= int(m.notebook) <= 10


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"stage": "post-hoc", "dependency": "model-specific", "explanation": "attribution"},
         ["DeconvNet", "DeepLIFT", "LRP", "CAM", "Grad-CAM++"]),
        ({"dependency": "agnostic"}, ["LIME", "Anchors", "Bayesian Rule List", "DeepRED"]),
        ({"stage": "Ante hoc", "explanation": "Rules"}, ["Bayesian Rule List", "DeepRED"]),
        ({"explanation": "Hidden-Semantics"}, ["Inversion using CNN", "Visualization", "LSTMvis"]),
        ({"explanation": "example"}, []),
    ],
)
def test_filter_table(kwargs: dict, expected: list[str]) -> None:
    assert [r["method"] for r in tx.filter_table(**kwargs)] == expected


def test_filter_counts_add_up() -> None:
    for axis, values in (("stage", tx.STAGES), ("dependency", tx.DEPENDENCIES),
                         ("explanation", tx.EXPLANATION_TYPES)):
        assert sum(len(tx.filter_table(**{axis: v})) for v in values) == 14


def test_bad_labels_are_refused_with_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="post-hoc, ante-hoc"):
        tx.filter_table(stage="afterwards")
    with pytest.raises(TypeError, match="string"):
        tx.normalise_label(3)  # type: ignore[arg-type]


def test_html_table_escapes_and_counts() -> None:
    rows = tx.filter_table(dependency="model-agnostic")
    markup = tx.to_html(rows)
    assert markup.count("<tr>") == 1 + len(rows)
    assert "&quot;Why should I trust you?&quot;" in markup
    assert "4 method(s)" in markup
    assert "<sup>1</sup>" in markup  # DeepRED carries a note
    assert "no method matches" in tx.to_html([])


def test_widget_filters_follow_the_dropdowns() -> None:
    box = tx.taxonomy_table()
    assert len(box.rows) == 14
    drops = [w for hbox in box.children[:2] for w in hbox.children if hasattr(w, "options")]
    stage, dependency, explanation = drops
    stage.value = "post-hoc"
    dependency.value = "model-specific"
    explanation.value = "attribution"
    assert [r["method"] for r in box.rows] == ["DeconvNet", "DeepLIFT", "LRP", "CAM",
                                              "Grad-CAM++"]
    html_out = box.children[2].value
    assert "LIME" not in html_out and "DeepLIFT" in html_out
    search = box.children[1].children[1]
    search.value = "cam"
    assert [r["method"] for r in box.rows] == ["CAM", "Grad-CAM++"]
    with_course = tx.taxonomy_table(include_course=True)
    assert len(with_course.rows) > 14


def test_every_question_has_one_right_option_with_reasons() -> None:
    for q in tx.QUESTIONS:
        assert len(q.why) == len(q.options)
        results = [tx.check_answer(q.key, i) for i in range(len(q.options))]
        assert [fb.ok for fb in results] == [i == q.answer for i in range(len(q.options))]
        assert all(fb.message for fb in results)
        assert tx.check_answer(q.key, q.options[q.answer]).ok


def test_check_answer_errors() -> None:
    q = tx.QUESTIONS[0]
    assert not tx.check_answer(q.key, 99).ok
    assert "not one of the options" in tx.check_answer(q.key, "banana").message
    with pytest.raises(ValueError, match="no quiz question"):
        tx.check_answer("nope", 0)
    with pytest.raises(TypeError):
        tx.check_answer(q.key, 1.5)  # type: ignore[arg-type]


def test_quiz_widget_gives_immediate_feedback_and_score() -> None:
    box = tx.quiz()
    radios = [w for w in box.children if w.__class__.__name__ == "RadioButtons"]
    assert len(radios) == len(tx.QUESTIONS)
    score = box.children[-1]
    assert "0 / " in score.value
    q0 = tx.QUESTIONS[0]
    radios[0].value = q0.options[q0.answer]
    feedback = box.children[box.children.index(radios[0]) + 1]
    assert "Correct" in feedback.value
    assert f"1 / {len(tx.QUESTIONS)}" in score.value
    wrong = (q0.answer + 1) % len(q0.options)
    radios[0].value = q0.options[wrong]
    assert "Not yet" in feedback.value
    assert f"0 / {len(tx.QUESTIONS)}" in score.value


def test_the_taxonomy_package_imports_nothing_from_exercises() -> None:
    """Data and quiz sit below the exercises: no upward import."""
    import ast
    from pathlib import Path

    folder = Path(tx.__file__).parent
    assert {p.name for p in folder.glob("*.py")} >= {"table.py", "quiz.py", "__init__.py"}
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                name = "." * node.level + (node.module or "")
                assert "exercises" not in name, (path.name, name)
            elif isinstance(node, ast.Import):
                assert not any("exercises" in a.name for a in node.names), path.name


def test_quiz_answers_show_themselves() -> None:
    q = tx.QUESTIONS[0]
    right = tx.check_answer(q.key, q.answer)
    wrong = tx.check_answer(q.key, (q.answer + 1) % len(q.options))
    assert right and not wrong
    assert "Correct" in right._repr_html_() and "Not yet" in str(wrong)
    assert q.why[q.answer] in str(right)
