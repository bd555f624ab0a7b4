output "identity_client_ids" {
  description = "Client ID per pipeline role (`push`, `deploy`, `plan`, `apply`): the `client-id` of `azure/login`, not a secret."
  value       = module.github_oidc.identity_client_ids
}

output "tenant_id" {
  description = "Tenant of the identities: the `tenant-id` of `azure/login`."
  value       = data.azurerm_subscription.current.tenant_id
}

output "subscription_id" {
  description = "Subscription of the environment: the `subscription-id` of `azure/login`."
  value       = data.azurerm_subscription.current.subscription_id
}

output "deploy_principal_id" {
  description = "Entra object ID of the `deploy` identity: its Kubernetes user name on AKS, bound by platform/manifests/deploy-rbac-aks.yaml to the chart's custom resources."
  value       = module.github_oidc.identity_principal_ids["deploy"]
}
