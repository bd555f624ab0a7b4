variable "create" {
  description = "Controls if any resource is created (turns off the whole module)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
  nullable    = false
}

################################################################################
# Private DNS
################################################################################

variable "virtual_network_id" {
  description = "VNet linked to the server's private DNS zone (the cluster's VNet)."
  type        = string
}

################################################################################
# Primary server
################################################################################

variable "name" {
  description = "Name of the server, e.g. `test-app-staging` (host `<name>.postgres.database.azure.com`); replicas are `<name>-replica-<zone>`."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,50}[a-z0-9]$", var.name))
    error_message = "name must be 3 to 52 lower-case letters, digits and dashes."
  }
}

variable "resource_group_name" {
  description = "Resource group of the servers and the private DNS zone."
  type        = string
}

variable "location" {
  description = "Azure region of the servers."
  type        = string
}

variable "engine_version" {
  description = "PostgreSQL major version. Valid values are `15`, `16` (default) and `17`."
  type        = string
  default     = "16"

  validation {
    condition     = contains(["15", "16", "17"], var.engine_version)
    error_message = "engine_version must be 15, 16 or 17."
  }
}

variable "sku_name" {
  description = "Compute of every server, `<tier>_<size>`. Zone-redundant HA needs `GP_` or `MO_` (not burstable `B_`)."
  type        = string
  default     = "GP_Standard_D2ds_v5"

  validation {
    condition     = can(regex("^(GP|MO)_", var.sku_name))
    error_message = "sku_name must be General Purpose (GP_) or Memory Optimized (MO_): burstable servers have no HA."
  }
}

variable "delegated_subnet_id" {
  description = "Subnet delegated to `Microsoft.DBforPostgreSQL/flexibleServers` (the network stack's `database` subnet)."
  type        = string
}

variable "administrator_login" {
  description = "Name of the administrator (password authentication). Only the chart's db-role hook logs in with it, to create the app's least-privilege role; never the app. Must not be a reserved name such as `azure_superuser`, `admin` or `postgres`."
  type        = string
  default     = "test_app_admin"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,62}$", var.administrator_login)) && !contains(["azure_superuser", "azure_pg_admin", "admin", "administrator", "root", "guest", "public", "postgres"], var.administrator_login) && !startswith(var.administrator_login, "pg_")
    error_message = "administrator_login must be a lower-case PostgreSQL name (letters, digits, _) that is not reserved (azure_superuser, azure_pg_admin, admin, administrator, root, guest, public, postgres, pg_*)."
  }
}

variable "administrator_password" {
  description = "Password of the administrator, written only (`administrator_password_wo`): pass an ephemeral value such as `ephemeral.random_password`, never a literal; it never reaches the state. Sent when the server is created and whenever `administrator_password_version` changes."
  type        = string
  sensitive   = true
  ephemeral   = true
}

variable "administrator_password_version" {
  description = "Version of the administrator's password. Raise it to send a new `administrator_password`; the same version names the Key Vault secret's value, so both change together. Default `1`."
  type        = number
  default     = 1
  nullable    = false
}

variable "tenant_id" {
  description = "Entra ID tenant for Entra ID authentication."
  type        = string
}

variable "primary_zone" {
  description = "Zone of the primary. Valid values are `1` (default), `2` and `3`."
  type        = string
  default     = "1"

  validation {
    condition     = contains(["1", "2", "3"], var.primary_zone)
    error_message = "primary_zone must be 1, 2 or 3."
  }
}

variable "standby_zone" {
  description = "Zone of the synchronous HA standby; must differ from `primary_zone`. Default `2`."
  type        = string
  default     = "2"

  validation {
    condition     = contains(["1", "2", "3"], var.standby_zone)
    error_message = "standby_zone must be 1, 2 or 3."
  }

  validation {
    condition     = var.standby_zone != var.primary_zone
    error_message = "standby_zone must differ from primary_zone: zone-redundant HA needs two zones."
  }
}

variable "storage_mb" {
  description = "Initial storage of every server in MB, e.g. `32768` (default). Auto-grow owns it afterwards: later changes here are ignored (`ignore_changes`), so grow by hand with `az postgres flexible-server update --storage-size`."
  type        = number
  default     = 32768
}

variable "backup_retention_days" {
  description = "Days of point-in-time restore. Must be between `7` (default) and `35`."
  type        = number
  default     = 7

  validation {
    condition     = var.backup_retention_days >= 7 && var.backup_retention_days <= 35
    error_message = "backup_retention_days must be between 7 and 35."
  }
}

variable "geo_redundant_backup_enabled" {
  description = "Copies backups to the paired region (set at creation). Default `true`."
  type        = bool
  default     = true
}

variable "server_tags" {
  description = "Additional tags for the servers."
  type        = map(string)
  default     = {}
  nullable    = false
}

################################################################################
# Server parameters
################################################################################

variable "server_parameters" {
  description = "Server parameters on top of the module's connection logging. `require_secure_transport = on` and TLS 1.2 minimum always apply (they are merged last)."
  type        = map(string)
  default     = {}
  nullable    = false
}

################################################################################
# Read replicas
################################################################################

variable "replica_zones" {
  description = "One read replica per listed zone. Valid values are `1`, `2` and `3`; empty means no replica and no reader endpoint."
  type        = list(string)
  default     = ["3"]
  nullable    = false

  validation {
    condition     = alltrue([for z in var.replica_zones : contains(["1", "2", "3"], z)])
    error_message = "replica_zones must list zones among 1, 2 and 3."
  }
}

################################################################################
# Entra ID administrator
################################################################################

variable "entra_administrator" {
  description = "Entra ID principal made administrator of the server. `principal_type` is `User`, `Group` or `ServicePrincipal`. Null (default) adds none."
  type = object({
    object_id      = string
    principal_name = string
    principal_type = string
  })
  default = null
}
