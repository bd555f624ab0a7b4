output "s3_bucket_id" {
  description = "Name of the state bucket."
  value       = try(aws_s3_bucket.this[0].id, null)
}

output "s3_bucket_arn" {
  description = "ARN of the state bucket."
  value       = try(aws_s3_bucket.this[0].arn, null)
}

output "s3_bucket_region" {
  description = "Region of the state bucket."
  value       = try(aws_s3_bucket.this[0].region, null)
}

output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the state."
  value       = local.create ? local.kms_key_arn : null
}
