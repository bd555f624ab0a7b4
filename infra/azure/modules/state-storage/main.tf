locals {
  create = var.create
}

################################################################################
# Storage account
################################################################################

resource "azurerm_storage_account" "this" {
  #checkov:skip=CKV2_AZURE_1:Infrastructure encryption (two layers of platform keys) is on; a customer key would need a Key Vault before the first state exists
  #checkov:skip=CKV2_AZURE_33:Operators and CI reach the state from outside any VNet; the network rules deny everything but `allowed_ip_ranges` and trusted Azure services
  #checkov:skip=CKV_AZURE_59:Public network access stays on so the listed IP ranges can reach the state; the network rules deny every other address
  #checkov:skip=CKV_AZURE_33:The state account has no queue service in use
  count = local.create ? 1 : 0

  name                = var.name
  resource_group_name = var.resource_group_name
  location            = var.location

  account_kind             = "StorageV2"
  account_tier             = "Standard"
  account_replication_type = var.replication_type
  access_tier              = "Hot"

  min_tls_version                   = "TLS1_2"
  https_traffic_only_enabled        = true
  shared_access_key_enabled         = false
  default_to_oauth_authentication   = true
  allow_nested_items_to_be_public   = false
  cross_tenant_replication_enabled  = false
  infrastructure_encryption_enabled = true
  local_user_enabled                = false
  sftp_enabled                      = false
  public_network_access             = "Enabled"

  blob_properties {
    versioning_enabled  = true
    change_feed_enabled = true

    delete_retention_policy {
      days = var.soft_delete_retention_days
    }

    container_delete_retention_policy {
      days = var.soft_delete_retention_days
    }
  }

  network_rules {
    default_action = "Deny"
    bypass         = ["AzureServices"]
    ip_rules       = var.allowed_ip_ranges
  }

  sas_policy {
    expiration_period = "01.00:00:00"
    expiration_action = "Log"
  }

  tags = merge(var.tags, var.storage_account_tags)
}

################################################################################
# Container
################################################################################

resource "azurerm_storage_container" "this" {
  #checkov:skip=CKV2_AZURE_21:Blob read logging needs a Log Analytics workspace per account; the activity log records every control-plane change
  count = local.create ? 1 : 0

  name                  = var.container_name
  storage_account_id    = azurerm_storage_account.this[0].id
  container_access_type = "private"
}

################################################################################
# Delete lock
################################################################################

resource "azurerm_management_lock" "this" {
  count = local.create && var.create_delete_lock ? 1 : 0

  name       = "${var.name}-no-delete"
  scope      = azurerm_storage_account.this[0].id
  lock_level = "CanNotDelete"
  notes      = "Holds the Terraform state of every stack; remove this lock on purpose before deleting."
}
