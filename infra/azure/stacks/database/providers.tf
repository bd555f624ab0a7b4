# Azure has no provider-wide default tags: every resource merges local.tags itself
# (tests/infra_azure checks that each one that takes tags sets them).
provider "azurerm" {
  subscription_id     = var.subscription_id
  storage_use_azuread = true

  features {}
}

# Writes the administrator's Key Vault secret through Azure Resource Manager (main.tf says why).
# It signs in like azurerm (the ARM_* variables of the shell or the pipeline).
provider "azapi" {
  subscription_id = var.subscription_id
}

locals {
  tags = merge(local.common_tags, { Stack = "database" })
}
