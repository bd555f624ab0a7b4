variable "engine_version" {
  description = "PostgreSQL major version (`15`, `16`, `17`)."
  type        = string
  default     = "16"
}

variable "sku_name" {
  description = "Compute of the primary, its HA standby and each replica, e.g. `GP_Standard_D2ds_v5`."
  type        = string
  default     = "GP_Standard_D2ds_v5"
}

variable "storage_mb" {
  description = "Storage of every server in MB (grows automatically)."
  type        = number
  default     = 32768
}

variable "backup_retention_days" {
  description = "Days of point-in-time restore, between `7` and `35`."
  type        = number
  default     = 7
}

variable "geo_redundant_backup_enabled" {
  description = "Copies backups to the paired region (set at creation)."
  type        = bool
  default     = true
}

variable "replica_zones" {
  description = "One read replica per listed zone; the reader endpoint follows the first."
  type        = list(string)
  default     = ["3"]
  nullable    = false
}

variable "administrator_login" {
  description = "Name of the server administrator, read only by the chart's db-role hook (Key Vault secret `<name>-database-admin`). Must differ from `app_role_name`: the app never logs in as the administrator."
  type        = string
  default     = "test_app_admin"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,62}$", var.administrator_login))
    error_message = "administrator_login must be a lower-case SQL identifier of at most 63 characters."
  }
}

variable "administrator_password_version" {
  description = "Version of the server administrator's password. Raise it (2, 3, ...) to give the server a new password and write it to Key Vault in the same apply; the password itself never reaches the state. Default `1`."
  type        = number
  default     = 1
  nullable    = false

  validation {
    condition     = var.administrator_password_version >= 1 && floor(var.administrator_password_version) == var.administrator_password_version
    error_message = "administrator_password_version must be a whole number of at least 1."
  }
}

variable "app_role_name" {
  description = "PostgreSQL role of the app, created by the chart's pre-install hook (`test-app-db-role`) with the password of the Key Vault secret `<name>-database`. A lower-case identifier of at most 57 characters, other than `administrator_login`."
  type        = string
  default     = "test_app"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,56}$", var.app_role_name))
    error_message = "app_role_name must be a lower-case SQL identifier of at most 57 characters."
  }
}
