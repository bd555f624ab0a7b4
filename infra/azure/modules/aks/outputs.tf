output "cluster_id" {
  description = "ID of the cluster (the scope of Azure RBAC role assignments)."
  value       = try(azurerm_kubernetes_cluster.this[0].id, null)
}

output "cluster_name" {
  description = "Name of the cluster."
  value       = try(azurerm_kubernetes_cluster.this[0].name, null)
}

output "cluster_oidc_issuer_url" {
  description = "OIDC issuer of the cluster's ServiceAccount tokens."
  value       = try(azurerm_kubernetes_cluster.this[0].oidc_issuer_url, null)
}

output "cluster_node_resource_group" {
  description = "Resource group AKS manages for the nodes."
  value       = try(azurerm_kubernetes_cluster.this[0].node_resource_group, null)
}

output "kubelet_identity_object_id" {
  description = "Object ID of the kubelet identity (registry pulls)."
  value       = try(azurerm_kubernetes_cluster.this[0].kubelet_identity[0].object_id, null)
}

output "workload_identity_client_ids" {
  description = "Client ID of each workload identity, keyed like `workload_identities`: the `azure.workload.identity/client-id` annotation of its ServiceAccount."
  value       = { for k, v in azurerm_user_assigned_identity.workload : k => v.client_id }
}

output "workload_identity_principal_ids" {
  description = "Principal (object) ID of each workload identity, keyed like `workload_identities`, for role assignments."
  value       = { for k, v in azurerm_user_assigned_identity.workload : k => v.principal_id }
}

output "app_routing_principal_id" {
  description = "Object ID of the application routing add-on's identity: it reads TLS certificates from Key Vault (Key Vault Secrets User)."
  value       = try(azurerm_kubernetes_cluster.this[0].web_app_routing[0].web_app_routing_identity[0].object_id, null)
}
