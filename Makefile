# Working on lunge in place: see docs/development.md.
#   make dev         .venv with lunge installed editable (src/ is what `import lunge` loads)
#   make build       rebuild the Cython extensions into src/ after editing .pyx/.pxd or csrc/
#   make test-fast   the suite without the tests marked slow (about a minute)
#   make test        the whole suite, as CI runs it
#   make lint        ruff and mypy, as .ci/run runs them (docs/lint.md)
# ARGS passes extra pytest arguments: make test-fast ARGS="-x test_perf.py"

PYTHON ?= python3
VENV ?= .venv
VPY := $(abspath $(VENV))/bin/python
# From tests/, so that `import lunge` is the installed package (with `make dev`, src/ through
# the editable install; with `pip install .`, site-packages), never the checkout by accident.
PYTEST := cd tests && $(VPY) -m pytest -p no:cacheprovider

.PHONY: dev build test-fast test lint

dev:
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q "Cython>=3.3.0" "setuptools>=68" wheel
	$(VPY) -m pip install -q --no-build-isolation -e ".[test,lint]"

build:
	$(VPY) setup.py build_ext --inplace

test-fast:
	$(PYTEST) -m "not slow" $(ARGS)

test:
	$(PYTEST) $(ARGS)

# The same checks as .ci/run: their settings live in pyproject.toml.
lint:
	$(VPY) -m ruff check src tests benchmarks
	$(VPY) -m mypy
