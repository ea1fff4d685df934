"""The teacher's side of the course: editions, the teaching guide, class plans, the site's pages.

The course's one source is ``notebooks/NN_slug.md`` in a checkout (``NN[b-z]?_slug``: a notebook
split in two keeps its number, the second part with a letter, ``11b_claims``). What the course's
scripts (``scripts/editions.py``, ``scripts/teaching_guide.py``, ``scripts/site.py``,
``scripts/slides.py``) and the grader share lives here, one concept per module:

* :mod:`~xai_tutor.teaching.solution_blocks`: the ``### BEGIN SOLUTION <key>`` markers, and a
  cell's student and teacher source;
* :mod:`~xai_tutor.teaching.guards`: which cells of the student edition wait for an exercise's
  answer, and the ``if solved(...)`` guard that makes Run All skip them;
* :mod:`~xai_tutor.teaching.editions`: the student and teacher editions, built and run;
* :mod:`~xai_tutor.teaching.syllabus`: the course's notebooks as the guide reads them (their
  identifiers, titles, prerequisites, exercises and reading times);
* :mod:`~xai_tutor.teaching.plans`: the class plans, their minutes and the rules they keep;
* :mod:`~xai_tutor.teaching.expected_values`: the answer probes of the teacher's run and what a
  run printed;
* :mod:`~xai_tutor.teaching.guide`: the generated pages of the guide (``docs/answers.md``,
  ``docs/timings.md``, the generated parts of ``docs/teaching.md``);
* :mod:`~xai_tutor.teaching.web_pages`: a notebook as the site and the slides show it, with the
  site's own MathJax.

Nothing is imported here: each module is imported where it is used (``jupytext``, ``nbconvert``
and the exercise checks are heavy).
"""
