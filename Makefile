# revbridge — `make run` starts everything on the embedded sandboxes; `make test` runs every check.
# Both install what they need (uv, the Python environment) and start Redis and PostgreSQL when none
# answers (project-local servers under .tmp/).

SHELL := /bin/bash
export REDIS_URL ?= redis://127.0.0.1:6379/0
export DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/revbridge
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
PYTEST := $(UV) run --frozen pytest -p no:cacheprovider

.DEFAULT_GOAL := help
.PHONY: help install redis postgres browser run test lint typecheck imports test-unit test-contract test-integration \
        test-e2e contracts bench chaos clean

help: ## show the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

install: ## install uv if missing and create the environment from uv.lock
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@$(UV) sync --all-packages --frozen --quiet

redis: ## make sure a Redis answers at REDIS_URL (starts a project-local one with AOF if not)
	@scripts/ensure-redis.sh

postgres: ## make sure a PostgreSQL answers at DATABASE_URL (starts a project-local one if not)
	@scripts/ensure-postgres.sh

browser: ## Debian's chromium for the dashboard's browser test (installed once with apt-get, quietly)
	@[ -x /usr/bin/chromium ] || { echo "browser: installing Debian's chromium (once) ..."; \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); log=$$(mktemp); \
	  if ! { $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq \
	      --no-install-recommends chromium fonts-liberation; } >"$$log" 2>&1; \
	  then cat "$$log" >&2; rm -f "$$log"; exit 1; fi; rm -f "$$log"; }

run: install redis postgres ## start sandboxes, services, workers and gateway; seed the demo; Ctrl-C stops all
	@$(UV) run --frozen python -m scripts.stack run

test: install redis postgres lint typecheck imports test-unit test-contract test-integration test-e2e ## every check
	@echo "make test: all checks passed"

lint: install ## ruff lint and format check
	@$(UV) run --frozen ruff check .
	@$(UV) run --frozen ruff format --check .

typecheck: install ## mypy on every workspace member
	@$(UV) run --frozen mypy contracts/src db/src services/system-api/src services/process-api/src \
		services/experience-api/src gateway/src sandboxes/src scripts

imports: install ## import-linter: services independent, adapters independent, SDKs confined
	@$(UV) run --frozen lint-imports

test-unit: install ## unit tests (no I/O)
	@$(PYTEST) tests/unit -q

test-contract: install redis postgres ## contract tests: OpenAPI drift, AsyncAPI, schemathesis against the gateway and each service
	@$(PYTEST) tests/contract -q

test-integration: install redis postgres ## integration tests: real Redis and PostgreSQL, sandboxes over HTTP
	@$(PYTEST) tests/integration -q

test-e2e: install redis postgres browser ## end-to-end: the whole stack through the gateway, and the dashboard in Chromium
	@$(PYTEST) tests/e2e -q

contracts: install ## regenerate the component schemas of contracts/openapi from the canonical models
	@$(UV) run --frozen python -m revbridge_contracts.openapi_tools sync

chaos: install redis postgres ## chaos run: 5,000 invoices under faults, a worker SIGKILLed, Redis restarted, beside a naive copier
	@$(UV) run --frozen python -m scripts.chaos $(CHAOS_ARGS)

bench: install redis postgres ## benchmarks (print figures; not pass/fail)
	@for b in bench/*.py bench/sandboxes/*.py; do [ -e "$$b" ] && $(UV) run --frozen python "$$b"; done; true

clean: ## remove caches and local run state
	rm -rf .tmp .pytest_cache .mypy_cache .ruff_cache
