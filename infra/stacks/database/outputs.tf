output "cluster_endpoint" {
  description = "Writer endpoint (`POSTGRESQL_HOST`)."
  value       = module.aurora.cluster_endpoint
}

output "cluster_reader_endpoint" {
  description = "Reader endpoint (`POSTGRESQL_READ_HOST`)."
  value       = module.aurora.cluster_reader_endpoint
}

output "cluster_port" {
  description = "Port (`POSTGRESQL_PORT` and `POSTGRESQL_READ_PORT`)."
  value       = module.aurora.cluster_port
}

output "cluster_database_name" {
  description = "Database name (`POSTGRESQL_DBNAME`)."
  value       = module.aurora.cluster_database_name
}

output "cluster_master_user_secret_arn" {
  description = "The master secret (`username`, `password`): only the chart's role hook reads it (`dbRole.adminRemoteSecretName`)."
  value       = module.aurora.cluster_master_user_secret_arn
}

output "security_group_id" {
  description = "Security group of the database."
  value       = module.aurora.security_group_id
}

output "app_secret_arn" {
  description = "The app's rotated secret (`username`, `password`, alternating users): the chart's `externalSecret.remoteSecretName`."
  value       = aws_secretsmanager_secret.app.arn
}

output "app_role_name" {
  description = "PostgreSQL role of the app (the chart's `dbRole.name`)."
  value       = var.app_role_name
}

output "alarm_topic_arn" {
  description = "SNS topic of the rotation failure alarms (RotationFailed event, function errors); subscribe the on-call receivers to it. Empty without rotation."
  value       = try(aws_sns_topic.alarms[0].arn, "")
}

output "kms_key_arn" {
  description = "KMS key of the database: storage, snapshots (the final one too), master and app secrets."
  value       = module.aurora.kms_key_arn
}

output "final_snapshot_identifier" {
  description = "Snapshot a destroy takes (skip_final_snapshot = false); empty without one. scripts/terraform/stacks keeps its key at the destroy."
  value       = module.aurora.final_snapshot_identifier == null ? "" : module.aurora.final_snapshot_identifier
}
