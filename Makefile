# The verbs a newcomer types. Everything installs into .venv from the package registries.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint unit bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Run the main job on the built-in local account (moto + local Datadog API), table on screen, SARIF in out/.
demo: $(STAMP)
	$(BIN)/python -m auditor.demo --out out

## Lint, then the whole test suite (unit + end-to-end against local servers).
test: $(STAMP) lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

## Benchmarks (numbers, no verdicts): policy explanation, Datadog coverage, and `auditor scan` against a plain
## concurrent loop on a large local account. Full size: BENCH_ARGS="--scale 0.25,0.5,1,2 --workers 8,16,32".
BENCH_ARGS ?= --scale 1 --workers 8 --repeat 2

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_policy.py
	$(BIN)/python -m benchmarks.bench_coverage
	$(BIN)/python -m benchmarks.bench_scan $(BENCH_ARGS)

clean:
	rm -rf $(VENV) out build dist *.egg-info .pytest_cache .ruff_cache
