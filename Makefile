# Two commands do all set-up on a fresh machine (see README.md):
#   make lab    install into .venv and open the course in JupyterLab (prints the URL; headless ok)
#   make test   install into .venv the same way and run the whole test suite (nbval included)

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
export MALLOC_MMAP_THRESHOLD_ ?= 33554432
export MALLOC_TRIM_THRESHOLD_ ?= 268435456

.PHONY: install install-test lab test test-fast lint experiment benchmark notebooks editions site guide clean

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
# edition), then one pytest run over the unit tests, the docstring examples and every notebook of
# the teacher edition under nbval (strict exercise checks, see conftest.py).
test: install-test lint editions site
	XAI_TUTOR_SITE=build/site $(PY) -m pytest tests build/teacher xai_tutor --doctest-modules \
		--nbval-lax --nbval-current-env --durations=25

# The quick loop while editing (under 2 minutes): unit tests and docstring examples, without the
# notebooks, the browser and the tests marked slow.
test-fast: install-test
	$(PY) -m pytest tests xai_tutor --doctest-modules -m "not slow and not browser" -q

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
	$(PY) scripts/editions.py teacher build/site-notebooks --execute
	$(PY) scripts/site.py build/site-notebooks build/site

# The teacher's answer key (docs/answers.md) and measured timings and class plans (docs/timings.md).
guide: site
	$(PY) scripts/teaching_guide.py build/site-notebooks/timings.json

experiment: install
	$(VENV)/bin/xai-tutor experiment --out results --force
	$(PY) scripts/results_readme.py results

benchmark: install-test
	$(PY) benchmarks/bench_methods.py

clean:
	rm -rf $(VENV) build *.egg-info test-output
