variable "engine_version" {
  description = "Aurora PostgreSQL version, e.g. `17.7` (platform/versions.yaml)."
  type        = string
  default     = "17.7"
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
  description = "Lets the cluster's External Secrets role (`<name>-external-secrets`, cluster stack) read the app secret and the master secret. Default `true`."
  type        = bool
  default     = true
}

variable "app_role_name" {
  description = "PostgreSQL role of the app, created by the chart's pre-install hook (`test-app-db-role`); rotation alternates it with `<name>_clone`. A lower-case identifier of at most 57 characters (63 with `_clone`)."
  type        = string
  default     = "test_app"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,56}$", var.app_role_name))
    error_message = "app_role_name must be a lower-case SQL identifier of at most 57 characters, so that <name>_clone fits in 63."
  }
}

variable "create_app_secret_rotation" {
  description = "Deploys the rotation function (rotation/, built by `make rotation-package`), its role, logs, network path and failure alarms. `false` leaves the app secret unrotated (the emulator, where no rotation is turned on)."
  type        = bool
  default     = true
}

variable "enable_app_secret_rotation" {
  description = "Turns rotation on for the app secret. Secrets Manager tests the function when rotation is turned on (RotateSecret runs testSecret even with `rotate_immediately = false`), so this stays `false` until the first deploy's hook has created the app role (docs/getting-started.md, phase 10). Requires `create_app_secret_rotation`."
  type        = bool
  default     = false

  validation {
    condition     = !var.enable_app_secret_rotation || var.create_app_secret_rotation
    error_message = "enable_app_secret_rotation needs create_app_secret_rotation = true (the function and its network path)."
  }
}

variable "alarm_topic_name" {
  description = "Name of the SNS topic the rotation alarms publish to; subscribe the receivers Alertmanager pages (docs/runbooks/database/TestAppDatabaseLoginNotRotated.md). Empty means `<name>-alarms`."
  type        = string
  default     = ""
}

variable "rotation_package" {
  description = "The rotation function's zip, built by `make rotation-package` (handler, hash-pinned driver, RDS CA bundle checked by SHA-256); a path relative to this stack's folder. Read at plan time (`source_code_hash`); a destroy through scripts/terraform/stacks passes a placeholder file instead, since it uploads no code."
  type        = string
  default     = "../../../build/rotation-lambda.zip"
}

variable "rotation_log_retention_in_days" {
  description = "Days the rotation function's logs are kept; a CloudWatch retention value of at least 365 days."
  type        = number
  default     = 365

  validation {
    condition     = contains([365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.rotation_log_retention_in_days)
    error_message = "rotation_log_retention_in_days must be a CloudWatch retention value of at least 365 days."
  }
}

variable "app_secret_rotation_days" {
  description = "Days between two rotations of the app secret. The previous login stays valid for one period, so it must stay far above the chart's `externalSecret.refreshInterval` plus the kubelet's delay; must be between `7` and `365`."
  type        = number
  default     = 30

  validation {
    condition     = var.app_secret_rotation_days >= 7 && var.app_secret_rotation_days <= 365 && floor(var.app_secret_rotation_days) == var.app_secret_rotation_days
    error_message = "app_secret_rotation_days must be a whole number of days between 7 and 365."
  }
}

variable "app_secret_rotation_window" {
  description = "Length of the window in which a scheduled rotation runs, in hours, e.g. `3h` (Secrets Manager `Duration`, between `1h` and `24h`)."
  type        = string
  default     = "3h"

  validation {
    condition     = can(regex("^([1-9]|1[0-9]|2[0-4])h$", var.app_secret_rotation_window))
    error_message = "app_secret_rotation_window must be a whole number of hours between 1h and 24h, e.g. 3h."
  }
}


variable "generate_initial_password" {
  description = "Generates the app role's first password at apply time (write-only: never in the state or a plan). `false` only in `terraform test`, whose mock provider has no ephemeral resources."
  type        = bool
  default     = true
}
