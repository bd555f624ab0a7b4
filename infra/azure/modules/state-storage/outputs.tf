output "storage_account_id" {
  description = "ID of the state storage account."
  value       = try(azurerm_storage_account.this[0].id, null)
}

output "storage_account_name" {
  description = "Name of the state storage account: the `storage_account_name` of every backend."
  value       = try(azurerm_storage_account.this[0].name, null)
}

output "storage_container_name" {
  description = "Name of the state container: the `container_name` of every backend."
  value       = try(azurerm_storage_container.this[0].name, null)
}

output "storage_container_id" {
  description = "Resource manager ID of the state container (the scope of the state role assignments)."
  value       = try(azurerm_storage_container.this[0].id, null)
}
