data "azurerm_client_config" "current" {}

################################################################################
# State storage
################################################################################

resource "azurerm_resource_group" "this" {
  name     = local.state_resource_group_name
  location = var.location

  tags = local.tags
}

module "state_storage" {
  source = "../../modules/state-storage"

  name                       = local.state_storage_account_name
  resource_group_name        = azurerm_resource_group.this.name
  location                   = var.location
  replication_type           = var.state_replication_type
  soft_delete_retention_days = var.state_soft_delete_retention_days
  allowed_ip_ranges          = var.state_allowed_ip_ranges

  tags = local.tags
}

# Shared keys are off, so whoever runs Terraform reads and leases state blobs with Entra ID.
resource "azurerm_role_assignment" "state_operator" {
  scope                = module.state_storage.storage_container_id
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = data.azurerm_client_config.current.object_id
}
