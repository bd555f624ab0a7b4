output "writer_endpoint" {
  description = "Writer host: the chart's `database.host`."
  value       = module.postgresql.writer_endpoint
}

output "reader_endpoint" {
  description = "Reader host: the chart's `database.readHost`."
  value       = module.postgresql.reader_endpoint
}

output "database_secret_name" {
  description = "Key Vault secret with the app's user and password: the chart's `externalSecret.remoteSecretName`."
  value       = azurerm_key_vault_secret.database.name
}

output "database_admin_secret_name" {
  description = "Key Vault secret with the administrator's login and password: the chart's `dbRole.adminRemoteSecretName` (only the db-role hook reads it)."
  value       = azapi_resource.administrator_secret.name
}
