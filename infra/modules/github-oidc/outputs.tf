output "oidc_provider_arn" {
  description = "ARN of the GitHub Actions OIDC provider the roles trust."
  value       = local.create ? local.provider_arn : null
}

output "role_arns" {
  description = "ARNs of the roles, keyed like `roles`."
  value       = { for k, r in aws_iam_role.this : k => r.arn }
}

output "role_names" {
  description = "Names of the roles, keyed like `roles`."
  value       = { for k, r in aws_iam_role.this : k => r.name }
}

output "role_subjects" {
  description = "Token subjects each role trusts (`repo:<repository>:<subject>`), keyed like `roles`."
  value       = local.create ? { for k, r in var.roles : k => [for s in r.subjects : "repo:${var.repository}:${s}"] } : {}
}
