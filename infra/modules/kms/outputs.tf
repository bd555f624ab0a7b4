output "key_arn" {
  description = "ARN of the key (`null` when `create` is `false`)."
  value       = try(aws_kms_key.this[0].arn, null)
}

output "key_id" {
  description = "ID of the key (`null` when `create` is `false`)."
  value       = try(aws_kms_key.this[0].key_id, null)
}

output "key_rotation_enabled" {
  description = "Whether automatic yearly rotation is on (always `true` for a created key)."
  value       = try(aws_kms_key.this[0].enable_key_rotation, null)
}

output "key_policy" {
  description = "The key policy document (JSON)."
  value       = try(data.aws_iam_policy_document.this[0].json, null)
}

output "alias_name" {
  description = "Name of the alias, `alias/<alias_name>` (`null` without one)."
  value       = try(aws_kms_alias.this[0].name, null)
}
