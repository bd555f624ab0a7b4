variable "key_vault_name" {
  description = "Name of the cluster stack's Key Vault, where the app's credentials are stored."
  type        = string
}

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
