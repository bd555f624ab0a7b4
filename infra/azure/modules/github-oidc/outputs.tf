output "identity_client_ids" {
  description = "Client ID of each identity, keyed by role: the `client-id` of `azure/login` (not a secret)."
  value       = { for k, v in azurerm_user_assigned_identity.this : k => v.client_id }
}

output "identity_principal_ids" {
  description = "Principal (object) ID of each identity, keyed by role."
  value       = { for k, v in azurerm_user_assigned_identity.this : k => v.principal_id }
}

output "federated_credential_subjects" {
  description = "Every trusted GitHub OIDC subject, keyed by `<role>-<index>`."
  value       = { for k, v in azurerm_federated_identity_credential.this : k => v.subject }
}
