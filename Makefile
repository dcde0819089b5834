# Two commands on a fresh machine with only Python 3.11+ and make:
#   make demo   the example site over HTTP and its zone over DNS, on loopback
#   make test   ruff, mypy and the whole pytest suite
# Both create .venv when it is missing or older than pyproject.toml, and build the one C
# part (cohttp/ws/_mask.c, optional: without a compiler the pure-Python twin serves).

PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; \
	then echo $$p; break; fi; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PACKAGES := backends cohttp dns uri re_engine
DEMO_ARGS ?=
PYTEST_ARGS ?=

.PHONY: demo test lint typecheck pytest bench clean

$(STAMP): pyproject.toml setup.py cohttp/ws/_mask.c
	@test -n "$(PYTHON)" || { echo "make: Python 3.11 or newer is needed on PATH (python3.11, python3.12, ...)" >&2; exit 1; }
	@if [ ! -x $(BIN)/python ] || ! $(BIN)/python -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then \
		rm -rf $(VENV); echo "creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); fi
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $@

demo: $(STAMP)
	$(BIN)/python examples/demo.py $(DEMO_ARGS)

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .hypothesis build *.egg-info cohttp/ws/_mask.*.so
