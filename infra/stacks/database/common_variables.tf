# Inputs every stack shares; the values come from infra/envs/<env>/<stack>.tfvars.

variable "environment" {
  description = "Environment of the stack. Valid values are `staging` and `prod`; resource names are `test-app-<environment>`."
  type        = string

  validation {
    condition     = contains(["staging", "prod"], var.environment)
    error_message = "environment must be staging or prod."
  }
}

variable "region" {
  description = "AWS region of the stack, e.g. `eu-central-1` (default)."
  type        = string
  default     = "eu-central-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-central-1."
  }
}

variable "allowed_account_ids" {
  description = "AWS account IDs this stack may run against (a guard against applying staging to prod). Empty allows any account."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for a in var.allowed_account_ids : can(regex("^[0-9]{12}$", a))])
    error_message = "allowed_account_ids must hold 12-digit AWS account IDs."
  }
}

variable "tags" {
  description = "Extra tags for every resource (the provider adds Project, Environment, Stack and ManagedBy)."
  type        = map(string)
  default     = {}
  nullable    = false
}

locals {
  name = "test-app-${var.environment}"
}
