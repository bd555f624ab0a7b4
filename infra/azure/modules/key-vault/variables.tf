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
# Key Vault
################################################################################

variable "name" {
  description = "Name of the vault: 3 to 24 letters, digits and dashes, unique across Azure."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$", var.name))
    error_message = "name must be 3 to 24 letters, digits and dashes, starting with a letter."
  }
}

variable "resource_group_name" {
  description = "Resource group of the vault and its endpoint."
  type        = string
}

variable "location" {
  description = "Azure region of the vault."
  type        = string
}

variable "tenant_id" {
  description = "Entra ID tenant that authenticates requests to the vault."
  type        = string
}

variable "soft_delete_retention_days" {
  description = "Days a deleted vault or secret can be recovered. Must be between `7` and `90` (default)."
  type        = number
  default     = 90

  validation {
    condition     = var.soft_delete_retention_days >= 7 && var.soft_delete_retention_days <= 90
    error_message = "soft_delete_retention_days must be between 7 and 90."
  }
}

variable "allowed_ip_ranges" {
  description = "Public IP addresses or CIDR ranges allowed to reach the vault's data plane (the Terraform runs that write secrets). Every other address is denied."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "key_vault_tags" {
  description = "Additional tags for the vault."
  type        = map(string)
  default     = {}
  nullable    = false
}

################################################################################
# Private endpoint
################################################################################

variable "virtual_network_id" {
  description = "VNet linked to the `privatelink.vaultcore.azure.net` zone, so workloads resolve the private address."
  type        = string
}

variable "private_endpoint_subnet_id" {
  description = "Subnet of the vault's private endpoint."
  type        = string
}

################################################################################
# Readers
################################################################################

variable "secret_reader_principal_ids" {
  description = "Principals (object IDs of managed identities) that may read secret values, keyed by a stable name, e.g. `{ external-secrets = \"...\" }`."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "secret_officer_principal_ids" {
  description = "Principals (users or identities) that may write secrets, keyed by a stable name: the operator and the pipeline's apply identity."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "certificate_officer_principal_ids" {
  description = "Principals (people who import the TLS certificate) given \"Key Vault Certificates Officer\", keyed by a stable name. Empty (default) grants nothing."
  type        = map(string)
  default     = {}
  nullable    = false
}
