variable "create" {
  description = "Controls if any resource of this module is created. Valid values are `true` (default) and `false`."
  type        = bool
  default     = true
}

variable "name" {
  description = "Name of the VPC, used as prefix of every resource name, e.g. `test-app-staging`. Lowercase letters, digits and hyphens, at most 40 characters."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,39}$", var.name))
    error_message = "name must start with a lowercase letter and hold at most 40 lowercase letters, digits or hyphens."
  }
}

variable "tags" {
  description = "Tags added to every resource of this module (on top of the provider's `default_tags`)."
  type        = map(string)
  default     = {}
  nullable    = false
}

################################################################################
# VPC
################################################################################

variable "cidr" {
  description = "IPv4 CIDR block of the VPC. Must be a valid CIDR with a prefix between `/16` and `/20`."
  type        = string
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrhost(var.cidr, 0)) && tonumber(split("/", var.cidr)[1]) >= 16 && tonumber(split("/", var.cidr)[1]) <= 20
    error_message = "cidr must be a valid IPv4 CIDR block with a prefix between /16 and /20."
  }
}

variable "azs" {
  description = "Availability zones to spread the subnets over. Exactly `3` distinct zones: the cluster and the database span all of them."
  type        = list(string)

  validation {
    condition     = length(var.azs) == 3 && length(distinct(var.azs)) == 3
    error_message = "azs must list exactly 3 distinct availability zones."
  }
}

variable "vpc_tags" {
  description = "Additional tags for the VPC."
  type        = map(string)
  default     = {}
  nullable    = false
}

################################################################################
# Public subnets
################################################################################

variable "public_subnet_newbits" {
  description = "Bits added to the VPC prefix for each public subnet (load balancers and NAT gateways only). Must be between `2` and `8`."
  type        = number
  default     = 8

  validation {
    condition     = var.public_subnet_newbits >= 2 && var.public_subnet_newbits <= 8
    error_message = "public_subnet_newbits must be between 2 and 8."
  }
}

variable "public_subnet_tags" {
  description = "Additional tags for the public subnets."
  type        = map(string)
  default     = {}
  nullable    = false
}

################################################################################
# Private subnets
################################################################################

variable "private_subnet_newbits" {
  description = "Bits added to the VPC prefix for each private subnet (nodes, pods, database). Must be between `2` and `6`; the default `3` gives a /19 per zone in a /16."
  type        = number
  default     = 3

  validation {
    condition     = var.private_subnet_newbits >= 2 && var.private_subnet_newbits <= 6
    error_message = "private_subnet_newbits must be between 2 and 6."
  }
}

variable "private_subnet_tags" {
  description = "Additional tags for the private subnets."
  type        = map(string)
  default     = {}
  nullable    = false
}

################################################################################
# NAT gateways
################################################################################

variable "enable_nat_gateway" {
  description = "Creates NAT gateways so private subnets reach the internet (image pulls, AWS APIs). Valid values are `true` (default) and `false`."
  type        = bool
  default     = true
}

variable "single_nat_gateway" {
  description = "Uses one NAT gateway for all zones instead of one per zone. Saves cost (staging) but a zone outage cuts egress for all zones; keep `false` (default) for prod."
  type        = bool
  default     = false
}

variable "nat_gateway_tags" {
  description = "Additional tags for the NAT gateways."
  type        = map(string)
  default     = {}
  nullable    = false
}

################################################################################
# Flow logs
################################################################################

variable "enable_flow_log" {
  description = "Sends VPC flow logs to an encrypted CloudWatch log group. Valid values are `true` (default) and `false`."
  type        = bool
  default     = true
}

variable "flow_log_traffic_type" {
  description = "Traffic recorded by the flow log. Valid values are `ALL` (default), `ACCEPT` and `REJECT`."
  type        = string
  default     = "ALL"

  validation {
    condition     = contains(["ALL", "ACCEPT", "REJECT"], var.flow_log_traffic_type)
    error_message = "flow_log_traffic_type must be one of ALL, ACCEPT, REJECT."
  }
}

variable "flow_log_retention_in_days" {
  description = "Retention of the flow log group. Must be one of CloudWatch's values of at least a year: `365`, `400`, `545`, `731`, `1096`, `1827`, `2192`, `2557`, `2922`, `3288`, `3653`."
  type        = number
  default     = 365

  validation {
    condition     = contains([365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_in_days)
    error_message = "flow_log_retention_in_days must be a CloudWatch retention value of at least 365 days."
  }
}

variable "kms_key_deletion_window_in_days" {
  description = "Waiting period before the flow log KMS key is destroyed after deletion. Must be between `7` and `30`."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_key_deletion_window_in_days >= 7 && var.kms_key_deletion_window_in_days <= 30
    error_message = "kms_key_deletion_window_in_days must be between 7 and 30."
  }
}
