# Nightshift: two commands on a fresh machine, `make demo` and `make test`. Every install step lives here.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
# The suite runs on every core (pytest-xdist); `make test TEST_WORKERS=0` runs it in one process.
TEST_WORKERS ?= auto
# How the venv is installed; a change here (like the lock files) makes set-up install it again. The packages are
# compiled to bytecode at install (`uv pip sync --compile-bytecode`: all of site-packages, 18k files in ~16 s): uv
# leaves that to the first import, and where PYTHONDONTWRITEBYTECODE is set (this machine and CI) no import ever
# writes it, so every process compiled each module it imported again (`import great_expectations` 7.2 -> 3.5 s).
VENV_FORMAT := compiled-bytecode
# The stamp records which lock file the venv was built from, so set-up is a no-op when nothing changed.
STAMP := $(VENV)/.nightshift-installed-$(shell (sha256sum requirements.lock plugins/dbt-nightshift/pyproject.toml pyproject.toml 2>/dev/null; echo $(VENV_FORMAT)) | sha256sum | cut -c1-12)
export NIGHTSHIFT_HOME ?= $(CURDIR)/.nightshift
export AIRFLOW_HOME ?= $(NIGHTSHIFT_HOME)/airflow

.PHONY: help setup venv java spark-classes browser airflow-home demo test bench lint lock airflow clean

help:
	@echo "make demo   - set up, then run the nightly pipeline on generated data and show every output"
	@echo "make test   - set up, then run the test suite (on every core; TEST_WORKERS=0 for one process)"
	@echo "make browser- install headless Chromium and a CJK font (the report's screenshot test; part of make test)"
	@echo "make bench  - run the benchmarks and print figures (SCALE=users for the pipeline, default 100000; AREAS=pipeline,ingest,identity,tags,profile_build,segments,audience,reconcile,deliveries)"
	@echo "make airflow- start Airflow standalone with the project's DAGs"
	@echo "make lock   - re-resolve requirements.in into requirements.lock"

setup: venv java spark-classes airflow-home

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml plugins/dbt-nightshift/pyproject.toml
	@echo "==> Python environment in $(VENV) (from requirements.lock)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	@$(BIN)/uv pip sync --quiet --compile-bytecode --python $(BIN)/python requirements.lock
	@$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e . -e plugins/dbt-nightshift
	@rm -f $(VENV)/.nightshift-installed-*
	@touch $@
	@echo "    installed $$(wc -l < requirements.lock | tr -d ' ') lock lines; venv ready"

java:
	@if java -version 2>&1 | grep -q 'version "17'; then \
		echo "==> Java 17 present"; \
	else \
		echo "==> Installing Java 17 (openjdk-17-jre-headless) with apt"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; \
	fi

# The Spark driver's class archive for this Java and Spark (NIGHTSHIFT_SPARK_CLASS_CACHE): a short Spark job, once;
# every later Spark session then starts 3-5 s sooner.
spark-classes: venv java
	@echo "==> Spark class archive"
	@$(BIN)/nightshift spark-init

# Headless Chromium renders the HTML report to a screenshot in the tests (tests/reporting/): Debian's package, and
# a CJK font so the report's Chinese names (对账, 资损监控) render as text rather than boxes.
browser:
	@if [ -x /usr/bin/chromium ] && dpkg -s fonts-wqy-zenhei >/dev/null 2>&1; then \
		echo "==> Chromium present"; \
	else \
		echo "==> Installing Chromium and a CJK font (headless screenshots of the report) with apt"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-wqy-zenhei >/dev/null; \
	fi

airflow-home: venv
	@echo "==> Airflow home in $(AIRFLOW_HOME) (SQLite)"
	@$(BIN)/nightshift airflow-init

demo: setup
	@$(BIN)/nightshift demo

test: setup browser
	@echo "==> Running the test suite"
	@$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

bench: setup
	@$(BIN)/python -m bench $(if $(SCALE),--users $(SCALE),) $(if $(AREAS),--areas $(AREAS),)

lint: venv
	@$(BIN)/ruff check nightshift spark_jobs dags tests bench plugins
	@$(BIN)/ruff format --check nightshift spark_jobs dags tests bench plugins

lock:
	@test -x $(BIN)/uv || (test -x $(BIN)/python || $(PYTHON) -m venv $(VENV); $(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)")
	$(BIN)/uv pip compile requirements.in --python-version 3.11 --python-platform x86_64-manylinux_2_28 -o requirements.lock

airflow: setup
	@$(BIN)/nightshift airflow-standalone

clean:
	rm -rf .nightshift dbt_project/target dbt_project/logs
