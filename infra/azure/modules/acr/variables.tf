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
# Container registry
################################################################################

variable "name" {
  description = "Name of the registry: 5 to 50 letters and digits, unique across Azure (the login server is `<name>.azurecr.io`)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9]{5,50}$", var.name))
    error_message = "name must be 5 to 50 letters and digits."
  }
}

variable "resource_group_name" {
  description = "Resource group of the registry."
  type        = string
}

variable "location" {
  description = "Azure region of the registry."
  type        = string
}

variable "public_network_access_enabled" {
  description = "Lets clients outside the VNet reach the registry with an Entra ID token. `true` (default) because GitHub-hosted runners push; set `false` with self-hosted runners and a private endpoint."
  type        = bool
  default     = true
}

variable "zone_redundancy_enabled" {
  description = "Spreads the registry over the region's three zones (Premium, set at creation). Default `true`."
  type        = bool
  default     = true
}

variable "untagged_retention_days" {
  description = "Days an untagged manifest is kept before deletion (Premium retention policy). Must be between `0` and `365`; default `7`."
  type        = number
  default     = 7

  validation {
    condition     = var.untagged_retention_days >= 0 && var.untagged_retention_days <= 365
    error_message = "untagged_retention_days must be between 0 and 365."
  }
}

variable "registry_tags" {
  description = "Additional tags for the registry."
  type        = map(string)
  default     = {}
  nullable    = false
}
