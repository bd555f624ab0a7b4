output "cluster_id" {
  description = "Identifier of the cluster."
  value       = try(aws_rds_cluster.this[0].id, null)
}

output "cluster_arn" {
  description = "ARN of the cluster."
  value       = try(aws_rds_cluster.this[0].arn, null)
}

output "cluster_endpoint" {
  description = "Writer endpoint (the app's `POSTGRESQL_HOST`)."
  value       = try(aws_rds_cluster.this[0].endpoint, null)
}

output "cluster_reader_endpoint" {
  description = "Reader endpoint, load-balanced over the readers (the app's `POSTGRESQL_READ_HOST`)."
  value       = try(aws_rds_cluster.this[0].reader_endpoint, null)
}

output "cluster_port" {
  description = "PostgreSQL port."
  value       = try(aws_rds_cluster.this[0].port, null)
}

output "cluster_database_name" {
  description = "Name of the database."
  value       = try(aws_rds_cluster.this[0].database_name, null)
}

output "cluster_master_username" {
  description = "Master user name."
  value       = try(aws_rds_cluster.this[0].master_username, null)
}

output "cluster_master_user_secret_arn" {
  description = "ARN of the Secrets Manager secret RDS manages for the master user (JSON with `username` and `password`)."
  value       = try(aws_rds_cluster.this[0].master_user_secret[0].secret_arn, null)
}

output "cluster_instance_ids" {
  description = "Identifiers of the instances Terraform manages (writer first)."
  value       = aws_rds_cluster_instance.this[*].identifier
}

output "security_group_id" {
  description = "Security group of the database."
  value       = try(aws_security_group.this[0].id, null)
}

output "kms_key_arn" {
  description = "ARN of the KMS key of storage and master secret."
  value       = module.kms.key_arn
}

output "final_snapshot_identifier" {
  description = "Name of the snapshot a destroy takes (null without one): unique per cluster incarnation"
  value       = try(aws_rds_cluster.this[0].final_snapshot_identifier, null)
}
