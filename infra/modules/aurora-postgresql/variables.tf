variable "create" {
  description = "Controls if any resource of this module is created. Valid values are `true` (default) and `false`."
  type        = bool
  default     = true
}

variable "name" {
  description = "Identifier of the cluster and prefix of its resources, e.g. `test-app-staging`. Lowercase letters, digits and hyphens, at most 40 characters."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,39}$", var.name)) && !endswith(var.name, "-")
    error_message = "name must start with a lowercase letter, hold at most 40 lowercase letters, digits or hyphens, and not end with a hyphen."
  }
}

variable "tags" {
  description = "Tags added to every resource of this module (on top of the provider's `default_tags`)."
  type        = map(string)
  default     = {}
  nullable    = false
}

################################################################################
# KMS key (storage, master user secret, Performance Insights)
################################################################################

variable "kms_key_deletion_window_in_days" {
  description = "Waiting period before the database KMS key is destroyed after deletion. Must be between `7` and `30`."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_key_deletion_window_in_days >= 7 && var.kms_key_deletion_window_in_days <= 30
    error_message = "kms_key_deletion_window_in_days must be between 7 and 30."
  }
}

################################################################################
# Network
################################################################################

variable "vpc_id" {
  description = "ID of the VPC of the database (`vpc-...`)."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id must be a VPC ID such as vpc-0123456789abcdef0."
  }
}

variable "subnet_ids" {
  description = "Private subnets of the database: at least `2`, one per availability zone (use the three private subnets)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2 && alltrue([for s in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", s))])
    error_message = "subnet_ids must list at least 2 subnet IDs (subnet-...)."
  }
}

variable "availability_zones" {
  description = "Zones the instances are placed in, round-robin (writer in the first). Empty lets RDS choose."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "allowed_security_group_ids" {
  description = "Security groups admitted on the database port (e.g. the cluster's node group). Nothing else is admitted; at least one."
  type        = list(string)

  validation {
    condition     = length(var.allowed_security_group_ids) > 0 && alltrue([for s in var.allowed_security_group_ids : can(regex("^sg-[0-9a-f]{8,17}$", s))])
    error_message = "allowed_security_group_ids must list at least one security group ID (sg-...)."
  }
}

variable "port" {
  description = "PostgreSQL port. Must be between `1150` and `65535`; default `5432`."
  type        = number
  default     = 5432

  validation {
    condition     = var.port >= 1150 && var.port <= 65535
    error_message = "port must be between 1150 and 65535."
  }
}

variable "security_group_tags" {
  description = "Additional tags for the security group."
  type        = map(string)
  default     = {}
  nullable    = false
}

################################################################################
# Parameter groups
################################################################################

variable "log_min_duration_statement_ms" {
  description = "Statements slower than this many milliseconds are logged. `-1` turns it off; must be between `-1` and `60000`."
  type        = number
  default     = 1000

  validation {
    condition     = var.log_min_duration_statement_ms >= -1 && var.log_min_duration_statement_ms <= 60000
    error_message = "log_min_duration_statement_ms must be between -1 and 60000."
  }
}

################################################################################
# Cluster
################################################################################

variable "engine_version" {
  description = "Aurora PostgreSQL version as `<major>.<minor>`, e.g. `17.7`. Major versions `14` to `17` are accepted."
  type        = string
  default     = "17.7"

  validation {
    condition     = can(regex("^(14|15|16|17)\\.[0-9]+$", var.engine_version))
    error_message = "engine_version must look like 17.7 with a major version between 14 and 17."
  }
}

variable "database_name" {
  description = "Name of the database created with the cluster. Letters, digits and underscores, starting with a letter, at most 63 characters."
  type        = string
  default     = "postgres"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_]{0,62}$", var.database_name))
    error_message = "database_name must start with a letter and hold at most 63 letters, digits or underscores."
  }
}

variable "master_username" {
  description = "Master user name. Its password is generated and rotated by RDS in Secrets Manager, never in Terraform state. Letters, digits and underscores, not `admin`/`rdsadmin`."
  type        = string
  default     = "postgres"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_]{0,62}$", var.master_username)) && !contains(["admin", "rdsadmin"], lower(var.master_username))
    error_message = "master_username must start with a letter, hold letters, digits or underscores, and not be admin or rdsadmin."
  }
}

variable "backup_retention_period" {
  description = "Days of automated backups (point-in-time recovery window). Must be between `1` and `35`."
  type        = number
  default     = 7

  validation {
    condition     = var.backup_retention_period >= 1 && var.backup_retention_period <= 35
    error_message = "backup_retention_period must be between 1 and 35 days."
  }
}

variable "preferred_backup_window" {
  description = "Daily backup window in UTC, `hh24:mi-hh24:mi`."
  type        = string
  default     = "02:00-03:00"

  validation {
    condition     = can(regex("^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$", var.preferred_backup_window))
    error_message = "preferred_backup_window must look like 02:00-03:00."
  }
}

