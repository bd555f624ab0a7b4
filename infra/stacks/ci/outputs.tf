output "oidc_provider_arn" {
  description = "ARN of the GitHub Actions OIDC provider."
  value       = module.github_oidc.oidc_provider_arn
}

output "push_role_arn" {
  description = "Role the build workflow assumes to push images (GitHub variable `AWS_CI_PUSH_ROLE_ARN`); null when `registry_account_id` points at another account's registry."
  value       = try(module.github_oidc.role_arns["github-push"], null)
}

output "deploy_role_arn" {
  description = "Role the deploy workflow assumes to deploy to the cluster (GitHub variable `AWS_DEPLOY_ROLE_ARN`)."
  value       = module.github_oidc.role_arns["github-deploy"]
}

output "terraform_plan_role_arn" {
  description = "Read-only role of Terraform plans on pull requests (GitHub variable `AWS_TERRAFORM_PLAN_ROLE_ARN_<ENV>`)."
  value       = module.github_oidc.role_arns["terraform-plan"]
}

output "terraform_apply_role_arn" {
  description = "Administrator role of Terraform applies, only for jobs of the GitHub environment `infra-<env>` (GitHub variable `AWS_TERRAFORM_APPLY_ROLE_ARN_<ENV>`)."
  value       = module.github_oidc.role_arns["terraform-apply"]
}
