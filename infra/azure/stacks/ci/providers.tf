# Azure has no provider-wide default tags: every resource merges local.tags itself
# (tests/infra_azure checks that each one that takes tags sets them).
provider "azurerm" {
  subscription_id     = var.subscription_id
  storage_use_azuread = true

  features {}
}

locals {
  tags = merge(local.common_tags, { Stack = "ci" })
}