variable "preferred_maintenance_window" {
  description = "Weekly maintenance window in UTC, `ddd:hh24:mi-ddd:hh24:mi`."
  type        = string
  default     = "sun:03:30-sun:04:30"

  validation {
    condition     = can(regex("^(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]-(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]$", var.preferred_maintenance_window))
    error_message = "preferred_maintenance_window must look like sun:03:30-sun:04:30."
  }
}

variable "deletion_protection" {
  description = "Refuses to delete the cluster until this is turned off. Keep `true` (default) for prod."
  type        = bool
  default     = true
}

variable "skip_final_snapshot" {
  description = "Deletes the cluster without a final snapshot. Keep `false` (default) for prod."
  type        = bool
  default     = false
}

variable "apply_immediately" {
  description = "Applies changes at once instead of in the maintenance window. Valid values are `false` (default) and `true`."
  type        = bool
  default     = false
}

variable "timeouts" {
  description = "Create, update and delete timeouts of the cluster and its instances, as Go durations (e.g. `90m`)."
  type = object({
    create = optional(string, "90m")
    update = optional(string, "90m")
    delete = optional(string, "60m")
  })
  default  = {}
  nullable = false
}

variable "cluster_tags" {
  description = "Additional tags for the cluster."
  type        = map(string)
  default     = {}
  nullable    = false
}

################################################################################
# Instances (one writer and the minimum readers, spread over the zones)
################################################################################

variable "instance_class" {
  description = "Instance class of the writer and readers, e.g. `db.r6g.large` or `db.t4g.medium` (burstable, staging)."
  type        = string
  default     = "db.r6g.large"

  validation {
    condition     = can(regex("^db\\.[a-z0-9]+\\.[a-z0-9]+$", var.instance_class))
    error_message = "instance_class must look like db.r6g.large."
  }
}

variable "performance_insights_enabled" {
  description = "Turns on Performance Insights (7 days, free tier) encrypted with the database key. Valid values are `true` (default) and `false`."
  type        = bool
  default     = true
}

variable "monitoring_interval" {
  description = "Enhanced monitoring interval in seconds. Valid values are `0` (off, default), `1`, `5`, `10`, `15`, `30` and `60`."
  type        = number
  default     = 0

  validation {
    condition     = contains([0, 1, 5, 10, 15, 30, 60], var.monitoring_interval)
    error_message = "monitoring_interval must be one of 0, 1, 5, 10, 15, 30, 60."
  }
}

################################################################################
# Reader auto scaling (Application Auto Scaling on reader CPU)
################################################################################

variable "autoscaling_enabled" {
  description = "Scales the number of readers between `autoscaling_min_capacity` and `autoscaling_max_capacity` on their average CPU. Valid values are `true` (default) and `false`."
  type        = bool
  default     = true
}

variable "autoscaling_min_capacity" {
  description = "Readers Terraform creates and the floor of auto scaling. Must be between `0` and `15`; `1` or more keeps a failover target in another zone."
  type        = number
  default     = 1

  validation {
    condition     = var.autoscaling_min_capacity >= 0 && var.autoscaling_min_capacity <= 15
    error_message = "autoscaling_min_capacity must be between 0 and 15."
  }
}

variable "autoscaling_max_capacity" {
  description = "Ceiling of reader auto scaling. Must be between `autoscaling_min_capacity` and `15` (Aurora's reader limit)."
  type        = number
  default     = 3

  validation {
    condition     = var.autoscaling_max_capacity >= var.autoscaling_min_capacity && var.autoscaling_max_capacity <= 15
    error_message = "autoscaling_max_capacity must be between autoscaling_min_capacity and 15."
  }
}

variable "autoscaling_target_cpu" {
  description = "Average reader CPU percentage that auto scaling keeps. Must be between `20` and `90`."
  type        = number
  default     = 70

  validation {
    condition     = var.autoscaling_target_cpu >= 20 && var.autoscaling_target_cpu <= 90
    error_message = "autoscaling_target_cpu must be between 20 and 90."
  }
}

variable "autoscaling_scale_in_cooldown" {
  description = "Seconds after a scale-in before the next one. Must be between `60` and `3600`."
  type        = number
  default     = 300

  validation {
    condition     = var.autoscaling_scale_in_cooldown >= 60 && var.autoscaling_scale_in_cooldown <= 3600
    error_message = "autoscaling_scale_in_cooldown must be between 60 and 3600."
  }
}

variable "autoscaling_scale_out_cooldown" {
  description = "Seconds after a scale-out before the next one. Must be between `60` and `3600`."
  type        = number
  default     = 300

  validation {
    condition     = var.autoscaling_scale_out_cooldown >= 60 && var.autoscaling_scale_out_cooldown <= 3600
    error_message = "autoscaling_scale_out_cooldown must be between 60 and 3600."
  }
}
