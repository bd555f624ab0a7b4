################################################################################
# Registry
################################################################################

resource "azurerm_resource_group" "this" {
  name     = "${local.name}-registry"
  location = var.location

  tags = local.tags
}

module "acr" {
  source = "../../modules/acr"

  name                          = local.registry_name
  resource_group_name           = azurerm_resource_group.this.name
  location                      = var.location
  public_network_access_enabled = var.public_network_access_enabled
  untagged_retention_days       = var.untagged_retention_days

  tags = local.tags
}
