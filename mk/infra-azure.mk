# Infrastructure on Azure (infra/azure): docs/getting-started-azure.md. No azurerm provider binary
# runs here, so `terraform validate`, plan and apply never run for Azure in this repository.
#
#   make infra-azure-check   fmt, HCL parse, azurerm 5.10.0 and azapi 2.13.0 schema checks, checkov, invariants,
#                            network paths (NSG evaluator), global names, regions, drift against
#                            ignore_changes, pinned versions in support, fork settings, and the
#                            chart rendered with the AKS values (no cloud)

.PHONY: infra-azure-check
infra-azure-check: bootstrap ## Azure Terraform: fmt, schema, checkov, invariants, network paths, names, drift, versions (no cloud)
	$(PYTEST) tests/infra_azure tests/chart/test_aks.py tests/platform/test_versions.py \
		tests/infra/test_fork.py $(PYTEST_ARGS)

.PHONY: infra-azure-fmt
infra-azure-fmt: ## Azure Terraform: format every .tf and .tfvars file under infra/azure
	terraform fmt -recursive infra/azure

.PHONY: day-one-azure
day-one-azure: bootstrap ## The Azure walkthrough's phases in order: outputs, roles, feature waits, image tags (no cloud)
	$(PY) scripts/day_one.py --cloud azure

.PHONY: azure-delivery-check
azure-delivery-check: bootstrap ## Azure delivery: secret store, secret reach, both registries, day one as phases, login rotation (no cloud)
	$(PYTEST) tests/platform/test_secret_store.py tests/infra_azure/test_secret_reach.py \
		tests/workflows/test_both_registries.py \
		tests/infra_azure/test_day_one.py tests/chart/test_rotation.py tests/app/test_rotation.py \
		$(PYTEST_ARGS)
