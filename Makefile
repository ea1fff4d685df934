# Two commands do all set-up on a fresh machine (see README.md):
#   make lab    install into .venv and open the course in JupyterLab (prints the URL; headless ok)
#   make test   install into .venv the same way and run the whole test suite (nbval included)

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
LAB_PORT ?= 8888
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: install install-test lab test lint experiment benchmark clean

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

test: install-test
	$(VENV)/bin/ruff check xai_tutor tests benchmarks
	$(PY) -m pytest tests notebooks --nbval-lax --nbval-current-env --durations=25

lint: install-test
	$(VENV)/bin/ruff check xai_tutor tests benchmarks

experiment: install
	$(VENV)/bin/xai-tutor experiment --out results

benchmark: install-test
	$(PY) benchmarks/bench_methods.py

clean:
	rm -rf $(VENV) build *.egg-info test-output
