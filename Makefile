# ontraport-mcp — every target installs what it needs first.
#   `make run` needs only the runtime (Python packages from PyPI: no npm, no development tools);
#   `make test` and the other development targets also install the development extras and the
#   Node clients the tests drive (conformance suite, TypeScript SDK client, MCP Inspector).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
RUNTIME_STAMP := $(VENV)/.runtime-stamp
DEV_STAMP     := $(VENV)/.dev-stamp
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: install install-dev run sandbox test test-fast lint typecheck generate check-generated bench bench-full clean

install: $(RUNTIME_STAMP)  ## the runtime only: enough for `make run`

install-dev: $(DEV_STAMP)  ## the runtime, the development extras and the Node test clients

$(RUNTIME_STAMP): pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -e .
	touch $(RUNTIME_STAMP)

$(DEV_STAMP): $(RUNTIME_STAMP) tests/conformance/harness.py tests/clients/package.json tests/clients/package-lock.json
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -c "import sys; sys.path.insert(0, 'tests/conformance'); import harness; harness.ensure_suite()"
	$(PY) -c "from tests.clients.install import ensure_clients; ensure_clients()"
	touch $(DEV_STAMP)

run: install  ## the MCP server on the embedded sandbox, 127.0.0.1:8000
	$(VENV)/bin/ontraport-mcp serve --sandbox --host $(HOST) --port $(PORT)

sandbox: install  ## the Ontraport API emulator alone, 127.0.0.1:8081
	$(VENV)/bin/ontraport-mcp sandbox --host $(HOST) --port 8081

generate: install-dev  ## regenerate generated/ from openapi/ and print what changed
	$(PY) -m codegen

check-generated: install-dev  ## fail when generated/ differs from what the generator makes
	$(PY) -m codegen --check

lint: install-dev
	$(VENV)/bin/ruff check src overrides codegen tests bench
	$(VENV)/bin/ruff format --check src overrides codegen tests bench

typecheck: install-dev  ## mypy over src/, generated/, overrides/ and codegen/
	$(PY) -m codegen.typecheck

test-fast: install-dev  ## unit and end-to-end tests only
	$(VENV)/bin/pytest

test: install-dev lint typecheck check-generated  ## everything CI runs
	$(VENV)/bin/pytest

bench: install-dev
	$(PY) -m bench --quick

# the figures of bench-full are judged against this commit, measured in the same run (the tip
# before the one-path redesign, issue #15); `make bench-full BASELINE=` leaves it out
BASELINE ?= e687479
bench-full: install-dev
	$(PY) -m bench $(if $(BASELINE),--baseline $(BASELINE))

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info src/*.egg-info
