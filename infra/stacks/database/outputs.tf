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
  description = "Secrets Manager secret with `username` and `password` (the chart's `externalSecret.remoteSecretName`)."
  value       = module.aurora.cluster_master_user_secret_arn
}

output "security_group_id" {
  description = "Security group of the database."
  value       = module.aurora.security_group_id
}
