# Moongate: `make run` starts the demo, `make test` runs every test. Both set up what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test lint bench docs clean system-deps

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  echo "python3-venv is missing: installing it with apt"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv python3-dev >/dev/null; \
	  rm -rf $(VENV); $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

# The demo: the echo upstream on 127.0.0.1:9000 and the gateway on 0.0.0.0:8000.
run: setup
	@$(BIN)/moongate demo-upstream --listen 127.0.0.1:9000 & UP=$$!; \
	trap "kill $$UP 2>/dev/null" EXIT INT TERM; \
	$(BIN)/moongate start -c examples/kong.yml

# Every test (and the lint), from a clean clone.
test: setup
	$(BIN)/ruff check .
	$(BIN)/pytest -q

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Regenerate the PDK reference in sdk-docs/pdk/ from the docstrings.
docs: setup
	$(BIN)/python -m host.docsgen

# The plugin author's site: sdk-docs/ built by mkdocs (mkdocs.yml) into site/ (gitignored).
.PHONY: docs-site
docs-site: setup
	@$(BIN)/python -c "import mkdocs" 2>/dev/null || $(BIN)/pip install -q -e '.[docs]'
	$(BIN)/mkdocs build --strict

# Benchmarks (installs wrk and nginx with apt when missing); prints a table.
bench: setup
	@command -v wrk >/dev/null && command -v nginx >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx-light >/dev/null; }
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
