# Observability: SLO rules, alerts, Alertmanager config and dashboards.

.PHONY: observability-generate
observability-generate: ## Regenerate SLO rules + dashboards and copy them into the chart
	$(PY) observability/generate.py

.PHONY: observability-check
observability-check: ## Fail if generated observability files or chart copies are stale
	$(PY) observability/generate.py --check

.PHONY: observability-test
observability-test: ## Run the observability tests (promtool, amtool, dashboards, metrics)
	$(PYTEST) tests/observability $(PYTEST_ARGS)
