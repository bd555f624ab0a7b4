output "vnet_id" {
  description = "ID of the virtual network."
  value       = try(azurerm_virtual_network.this[0].id, null)
}

output "vnet_name" {
  description = "Name of the virtual network."
  value       = try(azurerm_virtual_network.this[0].name, null)
}

output "node_subnet_id" {
  description = "ID of the node subnet."
  value       = try(azurerm_subnet.nodes[0].id, null)
}

output "private_endpoint_subnet_id" {
  description = "ID of the private endpoint subnet."
  value       = try(azurerm_subnet.private_endpoints[0].id, null)
}

output "database_subnet_id" {
  description = "ID of the subnet delegated to PostgreSQL flexible servers."
  value       = try(azurerm_subnet.database[0].id, null)
}

output "nat_gateway_public_ip" {
  description = "The nodes' outbound address (for external allow lists)."
  value       = try(azurerm_public_ip.nat[0].ip_address, null)
}
