# Set-up and checks. Both targets work on a fresh machine: they create .venv when missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# jlpm and jupyter-builder live in the venv: every node step runs with it first on PATH.
WITH_VENV := PATH=$(CURDIR)/$(VENV)/bin:$$PATH
# One lab-extension build at a time in this checkout (several people and tools build it).
BUILD_LOCK := flock /tmp/nbmlops-labbuild.lock

# The team store's tests run on DuckDB 1.5.5, the version its extensions are built for, in a venv of
# its own that sees .venv's packages (tests/make_team_venv.py says why).
TEAM_VENV := .venv-team
TEAM_PY := $(TEAM_VENV)/bin/python
TEAM_STAMP := $(TEAM_VENV)/.installed

LAB := labextension
LAB_BUILT := nbmlops/labextension/package.json
LAB_SOURCES := $(shell find $(LAB)/src $(LAB)/style -type f -not -path '*/__tests__/*' 2>/dev/null) \
	$(LAB)/package.json $(LAB)/tsconfig.json
LAB_INSTALLED := $(VENV)/share/jupyter/labextensions/nbmlops
UI_TESTS := $(LAB)/ui-tests
UI_DEPS := $(UI_TESTS)/node_modules/.yarn-state.yml
CHROMIUM := /usr/bin/chromium
LAB_PORT ?= 8888

.PHONY: demo test test-python test-team test-ts test-ui check-chromium check-postgres install labextension bench bench-peers bench-panel clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Builds the lab extension too (hatch-jupyter-builder runs jlpm from the build environment).
$(STAMP): $(PY) pyproject.toml
	$(WITH_VENV) $(BUILD_LOCK) $(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

$(TEAM_STAMP): $(STAMP) tests/make_team_venv.py
	$(PY) tests/make_team_venv.py $(TEAM_VENV)
	touch $(TEAM_STAMP)

## make labextension: rebuild the panel when labextension/src or style changed, and make Jupyter serve that build
$(LAB_BUILT): $(LAB_SOURCES) | $(STAMP)
	cd $(LAB) && $(WITH_VENV) $(BUILD_LOCK) sh -c 'jlpm install && jlpm build'

labextension: $(LAB_BUILT)
	@cmp -s $(LAB_INSTALLED)/package.json $(LAB_BUILT) || \
		$(WITH_VENV) $(BUILD_LOCK) $(VENV)/bin/jupyter labextension develop --overwrite .

## make demo: track several scikit-learn runs into ./.nbmlops, print the leaderboard, then open
## JupyterLab on that store with the panel (NO_LAB=1: stop after the leaderboard)
demo: $(STAMP)
	$(PY) -m nbmlops.demo
ifeq ($(filter-out 0,$(NO_LAB)),)
	@$(MAKE) --no-print-directory labextension
	@token=$$($(PY) -c 'import secrets; print(secrets.token_hex(24))'); \
	echo ""; \
	echo "Starting JupyterLab on this store: http://localhost:$(LAB_PORT)/lab?token=$$token"; \
	echo "The panel is the left sidebar icon \"Experiments\" (or the command palette: \"Open All Runs\", \"Open Model Registry\")."; \
	echo "Ctrl-C stops JupyterLab; NO_LAB=1 make demo skips this step; LAB_PORT=N picks another port."; \
	echo ""; \
	$(WITH_VENV) exec $(VENV)/bin/jupyter lab --no-browser --port $(LAB_PORT) --ServerApp.port_retries=0 \
		--IdentityProvider.token=$$token $$([ "$$(id -u)" = 0 ] && echo --allow-root)
endif

## make test: the lint gates first (make lint), then every test suite: Python, TypeScript (jest), browser (Galata on Chromium)
test: lint check-chromium check-postgres test-python test-team test-ts test-ui

check-postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || { echo "make test: the team store's tests run a throwaway PostgreSQL: install Debian's postgresql: apt-get update && apt-get install -y postgresql" >&2; exit 1; }

check-chromium:
	@test -x $(CHROMIUM) || { echo "make test: the browser tests need $(CHROMIUM): install Debian's chromium: apt-get update && apt-get install -y chromium" >&2; exit 1; }

test-python: $(STAMP) labextension
	$(PY) -m pytest --ignore=tests/test_team.py

## make test-team: the team store (PostgreSQL + S3) on DuckDB 1.5.5 in .venv-team
test-team: check-postgres $(TEAM_STAMP) labextension
	$(TEAM_PY) -m pytest tests/test_team.py tests/test_store_files.py

test-ts: labextension
	cd $(LAB) && $(WITH_VENV) jlpm test

## make lint: ruff, mypy, the layer contracts (import-linter), then eslint and prettier on the panel
.PHONY: lint
lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(VENV)/bin/lint-imports
	$(MAKE) lint-ts

.PHONY: lint-ts
lint-ts: $(STAMP)
	cd $(LAB) && $(WITH_VENV) sh -c 'jlpm install --immutable && jlpm lint'

$(UI_DEPS): $(UI_TESTS)/package.json $(UI_TESTS)/yarn.lock | $(STAMP)
	cd $(UI_TESTS) && $(WITH_VENV) PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 jlpm install
	touch $@

test-ui: check-chromium check-postgres labextension $(UI_DEPS) $(TEAM_STAMP)
	cd $(UI_TESTS) && $(WITH_VENV) jlpm playwright test
	cd $(UI_TESTS) && $(WITH_VENV) NBMLOPS_UI_VENV_BIN=$(CURDIR)/$(TEAM_VENV)/bin \
		$(CURDIR)/$(TEAM_PY) team_store.py jlpm playwright test

## make bench: performance figures, side by side with MLflow when it can be installed
bench: $(STAMP)
	$(PY) benchmarks/bench_core.py

## make bench-peers: the same workloads against trackio, MLflow (file, SQLite), DVCLive, Aim and W&B offline,
## each installed on first use in its own virtualenv under benchmarks/.peer-venvs (ARGS="--quick" for a smoke run)
bench-peers: $(STAMP)
	$(PY) benchmarks/bench_peers.py $(ARGS)

## make bench-panel: the panel in Chromium: 10,000 runs painted, a 1,000,000-point metric history drawn
bench-panel: check-chromium labextension $(UI_DEPS)
	$(WITH_VENV) $(PY) benchmarks/bench_panel.py

clean:
	rm -rf $(VENV) $(TEAM_VENV) .pytest_cache $(UI_TESTS)/test-results $(UI_TESTS)/playwright-report
