output "key_vault_id" {
  description = "ID of the vault."
  value       = try(azurerm_key_vault.this[0].id, null)
}

output "key_vault_name" {
  description = "Name of the vault."
  value       = try(azurerm_key_vault.this[0].name, null)
}

output "key_vault_uri" {
  description = "URI of the vault: the `vaultUrl` of the External Secrets store."
  value       = try(azurerm_key_vault.this[0].vault_uri, null)
}
