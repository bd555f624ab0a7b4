################################################################################
# Network
################################################################################

resource "azurerm_resource_group" "this" {
  name     = "${local.name}-network"
  location = var.location

  tags = local.tags
}

module "network" {
  source = "../../modules/network"

  name                           = local.name
  resource_group_name            = azurerm_resource_group.this.name
  location                       = var.location
  address_space                  = var.address_space
  node_subnet_prefix             = cidrsubnet(var.address_space, 6, 0)
  private_endpoint_subnet_prefix = cidrsubnet(var.address_space, 8, 4)
  database_subnet_prefix         = cidrsubnet(var.address_space, 8, 5)
  nat_gateway_zone               = var.nat_gateway_zone

  tags = local.tags
}
