# leadops: `make run` to see scored segments, `make test` to run the suite, `make ui` for Dagster.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
LANDING ?= data/landing
WAREHOUSE ?= data/warehouse.duckdb
DEMO_LEADS ?= 5000
DAGSTER_HOME ?= $(CURDIR)/.dagster
SCALE ?= small

.PHONY: install install-dev prepare demo-data run test test-spark bench lint ui clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed-dev
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $@

$(VENV)/.installed-spark: pyproject.toml $(VENV)/.installed-dev
	$(BIN)/pip install --quiet -e '.[dev,spark]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

prepare: install
	$(BIN)/leadops prepare

$(DAGSTER_HOME)/dagster.yaml:
	mkdir -p $(DAGSTER_HOME)
	cp deploy/dagster.yaml $@

demo-data: install
	$(BIN)/leadops demo-data --leads $(DEMO_LEADS) --out $(LANDING) --if-empty

# The refresh never trains (the weekly retrain does), so the first run trains here when the data allows it.
run: prepare demo-data $(DAGSTER_HOME)/dagster.yaml
	DAGSTER_HOME=$(DAGSTER_HOME) $(BIN)/leadops run --landing $(LANDING) --warehouse $(WAREHOUSE)
	DAGSTER_HOME=$(DAGSTER_HOME) $(BIN)/leadops train --warehouse $(WAREHOUSE) --if-untrained

test: install-dev prepare
	$(BIN)/pytest

# The same dbt models on Spark (pyspark in this process), compared with the DuckDB build.
test-spark: $(VENV)/.installed-spark prepare
	$(BIN)/pytest tests/spark -m spark

# Every contender on the same generated data (SCALE=small|medium|large|all); results in bench/results/.
bench: $(VENV)/.installed-bench prepare
	$(BIN)/python -m bench --scale $(SCALE)

lint: install-dev prepare
	$(BIN)/ruff check leadops orchestration cli tests bench
	$(BIN)/ruff format --check leadops orchestration cli tests bench
	LEADOPS_WAREHOUSE=:memory: $(BIN)/sqlfluff lint dbt_project/models dbt_project/tests/singular
	VIRTUAL_ENV=$(abspath $(VENV)) $(BIN)/dg check defs

ui: prepare $(DAGSTER_HOME)/dagster.yaml
	DAGSTER_HOME=$(DAGSTER_HOME) LEADOPS_LANDING=$(abspath $(LANDING)) LEADOPS_WAREHOUSE=$(abspath $(WAREHOUSE)) \
		$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

clean:
	rm -rf $(VENV) dbt_project/target dbt_project/logs .pytest_cache
