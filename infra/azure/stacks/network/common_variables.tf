# Inputs every Azure stack shares; the values come from infra/azure/envs/<env>/<stack>.tfvars.

variable "environment" {
  description = "Environment of the stack. Valid values are `staging` and `prod`; resource names are `test-app-<environment>`."
  type        = string

  validation {
    condition     = contains(["staging", "prod"], var.environment)
    error_message = "environment must be staging or prod."
  }
}

variable "location" {
  description = "Azure region of the stack; it must have three availability zones. Default `germanywestcentral` (Frankfurt, like the AWS default)."
  type        = string
  default     = "germanywestcentral"

  validation {
    condition     = can(regex("^[a-z]+[0-9]?$", var.location))
    error_message = "location must be an Azure region name such as germanywestcentral."
  }
}

variable "subscription_id" {
  description = "Subscription the stack runs against. Null (default) takes `ARM_SUBSCRIPTION_ID` from the environment."
  type        = string
  default     = null

  validation {
    condition     = var.subscription_id == null || can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", coalesce(var.subscription_id, "-")))
    error_message = "subscription_id must be a subscription GUID."
  }
}

variable "tags" {
  description = "Extra tags for every resource (the stack adds Project, Environment, Stack and ManagedBy)."
  type        = map(string)
  default     = {}
  nullable    = false
}

locals {
  name = "test-app-${var.environment}"

  common_tags = merge(var.tags, {
    Project     = "test-app"
    Environment = var.environment
    ManagedBy   = "terraform"
  })
}
