output "state_bucket_name" {
  description = "Name of the state bucket: the `bucket` of every other stack's backend."
  value       = module.state_bucket.s3_bucket_id
}

output "state_bucket_arn" {
  description = "ARN of the state bucket."
  value       = module.state_bucket.s3_bucket_arn
}

output "state_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the state."
  value       = module.state_bucket.kms_key_arn
}
