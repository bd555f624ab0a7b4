output "oidc_provider_arn" {
  description = "ARN of the GitHub Actions OIDC provider."
  value       = module.github_oidc.oidc_provider_arn
}

output "push_role_arn" {
  description = "Role the build workflow assumes to push images (GitHub variable `AWS_PUSH_ROLE_ARN`)."
  value       = module.github_oidc.role_arns["github-push"]
}

output "deploy_role_arn" {
  description = "Role the deploy workflow assumes to deploy to the cluster (GitHub variable `AWS_DEPLOY_ROLE_ARN`)."
  value       = module.github_oidc.role_arns["github-deploy"]
}
