output "server_id" {
  description = "ID of the primary server."
  value       = try(azurerm_postgresql_flexible_server.this[0].id, null)
}

output "server_fqdn" {
  description = "Host name of the primary (follows HA failover)."
  value       = try(azurerm_postgresql_flexible_server.this[0].fqdn, null)
}

output "writer_endpoint" {
  description = "Writer host of the virtual endpoint (follows a promoted replica): the chart's `database.host`. The primary's host when there is no replica."
  value       = try("${azurerm_postgresql_flexible_server_virtual_endpoint.this[0].name}.writer.postgres.database.azure.com", azurerm_postgresql_flexible_server.this[0].fqdn, null)
}

output "reader_endpoint" {
  description = "Reader host of the virtual endpoint: the chart's `database.readHost`. Null when there is no replica."
  value       = try("${azurerm_postgresql_flexible_server_virtual_endpoint.this[0].name}.reader.postgres.database.azure.com", null)
}

output "replica_ids" {
  description = "IDs of the read replicas, keyed by zone."
  value       = { for z, r in azurerm_postgresql_flexible_server.replica : z => r.id }
}
