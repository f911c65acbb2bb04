# Set-up and checks. `make demo` and `make test` work on a fresh machine with Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install interop demo test lint types pytest eval bench lock clean

install: $(STAMP)

# The venv is rebuilt from the lock whenever the lock or the project metadata changes.
$(STAMP): requirements-dev.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "sre-agent needs Python 3.11+, found " + sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

# Independent MCP servers from PyPI and npm that the bridge's interoperability tests talk to, each
# from a hashed lock file. Installed once (stamp files); when one cannot be installed its tests skip
# and say why, so a machine without npm still runs everything else.
INTEROP_VENV := .venv-interop
INTEROP_STAMP := $(INTEROP_VENV)/.installed
INTEROP_NODE := tests/interop/node
INTEROP_NODE_STAMP := $(INTEROP_NODE)/node_modules/.installed

interop: $(INTEROP_STAMP) $(INTEROP_NODE_STAMP)

# mcp-server-time needs mcp 2.x, so it gets its own venv; the bridge (mcp 1.x) talks to it over stdio.
$(INTEROP_STAMP): tests/interop/requirements.lock
	@test -x $(INTEROP_VENV)/bin/python || $(PYTHON) -m venv $(INTEROP_VENV)
	@$(INTEROP_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r $< \
	  && touch $@ || echo "warning: could not install mcp-server-time into $(INTEROP_VENV); its tests will skip"

$(INTEROP_NODE_STAMP): $(INTEROP_NODE)/package-lock.json $(INTEROP_NODE)/package.json
	@if command -v npm >/dev/null 2>&1; then \
	  (cd $(INTEROP_NODE) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) && touch $@ \
	    || echo "warning: npm ci failed in $(INTEROP_NODE); the server-everything tests will skip"; \
	else echo "note: npm not found; the server-everything tests will skip"; fi

demo: $(STAMP)
	$(BIN)/sre-agent demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) interop
	$(BIN)/pytest -q

test: lint types pytest

eval: $(STAMP)
	$(BIN)/sre-agent eval

bench: $(STAMP)
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# Regenerates both lock files (needs network and `uv`; pip-tools works the same way).
lock:
	uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes --no-header -o requirements.lock
	uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 --generate-hashes --no-header -o requirements-dev.lock

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
