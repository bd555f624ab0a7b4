output "cluster_name" {
  description = "Name of the cluster (`az aks get-credentials --name`)."
  value       = module.aks.cluster_name
}

output "cluster_resource_group_name" {
  description = "Resource group of the cluster."
  value       = azurerm_resource_group.this.name
}

output "cluster_oidc_issuer_url" {
  description = "OIDC issuer of the cluster."
  value       = module.aks.cluster_oidc_issuer_url
}

output "external_secrets_client_id" {
  description = "Client ID of the External Secrets identity: the `azure.workload.identity/client-id` annotation of its ServiceAccount (platform/)."
  value       = module.aks.workload_identity_client_ids["external-secrets"]
}

output "rotation_client_id" {
  description = "Client ID of the rotation identity: the chart's `rotation.clientId` (the `azure.workload.identity/client-id` annotation of the rotation CronJob's ServiceAccount)."
  value       = module.aks.workload_identity_client_ids["rotation"]
}

output "key_vault_uri" {
  description = "URI of the Key Vault: the `vaultUrl` of the ClusterSecretStore (platform/)."
  value       = module.key_vault.key_vault_uri
}
