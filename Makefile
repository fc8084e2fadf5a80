# newsmon: `make run` runs the pipeline on the embedded default; `make test` runs the test suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= newsmon.yaml

.PHONY: run test test-unit bench install services-up services-down clean

$(BIN)/newsmon $(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(VENV)/.installed

install: $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/newsmon run -c $(CONFIG)

test: $(VENV)/.installed
	$(BIN)/python -m pytest -q

bench: $(VENV)/.installed
	$(BIN)/python bench/run.py

services-up:
	deploy/local/services.sh up all

services-down:
	deploy/local/services.sh down all

clean:
	rm -rf data/ build/ *.egg-info
