locals {
  create = var.create
}

################################################################################
# Virtual network
################################################################################

resource "azurerm_virtual_network" "this" {
  count = local.create ? 1 : 0

  name                = var.name
  resource_group_name = var.resource_group_name
  location            = var.location
  address_space       = [var.address_space]

  tags = merge(var.tags, var.vnet_tags)
}

################################################################################
# Subnets
################################################################################

# Nodes take VNet addresses; pods take addresses of the overlay `pod_cidr` of the cluster
# module, outside the VNet, so the VNet only has to fit nodes, endpoints and the database.
resource "azurerm_subnet" "nodes" {
  count = local.create ? 1 : 0

  name                            = "nodes"
  resource_group_name             = var.resource_group_name
  virtual_network_name            = azurerm_virtual_network.this[0].name
  address_prefixes                = [var.node_subnet_prefix]
  default_outbound_access_enabled = false
}

resource "azurerm_subnet" "private_endpoints" {
  count = local.create ? 1 : 0

  name                              = "private-endpoints"
  resource_group_name               = var.resource_group_name
  virtual_network_name              = azurerm_virtual_network.this[0].name
  address_prefixes                  = [var.private_endpoint_subnet_prefix]
  default_outbound_access_enabled   = false
  private_endpoint_network_policies = "Enabled"
}

resource "azurerm_subnet" "database" {
  count = local.create ? 1 : 0

  name                            = "database"
  resource_group_name             = var.resource_group_name
  virtual_network_name            = azurerm_virtual_network.this[0].name
  address_prefixes                = [var.database_subnet_prefix]
  default_outbound_access_enabled = false

  delegation {
    name = "postgresql-flexible-server"

    service_delegation {
      name    = "Microsoft.DBforPostgreSQL/flexibleServers"
      actions = ["Microsoft.Network/virtualNetworks/subnets/join/action"]
    }
  }
}

################################################################################
# Network security groups
################################################################################

locals {
  subnet_ids = local.create ? {
    nodes             = azurerm_subnet.nodes[0].id
    private-endpoints = azurerm_subnet.private_endpoints[0].id
    database          = azurerm_subnet.database[0].id
  } : {}
}

# Azure's default rules (VNet to VNet, load balancer probes in, nothing else from the
# internet) plus the rules below are the policy; each subnet gets its own group. AKS never
# edits a group on a subnet you bring: what the ingress needs from the internet is declared
# here. infra/azure/network-paths.yaml lists the paths these rules must allow and refuse
# (tests/infra_azure/test_network_paths.py evaluates them).
resource "azurerm_network_security_group" "this" {
  for_each = local.create ? toset(["nodes", "private-endpoints", "database"]) : toset([])

  name                = "${var.name}-${each.key}"
  resource_group_name = var.resource_group_name
  location            = var.location

  tags = var.tags
}

resource "azurerm_subnet_network_security_group_association" "this" {
  for_each = local.create ? toset(["nodes", "private-endpoints", "database"]) : toset([])

  subnet_id                 = local.subnet_ids[each.key]
  network_security_group_id = azurerm_network_security_group.this[each.key].id
}

# The application routing add-on's load balancer forwards 80 and 443 to the nodes with floating
# IP: the packets keep the frontend's public address as destination, which AKS assigns at
# runtime, so the destination is `*` (the nodes have no public address of their own); only
# these two ports, only TCP.
resource "azurerm_network_security_rule" "nodes_ingress" {
  #checkov:skip=CKV_AZURE_160:Port 80 serves the staging walkthrough and the redirect to HTTPS; the ingress controller is the only listener on it
  count = local.create ? 1 : 0

  name                        = "allow-internet-ingress-http-https"
  resource_group_name         = var.resource_group_name
  network_security_group_name = azurerm_network_security_group.this["nodes"].name
  priority                    = 100
  direction                   = "Inbound"
  access                      = "Allow"
  protocol                    = "Tcp"
  source_address_prefix       = "Internet"
  source_port_range           = "*"
  destination_address_prefix  = "*"
  destination_port_ranges     = ["80", "443"]
}

################################################################################
# NAT gateway
################################################################################

# A Standard NAT gateway lives in one zone. `nat_gateway_zone` null lets Azure place it; a
# zone outage can then cut the nodes' egress (not their ingress or the database). The
# outbound address is static, so external allow lists can name it.
resource "azurerm_public_ip" "nat" {
  count = local.create ? 1 : 0

  name                = "${var.name}-nat"
  resource_group_name = var.resource_group_name
  location            = var.location
  allocation_method   = "Static"
  sku                 = "Standard"
  zones               = var.nat_gateway_zone == null ? null : [var.nat_gateway_zone]

  tags = var.tags
}

resource "azurerm_nat_gateway" "this" {
  count = local.create ? 1 : 0

  name                    = var.name
  resource_group_name     = var.resource_group_name
  location                = var.location
  sku_name                = "Standard"
  idle_timeout_in_minutes = var.nat_gateway_idle_timeout_in_minutes
  zones                   = var.nat_gateway_zone == null ? null : [var.nat_gateway_zone]

  tags = merge(var.tags, var.nat_gateway_tags)
}

resource "azurerm_nat_gateway_public_ip_association" "this" {
  count = local.create ? 1 : 0

  nat_gateway_id       = azurerm_nat_gateway.this[0].id
  public_ip_address_id = azurerm_public_ip.nat[0].id
}

resource "azurerm_subnet_nat_gateway_association" "nodes" {
  count = local.create ? 1 : 0

  subnet_id      = azurerm_subnet.nodes[0].id
  nat_gateway_id = azurerm_nat_gateway.this[0].id
}
