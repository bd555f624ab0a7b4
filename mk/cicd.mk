# CI/CD: the commands .github/workflows call, usable locally too.
# The workflows run these targets; they never re-implement them.

CICD_WORKFLOWS := $(wildcard .github/workflows/*.yml)
CICD_CHECKOV   := .venvs/checkov/bin/checkov
# checkov runs offline: no platform download, no mapping fetch. Terraform and the chart are
# scanned by their own areas' tests (inside `make test`), with their reviewed skip lists.
CICD_CHECKOV_ARGS := --quiet --compact --skip-download

.PHONY: cicd-lint
cicd-lint: bootstrap ## Lint the workflows: actionlint (+shellcheck), zizmor --offline (pedantic)
	$(VENV)/bin/actionlint -shellcheck $(VENV)/bin/shellcheck $(CICD_WORKFLOWS)
	$(VENV)/bin/zizmor --offline --persona pedantic --collect=workflows,dependabot .github/

.PHONY: cicd-security
cicd-security: cicd-lint ## Security scans: checkov (workflows, Dockerfile), hadolint, pip-audit of the app's and the rotation function's locks
	BC_SKIP_MAPPING=TRUE $(CICD_CHECKOV) $(CICD_CHECKOV_ARGS) --framework github_actions -d .github
	BC_SKIP_MAPPING=TRUE $(CICD_CHECKOV) $(CICD_CHECKOV_ARGS) --framework dockerfile -f app/Dockerfile
	$(VENV)/bin/hadolint app/Dockerfile
	@test -f app/requirements.lock || { echo "app/requirements.lock is missing" >&2; exit 1; }
	$(VENV)/bin/pip-audit --strict --progress-spinner off --disable-pip --require-hashes \
	  --requirement app/requirements.lock
	$(VENV)/bin/pip-audit --strict --progress-spinner off --disable-pip --require-hashes \
	  --requirement rotation/requirements.lock

.PHONY: cicd-test
cicd-test: bootstrap ## Run the CI/CD tests: workflow hygiene, linters, smoke test, deploy scripts
	$(PYTEST) tests/workflows $(PYTEST_ARGS)

.PHONY: smoke-test
smoke-test: ## Smoke-test a deployed release: make smoke-test URL=https://host [SCOPE=service SHA=.. VERSION=..]
	@test -n "$(URL)" || { echo "usage: make smoke-test URL=https://host [SCOPE=service [SHA=<git sha>] [VERSION=<x.y.z>]]" >&2; exit 2; }
	$(PY) scripts/smoke_test.py "$(URL)" $(if $(SCOPE),--scope "$(SCOPE)") $(if $(SHA),--expect-sha "$(SHA)") $(if $(VERSION),--expect-version "$(VERSION)")
