# Infrastructure (Terraform on AWS): docs/infrastructure.md.
#
#   make infra-validate               fmt, validate, mock tests, checkov, docs sync (no cloud)
#   make infra-emulator               apply/re-plan/destroy every stack on moto (no cloud)
#   make rotation-package             the rotation Lambda's zip (build/rotation-lambda.zip)
#   make infra-bootstrap ENV=staging  once per account: the state bucket
#   make infra ENV=staging            plan each stack in order, apply after confirmation
#   make infra-destroy ENV=staging    destroy the stacks in reverse order, each confirmed
#   make day-one-rehearsal            the walkthrough's phases in order, stacks on the emulator
#   make fork-sync                    write project.toml's github_repository everywhere it is named

ENV ?=
TF_WRAPPER := scripts/terraform/tf
TF_STACKS  := scripts/terraform/stacks

.PHONY: infra-validate
infra-validate: bootstrap ## Terraform: fmt, validate, mock tests, checkov, README sync (no cloud)
	$(PYTEST) tests/infra -m "not emulator" $(PYTEST_ARGS)

.PHONY: rotation-package
rotation-package: bootstrap ## The rotation Lambda's zip: handler, pinned driver, RDS CA checked by SHA-256 (build/rotation-lambda.zip)
	$(PY) -m test_app_tooling.rotation_package --out build/rotation-lambda.zip

.PHONY: infra-emulator
infra-emulator: bootstrap ## Terraform: apply, re-plan and destroy every stack on the AWS emulator
	$(PY) scripts/terraform/emulator_roundtrip.py

.PHONY: day-one-rehearsal
day-one-rehearsal: bootstrap ## The walkthrough's phases in order (docs/getting-started.phases.yaml), stacks applied on the AWS emulator
	$(PY) scripts/day_one.py --emulator

.PHONY: infra-docs
infra-docs: ## Terraform: regenerate the module README input/output tables
	$(PY) scripts/terraform/module_docs.py

.PHONY: fork-sync
fork-sync: ## Write infra/envs/project.toml's github_repository wherever the repository names itself (chart, CODEOWNERS, runbook links)
	$(PY) -m test_app_tooling.fork

.PHONY: infra-fmt
infra-fmt: ## Terraform: format every .tf and .tfvars file
	$(TF_WRAPPER) fmt -recursive infra

.PHONY: infra-bootstrap
infra-bootstrap: ## Terraform: create the state bucket of an account (ENV=staging|prod, real AWS)
	$(if $(ENV),,$(error ENV is required: make $@ ENV=staging|prod))
	$(TF_STACKS) bootstrap $(ENV)

.PHONY: infra
infra: ## Terraform: plan and apply every stack in order (ENV=staging|prod, real AWS)
	$(if $(ENV),,$(error ENV is required: make $@ ENV=staging|prod))
	$(TF_STACKS) apply $(ENV)

.PHONY: infra-plan
infra-plan: ## Terraform: plan every stack of an environment (ENV=staging|prod, real AWS)
	$(if $(ENV),,$(error ENV is required: make $@ ENV=staging|prod))
	$(TF_STACKS) plan $(ENV)

.PHONY: infra-destroy
infra-destroy: ## Terraform: destroy every stack in reverse order (ENV=staging|prod, real AWS)
	$(if $(ENV),,$(error ENV is required: make $@ ENV=staging|prod))
	$(TF_STACKS) destroy $(ENV)
