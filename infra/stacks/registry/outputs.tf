output "repository_name" {
  description = "Name of the repository."
  value       = module.ecr.repository_name
}

output "repository_arn" {
  description = "ARN of the repository (the push role may push only here)."
  value       = module.ecr.repository_arn
}

output "repository_url" {
  description = "URL to tag and push images to."
  value       = module.ecr.repository_url
}
