# carenav: two commands for a fresh machine — `make demo` and `make test`. The rest are their parts.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VENDOR := src/carenav/web/static/vendor
DEMO_DB := var/carenav.db
DEMO_PATIENTS ?= 2000
DEMO_DIRECTORY ?= ../shared/data/hsds/open211-miami
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test install assets check prereqs serve bench clean peers

demo: install assets ## install, load a demo population into var/carenav.db, serve on :8000
	$(BIN)/carenav db upgrade
	$(BIN)/carenav demo load --patients $(DEMO_PATIENTS) $(if $(wildcard $(DEMO_DIRECTORY)),--directory $(DEMO_DIRECTORY))
	$(BIN)/carenav serve --host $(HOST) --port $(PORT)

test: install assets prereqs peers check ## install and run the whole suite (both databases, the browser)
	$(BIN)/python -m pytest

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==25.3
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# --- peers: comorbidipy (Python >= 3.13) in a venv of its own, for the cross-check test and bench/stratify.py
PEERS_PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) python3.13)
PEERS_VENV := .venv-peers
PEERS_STAMP := $(PEERS_VENV)/.installed

peers: $(PEERS_STAMP) ## the peer packages' venv (.venv-peers, from requirements-peers.txt)

$(PEERS_STAMP): requirements-peers.txt
	test -x $(PEERS_VENV)/bin/python || $(PEERS_PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/python -m pip install --quiet --upgrade pip==25.3
	$(PEERS_VENV)/bin/python -m pip install --quiet -r requirements-peers.txt
	touch $(PEERS_STAMP)
# --- end peers

assets: $(VENDOR)/.stamp

$(VENDOR)/.stamp: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/
	cp node_modules/@picocss/pico/css/pico.min.css $(VENDOR)/
	cp node_modules/chart.js/dist/chart.umd.min.js $(VENDOR)/
	touch $@

prereqs: ## under CI: make sure PostgreSQL runs and Chromium is installed (never skip)
	bash scripts/prereqs.sh

check: install ## ruff, mypy, import-linter
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

serve: install assets
	$(BIN)/carenav serve --host $(HOST) --port $(PORT)

bench: install peers ## every benchmark (long: bench/worklist.py alone seeds 100,000 patients twice)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/synth.py
	$(BIN)/python bench/stratify.py --patients 20000
	$(BIN)/python bench/worklist.py

clean:
	rm -rf $(VENV) $(PEERS_VENV) node_modules $(VENDOR) var .pytest_cache .mypy_cache .ruff_cache
