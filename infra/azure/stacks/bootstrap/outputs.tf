output "state_resource_group_name" {
  description = "Resource group of the state: the `resource_group_name` of every backend."
  value       = azurerm_resource_group.this.name
}

output "state_storage_account_name" {
  description = "Name of the state storage account: the `storage_account_name` of every backend."
  value       = module.state_storage.storage_account_name
}

output "state_container_name" {
  description = "Name of the state container: the `container_name` of every backend."
  value       = module.state_storage.storage_container_name
}
