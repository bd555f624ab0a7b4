# Inputs every Azure stack shares; the values come from infra/azure/envs/<env>/<stack>.tfvars.

variable "environment" {
  description = "Environment of the stack. Valid values are `staging` and `prod`; resource names are `test-app-<environment>`."
  type        = string

  validation {
    condition     = contains(["staging", "prod"], var.environment)
    error_message = "environment must be staging or prod."
  }
}

variable "location" {
  description = "Azure region of the stack. It must have three availability zones, PostgreSQL zone-redundant HA open to new servers, and a paired region that is not access-restricted (geo-redundant backup): `westeurope` (default, Netherlands, paired with North Europe) qualifies; `germanywestcentral` does not (new zone-redundant HA servers blocked, pair Germany North access-restricted). infra/azure/regions.yaml holds the facts and their sources; docs/getting-started-azure.md, phase 1, checks a region before use."
  type        = string
  default     = "westeurope"

  validation {
    condition     = can(regex("^[a-z]+[0-9]?$", var.location))
    error_message = "location must be an Azure region name such as westeurope."
  }
}

variable "subscription_id" {
  description = "Subscription the stack runs against. Null (default) takes `ARM_SUBSCRIPTION_ID` from the environment."
  type        = string
  default     = null

  validation {
    condition     = var.subscription_id == null || can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", coalesce(var.subscription_id, "-")))
    error_message = "subscription_id must be a subscription GUID."
  }
}

variable "unique_name" {
  description = "The unique part of every globally unique name (state storage account, registry, Key Vault, PostgreSQL servers): `azure.unique_name` of infra/envs/project.toml, handed over by scripts/terraform/project_vars.py. 3 to 7 lower-case letters and digits, starting with a letter."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{2,6}$", var.unique_name))
    error_message = "unique_name must be 3 to 7 lower-case letters and digits, starting with a letter (infra/envs/project.toml, azure.unique_name)."
  }
}

variable "tags" {
  description = "Extra tags for every resource (the stack adds Project, Environment, Stack and ManagedBy)."
  type        = map(string)
  default     = {}
  nullable    = false
}

locals {
  name = "test-app-${var.environment}"

  # Names Azure wants unique across all customers carry the project's unique part and the
  # environment, so staging and prod can share a subscription (rules and sources:
  # infra/azure/global-names.yaml, checked by tests/infra_azure/test_global_names.py).
  global_name                = "${var.unique_name}-test-app-${var.environment}"
  registry_name              = "${var.unique_name}testapp${var.environment}"
  key_vault_name             = "${var.unique_name}-test-app-${var.environment}"
  state_storage_account_name = "${var.unique_name}tfstate${var.environment}"
  state_resource_group_name  = "${local.name}-tfstate"

  common_tags = merge(var.tags, {
    Project     = "test-app"
    Environment = var.environment
    ManagedBy   = "terraform"
  })
}
