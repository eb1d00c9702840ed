# ontraport-mcp — every target installs what it needs first (`make install` is implied).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: install run sandbox test test-fast lint typecheck generate check-generated fuzz conformance bench bench-full clean

install: $(STAMP)

$(STAMP): pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -c "import sys; sys.path.insert(0, 'tests/conformance'); import harness; harness.ensure_suite()"
	touch $(STAMP)

run: install  ## the MCP server on the embedded sandbox, 127.0.0.1:8000
	$(VENV)/bin/ontraport-mcp serve --sandbox --host $(HOST) --port $(PORT)

sandbox: install  ## the Ontraport API emulator alone, 127.0.0.1:8081
	$(VENV)/bin/ontraport-mcp sandbox --host $(HOST) --port 8081

generate: install  ## regenerate generated/ from openapi/ and print what changed in the tool manifest
	$(PY) -m codegen

check-generated: install  ## fail when generated/ differs from what the generator makes
	$(PY) -m codegen --check

lint: install
	$(VENV)/bin/ruff check src overrides codegen tests bench
	$(VENV)/bin/ruff format --check src overrides codegen tests bench

typecheck: install
	$(VENV)/bin/mypy

test-fast: install  ## unit and end-to-end tests only
	$(VENV)/bin/pytest

test: install lint typecheck check-generated  ## everything CI runs
	$(VENV)/bin/pytest

bench: install
	$(PY) -m bench --quick

bench-full: install
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info src/*.egg-info
