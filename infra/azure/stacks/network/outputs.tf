output "vnet_id" {
  description = "ID of the VNet."
  value       = module.network.vnet_id
}

output "node_subnet_id" {
  description = "ID of the node subnet."
  value       = module.network.node_subnet_id
}

output "database_subnet_id" {
  description = "ID of the subnet delegated to PostgreSQL."
  value       = module.network.database_subnet_id
}

output "nat_gateway_public_ip" {
  description = "The nodes' outbound address."
  value       = module.network.nat_gateway_public_ip
}
