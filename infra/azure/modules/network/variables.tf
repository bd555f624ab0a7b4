variable "create" {
  description = "Controls if any resource is created (turns off the whole module)."
  type        = bool
  default     = true
}

variable "name" {
  description = "Name of the virtual network and prefix of its parts, e.g. `test-app-staging`."
  type        = string
}

variable "resource_group_name" {
  description = "Resource group of every network resource."
  type        = string
}

variable "location" {
  description = "Azure region, e.g. `westeurope`."
  type        = string
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
  nullable    = false
}

################################################################################
# Virtual network
################################################################################

variable "address_space" {
  description = "CIDR of the virtual network, e.g. `10.30.0.0/16`. Must not overlap the cluster's `pod_cidr` or `service_cidr`."
  type        = string

  validation {
    condition     = can(cidrhost(var.address_space, 0))
    error_message = "address_space must be a CIDR such as 10.30.0.0/16."
  }
}

variable "vnet_tags" {
  description = "Additional tags for the virtual network."
  type        = map(string)
  default     = {}
  nullable    = false
}

################################################################################
# Subnets
################################################################################

variable "node_subnet_prefix" {
  description = "CIDR of the node subnet inside `address_space`. One address per node (pods use the overlay), e.g. a `/22` for up to about 1000 nodes."
  type        = string

  validation {
    condition     = can(cidrhost(var.node_subnet_prefix, 0))
    error_message = "node_subnet_prefix must be a CIDR."
  }
}

variable "private_endpoint_subnet_prefix" {
  description = "CIDR of the private endpoint subnet (Key Vault, and the registry when private) inside `address_space`."
  type        = string

  validation {
    condition     = can(cidrhost(var.private_endpoint_subnet_prefix, 0))
    error_message = "private_endpoint_subnet_prefix must be a CIDR."
  }
}

variable "database_subnet_prefix" {
  description = "CIDR of the subnet delegated to PostgreSQL flexible servers inside `address_space`; at least a `/28`."
  type        = string

  validation {
    condition     = can(cidrhost(var.database_subnet_prefix, 0)) && tonumber(split("/", var.database_subnet_prefix)[1]) <= 28
    error_message = "database_subnet_prefix must be a CIDR of /28 or larger."
  }
}

################################################################################
# NAT gateway
################################################################################

variable "nat_gateway_zone" {
  description = "Zone of the NAT gateway and its address: `1`, `2`, `3`, or null (default) to let Azure place it."
  type        = string
  default     = null

  validation {
    condition     = var.nat_gateway_zone == null || contains(["1", "2", "3"], coalesce(var.nat_gateway_zone, "1"))
    error_message = "nat_gateway_zone must be 1, 2, 3 or null."
  }
}

variable "nat_gateway_idle_timeout_in_minutes" {
  description = "Idle timeout of outbound flows. Must be between `4` (default) and `120`."
  type        = number
  default     = 4

  validation {
    condition     = var.nat_gateway_idle_timeout_in_minutes >= 4 && var.nat_gateway_idle_timeout_in_minutes <= 120
    error_message = "nat_gateway_idle_timeout_in_minutes must be between 4 and 120."
  }
}

variable "nat_gateway_tags" {
  description = "Additional tags for the NAT gateway."
  type        = map(string)
  default     = {}
  nullable    = false
}
