variable "address_space" {
  description = "CIDR of the VNet, a `/16`: nodes take the first `/22`, private endpoints and the database a `/24` each. Pods and Services use overlay ranges outside it (cluster stack)."
  type        = string

  validation {
    condition     = can(cidrhost(var.address_space, 0)) && endswith(var.address_space, "/16")
    error_message = "address_space must be a /16 CIDR such as 10.30.0.0/16."
  }
}

variable "nat_gateway_zone" {
  description = "Zone of the NAT gateway (`1`, `2`, `3`), or null (default) to let Azure place it."
  type        = string
  default     = null
}
