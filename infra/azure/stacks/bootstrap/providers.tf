# Azure has no provider-wide default tags: every resource merges local.tags itself
# (tests/infra_azure checks that each one that takes tags sets them).
provider "azurerm" {
  subscription_id     = var.subscription_id
  storage_use_azuread = true

  # Everything here goes through Azure Resource Manager (containers by storage_account_id), so a
  # changed operator address does not lock the stack out of its own plan (the account's
  # firewall guards only the data plane).
  features {
    storage {
      data_plane_available = false
    }
  }
}

locals {
  tags = merge(local.common_tags, { Stack = "bootstrap" })
}
