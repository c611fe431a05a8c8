# Set-up and checks. Both targets work on a fresh machine: they create .venv when missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test install bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## make demo: track several scikit-learn runs into ./.nbmlops and print the leaderboard
demo: $(STAMP)
	$(PY) -m nbmlops.demo

## make test: every test suite of the project
test: $(STAMP)
	$(PY) -m pytest

## make bench: performance figures, side by side with MLflow when it can be installed
bench: $(STAMP)
	$(PY) benchmarks/bench_core.py

clean:
	rm -rf $(VENV) .pytest_cache
