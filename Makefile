# Two commands do all set-up on a fresh machine (see README.md):
#   make lab    install into .venv and open the course in JupyterLab (prints the URL; headless ok)
#   make test   install into .venv the same way and run the whole test suite (nbval included),
#               twice for the notebooks: on the offline trio, then on the ImageNet trio

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
LAB_PORT ?= 8888
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

# glibc malloc tuning for every command below (JupyterLab kernels, tests, experiment, benchmark):
# keep blocks up to 32 MiB on the heap and hand freed memory back to the OS only beyond 256 MiB,
# so that CPU forward passes reuse memory instead of page-faulting fresh pages for every batch
# (measured: Score-CAM on EfficientNet-Lite0 14.5 s -> 8.1 s, ResNet50 forward 26.5 -> 23.5 ms
# per image at batch 8). Other C libraries ignore these variables; set them to override.
# `import xai_tutor` sets the same two thresholds through mallopt (xai_tutor/_malloc.py), so
# Python started any other way gets them too.
export MALLOC_MMAP_THRESHOLD_ ?= 33554432
export MALLOC_TRIM_THRESHOLD_ ?= 268435456

.PHONY: install install-test lab test test-offline test-imagenet test-fast lint experiment \
	benchmark benchmark-allocator notebooks editions site guide slides grade help clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PIP) install -e ".[test]"
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

lab: install
	$(VENV)/bin/jupyter lab --no-browser --ip=127.0.0.1 --port=$(LAB_PORT) $(ROOT_FLAG) \
		--ServerApp.root_dir=notebooks --LabApp.default_url=/lab/tree/00_welcome.ipynb

# The whole suite: lint, the notebook pairs, both editions, the course site (executes the teacher
# edition), then two passes so that the result never depends on the weights a machine has cached:
# 1. test-offline: the unit tests, the docstring examples and every notebook of the teacher edition
#    under nbval (strict exercise checks, see conftest.py) on the offline trio;
# 2. test-imagenet: every notebook of the teacher edition, the explorer and a short experiment on
#    the ImageNet trio (VGG16, ResNet18, ResNet50) with stand-in weights: seeded random weights
#    under torchvision's file names, written by scripts/standin_weights.py into a temporary
#    TORCH_HOME that is removed afterwards.
test: install-test lint editions site
	$(MAKE) --no-print-directory test-offline
	$(MAKE) --no-print-directory test-imagenet

test-offline: install-test editions
	XAI_TUTOR_MODELS=offline XAI_TUTOR_SITE=build/site $(PY) -m pytest tests build/teacher \
		xai_tutor --doctest-modules -m "not imagenet" --nbval-lax --nbval-current-env --durations=25

test-imagenet: install-test editions
	home=$$(mktemp -d) && trap 'rm -rf "$$home"' EXIT && \
	$(PY) scripts/standin_weights.py "$$home" && \
	XAI_TUTOR_MODELS=imagenet TORCH_HOME="$$home" XAI_TUTOR_STANDIN_HOME="$$home" \
		$(PY) -m pytest tests/test_imagenet_trio.py build/teacher --nbval-lax --nbval-current-env \
		--durations=25

# The quick loop while editing (under 2 minutes): unit tests and docstring examples, without the
# notebooks, the browser, the ImageNet trio and the tests marked slow.
test-fast: install-test
	XAI_TUTOR_MODELS=offline $(PY) -m pytest tests xai_tutor --doctest-modules \
		-m "not slow and not browser and not imagenet" -q

lint: install-test
	$(VENV)/bin/ruff check xai_tutor tests benchmarks scripts
	$(PY) scripts/notebooks.py check

# notebooks/NN_slug.md is the source: after editing it outside JupyterLab, update the .ipynb.
notebooks: install-test
	$(PY) scripts/notebooks.py sync

# build/student (solutions removed) and build/teacher (solutions shown) from notebooks/*.md.
editions: install-test
	$(PY) scripts/editions.py student build/student
	$(PY) scripts/editions.py teacher build/teacher

# The course as a static site in build/site (open build/site/index.html): the teacher edition is
# run and rendered with its outputs.
site: install-test
	XAI_TUTOR_MODELS=$${XAI_TUTOR_MODELS:-offline} $(PY) scripts/editions.py teacher build/site-notebooks --execute
	$(PY) scripts/site.py build/site-notebooks build/site

# The teacher's answer key with the values of the run (docs/answers.md), the measured timings and
# class plans (docs/timings.md) and the exercise lists of docs/teaching.md.
guide: site
	$(PY) scripts/teaching_guide.py build/site-notebooks/timings.json

# reveal.js slides of the executed teacher edition in build/slides (offline; open index.html).
slides: site
	$(PY) scripts/slides.py build/site-notebooks build/slides

SUBMISSIONS ?= submissions
GRADES ?= grades
TIMEOUT ?= 600
# Grade learners' notebooks (make grade SUBMISSIONS=folder [GRADES=grades] [TIMEOUT=600]): each
# runs in a fresh kernel and temporary folder; writes GRADES/grades.csv and GRADES/grades.html.
grade: install
	$(PY) -m xai_tutor grade "$(SUBMISSIONS)" --out "$(GRADES)" --timeout $(TIMEOUT)

# The targets and what they do: the first line of the comment above each target.
help:
	@awk '/^# / {if (!c) c = substr($$0, 3); next} \
	     /^[a-z-]+:/ {if (c) {split($$0, t, ":"); printf "  make %-20s %s\n", t[1], c}} {c = ""}' \
	     $(firstword $(MAKEFILE_LIST))

experiment: install
	$(VENV)/bin/xai-tutor experiment --out results --force
	$(PY) scripts/results_readme.py results

benchmark: install-test
	$(PY) benchmarks/bench_methods.py

# the allocator thresholds both ways in one run (subprocesses without and with them)
benchmark-allocator: install-test
	env -u MALLOC_MMAP_THRESHOLD_ -u MALLOC_TRIM_THRESHOLD_ $(PY) benchmarks/bench_allocator.py

clean:
	rm -rf $(VENV) build *.egg-info test-output
