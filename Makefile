# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# The development and CI machines run PostgreSQL here; the same tests run against it.
POSTGRES_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: install run demo serve test test-sqlite test-postgres eval-smoke eval eval-corpus browser lint bench cma clean

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
	@echo "Advisor inbox: http://$(HOST):$(PORT)/inbox (sign in with the adv-li token above)."
	@echo "Serving the API on http://$(HOST):$(PORT) (docs at /docs). Demo tokens: the JSON above,"
	@echo "or run '$(BIN)/tierwise seed --demo > tokens.json' in another terminal. Try:"
	@echo "  curl -s -H 'Authorization: Bearer <adv-li token>' http://$(HOST):$(PORT)/v1/approvals"
	@echo "The README's walk-through triggers a run, watches its events and approves it."
	$(BIN)/tierwise serve --host $(HOST) --port $(PORT)

demo: install
	$(BIN)/tierwise demo

serve: install
	$(BIN)/tierwise serve --host $(HOST) --port $(PORT)

## test: install, lint (style, layering, types), run the tests on SQLite, then on PostgreSQL, then the
## smoke eval suite (its gate fails the build)
test: install browser lint test-sqlite test-postgres eval-smoke

test-sqlite: install
	$(BIN)/python -m pytest

# The whole suite again, every database test on a fresh PostgreSQL database of its own.
test-postgres: install
	TIERWISE_TEST_DATABASE_URL=$(POSTGRES_TEST_URL) $(BIN)/python -m pytest -q

## lint: ruff (style), import-linter (the layering, no cycles) and mypy --strict (pyproject.toml)
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

eval-smoke: install
	$(BIN)/tierwise eval run smoke --out artifacts/eval-smoke

## eval: the full eval suite, offline (report in evals/results/)
eval: install
	$(BIN)/tierwise eval run full

## eval-corpus: the request corpus as long-tail clients, figures per split (held-out counts)
eval-corpus: install
	$(BIN)/tierwise eval corpus --provider offline

# Debian's Chromium drives the inbox's browser tests (no browser download); the CJK fonts make
# the screenshots readable and the letter's PDF (WeasyPrint, on Pango) print Chinese; poppler's
# pdftotext and pdftoppm read that PDF back in the tests. Each is checked on its own, so a machine
# that already has Chromium still gets the rest. The machines run as root; elsewhere install
# these by hand.
BROWSER_PACKAGES := chromium fonts-noto-cjk poppler-utils libpango-1.0-0 libpangoft2-1.0-0
browser:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	for p in $(filter-out chromium,$(BROWSER_PACKAGES)); do \
		dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then apt-get update -qq && apt-get install -y -qq $$missing; fi

## bench: a full offline long-tail run against a bare 4-node graph (and its commits and rows per
## run), allocation before and after compiling problems once (with the plan comparison), the
## CLI's start-up and 1,200 generated plans (personalisation); bench_load.py measures decisions on PostgreSQL
bench: install
	$(BIN)/python benchmarks/bench_graph.py
	$(BIN)/python benchmarks/bench_allocation.py
	$(BIN)/python benchmarks/bench_cli.py
	$(BIN)/python benchmarks/bench_personalisation.py

## cma: re-derive the capital-market assumptions from ../shared/data
cma: install
	$(BIN)/python scripts/derive_cma.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis tierwise.db tierwise.db-*
