# Parcours — the two commands of the README, and a few more.
#   make demo   set up, build the demo world, serve it on http://127.0.0.1:8000/
#   make test   set up (test tools and Debian's chromium included), run the whole suite

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV     := $(BIN)/uv

.PHONY: demo test venv venv-test chromium bench clean docs

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Parcours needs Python 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==0.13.9

$(VENV)/.runtime: $(BIN)/python requirements.lock pyproject.toml
	$(UV) pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

$(VENV)/.test: $(VENV)/.runtime requirements-test.lock
	$(UV) pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements-test.lock
	touch $@

venv: $(VENV)/.runtime
venv-test: $(VENV)/.test

demo: venv
	$(BIN)/parcours demo

# Browser tests drive Debian's chromium (no browser download): install it when missing and root.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium not found: browser tests will be skipped (apt-get install chromium)"; fi; }

test: venv-test chromium
	$(BIN)/python -m pytest

bench: venv-test
	$(BIN)/python benchmarks/run.py

docs: venv
	$(BIN)/python -m parcours.schema_doc > docs/data-model.md

clean:
	rm -rf $(VENV) data .pytest_cache
