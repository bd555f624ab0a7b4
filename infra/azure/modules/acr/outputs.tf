output "registry_id" {
  description = "ID of the registry (the scope of AcrPull and AcrPush role assignments)."
  value       = try(azurerm_container_registry.this[0].id, null)
}

output "registry_name" {
  description = "Name of the registry."
  value       = try(azurerm_container_registry.this[0].name, null)
}

output "registry_login_server" {
  description = "Login server of the registry, `<name>.azurecr.io`: the chart's `image.registry`."
  value       = try(azurerm_container_registry.this[0].login_server, null)
}
