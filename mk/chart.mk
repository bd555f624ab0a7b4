# Kubernetes delivery: the test-app Helm chart (charts/test-app) and the platform add-ons
# (platform/). No helm binary or cluster is needed for the checks: the chart is rendered with
# Helm's own engine (helm-python-sdk). docs/deployment.md walks through a real install.

CHART_VALUES ?= charts/test-app/ci/default-values.yaml
CLUSTER      ?= test-app-staging
REGION       ?= eu-central-1
VPC_ID       ?= vpc-00000000

.PHONY: chart-test
chart-test: ## Render, lint, validate (Kubernetes 1.36 schemas, strict), checkov and invariant-test the chart and platform/
	$(PYTEST) tests/chart tests/platform $(PYTEST_ARGS)

.PHONY: chart-readme
chart-readme: bootstrap ## Regenerate the parameters table of charts/test-app/README.md from values.yaml's ## comments
	$(PY) -m test_app_tooling.chart_readme

.PHONY: chart-template
chart-template: ## Print the chart rendered with Helm's engine (CHART_VALUES=file[,file...])
	@$(PY) -m test_app_tooling.chart_template "$(CHART_VALUES)"

.PHONY: platform-plan
platform-plan: ## Print the add-on install plan (CLUSTER=, REGION=, VPC_ID=); needs no helm or cluster
	$(PY) platform/install.py --cluster-name $(CLUSTER) --region $(REGION) --vpc-id $(VPC_ID) --dry-run

.PHONY: platform-install
platform-install: ## Install the add-ons into the current kubectl context (CLUSTER=, REGION=, VPC_ID=)
	$(PY) platform/install.py --cluster-name $(CLUSTER) --region $(REGION) --vpc-id $(VPC_ID)
