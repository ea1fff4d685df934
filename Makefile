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

.PHONY: install install-test lab test test-offline test-imagenet lint experiment benchmark \
	benchmark-allocator clean

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

PYTEST_NB := -m pytest --nbval-lax --nbval-current-env --durations=25

# Two passes so that the result never depends on the weights a machine has cached:
# 1. the tests and every notebook on the offline trio (XAI_TUTOR_MODELS=offline);
# 2. every notebook, the explorer and a short experiment on the ImageNet trio (VGG16, ResNet18,
#    ResNet50) with stand-in weights: seeded random weights under torchvision's file names,
#    written by scripts/standin_weights.py into a temporary TORCH_HOME that is removed afterwards.
test: install-test
	$(VENV)/bin/ruff check xai_tutor tests benchmarks
	$(MAKE) --no-print-directory test-offline
	$(MAKE) --no-print-directory test-imagenet

test-offline: install-test
	XAI_TUTOR_MODELS=offline $(PY) $(PYTEST_NB) -m "not imagenet" tests notebooks

test-imagenet: install-test
	home=$$(mktemp -d) && trap 'rm -rf "$$home"' EXIT && \
	$(PY) scripts/standin_weights.py "$$home" && \
	XAI_TUTOR_MODELS=imagenet TORCH_HOME="$$home" XAI_TUTOR_STANDIN_HOME="$$home" \
		$(PY) $(PYTEST_NB) tests/test_imagenet_trio.py notebooks

lint: install-test
	$(VENV)/bin/ruff check xai_tutor tests benchmarks

experiment: install
	$(VENV)/bin/xai-tutor experiment --out results
	$(PY) scripts/results_readme.py results

benchmark: install-test
	$(PY) benchmarks/bench_methods.py

# the allocator thresholds both ways in one run (subprocesses without and with them)
benchmark-allocator: install-test
	env -u MALLOC_MMAP_THRESHOLD_ -u MALLOC_TRIM_THRESHOLD_ $(PY) benchmarks/bench_allocator.py

clean:
	rm -rf $(VENV) build *.egg-info test-output
