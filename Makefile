# Bianmin — the two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy
PY ?= $(shell command -v python3.11 || command -v python3)
UV := $(PY) -m uv
VENV_PY := .venv/bin/python
STACK := $(VENV_PY) -m devstack
RUN_STOP_FILE ?= .local/make-run.pid

.PHONY: help deps kafka-fetch browser run demo test test-unit infra-up infra-down infra-wipe bench lint fmt clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

PORTAL_ASSETS := services/portal/node_modules/.package-lock.json

deps: .venv/.synced $(PORTAL_ASSETS) ## install Python dependencies into .venv (uv, from the committed lock) and the portal's npm packages

# The portal's front-end packages (htmx, axe-core for the accessibility test) from the npm
# registry, into services/portal/node_modules (git-ignored; the portal serves them itself).
$(PORTAL_ASSETS): services/portal/package.json services/portal/package-lock.json
	@command -v npm >/dev/null || { echo "npm is required for the portal's front-end packages (Debian: apt-get install npm)" >&2; exit 1; }
	@npm ci --prefix services/portal --no-audit --no-fund --loglevel=error >/dev/null
	@touch $@

browser: ## Debian's chromium and CJK fonts (browser tests), Pango (situation reports as PDF), installed when missing (root)
	@if [ ! -x /usr/bin/chromium ] || ! ldconfig -p | grep -q 'libpangoft2-1.0.so.0'; then \
	  if [ "$$(id -u)" != 0 ]; then echo "the browser tests and the PDF reports need: sudo apt-get install chromium fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0" >&2; exit 1; fi; \
	  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 >/dev/null; \
	fi

.venv/.synced: pyproject.toml uv.lock libs/*/pyproject.toml services/*/pyproject.toml tools/*/pyproject.toml
	@$(PY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required; found " + sys.version.split()[0])'
	@$(PY) -m uv --version >/dev/null 2>&1 || $(PY) -m pip install -q --disable-pip-version-check uv
	@$(UV) sync --all-packages --frozen --python $(PY) -q
	@touch $@

kafka-fetch: deps ## fetch the Kafka broker jars with Maven (cached)
	@$(STACK) fetch >/dev/null

run: $(RUN_STOP_FILE) ## bring the whole system up in the foreground (Ctrl-C stops all)

# make forwards SIGINT to nobody (it waits for its recipe), but on SIGINT, SIGTERM or SIGHUP it
# deletes the file its recipe was making: the supervisor writes this file and stops everything
# when it disappears, so a signal to make's PID alone stops `make run` (SIGTERM also reaches it
# directly). The file's prerequisites are phony, so the recipe runs every time.
$(RUN_STOP_FILE): deps kafka-fetch
	@$(STACK) run --stop-file $@

demo: deps ## play a realistic day against a running `make run`
	@$(STACK) demo $(DEMO_ARGS)

test: deps kafka-fetch browser ## run the whole suite against real Kafka and PostgreSQL
	@$(VENV_PY) -m pytest $(PYTEST_ARGS)

test-unit: deps ## only the pure unit tests (no servers)
	@$(VENV_PY) -m pytest -m unit $(PYTEST_ARGS)

infra-up: deps kafka-fetch ## start just Kafka and PostgreSQL (and create topics)
	@$(STACK) up

infra-down: ## stop the local Kafka and PostgreSQL
	@if [ -x $(VENV_PY) ]; then $(STACK) down; fi

infra-wipe: ## stop and delete all local data
	@$(STACK) wipe

bench: deps kafka-fetch ## run the benchmarks, write bench/results/latest.json
	@$(VENV_PY) -m bench $(BENCH_ARGS)

lint: deps ## ruff (lint + format check) and mypy on the libraries
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .
	@.venv/bin/mypy

fmt: deps ## apply ruff's fixes and formatting
	@.venv/bin/ruff check --fix . ; .venv/bin/ruff format .

clean: ## stop and delete local data, remove the venv and local state
	@if [ -x $(VENV_PY) ]; then $(STACK) wipe; fi
	rm -rf .venv .local .pytest_cache .ruff_cache .mypy_cache services/portal/node_modules
