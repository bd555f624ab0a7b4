output "registry_id" {
  description = "ID of the registry."
  value       = module.acr.registry_id
}

output "registry_login_server" {
  description = "Login server of the registry: the chart's `image.registry`."
  value       = module.acr.registry_login_server
}
