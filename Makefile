# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run demo serve test lint bench cma clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## run: install, run the demo on SQLite with the offline model, then serve the API
run: install
	$(BIN)/tierwise demo
	@echo ""
	@echo "Serving the API on http://$(HOST):$(PORT) (docs at /docs). Tokens: the JSON above,"
	@echo "or '$(BIN)/tierwise seed --demo'. Try:"
	@echo "  curl -s -H 'Authorization: Bearer <adv-li token>' http://$(HOST):$(PORT)/v1/approvals"
	$(BIN)/tierwise serve --host $(HOST) --port $(PORT)

demo: install
	$(BIN)/tierwise demo

serve: install
	$(BIN)/tierwise serve --host $(HOST) --port $(PORT)

## test: install, lint, check formatting, run the tests
test: install lint
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## bench: latency of a full offline long-tail run against a bare 4-node graph
bench: install
	$(BIN)/python benchmarks/bench_graph.py

## cma: re-derive the capital-market assumptions from ../shared/data
cma: install
	$(BIN)/python scripts/derive_cma.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis tierwise.db tierwise.db-*
