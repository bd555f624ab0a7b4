output "repository_name" {
  description = "Name of the repository."
  value       = try(aws_ecr_repository.this[0].name, null)
}

output "repository_arn" {
  description = "ARN of the repository."
  value       = try(aws_ecr_repository.this[0].arn, null)
}

output "repository_url" {
  description = "URL of the repository (`<account>.dkr.ecr.<region>.amazonaws.com/<name>`)."
  value       = try(aws_ecr_repository.this[0].repository_url, null)
}

output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the images."
  value       = local.create ? local.kms_key_arn : null
}
