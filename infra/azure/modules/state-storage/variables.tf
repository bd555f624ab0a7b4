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
# Storage account
################################################################################

variable "name" {
  description = "Name of the storage account: 3 to 24 lower-case letters and digits, unique across Azure."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]{3,24}$", var.name))
    error_message = "name must be 3 to 24 lower-case letters and digits."
  }
}

variable "resource_group_name" {
  description = "Resource group of the storage account."
  type        = string
}

variable "location" {
  description = "Azure region of the storage account, e.g. `westeurope`."
  type        = string
}

variable "replication_type" {
  description = "Redundancy of the state. Valid values are `ZRS` (three zones), `GZRS` (default: three zones plus a paired region) and `RAGZRS`."
  type        = string
  default     = "GZRS"

  validation {
    condition     = contains(["ZRS", "GZRS", "RAGZRS"], var.replication_type)
    error_message = "replication_type must be ZRS, GZRS or RAGZRS (zone-redundant)."
  }
}

variable "soft_delete_retention_days" {
  description = "Days a deleted blob, blob version or container can be restored. Must be between `7` and `365`."
  type        = number
  default     = 30

  validation {
    condition     = var.soft_delete_retention_days >= 7 && var.soft_delete_retention_days <= 365
    error_message = "soft_delete_retention_days must be between 7 and 365."
  }
}

variable "allowed_ip_ranges" {
  description = "Public IP addresses or CIDR ranges (no /31 or /32) allowed to reach the state: your workstation and CI egress. Every other address is denied."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    # Storage IP rules take single addresses as `a.b.c.d` and ranges up to /30; Azure refuses /31
    # and /32 (learn.microsoft.com/azure/storage/common/storage-network-security, IP network rules).
    condition     = alltrue([for r in var.allowed_ip_ranges : can(cidrhost(strcontains(r, "/") ? r : "${r}/32", 0)) && !can(regex("/3[12]$", r))])
    error_message = "allowed_ip_ranges must be addresses (1.2.3.4) or ranges of /30 or larger: Azure Storage refuses /31 and /32."
  }
}

variable "storage_account_tags" {
  description = "Additional tags for the storage account."
  type        = map(string)
  default     = {}
  nullable    = false
}

################################################################################
# Container
################################################################################

variable "container_name" {
  description = "Name of the blob container that holds every stack's state."
  type        = string
  default     = "tfstate"
}

################################################################################
# Delete lock
################################################################################

variable "create_delete_lock" {
  description = "Puts a `CanNotDelete` management lock on the storage account. Keep `true` (default)."
  type        = bool
  default     = true
}
