variable "engine_version" {
  description = "Aurora PostgreSQL version, e.g. `16.6`."
  type        = string
  default     = "16.6"
}

variable "instance_class" {
  description = "Instance class of writer and readers."
  type        = string
  default     = "db.r6g.large"
}

variable "database_name" {
  description = "Database created with the cluster (the app's `POSTGRESQL_DBNAME`)."
  type        = string
  default     = "postgres"
}

variable "backup_retention_period" {
  description = "Days of automated backups and point-in-time recovery."
  type        = number
  default     = 7
}

variable "deletion_protection" {
  description = "Refuses deletion of the cluster. `true` in prod."
  type        = bool
  default     = true
}

variable "skip_final_snapshot" {
  description = "Deletes without a final snapshot. `false` in prod."
  type        = bool
  default     = false
}

variable "apply_immediately" {
  description = "Applies changes now instead of in the maintenance window."
  type        = bool
  default     = false
}

variable "performance_insights_enabled" {
  description = "Turns on Performance Insights."
  type        = bool
  default     = true
}

variable "timeouts" {
  description = "Create, update and delete timeouts of cluster and instances (Go durations)."
  type = object({
    create = optional(string, "90m")
    update = optional(string, "90m")
    delete = optional(string, "60m")
  })
  default  = {}
  nullable = false
}

variable "autoscaling_enabled" {
  description = "Scales the readers on CPU with Application Auto Scaling."
  type        = bool
  default     = true
}

variable "reader_min_count" {
  description = "Readers created by Terraform and the floor of auto scaling."
  type        = number
  default     = 1
}

variable "reader_max_count" {
  description = "Ceiling of reader auto scaling."
  type        = number
  default     = 3
}

variable "reader_target_cpu" {
  description = "Average reader CPU percentage auto scaling keeps."
  type        = number
  default     = 70
}

variable "grant_external_secrets_read" {
  description = "Lets the cluster's External Secrets role (`<name>-external-secrets`, cluster stack) read the master secret. Default `true`."
  type        = bool
  default     = true
}
