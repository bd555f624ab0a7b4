# test-app: one entry point for every job. `make help` lists the targets.
#
# The README's two commands:
#   make up     bring up the local production rehearsal (installs what it needs)
#   make test   run every test tier (installs what it needs); .ci/run calls this
#
# Each area adds its own targets in mk/<area>.mk.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules --no-print-directory

VENV   := .venv
PY     := $(VENV)/bin/python
PYTEST := $(VENV)/bin/pytest
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

# Extra pytest arguments, e.g. `make test-fast PYTEST_ARGS="-k health -x"`.
PYTEST_ARGS ?=

.PHONY: help
help: ## List the targets, grouped by area (colour only on a terminal without NO_COLOR)
	@color=0; if [[ -t 1 && -z "$${NO_COLOR:-}" ]]; then color=1; fi; \
	  awk -v color="$$color" -f scripts/make_help.awk $(HELP_FILES) $(HELP_FILES)

.PHONY: bootstrap
bootstrap: ## Install Debian packages and Python environments (safe to rerun)
	@scripts/bootstrap

.PHONY: lint
lint: bootstrap ## Lint and type-check the Python code
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

.PHONY: test
test: bootstrap lint ## Lint, then every test tier (what CI runs, .ci/run)
	$(PYTEST) $(PYTEST_ARGS)

.PHONY: test-fast
test-fast: bootstrap ## Everything except the slow tiers (emulator, rehearsal)
	$(PYTEST) -m "not emulator and not rehearsal" $(PYTEST_ARGS)

# LOCK_ARGS=--upgrade moves the unpinned (transitive) packages to their newest releases too.
LOCK_ARGS ?=
UV_COMPILE := $(VENV)/bin/uv pip compile --universal --python-version 3.11 --generate-hashes --quiet $(LOCK_ARGS)

.PHONY: lock
lock: bootstrap ## Regenerate every lock file (hashes, all platforms): app/requirements.lock, rotation/requirements.lock, requirements/*.lock
	$(UV_COMPILE) --no-header app/pyproject.toml -o app/requirements.lock
	sed -i '1i # The app image installs exactly these (pip --require-hashes). Regenerate with `make lock`.' app/requirements.lock
	$(UV_COMPILE) --custom-compile-command "make lock" \
	  requirements/dev.txt app/pyproject.toml tooling/pyproject.toml rotation/pyproject.toml \
	  -o requirements/dev.lock
	$(VENV)/bin/uv pip compile --python-version 3.13 --python-platform aarch64-manylinux2014 \
	  --only-binary :all: --generate-hashes --quiet --no-header $(LOCK_ARGS) \
	  rotation/pyproject.toml -o rotation/requirements.lock
	sed -i '1i # The rotation Lambda bundles exactly these (Python 3.13, arm64; pip --require-hashes --only-binary). Regenerate with `make lock`.' rotation/requirements.lock
	for req in requirements/venv-*.txt; do \
	  $(UV_COMPILE) --custom-compile-command "make lock" "$$req" -o "$${req%.txt}.lock"; \
	done

-include mk/*.mk

HELP_FILES := Makefile $(sort $(wildcard mk/*.mk))
