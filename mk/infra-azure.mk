# Infrastructure on Azure (infra/azure): docs/getting-started-azure.md. No azurerm provider binary
# runs here, so `terraform validate`, plan and apply never run for Azure in this repository.
#
#   make infra-azure-check   fmt, HCL parse, azurerm 5.10.0 schema check, checkov, invariants,
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
